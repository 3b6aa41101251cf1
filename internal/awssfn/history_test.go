package awssfn

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/medic-sre/medic/internal/awsfake"
)

func TestHistoryPagesAndMapsEvents(t *testing.T) {
	pages := map[string]string{
		"": `{"events":[
			{"id":1,"timestamp":1.7e9,"type":"ExecutionStarted","executionStartedEventDetails":{"input":"{}"}},
			{"id":2,"timestamp":1.7e9,"type":"TaskStateEntered","stateEnteredEventDetails":{"name":"SendCommand","input":"{}"}},
			{"id":3,"timestamp":1.7e9,"type":"TaskSucceeded","taskSucceededEventDetails":{"resourceType":"aws-sdk:ssm","resource":"sendCommand","output":"{\"Command\": {\"CommandId\": \"c-1\"}}"}}
		],"nextToken":"p2"}`,
		"p2": `{"events":[
			{"id":4,"timestamp":1.7e9,"type":"TaskFailed","taskFailedEventDetails":{"resourceType":"aws-sdk:ssm","resource":"getCommandInvocation","error":"Ssm.InvocationDoesNotExistException","cause":"not yet"}}
		]}`,
	}
	srv := awsfake.New(t, awsfake.StepFunctions).Handle("GetExecutionHistory", func(in map[string]any) (any, error) {
		token, _ := in["nextToken"].(string)
		var page map[string]any
		return page, json.Unmarshal([]byte(pages[token]), &page)
	})
	steps, last, err := History(context.Background(), client(srv), "arn:x", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range steps {
		got = append(got, s.Kind+" "+s.Name+" "+s.Detail)
	}
	want := []string{
		"state SendCommand ",
		`task ssm:sendCommand {"Command":{"CommandId":"c-1"}}`,
		"task ssm:getCommandInvocation Ssm.InvocationDoesNotExistException: not yet",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || last != 4 {
		t.Fatalf("got (last %d)\n%s", last, strings.Join(got, "\n"))
	}
	steps, _, _ = History(context.Background(), client(srv), "arn:x", 3)
	if len(steps) != 1 {
		t.Fatalf("since 3: %v", steps)
	}
}
