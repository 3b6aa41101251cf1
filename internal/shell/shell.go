// Package shell builds shell scripts from a fixed command and untrusted
// parameters. Alert data never reaches a shell unquoted: parameters are bound
// as single-quoted shell variables ahead of the command, and the command refers
// to them as "$name". Nothing is ever spliced into the command text itself.
package shell

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Quote returns s as one single-quoted shell word. Inside single quotes the
// shell interprets nothing, so the only character to handle is the quote
// itself, which is closed, escaped and reopened.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var validName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Script returns a POSIX sh script that assigns and exports every parameter
// as a quoted variable, then runs command. Parameter names must be valid
// shell identifiers (they come from reviewed action metadata); values may be
// anything.
func Script(command string, params map[string]any) (string, error) {
	names := make([]string, 0, len(params))
	for name := range params {
		if !validName.MatchString(name) {
			return "", fmt.Errorf("parameter %q: not a valid shell variable name", name)
		}
		names = append(names, name)
	}
	sort.Strings(names) // deterministic scripts: same input, same SSM command
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, "%s=%s; export %s\n", name, Quote(Text(params[name])), name)
	}
	b.WriteString(command)
	return b.String(), nil
}

// Text renders a JSON value as the text a shell variable should hold:
// strings as they are, numbers without exponent noise, and objects or lists
// as JSON.
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}
