package intake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzNewRejected: any body gives a record whose copy is a bounded prefix
// of the body that survives a JSON round trip byte for byte.
func FuzzNewRejected(f *testing.F) {
	for _, s := range []string{"", "{}", "\xff\xfe", "é", string(bytes.Repeat([]byte("é"), MaxRejectedBody))} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := NewRejected(body, "fuzz", errors.New("refused"), time.Unix(0, 0))
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Rejected
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		kept := []byte(back.Body)
		if back.BodyBase64 != "" {
			if kept, err = base64.StdEncoding.DecodeString(back.BodyBase64); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.HasPrefix(body, kept) || len(kept) > MaxRejectedBody || back.Bytes != len(body) ||
			back.Truncated != (len(kept) < len(body)) {
			t.Fatalf("body %d bytes: kept %d, truncated %v", len(body), len(kept), back.Truncated)
		}
	})
}
