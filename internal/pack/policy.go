package pack

import (
	"fmt"
	"slices"
)

// Policy types StackStorm defines and Medic understands.
const (
	PolicyConcurrency     = "action.concurrency"
	PolicyConcurrencyAttr = "action.concurrency.attr"
	PolicyRetry           = "action.retry"
)

// Policy is a st2 policy on an action.
type Policy struct {
	Ref, Pack, Name, Description, ResourceRef, PolicyType, File string
	Enabled                                                     bool
	// Concurrency policies: at most Threshold runs at once (per distinct
	// values of Attributes for .attr); over it, Action "delay" or "cancel".
	Threshold  int
	Action     string
	Attributes []string
	// Retry policy: on RetryOn ("failure" or "timeout") re-run up to
	// MaxRetryCount times, DelaySeconds apart.
	RetryOn       string
	MaxRetryCount int
	DelaySeconds  int
	Lines         map[string]int
}

var policyFields = []string{"name", "pack", "ref", "description", "enabled", "resource_ref", "policy_type",
	"parameters", "uid", "id", "metadata_file"}

func parsePolicy(path string, data []byte, packName string, ps *problems) *Policy {
	d, ok := parseDoc(path, data, policyFields, ps)
	if !ok {
		return nil
	}
	p := &Policy{
		File:        path,
		Name:        d.str("name", ps),
		Pack:        d.str("pack", ps),
		Description: d.str("description", ps),
		ResourceRef: d.str("resource_ref", ps),
		PolicyType:  d.str("policy_type", ps),
		Enabled:     d.boolean("enabled", true, ps),
		Lines:       map[string]int{},
	}
	for _, name := range d.order {
		p.Lines[name] = d.line(name)
	}
	checkOwner(d, packName, &p.Pack, ps)
	p.Ref = p.Pack + "." + p.Name
	for _, req := range []struct{ name, val string }{{"name", p.Name}, {"resource_ref", p.ResourceRef}, {"policy_type", p.PolicyType}} {
		if req.val == "" {
			ps.add(path, 1, req.name, "is required")
		}
	}
	params := decodeMap(path, "parameters", d.node("parameters"), ps)
	line := d.line("parameters")
	switch p.PolicyType {
	case PolicyConcurrency, PolicyConcurrencyAttr:
		p.parseConcurrency(params, line, ps)
	case PolicyRetry:
		p.parseRetry(params, line, ps)
	case "":
	default:
		ps.add(path, d.line("policy_type"), "policy_type", "unknown policy type %q (want %s, %s or %s)",
			p.PolicyType, PolicyConcurrency, PolicyConcurrencyAttr, PolicyRetry)
	}
	return p
}

func (p *Policy) parseConcurrency(params map[string]any, line int, ps *problems) {
	allowed := []string{"threshold", "action"}
	if p.PolicyType == PolicyConcurrencyAttr {
		allowed = append(allowed, "attributes")
	}
	p.checkKeys(params, allowed, line, ps)
	p.Threshold = p.intParam(params, "threshold", 0, line, ps)
	if p.Threshold < 1 {
		ps.add(p.File, line, "parameters.threshold", "must be a positive integer")
	}
	p.Action = "delay"
	if v, ok := params["action"]; ok {
		p.Action = fmt.Sprint(v)
	}
	if p.Action != "delay" && p.Action != "cancel" {
		ps.add(p.File, line, "parameters.action", "must be delay or cancel, got %q", p.Action)
	}
	if p.PolicyType == PolicyConcurrencyAttr {
		list, _ := params["attributes"].([]any)
		for _, a := range list {
			p.Attributes = append(p.Attributes, fmt.Sprint(a))
		}
		if len(p.Attributes) == 0 {
			ps.add(p.File, line, "parameters.attributes", "needs a list of action parameter names")
		}
	}
}

func (p *Policy) parseRetry(params map[string]any, line int, ps *problems) {
	p.checkKeys(params, []string{"retry_on", "max_retry_count", "delay"}, line, ps)
	p.RetryOn, _ = params["retry_on"].(string)
	if p.RetryOn != "failure" && p.RetryOn != "timeout" {
		ps.add(p.File, line, "parameters.retry_on", "must be failure or timeout, got %q", p.RetryOn)
	}
	p.MaxRetryCount = p.intParam(params, "max_retry_count", 2, line, ps)
	p.DelaySeconds = p.intParam(params, "delay", 0, line, ps)
	if p.MaxRetryCount < 0 || p.DelaySeconds < 0 {
		ps.add(p.File, line, "parameters", "max_retry_count and delay must not be negative")
	}
}

func (p *Policy) checkKeys(params map[string]any, allowed []string, line int, ps *problems) {
	for _, k := range sortedKeys(params) {
		if !slices.Contains(allowed, k) {
			ps.add(p.File, line, "parameters."+k, "unknown parameter for %s (known: %v)", p.PolicyType, allowed)
		}
	}
}

func (p *Policy) intParam(params map[string]any, name string, def, line int, ps *problems) int {
	v, ok := params[name]
	if !ok {
		return def
	}
	n, err := castInteger(v)
	if err != nil {
		ps.add(p.File, line, "parameters."+name, "%v", err)
		return def
	}
	return n.(int)
}
