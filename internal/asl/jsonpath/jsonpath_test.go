package jsonpath

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

const doc = `{"a":{"b":[10,20,30,40],"c":"x","d.e":1},"items":[{"id":1,"ok":true},{"id":2,"ok":false},{"id":3}],"s":"str"}`

func parseDoc(t testing.TB) any {
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGet(t *testing.T) {
	cases := []struct{ path, want string }{
		{"$", doc},
		{"$.a.c", `"x"`},
		{"$['a']['c']", `"x"`},
		{`$["a"]["d.e"]`, `1`},
		{"$.a.b[1]", `20`},
		{"$.a.b[-1]", `40`},
		{"$.a.b[*]", `[10,20,30,40]`},
		{"$.a.b[1:3]", `[20,30]`},
		{"$.a.b[:2]", `[10,20]`},
		{"$.a.b[::2]", `[10,30]`},
		{"$.a.b[0,2]", `[10,30]`},
		{"$.items[*].id", `[1,2,3]`},
		{"$..id", `[1,2,3]`},
		{"$.items[?(@.ok == true)].id", `[1]`},
		{"$.items[?(@.id >= 2)].id", `[2,3]`},
		{"$.items[?(@.ok)].id", `[1,2]`},
		{"$.items[?(@.id != 2)].id", `[1,3]`},
		{"$.nothing[*]", `[]`},
	}
	d := parseDoc(t)
	for _, c := range cases {
		p, err := Parse(c.path)
		if err != nil {
			t.Errorf("Parse(%s): %v", c.path, err)
			continue
		}
		got, err := p.Get(d)
		if err != nil {
			t.Errorf("Get(%s): %v", c.path, err)
			continue
		}
		var want any
		json.Unmarshal([]byte(c.want), &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Get(%s) = %v, want %v", c.path, got, want)
		}
	}
}

func TestGetMissing(t *testing.T) {
	d := parseDoc(t)
	for _, p := range []string{"$.x", "$.a.b[9]", "$.s.x", "$.a.b.c", "$.items[-4]"} {
		if _, err := MustParse(p).Get(d); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%s) err = %v, want ErrNotFound", p, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, p := range []string{"", "a.b", "$.", "$..", "$[", "$['a'", "$[x]", "$[1:2:3:4]", "$.a b", "$[?(x)]", "$[?(@.a == {})]", "$[]"} {
		if _, err := Parse(p); err == nil {
			t.Errorf("Parse(%q) should fail", p)
		}
	}
}

func TestSet(t *testing.T) {
	d := parseDoc(t)
	out, err := MustParse("$.a.new.deep").Set(d, "v")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := MustParse("$.a.new.deep").Get(out)
	if got != "v" {
		t.Errorf("set value not found: %v", got)
	}
	if _, err := MustParse("$.a.new").Get(d); err == nil {
		t.Error("Set modified the original document")
	}
	out, err = MustParse("$.a.b[1]").Set(d, 99.0)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := MustParse("$.a.b[1]").Get(out); got != 99.0 {
		t.Errorf("index set: %v", got)
	}
	for _, p := range []string{"$.s.x", "$.a.b[9]", "$.a.c[0]"} {
		if _, err := MustParse(p).Set(d, 1); err == nil {
			t.Errorf("Set(%s) should fail", p)
		}
	}
	if _, err := MustParse("$.a[*]").Set(d, 1); err == nil {
		t.Error("Set through a wildcard should fail")
	}
	if out, _ := MustParse("$").Set(d, "root"); out != "root" {
		t.Errorf("Set($) = %v", out)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"$", "$.a.b[0]", "$..x", "$.a[?(@.b == 'c')]", "$['x','y']", "$[1:2:3]", "$[?(@.n < 3)]", "$.a['b\\'c']"} {
		f.Add(s)
	}
	d := parseDoc(f)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		p.Get(d)
		if p.Definite() {
			p.Set(d, 1.0)
		}
	})
}

func TestSplitVariable(t *testing.T) {
	cases := []struct{ in, name, path string }{
		{"$x", "x", "$"},
		{"$order.items[0]", "order", "$.items[0]"},
		{"$_a1['b']", "_a1", "$['b']"},
		{"$größe.x", "größe", "$.x"},
	}
	for _, c := range cases {
		name, path, ok := SplitVariable(c.in)
		if !ok || name != c.name || path != c.path {
			t.Errorf("SplitVariable(%q) = %q, %q, %v; want %q, %q", c.in, name, path, ok, c.name, c.path)
		}
	}
	for _, in := range []string{"$", "$.a", "$$.a", "$[0]", "$1a", "x", ""} {
		if _, _, ok := SplitVariable(in); ok {
			t.Errorf("SplitVariable(%q) should not be a variable reference", in)
		}
	}
}
