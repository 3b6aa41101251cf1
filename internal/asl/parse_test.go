package asl

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParseErrorsNameStateAndField(t *testing.T) {
	cases := []struct{ def, want string }{
		{`{"StartAt":"Poll","States":{"Poll":{"Type":"Pass","Next":"Missing"}}}`, `state "Poll": field "Next": no state named "Missing"`},
		{`{"StartAt":"Nope","States":{"A":{"Type":"Pass","End":true}}}`, `field "StartAt": no state named "Nope"`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pas","End":true}}}`, `state "A": field "Type": unknown state type "Pas"`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Next":"A"}}}`, `state "A": field "End": a state cannot have both Next and End`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass"}}}`, `state "A": field "Next": required`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"x","End":true}}}`, `state "A": field "InputPath": "x" is not a JSONPath`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"$.a[","End":true}}}`, `state "A": field "InputPath": JSONPath "$.a["`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$.a[*]","End":true}}}`, `field "ResultPath": "$.a[*]" must be a reference path`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"States.Nope()"},"End":true}}}`, `state "A": field "Parameters": x.$: intrinsic "States.Nope()": unknown intrinsic function "States.Nope"`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":3},"End":true}}}`, `x.$: a .$ field must hold a path or intrinsic string`},
		{`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["X"]}]}}}`, `state "A": field "Retry[0].ErrorEquals": States.ALL must be in the last Retry entry`},
		{`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Catch":[{"ErrorEquals":["States.ALL","X"],"Next":"A"}]}}}`, `field "Catch[0].ErrorEquals": States.ALL must appear alone`},
		{`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Catch":[{"ErrorEquals":["X"],"Next":"Gone"}]}}}`, `state "A": field "Catch[0].Next": no state named "Gone"`},
		{`{"StartAt":"A","States":{"A":{"Type":"Task","End":true}}}`, `state "A": field "Resource": required`},
		{`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","TimeoutSeconds":10,"HeartbeatSeconds":10,"End":true}}}`, `field "HeartbeatSeconds": must be smaller than TimeoutSeconds`},
		{`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["X"],"JitterStrategy":"HALF"}],"End":true}}}`, `field "Retry[0].JitterStrategy": must be FULL or NONE`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","Reslt":1,"End":true}}}`, `state "A": field "Reslt": unknown field`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true},"B":{"Type":"Pass","End":true}}}`, `state "B": unreachable`},
		{`{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":1,"Timestamp":"2026-01-01T00:00:00Z","End":true}}}`, `exactly one of Seconds`},
		{`{"StartAt":"A","States":{"A":{"Type":"Wait","Timestamp":"yesterday","End":true}}}`, `field "Timestamp": "yesterday" is not an RFC 3339 timestamp`},
		{`{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","StringEquals":1,"Next":"A"}]}}}`, `field "Choices[0].StringEquals": must be a string`},
		{`{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","Next":"A"}]}}}`, `needs exactly one comparison operator`},
		{`{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","StringEquals":"x","Next":"B"}],"Default":"A"}}}`, `state "A": field "Choices[0].Next": no state named "B"`},
		{`{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"And":[{"Variable":"$.a","NumericFoo":1}],"Next":"A"}]}}}`, `field "Choices[0].And[0].NumericFoo": unknown field`},
		{`{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","StringEquals":"x","Next":"A"}],"End":true}}}`, `field "End": unknown field`},
		{`{"StartAt":"A","States":{"A":{"Type":"Fail","Error":"x","ErrorPath":"$.e"}}}`, `field "ErrorPath": use Error or ErrorPath, not both`},
		{`{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"X","States":{"X":{"Type":"Pass","Next":"Y"}}}]}}}`, `state "P/Branches[0]/X": field "Next": no state named "Y"`},
		{`{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Pass","Next":"M"}}}}}}`, `state "M/X": field "Next": no state named "M"`},
		{`{"StartAt":"M","States":{"M":{"Type":"Map","End":true}}}`, `state "M": field "ItemProcessor": required`},
		{`{"StartAt":"A","QueryLanguage":"JSONata2","States":{"A":{"Type":"Pass","End":true}}}`, `field "QueryLanguage": must be JSONPath or JSONata, got "JSONata2"`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","Output":{},"End":true}}}`, `field "Output": a JSONata field: set "QueryLanguage": "JSONata"`},
		{`{"StartAt":"A","QueryLanguage":"JSONata","States":{"A":{"Type":"Pass","Parameters":{},"End":true}}}`, `state "A": field "Parameters": unknown field`},
		{`{"StartAt":"A","QueryLanguage":"JSONata","States":{"A":{"Type":"Pass","Output":"{% $states.input. %}","End":true}}}`, `state "A": field "Output": JSONata "$states.input."`},
		{`{"StartAt":"A","QueryLanguage":"JSONata","States":{"A":{"Type":"Pass","Assign":{"1x":1},"End":true}}}`, `"1x" is not a valid variable name`},
		{`{"StartAt":"A","QueryLanguage":"JSONata","States":{"A":{"Type":"Choice","Choices":[{"Next":"A"}]}}}`, `field "Choices[0].Condition": required`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"states":1},"End":true}}}`, `state "A": field "Assign": "states" is a reserved variable name`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"a-b.$":"$.x"},"End":true}}}`, `state "A": field "Assign": "a-b" is not a valid variable name`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":1,"x.$":"$.x"},"End":true}}}`, `variable "x" is assigned twice`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x.$":"$.a["},"End":true}}}`, `state "A": field "Assign": Assign.x.$: JSONPath "$.a["`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x.$":"States.Nope($v)"},"End":true}}}`, `unknown intrinsic function "States.Nope"`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":[1],"End":true}}}`, `field "Assign": must be an object`},
		{`{"StartAt":"A","States":{"A":{"Type":"Succeed","Assign":{"x":1}}}}`, `state "A": field "Assign": unknown field`},
		{`{"StartAt":"A","States":{"A":{"Type":"Fail","Assign":{"x":1}}}}`, `state "A": field "Assign": unknown field`},
		{`{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$v.x","End":true}}}`, `field "ResultPath": "$v.x" must be a reference path`},
		{`{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a","IsNull":true,"Assign":{"x":1}},"Next":"A"}]}}}`, `field "Choices[0].Not.Assign": unknown field`},
		{`{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"Assign":{"x.$":"$$.Nope["},"Next":"A"}]}}}`, `state "A": field "Choices[0].Assign": Assign.x.$`},
		{`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","End":true,"Catch":[{"ErrorEquals":["X"],"Assign":{"2":1},"Next":"A"}]}}}`, `state "A": field "Catch[0].Assign": "2" is not a valid variable name`},
		{`{"StartAt":"S","States":{"S":{"Type":"Pass","Assign":{"n":1},"Next":"M"},"M":{"Type":"Map","End":true,"ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Pass","Assign":{"n":2},"End":true}}}}}}`,
			`state "M/X": field "Assign": variable "n" is assigned in an outer scope (state "S")`},
		{`{"StartAt":"P","States":{"P":{"Type":"Parallel","Assign":{"n":1},"End":true,"Branches":[{"StartAt":"X","States":{"X":{"Type":"Wait","Seconds":0,"Assign":{"n.$":"$"},"End":true}}}]}}}`,
			`state "P/Branches[0]/X": field "Assign": variable "n" is assigned in an outer scope (state "P")`},
		{`[1]`, `must be a JSON object`},
		{`{"StartAt":`, `not valid JSON`},
		{`{"States":{}}`, `field "StartAt": required`},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.def))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%s)\n  = %v\n want error containing %s", c.def, err, c.want)
		}
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"X"},"B":{"Type":"Bogus"}}}`))
	var de *DefinitionError
	if !errors.As(err, &de) {
		t.Fatalf("want *DefinitionError, got %T", err)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n < 3 {
		t.Errorf("want all problems reported, got %d:\n%v", n, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`,
		`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a","IsPresent":true},"Next":"D"}],"Default":"D"},"D":{"Type":"Succeed"}}}`,
		`{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.i","ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["States.ALL"]}],"End":true}}},"End":true}}}`,
		`{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"F","States":{"F":{"Type":"Fail","CausePath":"States.Format('{}',$.x)"}}}],"End":true}}}`,
		`{"StartAt":"W","States":{"W":{"Type":"Wait","TimestampPath":"$$.Execution.StartTime","End":true}}}`,
		`{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Assign":{"v":"{% $states.input.a %}"},"Output":{"x":"{% $v & 'y' %}"},"Next":"C"},"C":{"Type":"Choice","Choices":[{"Condition":"{% $v > 0 %}","Next":"D"}],"Default":"D"},"D":{"Type":"Succeed"}}}`,
		`{"StartAt":"P","States":{"P":{"Type":"Pass","Assign":{"v.$":"$.a","w":{"k.$":"$$.Execution.Name"}},"Next":"C"},"C":{"Type":"Choice","Choices":[{"Variable":"$v","NumericGreaterThan":0,"Assign":{"z.$":"States.Format('{}',$w.k)"},"Next":"D"}],"Assign":{"z":0},"Default":"D"},"D":{"Type":"Pass","Parameters":{"z.$":"$z"},"End":true}}}`,
		`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","ResultSelector":{"r.$":"$"},"Assign":{"got.$":"$.r"},"Catch":[{"ErrorEquals":["States.ALL"],"Assign":{"err.$":"$.Error"},"Next":"M"}],"Next":"M"},"M":{"Type":"Map","ItemsPath":"$i","ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Pass","Assign":{"inner.$":"$"},"End":true}}},"End":true}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, def []byte) {
		m, err := Parse(def)
		if err != nil {
			return
		}
		// Anything that parses must run to some end without panicking.
		// Tokens are answered at once so callback loops do not wait for
		// their (virtual) timeouts.
		hub := NewTokenHub()
		answer := TaskHandlerFunc(func(_ context.Context, req TaskRequest) (any, error) {
			if req.TaskToken != "" {
				return nil, hub.Success(req.TaskToken, req.Input)
			}
			return req.Input, nil
		})
		m.Run(context.Background(), map[string]any{"a": 1.0, "i": []any{1.0, 2.0}, "x": "y"},
			Options{Tasks: answer, Tokens: hub, Clock: NewVirtualClock(epoch)})
	})
}
