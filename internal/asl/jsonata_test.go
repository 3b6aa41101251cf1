package asl

import (
	"context"
	"strings"
	"testing"
	"time"

	jsonata "github.com/blues/jsonata-go"
)

// JSONata states per https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
// and variables per .../workflow-variables.html.

func TestJSONataDataFlowAndVariables(t *testing.T) {
	def := `{"QueryLanguage":"JSONata","StartAt":"Init","States":{
	  "Init":{"Type":"Pass","Assign":{"count":0,"target":"{% $states.input.host %}"},"Next":"Call"},
	  "Call":{"Type":"Task","Resource":"arn:x",
	    "Arguments":{"host":"{% $target %}","exec":"{% $states.context.Execution.Name %}","n":"{% $count + 1 %}"},
	    "Output":{"echoed":"{% $states.result.host %}","n":"{% $states.result.n %}"},
	    "Assign":{"count":"{% $states.result.n %}","before":"{% $count %}"},"Next":"Check"},
	  "Check":{"Type":"Choice","Choices":[{"Condition":"{% $count >= 1 and $before = 0 %}","Next":"Done",
	      "Output":{"count":"{% $count %}","host":"{% $target %}","prev":"{% $states.input.echoed %}"}}],"Default":"Fail"},
	  "Fail":{"Type":"Fail","Error":"Bad","Cause":"{% 'count was ' & $string($count) %}"},
	  "Done":{"Type":"Succeed"}}}`
	out, err := runJSON(t, def, `{"host":"web-1"}`, echo)
	wantOutput(t, out, err, `{"count":1,"host":"web-1","prev":"web-1"}`)
}

func TestJSONataFailAndCatch(t *testing.T) {
	def := `{"QueryLanguage":"JSONata","StartAt":"T","States":{
	  "T":{"Type":"Task","Resource":"arn:x","Catch":[{"ErrorEquals":["States.ALL"],"Next":"H",
	      "Output":{"err":"{% $states.errorOutput.Error %}","in":"{% $states.input %}"},"Assign":{"failed":true}}],"End":true},
	  "H":{"Type":"Pass","Output":{"caught":"{% $states.input %}","failed":"{% $failed %}"},"End":true}}}`
	boom := TaskHandlerFunc(func(context.Context, TaskRequest) (any, error) { return nil, &Error{Name: "Boom"} })
	out, err := runJSON(t, def, `{"a":1}`, boom)
	wantOutput(t, out, err, `{"caught":{"err":"Boom","in":{"a":1}},"failed":true}`)

	def = `{"StartAt":"F","States":{"F":{"Type":"Fail","QueryLanguage":"JSONata","Error":"{% $states.input.e %}","Cause":"fixed"}}}`
	_, err = runJSON(t, def, `{"e":"Dyn.Error"}`, nil)
	if e := wantError(t, err, "Dyn.Error"); e.Cause != "fixed" {
		t.Errorf("cause %q", e.Cause)
	}
}

func TestJSONataMapParallelAndScopes(t *testing.T) {
	def := `{"QueryLanguage":"JSONata","StartAt":"Set","States":{
	  "Set":{"Type":"Pass","Assign":{"factor":10},"Next":"Each"},
	  "Each":{"Type":"Map","Items":"{% $states.input.nums %}","MaxConcurrency":2,
	    "ItemSelector":{"v":"{% $states.context.Map.Item.Value %}","i":"{% $states.context.Map.Item.Index %}"},
	    "ItemProcessor":{"StartAt":"Mul","States":{
	      "Mul":{"Type":"Pass","Assign":{"local":0},"Output":"{% $states.input.v * $factor + $states.input.i %}","End":true}}},
	    "Output":{"mapped":"{% $states.result %}","factor":"{% $factor %}"},"Next":"Both"},
	  "Both":{"Type":"Parallel","Arguments":"{% $states.input.mapped %}","Branches":[
	    {"StartAt":"Sum","States":{"Sum":{"Type":"Pass","Output":"{% $sum($states.input) %}","End":true}}},
	    {"StartAt":"Part","States":{"Part":{"Type":"Pass","Output":"{% $partition($states.input, 2) %}","End":true}}}],
	    "Output":{"sum":"{% $states.result[0] %}","parts":"{% $states.result[1] %}","factor":"{% $factor %}"},"End":true}}}`
	out, err := runJSON(t, def, `{"nums":[1,2,3]}`, nil)
	wantOutput(t, out, err, `{"sum":63,"parts":[[10,21],[32]],"factor":10}`)
}

func TestJSONataWaitAndFunctions(t *testing.T) {
	def := `{"QueryLanguage":"JSONata","StartAt":"W","States":{
	  "W":{"Type":"Wait","Seconds":"{% $states.input.s %}","Next":"T"},
	  "T":{"Type":"Wait","Timestamp":"{% $states.input.at %}","Next":"F"},
	  "F":{"Type":"Pass","Output":{"range":"{% $range(1, 5, 2) %}","hash":"{% $hash('abc', 'SHA-256') %}",
	      "parsed":"{% $parse('{\"k\":[1]}') %}","uuid":"{% $length($uuid()) %}","r":"{% $random() < 1 %}",
	      "entered":"{% $states.context.State.EnteredTime %}"},"End":true}}}`
	clock := NewVirtualClock(epoch)
	out, err := mustParse(t, def).Run(context.Background(), j(t, `{"s":60,"at":"2026-01-02T04:00:00Z"}`), Options{Clock: clock})
	wantOutput(t, out, err, `{"range":[1,3,5],"hash":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	  "parsed":{"k":[1]},"uuid":36,"r":true,"entered":"2026-01-02T04:00:00.000Z"}`)
	if got := clock.Now(); !got.Equal(time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC)) {
		t.Errorf("clock at %s", got)
	}
}

func TestJSONataErrors(t *testing.T) {
	cases := map[string]string{
		`{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Output":"{% $states.input.missing %}","End":true}}}`:                                                              ErrQueryEvaluation,
		`{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Output":"{% $undefinedFn() %}","End":true}}}`:                                                                     ErrQueryEvaluation,
		`{"QueryLanguage":"JSONata","StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Condition":"{% 1 %}","Next":"D"}]},"D":{"Type":"Succeed"}}}`:                                        ErrQueryEvaluation,
		`{"QueryLanguage":"JSONata","StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Condition":"{% false %}","Next":"D"}]},"D":{"Type":"Succeed"}}}`:                                    ErrNoChoiceMatched,
		`{"QueryLanguage":"JSONata","StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:x","TimeoutSeconds":"{% 'x' %}","End":true}}}`:                                                     ErrQueryEvaluation,
		`{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","Items":"{% 'notarray' %}","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`: ErrRuntime,
	}
	for def, name := range cases {
		_, err := runJSON(t, def, `{"a":1}`, echo)
		wantError(t, err, name)
	}
}

func TestJSONataTaskTimeoutExpression(t *testing.T) {
	def := `{"QueryLanguage":"JSONata","StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:x","TimeoutSeconds":"{% $states.input.t %}","End":true}}}`
	hang := TaskHandlerFunc(func(ctx context.Context, _ TaskRequest) (any, error) { <-ctx.Done(); return nil, ctx.Err() })
	_, err := runJSON(t, def, `{"t":5}`, hang)
	wantError(t, err, ErrTimeout)
}

// A panic inside the JSONata library (seen with jsonata-go on some inputs)
// is an error of that evaluation, which fails the state with
// States.QueryEvaluationError, instead of ending the process and every
// execution in it.
func TestJSONataLibraryPanicIsAnError(t *testing.T) {
	e, err := jsonata.Compile("$boom()")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.RegisterExts(map[string]jsonata.Extension{"boom": {Func: func() (any, error) { panic("inside the library") }}}); err != nil {
		t.Fatal(err)
	}
	out, err := evalGuarded(e, map[string]any{})
	if out != nil || err == nil || !strings.Contains(err.Error(), "inside the library") {
		t.Fatalf("out %v, err %v", out, err)
	}
}
