package pack

import (
	"strings"
	"testing"
	"testing/fstest"
)

// Each case is one pack "p" with an action p.a (params: n integer, s
// string, l array) plus the given files; want is one expected problem.
func TestProblemsTable(t *testing.T) {
	const action = "name: a\nrunner_type: workflow\nparameters:\n  n: {type: integer}\n  s: {type: string, required: true}\n  l: {type: array}\n  b: {type: boolean}\n"
	const ruleHead = "name: r\nenabled: true\ntrigger: {type: prometheus.alert}\n"
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"pack field disagrees", map[string]string{"rules/r.yaml": ruleHead + "pack: q\naction: {ref: p.a, parameters: {s: x}}\n"},
			`rules/r.yaml:4: pack: says "q" but the file is in pack "p"`},
		{"duplicate rule", map[string]string{"rules/r.yaml": ruleHead + "action: {ref: p.a, parameters: {s: x}}\n",
			"rules/r2.yaml": ruleHead + "action: {ref: p.a, parameters: {s: x}}\n"}, "rule p.r is also defined in"},
		{"literal of the wrong type", map[string]string{"rules/r.yaml": ruleHead + "action: {ref: p.a, parameters: {s: x, n: lots}}\n"},
			`action.parameters.n: want an integer, got "lots"`},
		{"templated list passes", map[string]string{"rules/r.yaml": ruleHead + "action: {ref: p.a, parameters: {s: x, l: ['{{ trigger.alertname }}']}}\n"}, ""},
		{"boolean literal", map[string]string{"rules/r.yaml": ruleHead + "action: {ref: p.a, parameters: {s: x, b: perhaps}}\n"},
			`action.parameters.b: want a boolean, got "perhaps"`},
		{"unknown rule field", map[string]string{"rules/r.yaml": ruleHead + "actoin: {ref: p.a}\n"}, "rules/r.yaml:4: actoin: unknown field"},
		{"missing action", map[string]string{"rules/r.yaml": ruleHead}, "action: is required"},
		{"bad rule type", map[string]string{"rules/r.yaml": ruleHead + "type: {ref: sometimes}\naction: {ref: p.a, parameters: {s: x}}\n"},
			`type.ref: unknown rule type "sometimes"`},
		{"criteria not a mapping", map[string]string{"rules/r.yaml": ruleHead + "criteria: [a]\naction: {ref: p.a, parameters: {s: x}}\n"},
			"criteria: must be a mapping"},
		{"criterion unknown field", map[string]string{"rules/r.yaml": ruleHead + "criteria: {trigger.status: {type: eq, patern: firing}}\naction: {ref: p.a, parameters: {s: x}}\n"},
			"criteria.trigger.status.patern: unknown field"},
		{"alias formats shape", map[string]string{"aliases/x.yaml": "name: x\naction_ref: p.a\nformats: {a: b}\n"}, "formats: must be a list"},
		{"alias representation", map[string]string{"aliases/x.yaml": "name: x\naction_ref: p.a\nformats:\n  - display: d\n"},
			"formats[0].representation: is required"},
		{"alias ack field", map[string]string{"aliases/x.yaml": "name: x\naction_ref: p.a\nformats: ['s {{s}}']\nack: {colour: red}\n"},
			"ack.colour: unknown field"},
		{"alias unknown action", map[string]string{"aliases/x.yaml": "name: x\naction_ref: p.zz\nformats: ['s {{s}}']\n"},
			`action_ref: unknown action "p.zz"`},
		{"retry policy", map[string]string{"policies/x.yaml": "name: x\nresource_ref: p.a\npolicy_type: action.retry\nparameters: {retry_on: crash, max_retry_count: two}\n"},
			`parameters.retry_on: must be failure or timeout, got "crash"`},
		{"retry count", map[string]string{"policies/x.yaml": "name: x\nresource_ref: p.a\npolicy_type: action.retry\nparameters: {retry_on: failure, max_retry_count: two}\n"},
			`parameters.max_retry_count: want an integer, got "two"`},
		{"concurrency", map[string]string{"policies/x.yaml": "name: x\nresource_ref: p.a\npolicy_type: action.concurrency\nparameters: {threshold: 0, action: drop, extra: 1}\n"},
			"parameters.threshold: must be a positive integer"},
		{"concurrency action", map[string]string{"policies/x.yaml": "name: x\nresource_ref: p.a\npolicy_type: action.concurrency\nparameters: {threshold: 1, action: drop}\n"},
			`parameters.action: must be delay or cancel, got "drop"`},
		{"policy unknown action", map[string]string{"policies/x.yaml": "name: x\nresource_ref: p.b\npolicy_type: action.retry\nparameters: {retry_on: timeout}\n"},
			`resource_ref: unknown action "p.b"`},
		{"duplicate action", map[string]string{"actions/b.yaml": action}, "action p.a is also defined in"},
		{"handling not a known value", map[string]string{"actions/b.yaml": "name: b\nrunner_type: workflow\nhandling: yolo\n"},
			`actions/b.yaml:3: handling: must be auto, approval, evidence, got "yolo"`},
		{"handling not a string", map[string]string{"actions/b.yaml": "name: b\nrunner_type: workflow\nhandling: [auto]\n"},
			`actions/b.yaml:3: handling: must be a string`},
		{"handling hostile text", map[string]string{"actions/b.yaml": "name: b\nrunner_type: workflow\nhandling: \"auto; rm -rf /\"\n"},
			`handling: must be auto, approval, evidence, got "auto; rm -rf /"`},
		{"handling accepted", map[string]string{"actions/b.yaml": "name: b\nrunner_type: workflow\nhandling: approval\n"}, ""},
		{"enabled not boolean", map[string]string{"actions/b.yaml": "name: b\nrunner_type: workflow\nenabled: maybe\n"}, `enabled: must be true or false, got "maybe"`},
		{"param attribute", map[string]string{"actions/b.yaml": "name: b\nrunner_type: workflow\nparameters:\n  x: {type: string, colour: red}\n"},
			"parameters.x.colour: unknown parameter attribute"},
		{"param position", map[string]string{"actions/b.yaml": "name: b\nrunner_type: workflow\nparameters:\n  x: {position: first}\n"},
			"parameters.x.position: must be a non-negative integer"},
		{"enum not a list", map[string]string{"actions/b.yaml": "name: b\nrunner_type: workflow\nparameters:\n  x: {enum: a}\n"},
			"parameters.x.enum: must be a list of allowed values"},
		{"runner required", map[string]string{"actions/b.yaml": "name: b\n"}, "runner_type: is required"},
		{"top level list", map[string]string{"actions/b.yaml": "- a\n"}, "actions/b.yaml:1: top level must be a mapping"},
		{"empty file", map[string]string{"actions/b.yaml": ""}, "actions/b.yaml: file is empty"},
		{"name scalar", map[string]string{"actions/b.yaml": "name: [x]\nrunner_type: workflow\n"}, "actions/b.yaml:1: name: must be a string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"p/pack.yaml":      {Data: []byte("ref: p\nversion: 1.0.0\n")},
				"p/actions/a.yaml": {Data: []byte(action)},
			}
			for name, body := range c.files {
				fsys["p/"+name] = &fstest.MapFile{Data: []byte(body)}
			}
			_, err := LoadFS(fsys, "packs")
			switch {
			case c.want == "" && err != nil:
				t.Errorf("want no problem, got:\n%v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("want %q, got:\n%v", c.want, err)
			}
		})
	}
}
