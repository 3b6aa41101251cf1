package workflows

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadRepositoryStateMachines(t *testing.T) {
	ws, err := Load("../../statemachines")
	if err != nil {
		t.Fatal(err)
	}
	var drv *Workflow
	for i := range ws {
		if ws[i].Name == "diagnose-remediate-verify" {
			drv = &ws[i]
		}
	}
	if drv == nil {
		t.Fatalf("diagnose-remediate-verify not among %d workflows", len(ws))
	}
	if !contains(drv.Placeholders, "NotifyFunctionArn") {
		t.Errorf("placeholders = %v, want NotifyFunctionArn", drv.Placeholders)
	}
	var sends int
	for _, task := range drv.Tasks {
		if task.Resource == "arn:aws:states:::aws-sdk:ssm:sendCommand" {
			sends++
			if doc, _ := task.Param("DocumentName"); doc != "AWS-RunShellScript" {
				t.Errorf("%s: DocumentName = %q", task.State, doc)
			}
		}
	}
	if sends != 3 {
		t.Errorf("sendCommand tasks = %d, want 3 (diagnose, remediate, verify)", sends)
	}
}

func TestParseNestedStatesAndParams(t *testing.T) {
	def := `{"StartAt":"P","States":{
	  "P":{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${FooFunctionArn}","End":true}}}],"Next":"M"},
	  "M":{"Type":"Map","ItemProcessor":{"StartAt":"B","States":{"B":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
	     "Parameters":{"FunctionName":"${BarFunctionArn}","Payload.$":"$"},"End":true}}},"Next":"J"},
	  "J":{"Type":"Task","QueryLanguage":"JSONata","Resource":"arn:aws:states:::aws-sdk:ssm:sendCommand",
	     "Arguments":{"DocumentName":"{% $doc %}","Comment":"static"},"End":true}}}`
	w, err := Parse("dir/nested.asl.json", []byte(def))
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "nested" {
		t.Errorf("name = %q", w.Name)
	}
	if want := []string{"BarFunctionArn", "FooFunctionArn"}; !reflect.DeepEqual(w.Placeholders, want) {
		t.Errorf("placeholders = %v, want %v", w.Placeholders, want)
	}
	want := []Task{
		{State: "J", Resource: "arn:aws:states:::aws-sdk:ssm:sendCommand", Params: map[string]string{"DocumentName": "", "Comment": "static"}},
		{State: "M/ItemProcessor/B", Resource: "arn:aws:states:::lambda:invoke", Params: map[string]string{"FunctionName": "${BarFunctionArn}", "Payload": ""}},
		{State: "P/Branches[0]/A", Resource: "${FooFunctionArn}", Params: map[string]string{}},
	}
	if !reflect.DeepEqual(w.Tasks, want) {
		t.Errorf("tasks =\n%+v\nwant\n%+v", w.Tasks, want)
	}
	if doc, present := w.Tasks[0].Param("DocumentName"); !present || doc != "" {
		t.Errorf("JSONata DocumentName should be present and dynamic, got %q %v", doc, present)
	}
}

func TestParseErrorsNameFileAndField(t *testing.T) {
	cases := map[string]struct{ file, def, want string }{
		"not json":         {"a.asl.json", `{`, "a.asl.json: not JSON"},
		"no StartAt":       {"a.asl.json", `{"States":{"A":{"Type":"Pass","End":true}}}`, "a.asl.json: StartAt"},
		"no States":        {"a.asl.json", `{"StartAt":"A"}`, "a.asl.json: States"},
		"no Type":          {"a.asl.json", `{"StartAt":"A","States":{"A":{}}}`, "state A: missing Type"},
		"bad state":        {"a.asl.json", `{"StartAt":"A","States":{"A":3}}`, "state A: not an object"},
		"no Resource":      {"a.asl.json", `{"StartAt":"A","States":{"A":{"Type":"Task","End":true}}}`, "state A: Task without a string Resource"},
		"bad branch":       {"a.asl.json", `{"StartAt":"A","States":{"A":{"Type":"Parallel","Branches":[1],"End":true}}}`, "state A: Branches[0]"},
		"no Branches":      {"a.asl.json", `{"StartAt":"A","States":{"A":{"Type":"Parallel","End":true}}}`, "Parallel without a Branches list"},
		"no processor":     {"a.asl.json", `{"StartAt":"A","States":{"A":{"Type":"Map","End":true}}}`, "Map without an ItemProcessor"},
		"nested":           {"a.asl.json", `{"StartAt":"A","States":{"A":{"Type":"Map","Iterator":{"StartAt":"B","States":{"B":{"Type":"Task"}}},"End":true}}}`, "state A/ItemProcessor/B: Task without"},
		"bad name":         {"dir/bad name.asl.json", `{}`, `workflow name "bad name"`},
		"zero timeout":     {"a.asl.json", `{"TimeoutSeconds":0,"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`, "TimeoutSeconds: want a whole number"},
		"string timeout":   {"a.asl.json", `{"TimeoutSeconds":"3600","StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`, "TimeoutSeconds: want a whole number"},
		"fraction timeout": {"a.asl.json", `{"TimeoutSeconds":1.5,"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`, "TimeoutSeconds: want a whole number"},
		"huge timeout":     {"a.asl.json", `{"TimeoutSeconds":1e300,"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`, "TimeoutSeconds: want a whole number"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(c.file, []byte(c.def))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			if !strings.Contains(err.Error(), c.file) {
				t.Errorf("err %q does not name the file", err)
			}
		})
	}
}

func TestParseReadsTheExecutionTimeout(t *testing.T) {
	w, err := Parse("a.asl.json", []byte(`{"TimeoutSeconds":3600,"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`))
	if err != nil || w.TimeoutSeconds != 3600 {
		t.Fatalf("TimeoutSeconds = %d, %v", w.TimeoutSeconds, err)
	}
	if w, _ = Parse("a.asl.json", []byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`)); w.TimeoutSeconds != 0 {
		t.Fatalf("absent TimeoutSeconds = %d, want 0", w.TimeoutSeconds)
	}
}

func TestLoadEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("err = %v, want one naming %s", err, dir)
	}
	os.WriteFile(filepath.Join(dir, "x.asl.json"), []byte(`[]`), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "x.asl.json") {
		t.Fatalf("err = %v, want one naming x.asl.json", err)
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`,
		`{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${X}","End":true}}}],"End":true}}}`,
		`{"StartAt":"M","States":{"M":{"Type":"Map","Iterator":{"StartAt":"B","States":{"B":{"Type":"Task","Resource":"r","Parameters":{"a":1,"b.$":"$"}}}}}}}`,
		`{"StartAt":1}`, `null`, `[]`, `{"StartAt":"A","States":{"A":{"Type":"Map","ItemProcessor":[]}}}`,
	}
	if data, err := os.ReadFile("../../statemachines/diagnose-remediate-verify.asl.json"); err == nil {
		seeds = append(seeds, string(data))
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, def string) {
		w, err := Parse("fuzz.asl.json", []byte(def))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.asl.json: ") {
				t.Fatalf("error does not start with the file: %v", err)
			}
			return
		}
		for _, task := range w.Tasks {
			if task.Resource == "" || task.Params == nil {
				t.Fatalf("incomplete task %+v", task)
			}
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// BenchmarkLoad reads every real definition, as each synth does.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Load("../../statemachines"); err != nil {
			b.Fatal(err)
		}
	}
}
