package intrinsic

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/asl/jsonpath"
)

var input = map[string]any{
	"name": "web-1", "n": 3.0, "arr": []any{1.0, 2.0, 2.0, "a", "a"}, "obj": map[string]any{"k": "v"},
	"json": `{"x":[1,2]}`, "arn": "arn:aws:imagebuilder:us-east-1:123:image-recipe/my-recipe.v1/1.0.0",
}
var context = map[string]any{"Execution": map[string]any{"Name": "exec-9"}}

var variables = map[string]any{"host": map[string]any{"id": "i-1"}, "n": 2.0}

func resolve(ref Ref) (any, error) {
	switch {
	case ref.Context:
		return ref.Path.Get(context)
	case ref.Variable != "":
		v, ok := variables[ref.Variable]
		if !ok {
			return nil, fmt.Errorf("no variable %s", ref.Variable)
		}
		return ref.Path.Get(v)
	}
	return ref.Path.Get(input)
}

func eval(t *testing.T, src string) (any, error) {
	t.Helper()
	c, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse(%s): %v", src, err)
	}
	return c.Eval(resolve)
}

// Workflow variables ($name, $name.field) are path arguments too
// (https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html).
func TestVariableArguments(t *testing.T) {
	got, err := eval(t, `States.Format('{} x{}', $host.id, $n)`)
	if err != nil || got != "i-1 x2" {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := eval(t, `States.Format('{}', $missing)`); err == nil || !strings.Contains(err.Error(), "no variable missing") {
		t.Errorf("an unknown variable must come back from the resolver, got %v", err)
	}
}

// Expected values follow the examples of
// https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
func TestFunctions(t *testing.T) {
	cases := []struct{ src, want string }{
		{`States.Format('Hello, {}! run {}', $.name, $$.Execution.Name)`, `"Hello, web-1! run exec-9"`},
		{`States.Format('n={} b={} z={} o={}', $.n, true, null, $.obj)`, `"n=3 b=true z=null o={\"k\":\"v\"}"`},
		{`States.Format('literal \{\} and \'quote\' and \\ {}', 1)`, `"literal {} and 'quote' and \\ 1"`},
		{`States.StringToJson($.json)`, `{"x":[1,2]}`},
		{`States.JsonToString($.obj)`, `"{\"k\":\"v\"}"`},
		{`States.Array($.name, 1, 'two', States.Array())`, `["web-1",1,"two",[]]`},
		{`States.ArrayPartition(States.Array(1,2,3,4,5), 2)`, `[[1,2],[3,4],[5]]`},
		{`States.ArrayContains($.arr, 'a')`, `true`},
		{`States.ArrayContains($.arr, 9)`, `false`},
		{`States.ArrayRange(1, 9, 2)`, `[1,3,5,7,9]`},
		{`States.ArrayRange(5, 1, -2)`, `[5,3,1]`},
		{`States.ArrayGetItem($.arr, 3)`, `"a"`},
		{`States.ArrayLength($.arr)`, `5`},
		{`States.ArrayUnique($.arr)`, `[1,2,"a"]`},
		{`States.Base64Encode('Data to encode')`, `"RGF0YSB0byBlbmNvZGU="`},
		{`States.Base64Decode('RGF0YSB0byBlbmNvZGU=')`, `"Data to encode"`},
		{`States.Hash('input data', 'SHA-1')`, `"aaff4a450a104cd177d28d18d74485e8cae074b7"`},
		{`States.Hash('', 'MD5')`, `"d41d8cd98f00b204e9800998ecf8427e"`},
		{`States.Hash('abc', 'SHA-256')`, `"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"`},
		{`States.JsonMerge($.obj, States.StringToJson('{"k":"w","z":1}'), false)`, `{"k":"w","z":1}`},
		{`States.MathAdd(111, -1)`, `110`},
		{`States.StringSplit('1,2,,3', ',')`, `["1","2","3"]`},
		{`States.StringSplit('This.is+a,test=string', '.+,=')`, `["This","is","a","test","string"]`},
		{`States.Format('{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.arn, '/'), 2), '.'), 1))`, `"1.0"`},
	}
	for _, c := range cases {
		got, err := eval(t, c.src)
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		var want any
		if err := json.Unmarshal([]byte(c.want), &want); err != nil {
			t.Fatalf("bad want %s", c.want)
		}
		if !reflect.DeepEqual(got, want) {
			gb, _ := json.Marshal(got)
			t.Errorf("%s\n got %s\nwant %s", c.src, gb, c.want)
		}
	}
}

func TestRandomAndUUID(t *testing.T) {
	for range 50 {
		v, err := eval(t, `States.MathRandom(1, 4)`)
		if err != nil || v.(float64) < 1 || v.(float64) >= 4 {
			t.Fatalf("MathRandom(1,4) = %v, %v", v, err)
		}
	}
	a, _ := eval(t, `States.MathRandom(0, 1000000, 7)`)
	b, _ := eval(t, `States.MathRandom(0, 1000000, 7)`)
	if a != b {
		t.Errorf("a seeded MathRandom should repeat: %v vs %v", a, b)
	}
	u, _ := eval(t, `States.UUID()`)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(u.(string)) {
		t.Errorf("UUID() = %v, not a v4 UUID", u)
	}
}

func TestFailures(t *testing.T) {
	for _, src := range []string{
		`States.Format('{} {}', 1)`,
		`States.Format('{}', 1, 2)`,
		`States.StringToJson('{bad')`,
		`States.ArrayPartition($.arr, 0)`,
		`States.ArrayRange(1, 5000, 1)`,
		`States.ArrayRange(1, 2, 0)`,
		`States.ArrayGetItem($.arr, 5)`,
		`States.ArrayLength($.obj)`,
		`States.Base64Decode('%%%')`,
		`States.Hash('x', 'SHA-3')`,
		`States.JsonMerge($.obj, $.obj, true)`,
		`States.MathAdd(1.5, 1)`,
		`States.MathRandom(5, 5)`,
		`States.StringSplit($.n, ',')`,
		`States.Base64Encode($.big)`,
	} {
		input["big"] = strings.Repeat("x", maxStringLen+1)
		_, err := eval(t, src)
		var f *Failure
		if !errors.As(err, &f) {
			t.Errorf("%s: want a *Failure, got %v", src, err)
		}
	}
	if _, err := eval(t, `States.Array($.missing)`); !errors.Is(err, jsonpath.ErrNotFound) {
		t.Errorf("a missing path should come back from the resolver unchanged, got %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for src, want := range map[string]string{
		`States.Nope(1)`:        "unknown intrinsic function",
		`States.Array(1`:        "missing ')'",
		`States.Array('x)`:      "unterminated string",
		`States.UUID(1)`:        "takes 0 arguments",
		`States.Hash('a')`:      "takes 2 arguments",
		`States.Array(1) extra`: "unexpected",
		`States.Array(foo)`:     "unexpected",
		`States.Array($.a[)`:    "JSONPath",
		`States.Array(1 2)`:     "expected ','",
		strings.Repeat("States.Array(", 11) + strings.Repeat(")", 11): "nested",
	} {
		_, err := Parse(src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want error containing %q", src, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`States.Format('a {} \{', $.x)`, `States.Array()`, `States.ArrayRange(1, 10, 2)`,
		`States.JsonMerge($.a, $$.b, false)`, `States.Hash($.a['x,y'], 'MD5')`, `States.MathRandom(-1, 1.5e3)`,
		`States.Format('{} {}', $host.id, $n)`, `States.ArrayGetItem($list[1:], $i)`, `States.MathAdd($é, $_x)`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		c.Eval(func(Ref) (any, error) { return "value", nil })
	})
}
