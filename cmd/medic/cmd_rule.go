package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/medic-sre/medic/internal/app"
	"github.com/medic-sre/medic/internal/engine"
	"github.com/medic-sre/medic/internal/kv"
	"github.com/medic-sre/medic/internal/localtask"
	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/rule"
	"github.com/medic-sre/medic/internal/trigger"
)

func init() {
	register(command{name: "rule", summary: "test a rule against an event: test --rule FILE --event FILE [--packs DIR]", run: runRule})
}

const ruleUsage = "usage: medic rule test --rule FILE --event FILE [--packs DIR] [--state DIR]"

// Exit codes of `medic rule test`, as st2-rule-tester has them.
const (
	ruleMatched   = 0
	ruleNoMatch   = 1
	ruleTestError = 2
)

func runRule(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "test" {
		fmt.Fprintln(stderr, ruleUsage)
		return ruleTestError
	}
	fs := flag.NewFlagSet("rule test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ruleFile := fs.String("rule", "", "rule YAML file")
	eventFile := fs.String("event", "", "trigger instance JSON ({\"type\":..,\"payload\":{..}}) or a raw sensor event (events/)")
	packsDir := fs.String("packs", "", "packs directory: also check the action and resolve its parameters")
	state := fs.String("state", envOr("MEDIC_STATE_DIR", ".medic"), "state directory (st2kv lookups read DIR/kv)")
	if err := fs.Parse(args[1:]); err != nil || *ruleFile == "" || *eventFile == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, ruleUsage)
		return ruleTestError
	}
	r, err := pack.LoadRuleFile(*ruleFile, packOfRuleFile(*ruleFile))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ruleTestError
	}
	triggers, err := readEvent(*eventFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ruleTestError
	}
	if triggers, err = withTargets(*state, triggers); err != nil {
		fmt.Fprintln(stderr, err)
		return ruleTestError
	}
	store, err := kv.OpenLocal(filepath.Join(*state, "kv"))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ruleTestError
	}
	var set *pack.Set
	if *packsDir != "" {
		if set, err = loadPacksForTest(*packsDir, stderr); err != nil {
			fmt.Fprintln(stderr, err)
			return ruleTestError
		}
		set.Annotate(r)
	}
	if !r.Enabled {
		fmt.Fprintf(stdout, "note: rule %s is disabled; the result below is what it would do if enabled\n", r.Ref)
	}
	codes := make([]int, 0, len(triggers))
	for i, t := range triggers {
		if len(triggers) > 1 {
			fmt.Fprintf(stdout, "--- trigger %d of %d (%s)\n", i+1, len(triggers), t.Type)
		}
		codes = append(codes, testOne(r, t, store, set, stdout, stderr))
	}
	return combineRuleCodes(codes)
}

// combineRuleCodes gives the exit code of a test over several triggers (an
// Alertmanager group): an error on any of them wins, since the rule would
// fail on that alert; otherwise the rule matched if it matched any.
func combineRuleCodes(codes []int) int {
	code := ruleNoMatch
	for _, c := range codes {
		switch {
		case c == ruleTestError:
			return ruleTestError
		case c == ruleMatched:
			code = ruleMatched
		}
	}
	return code
}

// testOne evaluates r against t and prints the explanation.
func testOne(r *rule.Rule, t trigger.Trigger, store kv.Reader, set *pack.Set, stdout, stderr io.Writer) int {
	ev := rule.NewIndex(nil).EvaluateRule(r, t, store)
	fmt.Fprintln(stdout, ev.Explain())
	if !ev.Matched {
		if accepted, _ := r.Accepts(t); ev.Err != nil && accepted {
			return ruleTestError
		}
		return ruleNoMatch
	}
	if ev.Err != nil {
		return ruleTestError
	}
	if why := engine.UnresolvedTarget(r, t); why != "" {
		fmt.Fprintf(stdout, "note: the engine would not run this rule on this alert: %s (it is held and escalated)\n", why)
	}
	if set != nil {
		return resolveWithPacks(set, ev, stdout, stderr)
	}
	return ruleMatched
}

// packOfRuleFile guesses the pack from packs/<pack>/rules/<file>, for rule
// files without a `pack:` field.
func packOfRuleFile(path string) string {
	dir := filepath.Dir(path)
	if filepath.Base(dir) == "rules" {
		return filepath.Base(filepath.Dir(dir))
	}
	return ""
}

// readEvent reads the event file (see parseEvent).
func readEvent(path string) ([]trigger.Trigger, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseEvent(path, data)
}

func parseTriggerInstance(path string, data []byte) (trigger.Trigger, error) {
	var t trigger.Trigger
	if err := json.Unmarshal(data, &t); err != nil {
		return t, fmt.Errorf("%s: not a trigger instance: %v", path, err)
	}
	if t.Type == "" || t.Payload == nil {
		return t, fmt.Errorf(`%s: not a trigger instance: want {"type": "...", "payload": {...}}`, path)
	}
	return t, nil
}

// loadPacksForTest loads the packs the rule's action lives in; problems
// elsewhere in them are a warning, not a reason to refuse the test.
func loadPacksForTest(dir string, stderr io.Writer) (*pack.Set, error) {
	set, err := pack.LoadDir(dir)
	var problems rule.Problems
	if errors.As(err, &problems) {
		fmt.Fprintf(stderr, "warning: %s has %d problem(s); `medic pack validate %s` lists them\n", dir, len(problems), dir)
		return set, nil
	}
	return set, err
}

// resolveWithPacks finds the rule's action and casts the rendered
// parameters to its schema, as the engine will.
func resolveWithPacks(set *pack.Set, ev rule.Evaluation, stdout, stderr io.Writer) int {
	a, ok := set.Action(ev.Rule.Action.Ref)
	if !ok {
		fmt.Fprintf(stderr, "action %q not found in the packs\n", ev.Rule.Action.Ref)
		return ruleTestError
	}
	params, err := a.ResolveParams(ev.Params)
	if err != nil {
		fmt.Fprintf(stdout, "action %s would NOT start: %v\n", a.Ref, err)
		return ruleTestError
	}
	masked := a.MaskSecrets(params)
	keys := make([]string, 0, len(masked))
	for k := range masked {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(stdout, "action %s (runner %s) would start with:\n", a.Ref, a.RunnerType)
	for _, k := range keys {
		v, _ := rule.ShowJSON(masked[k])
		fmt.Fprintf(stdout, "  %s = %s\n", k, v)
	}
	return ruleMatched
}

// withTargets resolves alerts' instances as `medic serve` does, against the
// state directory's fleet file (and localhost), so rules that read
// trigger.target are tested with it.
func withTargets(stateDir string, triggers []trigger.Trigger) ([]trigger.Trigger, error) {
	fleet, err := localtask.OpenFleet(stateDir)
	if err != nil {
		return nil, err
	}
	resolver := app.FleetTargets(fleet)
	for i := range triggers {
		triggers[i] = engine.WithTarget(context.Background(), resolver, triggers[i])
	}
	return triggers, nil
}
