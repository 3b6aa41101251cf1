package asl

import (
	"context"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/asl/jsonorder"
)

// Step Functions keeps the order of the JSON it received: States.JsonToString
// writes objects in the order of the execution input, of a StringToJson
// argument and of a Parameters template, with a field set by ResultPath
// last. An outside conformance suite compares these strings byte for byte.
const orderMachine = `{"StartAt":"Shape","States":{
  "Shape":{"Type":"Pass","Parameters":{"zone.$":"$.zone","config.$":"$.config","alpha":1,"nested":{"z":1,"a":2}},"ResultPath":"$.shaped","Next":"Str"},
  "Str":{"Type":"Pass","Parameters":{
    "config.$":"States.JsonToString($.config)",
    "shaped.$":"States.JsonToString($.shaped)",
    "whole.$":"States.JsonToString($)",
    "parsed.$":"States.JsonToString(States.StringToJson($.raw))",
    "merged.$":"States.JsonToString(States.JsonMerge($.config, $.extra, false))",
    "formatted.$":"States.Format('cfg={}', $.config)",
    "html.$":"States.JsonToString($.html)"},"End":true}}}`

const orderInput = `{"zone":"b","config":{"zeta":{"y":1,"x":[{"q":1,"p":2}]},"alpha":true},` +
	`"raw":"{\"z\":1,\"a\":{\"n\":2,\"m\":3}}","extra":{"beta":2,"alpha":false},"html":"<a href='x'>&</a>"}`

func TestJsonToStringKeepsTheOrderReceived(t *testing.T) {
	input, err := jsonorder.Unmarshal([]byte(orderInput))
	if err != nil {
		t.Fatal(err)
	}
	out, err := mustParse(t, orderMachine).Run(context.Background(), input, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := out.(map[string]any)
	config := `{"zeta":{"y":1,"x":[{"q":1,"p":2}]},"alpha":true}`
	shaped := `{"zone":"b","config":` + config + `,"alpha":1,"nested":{"z":1,"a":2}}`
	for field, want := range map[string]string{
		"config":    config,
		"shaped":    shaped,
		"whole":     orderInput[:len(orderInput)-1] + `,"shaped":` + shaped + `}`,
		"parsed":    `{"z":1,"a":{"n":2,"m":3}}`,
		"merged":    `{"zeta":{"y":1,"x":[{"q":1,"p":2}]},"alpha":false,"beta":2}`,
		"formatted": `cfg=` + config,
		"html":      `"<a href='x'>&</a>"`,
	} {
		if got[field] != want {
			t.Errorf("%s\n got %s\nwant %s", field, got[field], want)
		}
	}
	// The output keeps the template's order too.
	b, _ := jsonorder.Marshal(out)
	if want := `{"config":`; string(b[:len(want)]) != want {
		t.Errorf("output starts %s", b[:20])
	}
}

// $$.Execution carries RedriveCount (0: never redriven) and writes its
// fields in the order Step Functions documents.
func TestContextExecutionFields(t *testing.T) {
	def := `{"StartAt":"C","States":{"C":{"Type":"Pass","Parameters":{
	  "redrives.$":"$$.Execution.RedriveCount","text.$":"States.JsonToString($$.Execution)"},"End":true}}}`
	input, _ := jsonorder.Unmarshal([]byte(`{"b":1,"a":2}`))
	out, err := mustParse(t, def).Run(context.Background(), input, Options{ExecutionName: "e1", MachineName: "m",
		Context: map[string]any{"Execution": map[string]any{"RoleArn": "arn:aws:iam::1:role/r"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := out.(map[string]any)
	text, _ := got["text"].(string)
	prefix := `{"Id":"arn:aws:states:local:000000000000:execution:m:e1","Input":{"b":1,"a":2},"Name":"e1",` +
		`"RoleArn":"arn:aws:iam::1:role/r","StartTime":"`
	if got["redrives"] != 0.0 || !strings.HasPrefix(text, prefix) || !strings.HasSuffix(text, `","RedriveCount":0}`) {
		t.Fatalf("got %v", got)
	}
}

// A Pass state's Result and a Catch's error output keep their order too.
func TestPassResultKeepsTheDefinitionsOrder(t *testing.T) {
	def := `{"StartAt":"R","States":{
	  "R":{"Type":"Pass","Result":{"b":1,"a":{"d":[{"y":1,"x":2}],"c":2}},"ResultPath":"$.r","Next":"S"},
	  "S":{"Type":"Pass","Parameters":{"s.$":"States.JsonToString($)"},"End":true}}}`
	input, _ := jsonorder.Unmarshal([]byte(`{"z":0,"m":0}`))
	out, err := mustParse(t, def).Run(context.Background(), input, Options{})
	want := `{"z":0,"m":0,"r":{"b":1,"a":{"d":[{"y":1,"x":2}],"c":2}}}`
	if err != nil || out.(map[string]any)["s"] != want {
		t.Fatalf("got %v, %v; want %s", out, err, want)
	}
}
