// Package jsonorder keeps the key order of JSON objects that the
// interpreter holds as map[string]any.
//
// Step Functions keeps an object's keys in the order it received them (the
// order of the execution input, of a StringToJson argument, of a Parameters
// template), and States.JsonToString writes them in that order. Go maps have
// no order, and encoding/json writes keys sorted. Rather than a new object
// type through every part of the interpreter (paths, intrinsics, Choice,
// JSONata), the order of an object whose keys are not already sorted is
// remembered beside it, keyed by the map's identity, and used where JSON is
// written. Objects with sorted keys, the usual case, cost nothing; a copy of
// an object inherits its order (Inherit).
//
// The registry must never give one map's order to another: an entry is
// keyed by the map's address and holds a weak pointer to the map, so an
// entry left by a map the garbage collector reclaimed never matches a new
// map at the same address; such entries are swept out as the registry grows.
package jsonorder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"sync"
	"unsafe"
	"weak"
)

type entry struct {
	owner weak.Pointer[byte] // the map this order belongs to
	keys  []string
}

// registry maps a map's address to its order. Entries of reclaimed maps
// are swept out once the registry has doubled since the last sweep, which
// keeps Remember free of per-map cleanup records.
var registry = struct {
	sync.RWMutex
	orders  map[uintptr]entry
	sweepAt int
}{orders: map[uintptr]entry{}, sweepAt: minSweep}

const minSweep = 1024

// address is the identity of a map: a map value is a pointer to the
// runtime's map header, which stays put for the map's whole life.
func address(m map[string]any) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&m))
}

// Remember records keys as m's key order. m must be a map the caller just
// made (it is on the heap: it is returned or stored). Sorted keys are not
// recorded: sorted is what a map without an entry reads as. keys is kept,
// never modified.
func Remember(m map[string]any, keys []string) {
	if len(m) < 2 || sort.StringsAreSorted(keys) {
		return
	}
	p := address(m)
	e := entry{owner: weak.Make((*byte)(p)), keys: keys}
	registry.Lock()
	defer registry.Unlock()
	registry.orders[uintptr(p)] = e
	if len(registry.orders) >= registry.sweepAt {
		for addr, e := range registry.orders {
			if e.owner.Value() == nil {
				delete(registry.orders, addr)
			}
		}
		registry.sweepAt = max(2*len(registry.orders), minSweep)
	}
}

// recorded is m's remembered order, or nil.
func recorded(m map[string]any) []string {
	p := address(m)
	if p == nil {
		return nil
	}
	registry.RLock()
	e, ok := registry.orders[uintptr(p)]
	registry.RUnlock()
	if !ok || unsafe.Pointer(e.owner.Value()) != p {
		return nil // none, or left by a reclaimed map that lived at this address
	}
	return e.keys
}

// Keys lists m's keys in order: the remembered order for the keys still
// there, then any others sorted (encoding/json's order).
func Keys(m map[string]any) []string {
	order := recorded(m)
	keys := make([]string, 0, len(m))
	if order == nil {
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys
	}
	seen := make(map[string]bool, len(order))
	for _, k := range order {
		if _, ok := m[k]; ok && !seen[k] {
			keys = append(keys, k)
			seen[k] = true
		}
	}
	rest := len(keys)
	for k := range m {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys[rest:])
	return keys
}

// Inherit gives dst, a copy of src just made and filled, src's order;
// added, when not empty, is a key set in dst beyond src's, which Step
// Functions puts last.
func Inherit(dst, src map[string]any, added string) {
	order := recorded(src)
	if _, had := src[added]; added == "" || had {
		if order != nil {
			Remember(dst, order) // order slices are never modified: share it
		}
		return
	}
	if order == nil {
		if isLast(src, added) {
			return // sorted stays sorted
		}
		order = Keys(src)
	}
	Remember(dst, append(slices.Clip(order), added))
}

// isLast reports whether key sorts after every key of m.
func isLast(m map[string]any, key string) bool {
	for k := range m {
		if k > key {
			return false
		}
	}
	return true
}

// Unmarshal parses JSON text like encoding/json into any (objects are
// map[string]any, numbers float64), remembering each object's key order.
// A key given twice keeps its first place and its last value.
func Unmarshal(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the top-level value")
		}
		return nil, err
	}
	return v, nil
}

// maxDepth bounds nesting, as in encoding/json, so hostile input cannot
// exhaust the stack.
const maxDepth = 10000

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("exceeded max depth of %d nested arrays and objects", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		return decodeObject(dec, depth+1)
	case json.Delim('['):
		list := []any{}
		for dec.More() {
			item, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, item)
		}
		_, err := dec.Token() // ]
		return list, err
	}
	return tok, nil // string, float64, bool or nil
}

func decodeObject(dec *json.Decoder, depth int) (any, error) {
	obj := map[string]any{}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string) // the decoder only gives strings in key position
		val, err := decodeValue(dec, depth)
		if err != nil {
			return nil, err
		}
		if _, dup := obj[key]; !dup {
			keys = append(keys, key)
		}
		obj[key] = val
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, err
	}
	Remember(obj, keys)
	return obj, nil
}

// Marshal writes v as compact JSON with objects in their order, and, like
// Step Functions, without escaping <, > and & as encoding/json does.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := write(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func write(buf *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		buf.WriteString(strconv.FormatBool(v))
	case string:
		writeString(buf, v)
	case map[string]any:
		buf.WriteByte('{')
		for i, k := range Keys(v) {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, k)
			buf.WriteByte(':')
			if err := write(buf, v[k]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, item := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := write(buf, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	default: // numbers and any non-plain value: as encoding/json writes them
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("value of type %T is not JSON: %w", v, err)
		}
		buf.Write(b)
	}
	return nil
}

func writeString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)           // a string always encodes
	buf.Truncate(buf.Len() - 1) // Encode's newline
}

// MarshalIndent is Marshal with encoding/json's indentation.
func MarshalIndent(v any, prefix, indent string) ([]byte, error) {
	b, err := Marshal(v)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, prefix, indent); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
