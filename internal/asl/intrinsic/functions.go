package intrinsic

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	mrand "math/rand/v2"
	"reflect"
	"strings"

	"github.com/medic-sre/medic/internal/asl/jsonorder"
	"github.com/medic-sre/medic/internal/asl/jsonpath"
)

// Ref is a path argument: Path applies to the state input ($), the context
// object ($$, Context set) or the value of a workflow variable ($name,
// Variable set; Path is then the rest of the reference, e.g. "$.field").
type Ref struct {
	Path     *jsonpath.Path
	Context  bool
	Variable string
}

// Resolver looks up a path argument. Its errors are returned from Eval
// unchanged, so the caller can keep its own error kinds (a missing path is
// States.Runtime, not an intrinsic failure).
type Resolver func(ref Ref) (any, error)

// Failure is an error raised by a function itself (bad argument types,
// limits): Step Functions reports these as States.IntrinsicFailure.
type Failure struct{ Msg string }

func (f *Failure) Error() string { return f.Msg }

func failf(format string, args ...any) error { return &Failure{Msg: fmt.Sprintf(format, args...)} }

// maxStringLen is the input limit Step Functions documents for the
// encoding and hashing functions.
const maxStringLen = 10000

// maxRange is the most items States.ArrayRange may produce.
const maxRange = 1000

type function struct {
	minArgs, maxArgs int // maxArgs -1 = unbounded
	eval             func(c *Call, args []any) (any, error)
}

var functions map[string]*function

func init() {
	functions = map[string]*function{
		"States.Format":         {1, -1, format},
		"States.StringToJson":   {1, 1, stringToJSON},
		"States.JsonToString":   {1, 1, jsonToString},
		"States.Array":          {0, -1, func(_ *Call, a []any) (any, error) { return append([]any{}, a...), nil }},
		"States.ArrayPartition": {2, 2, arrayPartition},
		"States.ArrayContains":  {2, 2, arrayContains},
		"States.ArrayRange":     {3, 3, arrayRange},
		"States.ArrayGetItem":   {2, 2, arrayGetItem},
		"States.ArrayLength":    {1, 1, arrayLength},
		"States.ArrayUnique":    {1, 1, arrayUnique},
		"States.Base64Encode":   {1, 1, base64Encode},
		"States.Base64Decode":   {1, 1, base64Decode},
		"States.Hash":           {2, 2, hashFn},
		"States.JsonMerge":      {3, 3, jsonMerge},
		"States.MathRandom":     {2, 3, mathRandom},
		"States.MathAdd":        {2, 2, mathAdd},
		"States.StringSplit":    {2, 2, stringSplit},
		"States.UUID":           {0, 0, func(*Call, []any) (any, error) { return newUUID(), nil }},
	}
}

// Eval evaluates the call, resolving path arguments with resolve.
func (c *Call) Eval(resolve Resolver) (any, error) {
	args := make([]any, len(c.args))
	for i, a := range c.args {
		switch a := a.(type) {
		case literal:
			args[i] = a.value
		case pathArg:
			v, err := resolve(Ref{Path: a.path, Context: a.context, Variable: a.variable})
			if err != nil {
				return nil, err
			}
			args[i] = v
		case *Call:
			v, err := a.Eval(resolve)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
	}
	return c.fn.eval(c, args)
}

func wantString(fn string, i int, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", failf("%s: argument %d must be a string, got %s", fn, i+1, jsonpath.TypeName(v))
	}
	return s, nil
}

func wantArray(fn string, i int, v any) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, failf("%s: argument %d must be an array, got %s", fn, i+1, jsonpath.TypeName(v))
	}
	return a, nil
}

func wantInt(fn string, i int, v any) (int, error) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32+1 {
		return 0, failf("%s: argument %d must be an integer, got %s", fn, i+1, render(v))
	}
	return int(f), nil
}

// format fills each {} with the next argument. In a literal template, \{ and
// \} are literal braces; a template read from a path has no escapes.
func format(c *Call, args []any) (any, error) {
	tmpl, err := wantString(c.Name, 0, args[0])
	if err != nil {
		return nil, err
	}
	escapes := false
	if lit, ok := c.args[0].(literal); ok {
		tmpl, escapes = lit.raw, true
	}
	var b strings.Builder
	next := 1
	for i := 0; i < len(tmpl); i++ {
		ch := tmpl[i]
		switch {
		case escapes && ch == '\\' && i+1 < len(tmpl):
			i++
			b.WriteByte(tmpl[i])
		case ch == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}':
			if next >= len(args) {
				return nil, failf("States.Format: the template has more {} than the %d arguments given", len(args)-1)
			}
			b.WriteString(render(args[next]))
			next++
			i++
		default:
			b.WriteByte(ch)
		}
	}
	if next != len(args) {
		return nil, failf("States.Format: %d arguments given but the template has %d {}", len(args)-1, next-1)
	}
	return b.String(), nil
}

// render is how a value appears inside States.Format output: strings bare,
// everything else as JSON.
func render(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b []byte
	switch v.(type) {
	case map[string]any, []any:
		b, _ = jsonorder.Marshal(v) // objects in their order
	default:
		b, _ = json.Marshal(v)
	}
	return string(b)
}

func stringToJSON(c *Call, args []any) (any, error) {
	s, err := wantString(c.Name, 0, args[0])
	if err != nil {
		return nil, err
	}
	v, err := jsonorder.Unmarshal([]byte(s))
	if err != nil {
		return nil, failf("States.StringToJson: %q is not JSON: %v", s, err)
	}
	return v, nil
}

// jsonToString writes its argument's objects with their keys in the order
// Step Functions received them (package jsonorder) and, like Step Functions,
// leaves <, > and & unescaped.
func jsonToString(_ *Call, args []any) (any, error) {
	b, err := jsonorder.Marshal(args[0])
	if err != nil {
		return nil, failf("States.JsonToString: %v", err)
	}
	return string(b), nil
}

func arrayPartition(c *Call, args []any) (any, error) {
	a, err := wantArray(c.Name, 0, args[0])
	if err != nil {
		return nil, err
	}
	size, err := wantInt(c.Name, 1, args[1])
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, failf("States.ArrayPartition: chunk size must be positive, got %d", size)
	}
	out := []any{}
	for i := 0; i < len(a); i += size {
		out = append(out, append([]any{}, a[i:min(i+size, len(a))]...))
	}
	return out, nil
}

func arrayContains(c *Call, args []any) (any, error) {
	a, err := wantArray(c.Name, 0, args[0])
	if err != nil {
		return nil, err
	}
	for _, v := range a {
		if reflect.DeepEqual(v, args[1]) {
			return true, nil
		}
	}
	return false, nil
}

// arrayRange is inclusive of end when the steps land on it.
func arrayRange(c *Call, args []any) (any, error) {
	var n [3]int
	for i := range n {
		v, err := wantInt(c.Name, i, args[i])
		if err != nil {
			return nil, err
		}
		n[i] = v
	}
	start, end, step := n[0], n[1], n[2]
	if step == 0 {
		return nil, failf("States.ArrayRange: step must not be 0")
	}
	out := []any{}
	for v := start; step > 0 && v <= end || step < 0 && v >= end; v += step {
		if len(out) == maxRange {
			return nil, failf("States.ArrayRange: more than %d items", maxRange)
		}
		out = append(out, float64(v))
	}
	return out, nil
}

func arrayGetItem(c *Call, args []any) (any, error) {
	a, err := wantArray(c.Name, 0, args[0])
	if err != nil {
		return nil, err
	}
	i, err := wantInt(c.Name, 1, args[1])
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= len(a) {
		return nil, failf("States.ArrayGetItem: index %d is out of bounds for an array of %d", i, len(a))
	}
	return a[i], nil
}

func arrayLength(c *Call, args []any) (any, error) {
	a, err := wantArray(c.Name, 0, args[0])
	if err != nil {
		return nil, err
	}
	return float64(len(a)), nil
}

func arrayUnique(c *Call, args []any) (any, error) {
	a, err := wantArray(c.Name, 0, args[0])
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := []any{}
	for _, v := range a {
		key, _ := json.Marshal(v) // maps marshal with sorted keys: a canonical form
		if !seen[string(key)] {
			seen[string(key)] = true
			out = append(out, v)
		}
	}
	return out, nil
}

func limitedString(c *Call, v any) (string, error) {
	s, err := wantString(c.Name, 0, v)
	if err != nil {
		return "", err
	}
	if len(s) > maxStringLen {
		return "", failf("%s: input is longer than %d characters", c.Name, maxStringLen)
	}
	return s, nil
}

func base64Encode(c *Call, args []any) (any, error) {
	s, err := limitedString(c, args[0])
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func base64Decode(c *Call, args []any) (any, error) {
	s, err := limitedString(c, args[0])
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, failf("States.Base64Decode: %v", err)
	}
	return string(b), nil
}

var hashes = map[string]func() hash.Hash{
	"MD5": md5.New, "SHA-1": sha1.New, "SHA-256": sha256.New, "SHA-384": sha512.New384, "SHA-512": sha512.New,
}

func hashFn(c *Call, args []any) (any, error) {
	data, err := limitedString(c, args[0])
	if err != nil {
		return nil, err
	}
	alg, err := wantString(c.Name, 1, args[1])
	if err != nil {
		return nil, err
	}
	newHash, ok := hashes[alg]
	if !ok {
		return nil, failf("States.Hash: algorithm %q is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512", alg)
	}
	h := newHash()
	h.Write([]byte(data))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// jsonMerge is shallow only: Step Functions rejects deep mode (true).
func jsonMerge(c *Call, args []any) (any, error) {
	var objs [2]map[string]any
	for i := range objs {
		m, ok := args[i].(map[string]any)
		if !ok {
			return nil, failf("States.JsonMerge: argument %d must be an object, got %s", i+1, jsonpath.TypeName(args[i]))
		}
		objs[i] = m
	}
	if deep, ok := args[2].(bool); !ok || deep {
		return nil, failf("States.JsonMerge: the third argument must be false (only shallow merge is supported)")
	}
	out := make(map[string]any, len(objs[0])+len(objs[1]))
	var keys []string
	for _, m := range objs {
		for _, k := range jsonorder.Keys(m) {
			if _, dup := out[k]; !dup {
				keys = append(keys, k) // the first object's keys, then the second's new ones
			}
			out[k] = m[k]
		}
	}
	jsonorder.Remember(out, keys)
	return out, nil
}

// mathRandom returns an integer in [start, end); a seed makes it repeatable.
func mathRandom(c *Call, args []any) (any, error) {
	start, err := wantInt(c.Name, 0, args[0])
	if err != nil {
		return nil, err
	}
	end, err := wantInt(c.Name, 1, args[1])
	if err != nil {
		return nil, err
	}
	if end <= start {
		return nil, failf("States.MathRandom: end (%d) must be greater than start (%d)", end, start)
	}
	r := mrand.IntN
	if len(args) == 3 {
		seed, err := wantInt(c.Name, 2, args[2])
		if err != nil {
			return nil, err
		}
		r = mrand.New(mrand.NewPCG(uint64(seed), 0)).IntN
	}
	return float64(start + r(end-start)), nil
}

func mathAdd(c *Call, args []any) (any, error) {
	a, err := wantInt(c.Name, 0, args[0])
	if err != nil {
		return nil, err
	}
	b, err := wantInt(c.Name, 1, args[1])
	if err != nil {
		return nil, err
	}
	return float64(a + b), nil
}

// stringSplit splits on any of the delimiter characters and drops empty
// pieces, as Step Functions does.
func stringSplit(c *Call, args []any) (any, error) {
	s, err := wantString(c.Name, 0, args[0])
	if err != nil {
		return nil, err
	}
	delims, err := wantString(c.Name, 1, args[1])
	if err != nil {
		return nil, err
	}
	if delims == "" {
		return nil, failf("States.StringSplit: the delimiter must not be empty")
	}
	out := []any{}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(delims, r) }) {
		out = append(out, part)
	}
	return out, nil
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // documented never to fail
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Apply runs the named intrinsic on evaluated arguments. The JSONata
// functions Step Functions adds ($partition, $range, $hash, $parse, $uuid)
// share these semantics and limits.
func Apply(name string, args ...any) (any, error) {
	fn, ok := functions[name]
	if !ok {
		return nil, fmt.Errorf("unknown intrinsic function %q", name)
	}
	c := &Call{Name: name, fn: fn, args: make([]node, len(args))}
	if err := c.checkArity(); err != nil {
		return nil, err
	}
	return fn.eval(c, args)
}
