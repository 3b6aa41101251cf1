// Package yamlerr turns yaml.v3's decoding errors into messages for the
// people who wrote the YAML: "unknown field group_wiat" rather than "line
// 1: field group_wiat not found in type dispatch.yamlConfig" (the line is
// relative to a re-encoded fragment and the Go type means nothing to them).
package yamlerr

import (
	"errors"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

var (
	notFound = regexp.MustCompile(`^line \d+: field (\S+) not found in type \S+$`)
	cannot   = regexp.MustCompile(`^line \d+: cannot unmarshal !!(\w+)( .*)? into (\S+)$`)
)

// Clean rewrites a *yaml.TypeError's messages; other errors pass through.
func Clean(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, m := range te.Errors {
		switch {
		case notFound.MatchString(m):
			msgs = append(msgs, "unknown field "+notFound.FindStringSubmatch(m)[1])
		case cannot.MatchString(m):
			sub := cannot.FindStringSubmatch(m)
			msgs = append(msgs, "a "+kind(sub[1])+sub[2]+" where "+goKind(sub[3])+" is expected")
		default:
			msgs = append(msgs, m)
		}
	}
	return errors.New(strings.Join(msgs, "; "))
}

func kind(tag string) string {
	switch tag {
	case "seq":
		return "list"
	case "map":
		return "mapping"
	case "str":
		return "string"
	}
	return tag
}

func goKind(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	}
	return "a mapping"
}
