package jsonorder

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func roundTrip(t *testing.T, src string) string {
	t.Helper()
	v, err := Unmarshal([]byte(src))
	if err != nil {
		t.Fatalf("Unmarshal(%s): %v", src, err)
	}
	b, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestObjectsKeepTheirOrder(t *testing.T) {
	for _, src := range []string{
		`{"zeta":1,"alpha":{"mid":[{"z":true,"a":null}],"b":"x"},"mu":-2.5e-7}`,
		`[{"b":1,"a":2},{"a":1,"b":2},"s",3]`,
		`{"only":{}}`,
		`"<tag> & more"`,
	} {
		if got := roundTrip(t, src); got != src {
			t.Errorf("round trip\n got %s\nwant %s", got, src)
		}
	}
	// A repeated key keeps its first place and its last value, like
	// encoding/json's value.
	if got := roundTrip(t, `{"b":1,"a":2,"b":3}`); got != `{"b":3,"a":2}` {
		t.Errorf("duplicate key: %s", got)
	}
}

func TestValuesAreEncodingJSONs(t *testing.T) {
	src := `{"n":12345678901234567890,"f":0.1,"s":"é\n\"\u2028","t":true,"l":[]}`
	v, err := Unmarshal([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var std any
	if err := json.Unmarshal([]byte(src), &std); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(v) != fmt.Sprint(std) {
		t.Errorf("decoded %v, encoding/json %v", v, std)
	}
}

func TestBadJSONIsAnError(t *testing.T) {
	for _, src := range []string{``, `{`, `{"a":1,}`, `{"a" 1}`, `[1,]`, `{} {}`, `{}x`, strings.Repeat("[", 10002) + strings.Repeat("]", 10002)} {
		if _, err := Unmarshal([]byte(src)); err == nil {
			t.Errorf("Unmarshal(%.40q) accepted", src)
		}
	}
}

func TestCopiesInheritTheOrderAndNewKeysGoLast(t *testing.T) {
	src, _ := Unmarshal([]byte(`{"b":1,"a":2}`))
	m := src.(map[string]any)
	cp := map[string]any{"b": 1.0, "a": 2.0, "c": 3.0}
	Inherit(cp, m, "c")
	if got := strings.Join(Keys(cp), ","); got != "b,a,c" {
		t.Errorf("copy with a new key: %s", got)
	}
	// Sorted keys with a key that sorts before them: the new key still goes last.
	sorted := map[string]any{"x": 1.0, "y": 2.0}
	grown := map[string]any{"x": 1.0, "y": 2.0, "a": 3.0}
	Inherit(grown, sorted, "a")
	if got := strings.Join(Keys(grown), ","); got != "x,y,a" {
		t.Errorf("sorted copy with a new first key: %s", got)
	}
	// Keys deleted since are skipped, keys never ordered come last, sorted.
	delete(cp, "b")
	cp["e"], cp["d"] = 0.0, 0.0
	if got := strings.Join(Keys(cp), ","); got != "a,c,d,e" {
		t.Errorf("after changes: %s", got)
	}
}

// A map the garbage collector reclaimed never lends its order to a new map
// that happens to get its address.
func TestReclaimedMapsLeaveNoOrderBehind(t *testing.T) {
	for i := range 2000 {
		v, _ := Unmarshal([]byte(`{"z":1,"y":2,"x":3}`))
		if Keys(v.(map[string]any))[0] != "z" {
			t.Fatal("order lost while the map lives")
		}
		if i%100 == 0 {
			runtime.GC()
		}
		fresh := map[string]any{"z": 1.0, "y": 2.0, "x": 3.0}
		if got := strings.Join(Keys(fresh), ","); got != "x,y,z" {
			t.Fatalf("a new map read a reclaimed map's order: %s", got)
		}
	}
}

func TestMarshalIndentKeepsOrder(t *testing.T) {
	v, _ := Unmarshal([]byte(`{"b":[1],"a":"<"}`))
	b, err := MarshalIndent(v, "", "  ")
	if err != nil || string(b) != "{\n  \"b\": [\n    1\n  ],\n  \"a\": \"<\"\n}" {
		t.Errorf("%s %v", b, err)
	}
}

func FuzzUnmarshalAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[{"d":null,"c":"x"}]}`, `[1,2]`, `"s"`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Unmarshal(data)
		var std any
		stdErr := json.Unmarshal(data, &std)
		if (err == nil) != (stdErr == nil) {
			t.Fatalf("%q: jsonorder %v, encoding/json %v", data, err, stdErr)
		}
		if err != nil {
			return
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var again any
		if err := json.Unmarshal(out, &again); err != nil || fmt.Sprint(again) != fmt.Sprint(std) {
			t.Fatalf("%q re-encoded as %s (%v)", data, out, err)
		}
	})
}
