package stack

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
)

// Config is what a user sets in cdk.json "context" (or with `cdk synth -c
// key=value`). Every key is optional; Defaults documents the values used.
type Config struct {
	StackName    string // stackName: the CloudFormation stack and the prefix of every fixed name (default Medic)
	SlackChannel string // slackChannel: where notify posts alerts and results
	// healableTagKey/healableTagValue: the only instances and Auto Scaling
	// groups Medic may act on carry this tag. Required: synth fails without
	// them unless UnsafeAllInstances.
	HealableTagKey   string
	HealableTagValue string
	// medicUnsafeAllInstances: opt out of the healable tag, so workflows may
	// act on every instance and group of the account. cdk-nag then reports
	// an error, which the deployer must override deliberately.
	UnsafeAllInstances bool
	// alarmNamePrefixes: only alarms whose names start with one of these
	// reach Medic (EventBridge rule and alarm topic). Required; "*" opts in
	// every alarm except Medic's own and Auto Scaling's TargetTracking-*.
	AlarmNamePrefixes []string
	// logExecutionData: state machines log every event with its input and
	// output (level ALL). Off by default: execution data may carry secrets
	// and command output, so the default is level ERROR without data.
	LogExecutionData bool
	LogRetentionDays int      // logRetentionDays: Lambda and Step Functions log retention
	PollSeconds      int      // pollSeconds: MEDIC_POLL_SECONDS, how often workflows poll SSM
	Functions        []string // functions: the Lambdas to deploy; empty = ingest + every built optional one
	OpsEmail         string   // opsEmail: subscribed to the topic Medic's own alarms notify
	RetainData       bool     // retainData: keep the table and Slack secrets when the stack is destroyed
	// ssmDocuments: the SSM documents workflows may run when a definition
	// passes DocumentName at run time (a static DocumentName is granted as is).
	SSMDocuments []string
	// kvPrefix: the Parameter Store path of the datastore (st2kv in rules);
	// MEDIC_KV_PREFIX of ingest, which may read that path and below only.
	KVPrefix string
}

// Defaults is the configuration with nothing set.
func Defaults() Config {
	return Config{StackName: DefaultStackName, SlackChannel: "#medic", LogRetentionDays: 30, PollSeconds: 5, RetainData: true,
		SSMDocuments: []string{"AWS-RunShellScript"}, KVPrefix: DefaultKVPrefix}
}

// DefaultStackName is the stack id when context stackName is unset.
const DefaultStackName = "Medic"

// AllAlarms is the alarmNamePrefixes entry that opts in every alarm.
const AllAlarms = "*"

// TargetTrackingPrefix names the alarms Auto Scaling creates for target
// tracking policies: they flap by design and scale on their own, so they
// never reach Medic.
const TargetTrackingPrefix = "TargetTracking-"

// DefaultKVPrefix is internal/ingest's default datastore path too.
const DefaultKVPrefix = "/medic/kv"

// ContextKeys lists the keys ConfigFromContext reads, for docs and tests.
var ContextKeys = []string{"stackName", "slackChannel", "healableTagKey", "healableTagValue", "alarmNamePrefixes",
	"logRetentionDays", "logExecutionData", "pollSeconds", "functions", "opsEmail", "retainData", "ssmDocuments", "kvPrefix"}

// UnsafeAllInstancesKey is the opt-out of the healable tag. It is not in
// cdk.json on purpose: it has to be typed.
const UnsafeAllInstancesKey = "medicUnsafeAllInstances"

// retentionDays maps the day counts CloudWatch Logs accepts to CDK's enum.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

var (
	tagKeyPattern       = regexp.MustCompile(`^[\w.:/=+@-]{1,128}$`)
	tagValuePattern     = regexp.MustCompile(`^[\w.:/=+@ -]{1,256}$`)
	stackNamePattern    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,39}$`)
	alarmPrefixPattern  = regexp.MustCompile(`^[A-Za-z0-9_.:/#+=@-]{1,200}$`)
	functionNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)
	documentPattern     = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,128}$`)
	// A parameter path: /segment/segment, Parameter Store's characters.
	kvPrefixPattern = regexp.MustCompile(`^(/[a-zA-Z0-9_.-]+)+$`)
	// Parameter Store reserves names that begin with aws or ssm.
	reservedKVPrefix = regexp.MustCompile(`(?i)^/(aws|ssm)`)
)

// ConfigFromContext reads the configuration through get, which returns a
// context value or nil. Values come typed from cdk.json (strings, numbers,
// booleans, lists) or as strings from `-c key=value`; both are accepted.
// Errors name the key and the reason.
func ConfigFromContext(get func(key string) any) (Config, error) {
	c := Defaults()
	var err error
	str := func(key string, dst *string) {
		if err == nil {
			err = readString(get(key), key, dst)
		}
	}
	str("stackName", &c.StackName)
	str("slackChannel", &c.SlackChannel)
	str("healableTagKey", &c.HealableTagKey)
	str("healableTagValue", &c.HealableTagValue)
	str("opsEmail", &c.OpsEmail)
	str("kvPrefix", &c.KVPrefix)
	if err == nil {
		err = readInt(get("logRetentionDays"), "logRetentionDays", &c.LogRetentionDays)
	}
	if err == nil {
		err = readInt(get("pollSeconds"), "pollSeconds", &c.PollSeconds)
	}
	if err == nil {
		err = readBool(get("retainData"), "retainData", &c.RetainData)
	}
	if err == nil {
		err = readBool(get("logExecutionData"), "logExecutionData", &c.LogExecutionData)
	}
	if err == nil {
		err = readBool(get(UnsafeAllInstancesKey), UnsafeAllInstancesKey, &c.UnsafeAllInstances)
	}
	if err == nil {
		c.AlarmNamePrefixes, err = readList(get("alarmNamePrefixes"), "alarmNamePrefixes")
	}
	if err == nil {
		c.Functions, err = readList(get("functions"), "functions")
	}
	if err == nil {
		var docs []string
		if docs, err = readList(get("ssmDocuments"), "ssmDocuments"); len(docs) > 0 {
			c.SSMDocuments = docs
		}
	}
	if err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// Validate checks every value and that the deployer named the healable
// scope and the alarms Medic takes in.
func (c Config) Validate() error {
	if err := c.validateScope(); err != nil {
		return err
	}
	switch {
	case !stackNamePattern.MatchString(c.StackName):
		return fmt.Errorf("context stackName: %q must be a letter then up to 39 letters, digits or '-'", c.StackName)
	case c.SlackChannel == "":
		return fmt.Errorf("context slackChannel: must not be empty")
	case retentionDays[c.LogRetentionDays] == "":
		return fmt.Errorf("context logRetentionDays: %d is not a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)", c.LogRetentionDays)
	case c.PollSeconds < 1 || c.PollSeconds > 3600:
		return fmt.Errorf("context pollSeconds: %d is outside 1..3600", c.PollSeconds)
	case c.OpsEmail != "" && !strings.Contains(c.OpsEmail, "@"):
		return fmt.Errorf("context opsEmail: %q is not an email address", c.OpsEmail)
	case !kvPrefixPattern.MatchString(c.KVPrefix) || len(c.KVPrefix) > 900:
		return fmt.Errorf("context kvPrefix: %q is not a Parameter Store path like /medic/kv (no trailing slash)", c.KVPrefix)
	case reservedKVPrefix.MatchString(c.KVPrefix):
		return fmt.Errorf("context kvPrefix: %q: Parameter Store reserves paths beginning with aws or ssm", c.KVPrefix)
	}
	for _, p := range c.AlarmNamePrefixes {
		if err := c.checkAlarmPrefix(p); err != nil {
			return err
		}
	}
	for _, d := range c.SSMDocuments {
		if !documentPattern.MatchString(d) {
			return fmt.Errorf("context ssmDocuments: %q is not an SSM document name", d)
		}
	}
	for _, f := range c.Functions {
		if !functionNamePattern.MatchString(f) {
			return fmt.Errorf("context functions: %q is not a function directory name", f)
		}
	}
	return nil
}

// validateScope: without a healable tag every workflow could act on every
// instance of the account, so synth refuses unless the deployer typed the
// opt-out.
func (c Config) validateScope() error {
	switch {
	case c.HealableTagKey == "" && c.HealableTagValue == "" && !c.UnsafeAllInstances:
		return fmt.Errorf("context healableTagKey and healableTagValue: required. Medic may only act on instances and " +
			"Auto Scaling groups carrying this tag (e.g. -c healableTagKey=medic:healable -c healableTagValue=true). " +
			"To let it act on every instance of the account instead, pass -c " + UnsafeAllInstancesKey + "=true (cdk-nag then reports an error)")
	case strings.ContainsAny(c.HealableTagKey+c.HealableTagValue, "*?"):
		return fmt.Errorf("context healableTagKey/healableTagValue: wildcards are not allowed (the condition is StringEquals)")
	case c.HealableTagKey != "" && c.UnsafeAllInstances:
		return fmt.Errorf("context %s: set together with healableTagKey %q; choose one", UnsafeAllInstancesKey, c.HealableTagKey)
	case c.HealableTagKey != "" && !tagKeyPattern.MatchString(c.HealableTagKey):
		return fmt.Errorf("context healableTagKey: %q is not a valid tag key", c.HealableTagKey)
	case c.HealableTagKey != "" && c.HealableTagValue == "":
		return fmt.Errorf("context healableTagValue: required when healableTagKey is set (%q)", c.HealableTagKey)
	case c.HealableTagKey == "" && c.HealableTagValue != "":
		return fmt.Errorf("context healableTagKey: required when healableTagValue is set (%q)", c.HealableTagValue)
	case c.HealableTagValue != "" && !tagValuePattern.MatchString(c.HealableTagValue):
		return fmt.Errorf("context healableTagValue: %q is not a valid tag value", c.HealableTagValue)
	case len(c.AlarmNamePrefixes) == 0:
		return fmt.Errorf("context alarmNamePrefixes: required. Only alarms whose names start with one of these reach Medic " +
			"(e.g. [\"heal-\"]); [\"*\"] takes every alarm of the region")
	}
	return nil
}

// checkAlarmPrefix refuses prefixes that would let Medic's own alarms or
// Auto Scaling's target-tracking alarms in.
func (c Config) checkAlarmPrefix(p string) error {
	own := c.StackName + "-"
	switch {
	case p == AllAlarms:
		if len(c.AlarmNamePrefixes) > 1 {
			return fmt.Errorf("context alarmNamePrefixes: %q takes every alarm; list it alone", AllAlarms)
		}
		return nil
	case !alarmPrefixPattern.MatchString(p):
		return fmt.Errorf("context alarmNamePrefixes: %q is not an alarm name prefix (letters, digits and _.:/#+=@-)", p)
	case strings.HasPrefix(own, p) || strings.HasPrefix(p, own):
		return fmt.Errorf("context alarmNamePrefixes: %q would take in Medic's own alarms (%s*)", p, own)
	case strings.HasPrefix(TargetTrackingPrefix, p) || strings.HasPrefix(p, TargetTrackingPrefix):
		return fmt.Errorf("context alarmNamePrefixes: %q would take in Auto Scaling's %s* alarms", p, TargetTrackingPrefix)
	}
	return nil
}

func readString(v any, key string, dst *string) error {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		*dst = strings.TrimSpace(v)
		return nil
	}
	return fmt.Errorf("context %s: want a string, got %T", key, v)
}

func readInt(v any, key string, dst *int) error {
	switch v := v.(type) {
	case nil:
		return nil
	case float64:
		if v != float64(int(v)) {
			return fmt.Errorf("context %s: %v is not a whole number", key, v)
		}
		*dst = int(v)
		return nil
	case int:
		*dst = v
		return nil
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("context %s: %q is not a whole number", key, v)
		}
		*dst = n
		return nil
	}
	return fmt.Errorf("context %s: want a number, got %T", key, v)
}

func readBool(v any, key string, dst *bool) error {
	switch v := v.(type) {
	case nil:
		return nil
	case bool:
		*dst = v
		return nil
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("context %s: %q is not true or false", key, v)
		}
		*dst = b
		return nil
	}
	return fmt.Errorf("context %s: want true or false, got %T", key, v)
}

// readList accepts a JSON list of strings or one comma-separated string.
func readList(v any, key string) ([]string, error) {
	var items []string
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		items = strings.Split(v, ",")
	case []any:
		for i, item := range v {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("context %s[%d]: want a string, got %T", key, i, item)
			}
			items = append(items, s)
		}
	case []string:
		items = v
	default:
		return nil, fmt.Errorf("context %s: want a list of names, got %T", key, v)
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}
