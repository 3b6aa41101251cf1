// Package workflows reads the state machine definitions in statemachines/
// the way the CDK stack needs them: the raw text to inline, the
// ${Placeholder} names to substitute, and every Task state's resource and
// static parameters, from which the stack derives least-privilege IAM.
//
// It imports nothing from the CDK, so it is tested (and fuzzed) quickly.
package workflows

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Suffix is the file name ending of a state machine definition.
const Suffix = ".asl.json"

// Workflow is one state machine definition.
type Workflow struct {
	Name         string   // file name without Suffix; the key in MEDIC_STATE_MACHINES
	File         string   // path it was read from, for error messages
	Definition   string   // the raw ASL, inlined into the template as is
	Placeholders []string // ${Name} substitutions used, sorted, unique
	Tasks        []Task   // every Task state, nested ones included, in document order
	// TimeoutSeconds is the definition's top-level limit on an execution,
	// 0 when absent (Step Functions then allows a Standard execution a year).
	TimeoutSeconds int
}

// Task is what IAM needs to know about one Task state.
type Task struct {
	State    string // state name, nested states as Parent/Branch[i]/Name
	Resource string // e.g. arn:aws:states:::aws-sdk:ssm:sendCommand
	// Params holds the Task's static string Parameters (keys without the
	// ".$" suffix); a key given dynamically maps to "" so callers can tell
	// "set at run time" from "absent".
	Params map[string]string
}

// Param returns a static parameter and whether it was present at all.
func (t Task) Param(key string) (value string, present bool) {
	v, ok := t.Params[key]
	return v, ok
}

var (
	namePattern        = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	placeholderPattern = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)
)

// Load reads every *.asl.json in dir, sorted by name. A directory without
// definitions is an error: a Medic stack without workflows does nothing.
func Load(dir string) ([]Workflow, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*"+Suffix))
	if err != nil {
		return nil, fmt.Errorf("workflows: listing %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("workflows: no *%s files in %s", Suffix, dir)
	}
	sort.Strings(files)
	out := make([]Workflow, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("workflows: %w", err)
		}
		w, err := Parse(f, data)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// Parse reads one definition; file names the workflow (its base name
// without Suffix) and appears in every error.
func Parse(file string, data []byte) (Workflow, error) {
	name := strings.TrimSuffix(filepath.Base(file), Suffix)
	if !namePattern.MatchString(name) {
		return Workflow{}, fmt.Errorf("%s: workflow name %q must be 1-64 letters, digits, '-' or '_'", file, name)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return Workflow{}, fmt.Errorf("%s: not JSON: %w", file, err)
	}
	w := Workflow{Name: name, File: file, Definition: string(data), Placeholders: placeholders(data)}
	if raw, ok := doc["TimeoutSeconds"]; ok {
		n, isNumber := raw.(float64)
		if !isNumber || n < 1 || n > 99999999 || n != float64(int(n)) {
			return Workflow{}, fmt.Errorf("%s: TimeoutSeconds: want a whole number of seconds from 1 to 99999999, got %v", file, raw)
		}
		w.TimeoutSeconds = int(n)
	}
	if err := w.walk(doc, ""); err != nil {
		return Workflow{}, fmt.Errorf("%s: %w", file, err)
	}
	return w, nil
}

func placeholders(data []byte) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range placeholderPattern.FindAllSubmatch(data, -1) {
		if n := string(m[1]); !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// walk visits a state list ({"StartAt", "States"}) and recurses into
// Parallel branches and Map processors, whose tasks run with the same role.
func (w *Workflow) walk(machine map[string]any, prefix string) error {
	if _, ok := machine["StartAt"].(string); !ok {
		return fmt.Errorf("%sStartAt: missing or not a string", prefix)
	}
	states, ok := machine["States"].(map[string]any)
	if !ok || len(states) == 0 {
		return fmt.Errorf("%sStates: missing, empty or not an object", prefix)
	}
	names := make([]string, 0, len(states))
	for n := range states {
		names = append(names, n)
	}
	sort.Strings(names) // map order is random; errors and Tasks must not be
	for _, n := range names {
		if err := w.visit(prefix+n, states[n]); err != nil {
			return err
		}
	}
	return nil
}

func (w *Workflow) visit(path string, raw any) error {
	state, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("state %s: not an object", path)
	}
	typ, _ := state["Type"].(string)
	switch typ {
	case "Task":
		res, ok := state["Resource"].(string)
		if !ok || res == "" {
			return fmt.Errorf("state %s: Task without a string Resource", path)
		}
		w.Tasks = append(w.Tasks, Task{State: path, Resource: res, Params: staticParams(taskParams(state))})
	case "Parallel":
		branches, ok := state["Branches"].([]any)
		if !ok {
			return fmt.Errorf("state %s: Parallel without a Branches list", path)
		}
		for i, b := range branches {
			m, ok := b.(map[string]any)
			if !ok {
				return fmt.Errorf("state %s: Branches[%d] is not an object", path, i)
			}
			if err := w.walk(m, fmt.Sprintf("%s/Branches[%d]/", path, i)); err != nil {
				return err
			}
		}
	case "Map":
		proc, ok := state["ItemProcessor"].(map[string]any)
		if !ok {
			proc, ok = state["Iterator"].(map[string]any) // the older spelling
		}
		if !ok {
			return fmt.Errorf("state %s: Map without an ItemProcessor", path)
		}
		return w.walk(proc, path+"/ItemProcessor/")
	case "":
		return fmt.Errorf("state %s: missing Type", path)
	}
	return nil
}

// taskParams returns a Task's Parameters (JSONPath) or Arguments (JSONata).
func taskParams(state map[string]any) any {
	if p, ok := state["Parameters"]; ok {
		return p
	}
	return state["Arguments"]
}

// staticParams keeps the top-level string parameters of a Task. JSONPath
// marks run-time values with a ".$" key suffix, JSONata with "{% ... %}".
func staticParams(raw any) map[string]string {
	params, _ := raw.(map[string]any)
	out := map[string]string{}
	for k, v := range params {
		if key, dynamic := strings.CutSuffix(k, ".$"); dynamic {
			out[key] = ""
			continue
		}
		if s, ok := v.(string); ok && !strings.HasPrefix(strings.TrimSpace(s), "{%") {
			out[k] = s
		} else {
			out[k] = ""
		}
	}
	return out
}
