package yamlerr

import (
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type doc struct {
	Name  string   `yaml:"name"`
	Items []string `yaml:"items"`
	Count int      `yaml:"count"`
}

func decode(src string) error {
	var d doc
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		return err
	}
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	return Clean(dec.Decode(&d))
}

func TestCleanNamesTheFieldNotTheGoType(t *testing.T) {
	cases := map[string]string{
		"nmae: x\n":           "unknown field nmae",
		"items: {a: b}\n":     "a mapping where a list is expected",
		"count: [1]\n":        "a list where a number is expected",
		"nmae: x\ncount: y\n": "unknown field nmae; a string `y` where a number is expected",
	}
	for src, want := range cases {
		if got := decode(src); got == nil || got.Error() != want {
			t.Errorf("%q: got %v, want %q", src, got, want)
		}
	}
	other := errors.New("plain")
	if Clean(other) != other {
		t.Error("errors that are not TypeErrors pass through")
	}
}
