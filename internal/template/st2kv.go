package template

import (
	"fmt"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// kvLookup is `st2kv.system[.prefix]`. As in StackStorm, every attribute
// access extends the key with a dot (st2kv.system.app.token reads key
// "app.token"), and the lookup renders as the value of its key, or "" when
// the key is absent.
type kvLookup struct {
	reader interface {
		Get(string) (string, bool, error)
	}
	key string
}

func (l *kvLookup) child(name string) *kvLookup {
	key := name
	if l.key != "" {
		key = l.key + "." + name
	}
	return &kvLookup{reader: l.reader, key: key}
}

// GetAttribute implements exec.AttributeGetter.
func (l *kvLookup) GetAttribute(name string) (*exec.Value, bool) {
	return exec.AsValue(l.child(name)), true
}

// GetItem implements exec.ItemGetter: st2kv.system['my-key'].
func (l *kvLookup) GetItem(key any) (*exec.Value, bool) {
	return exec.AsValue(l.child(fmt.Sprint(key))), true
}

func (l *kvLookup) value() (any, error) {
	if l.reader == nil || l.key == "" {
		return "", nil
	}
	v, ok, err := l.reader.Get(l.key)
	if err != nil {
		return nil, fmt.Errorf("st2kv.system.%s: %w", l.key, err)
	}
	if !ok {
		return "", nil
	}
	return v, nil
}

// String is what Jinja prints and what string filters see.
func (l *kvLookup) String() string {
	v, err := l.value()
	if err != nil {
		panic(err) // recovered by Render and reported as a template error
	}
	return v.(string)
}
