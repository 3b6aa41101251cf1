package target

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Target is the instance an alert is about.
type Target struct {
	// InstanceID is what a remediation runs on: an EC2 instance id, a
	// fleet instance id, or LocalTarget.
	InstanceID string `json:"instance_id"`
	// Source says who resolved it: ec2, fleet, local.
	Source string `json:"source"`
	// Address is the host that was looked up.
	Address string `json:"address"`
	// Name is the instance's Name tag, when it has one.
	Name string `json:"name,omitempty"`
	// DependsOn are the instance's `medic:depends-on` tag entries: what it
	// needs to work (topology, docs/consolidation.md).
	DependsOn []string `json:"depends_on,omitempty"`
}

// LocalTarget is the target id of the machine Medic runs on: `medic
// serve` runs its commands here.
const LocalTarget = "localhost"

// DependsOnTag names an instance's dependencies: instance ids or names,
// separated by commas.
const DependsOnTag = "medic:depends-on"

// MaxDependencies bounds the entries read from DependsOnTag.
const MaxDependencies = 8

// Resolver finds the one instance an address names.
type Resolver interface {
	Resolve(ctx context.Context, a Address) (Target, error)
}

// Definitive resolution failures: the address names no instance, or
// several. Other errors (an API that failed) may succeed on a retry and
// are not cached.
var (
	ErrNotFound  = errors.New("no instance has this address")
	ErrAmbiguous = errors.New("several instances have this address")
)

// Definitive reports a failure that a retry cannot fix: the label is not
// an address, or it names no instance or several. Anything else (an API
// error) may pass on a retry.
func Definitive(err error) bool {
	return errors.Is(err, ErrInvalid) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrAmbiguous)
}

// notFound and ambiguous build the definitive errors with their detail.
func notFound(a Address, where string) error {
	return fmt.Errorf("%w: %s %s in %s", ErrNotFound, a.Kind, a.Host, where)
}

func ambiguous(a Address, ids []string) error {
	sort.Strings(ids)
	if len(ids) > 5 {
		ids = append(ids[:5], "…")
	}
	return fmt.Errorf("%w: %s %s matches %s; refusing to pick one", ErrAmbiguous, a.Kind, a.Host, strings.Join(ids, ", "))
}

// parseDependsOn reads the DependsOnTag value: comma-separated entries,
// each trimmed; empty and overlong entries are dropped and at most
// MaxDependencies kept.
func parseDependsOn(tag string) []string {
	var out []string
	for _, e := range strings.Split(tag, ",") {
		e = strings.TrimSpace(e)
		if e == "" || len(e) > 255 || len(out) == MaxDependencies {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Payload is the resolution as a rule sees it, `trigger.target`:
//
//	{resolved: true, instance_id, source, address, name, depends_on}
//	{resolved: false, instance_id: "", error}
//
// instance_id is always present so a template that uses it renders; a rule
// whose parameters use trigger.target does not run on an unresolved one.
func Payload(t Target, err error) map[string]any {
	if err != nil {
		return map[string]any{"resolved": false, "instance_id": "", "error": err.Error()}
	}
	deps := make([]any, len(t.DependsOn))
	for i, d := range t.DependsOn {
		deps[i] = d
	}
	return map[string]any{"resolved": true, "instance_id": t.InstanceID, "source": t.Source,
		"address": t.Address, "name": t.Name, "depends_on": deps}
}
