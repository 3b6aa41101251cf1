package jsonpath

import (
	"unicode"
	"unicode/utf8"
)

// SplitVariable splits a workflow variable reference such as "$order.items[0]"
// into the variable name ("order") and a path into its value ("$.items[0]").
// ok is false when s does not start with "$" followed by a variable name
// ("$", "$.a", "$$.a" and "$[0]" are not variable references).
func SplitVariable(s string) (name, path string, ok bool) {
	if len(s) < 2 || s[0] != '$' {
		return "", "", false
	}
	end := 1
	for i, r := range s[1:] {
		if i == 0 && !IsVariableStart(r) || i > 0 && !IsVariablePart(r) {
			break
		}
		end = 1 + i + utf8.RuneLen(r)
	}
	if end == 1 {
		return "", "", false
	}
	return s[1:end], "$" + s[end:], true
}

// IsVariableStart reports whether r may begin a variable name: Step
// Functions names follow Unicode identifier rules (ID_Start, plus "_").
func IsVariableStart(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.Is(unicode.Nl, r)
}

// IsVariablePart reports whether r may continue a variable name (ID_Continue).
func IsVariablePart(r rune) bool {
	return IsVariableStart(r) || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Pc)
}
