package stack

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/jsii-runtime-go"

	"github.com/medic-sre/medic/internal/pack"
	"github.com/medic-sre/medic/internal/timer"
)

// FlushInput is what the consolidation flush schedule sends: the same JSON
// as dispatch.FlushEvent in internal/dispatch, written out here so the
// CDK app does not link the consolidation code; TestSchedulesInvokeIngest
// compares the two.
const FlushInput = `{"source":"medic.consolidation","detail-type":"Flush"}`

// FlushSchedule is the flush tick's schedule and its name.
const (
	FlushExpression = "rate(1 minute)"
	FlushName       = "consolidation-flush" // no dot, so no rule ref (pack.name) can take it
)

// Retry policies of the schedules. A missed timer firing is worth an hour
// of retries; a flush is repeated by the next tick a minute later anyway.
var (
	TimerRetry = &awsscheduler.CfnSchedule_RetryPolicyProperty{MaximumRetryAttempts: jsii.Number(4), MaximumEventAgeInSeconds: jsii.Number(3600)}
	FlushRetry = &awsscheduler.CfnSchedule_RetryPolicyProperty{MaximumRetryAttempts: jsii.Number(2), MaximumEventAgeInSeconds: jsii.Number(120)}
)

// PlannedTimer is one enabled timer rule and its Scheduler schedule.
type PlannedTimer struct {
	Rule     string // rule ref, e.g. "linux.nightly_cleanup"
	File     string // the rule's file, for errors
	Schedule timer.Schedule
	Input    string // the target Input: a timer.Tick with Scheduler's time placeholder
}

// planTimers reads the packs beside the function that receives schedules
// (so the schedules and the rules ingest evaluates are one and the same)
// and maps every enabled timer rule to a schedule. A timer Scheduler
// cannot express fails with the rule and the field.
func planTimers(assetRoot string, fns []FunctionSpec) (string, []PlannedTimer, error) {
	var target string
	for _, f := range fns {
		if !f.invokedBy(FromSchedules) {
			continue
		}
		if target != "" {
			return "", nil, fmt.Errorf("functions %s and %s both receive schedules: a timer would fire twice (infra/stack/functions.go)", target, f.Name)
		}
		target = f.Name
	}
	if target == "" {
		return "", nil, nil
	}
	dir := filepath.Join(BuildDir(assetRoot, target), "packs")
	set, err := pack.LoadDir(dir)
	if err != nil {
		return "", nil, fmt.Errorf("function %s: packs beside bootstrap do not load: %w", target, err)
	}
	var out []PlannedTimer
	names := map[string]string{}
	for _, r := range set.Rules() {
		if !r.Enabled || !timer.IsTimerType(r.TriggerType) {
			continue
		}
		t, err := timer.FromRule(r.Ref, r.TriggerType, r.TriggerParameters)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", r.File, err)
		}
		sched, err := t.AWSSchedule()
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", r.File, err)
		}
		name := ScheduleName(r.Ref)
		if other, dup := names[name]; dup {
			return "", nil, fmt.Errorf("%s: rule %s and rule %s get the same schedule name %s", r.File, other, r.Ref, name)
		}
		names[name] = r.Ref
		out = append(out, PlannedTimer{Rule: r.Ref, File: r.File, Schedule: sched, Input: t.SchedulerInput()})
	}
	return target, out, nil
}

var scheduleNameInvalid = regexp.MustCompile(`[^0-9a-zA-Z._-]`)

// ScheduleName is a rule's schedule name within the stack's schedule
// group: the rule ref when it fits Scheduler's 64 characters of
// [0-9a-zA-Z-_.], else a shortened ref and a hash of the whole.
func ScheduleName(ruleRef string) string {
	name := scheduleNameInvalid.ReplaceAllString(ruleRef, "-")
	if name == ruleRef && len(name) <= 64 {
		return name
	}
	sum := sha256.Sum256([]byte(ruleRef))
	if len(name) > 55 {
		name = name[:55]
	}
	return name + "-" + hex.EncodeToString(sum[:4])
}

// addSchedules creates the stack's schedule group, the role Scheduler
// assumes (invoke the target function, send to the DLQ, nothing else), one
// schedule per timer rule and the consolidation flush tick.
func (m *Medic) addSchedules() {
	if m.plan.ScheduleTarget == "" {
		return
	}
	fn := m.Functions[m.plan.ScheduleTarget]
	group := awsscheduler.NewCfnScheduleGroup(m.Stack, jsii.String("Schedules"), &awsscheduler.CfnScheduleGroupProps{
		Name: m.StackName(), // deleting the stack deletes the group and its schedules
	})
	role := awsiam.NewRole(m.Stack, jsii.String("SchedulerRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": m.Account()}},
		}),
		Description: jsii.String("EventBridge Scheduler: Medic timers and the consolidation flush"),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("lambda:InvokeFunction"), Resources: &[]*string{fn.FunctionArn()},
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("sqs:SendMessage"), Resources: &[]*string{m.DeadLetters.QueueArn()},
	}))
	m.schedulerRole = role
	add := func(id, name, description string, sched timer.Schedule, input string, retry *awsscheduler.CfnSchedule_RetryPolicyProperty) {
		props := &awsscheduler.CfnScheduleProps{
			Name:               jsii.String(name),
			GroupName:          group.Ref(),
			Description:        jsii.String(description),
			ScheduleExpression: jsii.String(sched.Expression),
			FlexibleTimeWindow: &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
			State:              jsii.String("ENABLED"),
			Target: &awsscheduler.CfnSchedule_TargetProperty{
				Arn: fn.FunctionArn(), RoleArn: role.RoleArn(), Input: jsii.String(input),
				RetryPolicy:      retry,
				DeadLetterConfig: &awsscheduler.CfnSchedule_DeadLetterConfigProperty{Arn: m.DeadLetters.QueueArn()},
			},
		}
		if sched.Timezone != "" {
			props.ScheduleExpressionTimezone = jsii.String(sched.Timezone)
		}
		s := awsscheduler.NewCfnSchedule(m.Stack, jsii.String(id), props)
		s.Node().AddDependency(role) // its policy too: the first firing must be allowed
	}
	for _, t := range m.plan.Timers {
		add("Timer-"+t.Rule, ScheduleName(t.Rule), "Medic timer of rule "+t.Rule, t.Schedule, t.Input, TimerRetry)
	}
	add("ConsolidationFlush", FlushName, "Medic: flush consolidation groups whose wait is over",
		timer.Schedule{Expression: FlushExpression}, FlushInput, FlushRetry)
}
