package rejected

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeepAndList(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	if err := s.Keep("not JSON", "/v1/events", []byte("\xff\xfe binary")); err != nil {
		t.Fatal(err)
	}
	if err := s.Keep("unknown shape", "/v1/webhooks/../../etc", []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(s.Dir, "zz-damaged.json"), []byte("{"), 0o600)
	list, err := s.List()
	if err != nil || len(list) != 3 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if list[0].Body != "" || string(list[0].BodyB64) != "\xff\xfe binary" {
		t.Fatalf("binary body not kept exactly: %+v", list[0])
	}
	if list[1].Body != `{"a":1}` || list[1].Path != "/v1/webhooks/../../etc" {
		t.Fatalf("entry = %+v", list[1])
	}
	// A record that does not decode is listed, not hidden.
	if !strings.Contains(list[2].Reason, "unreadable") {
		t.Fatalf("damaged record = %+v", list[2])
	}
	// Every record stays inside the directory whatever the path said.
	for _, e := range list {
		if filepath.Dir(e.File) != s.Dir {
			t.Fatalf("%s outside %s", e.File, s.Dir)
		}
	}
}

func TestKeepFailsLoudly(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	s := &Store{Dir: filepath.Join(file, "rejected")} // under a regular file: cannot exist
	if err := s.Keep("x", "/", []byte("x")); err == nil {
		t.Fatal("a refusal that was not kept must be an error")
	}
}
