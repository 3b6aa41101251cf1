// Package workflow loads the state machines in statemachines/ and runs them
// locally in the ASL interpreter, recording each execution's timeline.
package workflow

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/medic-sre/medic/internal/asl"
)

// Library holds parsed state machines by name (the file name without
// .asl.json).
type Library struct {
	machines map[string]*asl.Machine
	// states are each machine's top-level states, for deciding what a
	// crash interrupted (see recover.go).
	states map[string]map[string]stateInfo
}

var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// LoadLibrary parses every *.asl.json in dir, replacing ${Name} placeholders
// (CDK DefinitionSubstitutions in AWS) from subs. A placeholder without a
// value, or a definition that does not parse, fails the load with the file
// named: nothing half-valid runs.
func LoadLibrary(dir string, subs map[string]string) (*Library, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.asl.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no *.asl.json state machines in %s", dir)
	}
	lib := &Library{machines: map[string]*asl.Machine{}, states: map[string]map[string]stateInfo{}}
	var problems []string
	for _, p := range paths {
		m, states, err := loadMachine(p, subs)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		name := strings.TrimSuffix(filepath.Base(p), ".asl.json")
		lib.machines[name], lib.states[name] = m, states
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("state machines: %s", strings.Join(problems, "; "))
	}
	return lib, nil
}

func loadMachine(path string, subs map[string]string) (*asl.Machine, map[string]stateInfo, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var missing []string
	def := placeholder.ReplaceAllStringFunc(string(raw), func(ph string) string {
		name := placeholder.FindStringSubmatch(ph)[1]
		v, ok := subs[name]
		if !ok {
			missing = append(missing, name)
			return ph
		}
		return v
	})
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("%s: no value for substitution(s) %s", path, strings.Join(missing, ", "))
	}
	m, err := asl.Parse([]byte(def))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	states, err := topStates([]byte(def))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, states, nil
}

// Machine returns the named state machine.
func (l *Library) Machine(name string) (*asl.Machine, bool) {
	m, ok := l.machines[name]
	return m, ok
}

// Names lists the machines, sorted.
func (l *Library) Names() []string {
	names := make([]string, 0, len(l.machines))
	for n := range l.machines {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
