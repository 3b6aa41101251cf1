package asl

import (
	"fmt"
	"strings"
	"testing"
)

// choiceMachine goes to Yes when rule (a JSON object without Next) matches.
func choiceMachine(rule string) string {
	return fmt.Sprintf(`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[%s],"Default":"No"},
	  "Yes":{"Type":"Pass","Result":"yes","End":true},"No":{"Type":"Pass","Result":"no","End":true}}}`,
		strings.Replace(rule, "{", `{"Next":"Yes",`, 1))
}

// Operators per https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
func TestChoiceOperators(t *testing.T) {
	input := `{"s":"beta","n":5,"b":true,"ts":"2026-01-02T03:04:05Z","z":null,"other":"beta","m":7,"f":"log-2026.txt","star":"a*b"}`
	cases := []struct {
		rule string
		want bool
	}{
		{`{"Variable":"$.s","StringEquals":"beta"}`, true},
		{`{"Variable":"$.s","StringEquals":"alpha"}`, false},
		{`{"Variable":"$.s","StringLessThan":"gamma"}`, true},
		{`{"Variable":"$.s","StringGreaterThan":"alpha"}`, true},
		{`{"Variable":"$.s","StringLessThanEquals":"beta"}`, true},
		{`{"Variable":"$.s","StringGreaterThanEquals":"bz"}`, false},
		{`{"Variable":"$.s","StringEqualsPath":"$.other"}`, true},
		{`{"Variable":"$.s","StringLessThanPath":"$.other"}`, false},
		{`{"Variable":"$.f","StringMatches":"log-*.txt"}`, true},
		{`{"Variable":"$.f","StringMatches":"*.csv"}`, false},
		{`{"Variable":"$.star","StringMatches":"a\\*b"}`, true},
		{`{"Variable":"$.s","StringMatches":"a\\*b"}`, false},
		{`{"Variable":"$.s","StringMatches":"*e*a"}`, true},
		{`{"Variable":"$.n","NumericEquals":5}`, true},
		{`{"Variable":"$.n","NumericLessThan":5}`, false},
		{`{"Variable":"$.n","NumericGreaterThan":4.5}`, true},
		{`{"Variable":"$.n","NumericLessThanEquals":5}`, true},
		{`{"Variable":"$.n","NumericGreaterThanEquals":6}`, false},
		{`{"Variable":"$.n","NumericLessThanPath":"$.m"}`, true},
		{`{"Variable":"$.n","NumericEqualsPath":"$.m"}`, false},
		{`{"Variable":"$.s","NumericEquals":5}`, false}, // wrong type compares false
		{`{"Variable":"$.b","BooleanEquals":true}`, true},
		{`{"Variable":"$.b","BooleanEqualsPath":"$.b"}`, true},
		{`{"Variable":"$.ts","TimestampEquals":"2026-01-02T03:04:05Z"}`, true},
		{`{"Variable":"$.ts","TimestampLessThan":"2026-01-02T03:04:05.5Z"}`, true},
		{`{"Variable":"$.ts","TimestampGreaterThan":"2026-01-02T04:04:05+02:00"}`, true},
		{`{"Variable":"$.ts","TimestampLessThanEquals":"2025-01-01T00:00:00Z"}`, false},
		{`{"Variable":"$.ts","TimestampGreaterThanEquals":"2026-01-02T03:04:05Z"}`, true},
		{`{"Variable":"$.ts","TimestampEqualsPath":"$.ts"}`, true},
		{`{"Variable":"$.z","IsNull":true}`, true},
		{`{"Variable":"$.s","IsNull":true}`, false},
		{`{"Variable":"$.missing","IsPresent":false}`, true},
		{`{"Variable":"$.s","IsPresent":true}`, true},
		{`{"Variable":"$.n","IsNumeric":true}`, true},
		{`{"Variable":"$.s","IsString":true}`, true},
		{`{"Variable":"$.b","IsBoolean":false}`, false},
		{`{"Variable":"$.ts","IsTimestamp":true}`, true},
		{`{"Variable":"$.s","IsTimestamp":true}`, false},
		{`{"And":[{"Variable":"$.n","NumericEquals":5},{"Variable":"$.b","BooleanEquals":true}]}`, true},
		{`{"And":[{"Variable":"$.n","NumericEquals":5},{"Variable":"$.b","BooleanEquals":false}]}`, false},
		{`{"Or":[{"Variable":"$.n","NumericEquals":1},{"Variable":"$.s","StringEquals":"beta"}]}`, true},
		{`{"Not":{"Variable":"$.s","StringEquals":"beta"}}`, false},
		{`{"Variable":"$$.Execution.Name","StringEquals":"exec-1"}`, true},
	}
	for _, c := range cases {
		out, err := runJSON(t, choiceMachine(c.rule), input, nil)
		if err != nil {
			t.Errorf("%s: %v", c.rule, err)
			continue
		}
		if got := out == "yes"; got != c.want {
			t.Errorf("%s = %v, want %v", c.rule, got, c.want)
		}
	}
}

func TestChoiceMissingVariableIsRuntime(t *testing.T) {
	_, err := runJSON(t, choiceMachine(`{"Variable":"$.nope","StringEquals":"x"}`), `{}`, nil)
	wantError(t, err, ErrRuntime)
	_, err = runJSON(t, choiceMachine(`{"Variable":"$.s","StringEqualsPath":"$.nope"}`), `{"s":"x"}`, nil)
	wantError(t, err, ErrRuntime)
}

func TestStringMatchesPatterns(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true}, {"*", "anything", true}, {"", "", true}, {"", "x", false},
		{"a*", "abc", true}, {"*c", "abc", true}, {"a*c", "ac", true}, {"a*c", "ab", false},
		{"a**c", "abc", true}, {"*b*", "abc", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "acb", false},
		{`a\*c`, "a*c", true}, {`a\*c`, "abc", false}, {`a\\*`, `a\xyz`, true}, {"aa*aa", "aaa", false},
	}
	for _, c := range cases {
		if got := matchPattern(compilePattern(c.pattern), c.s); got != c.want {
			t.Errorf("match(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}
