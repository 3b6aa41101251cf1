package localtask

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/medic-sre/medic/internal/asl"
)

// AccountFiles are the names OpenAccount looks for in the state directory.
var AccountFiles = []string{"account.yaml", "account.yml", "account.json"}

// Account is a small simulated AWS account holding the resources of the
// services the aws_* packs collect evidence on and fix: CloudWatch metrics
// and alarms, RDS instances, load balancers and target groups, Lambda
// functions, SQS queues, SNS topics, ECS services, DynamoDB tables,
// ElastiCache clusters, API Gateway stages and EBS volumes. Like Fleet it
// changes over the next observations after a fix, so a workflow's
// settle-and-verify loop runs for real, and it refuses what the real API
// refuses (unknown resources, names that break the service's rules) with
// the error the aws-sdk integration raises.
type Account struct {
	mu        sync.Mutex
	file      accountFile
	down      map[string]bool // instances whose service fails target health checks
	metrics   []*series
	dbs       map[string]*dbInstance
	functions map[string]*function
	queues    map[string]*queue
	services  map[string]*ecsService // by cluster + "/" + service
	// fixed holds the resource names whose metrics now read after_fix.
	fixed map[string]bool
	// fleet holds the instances of target groups attached to a group.
	fleet *Fleet
}

type series struct {
	Namespace  string            `yaml:"namespace"`
	Name       string            `yaml:"name"`
	Dimensions map[string]string `yaml:"dimensions"`
	Values     []float64         `yaml:"values"`    // oldest first
	AfterFix   []float64         `yaml:"after_fix"` // what it reads once its resource was fixed
}

type alarmSeed struct {
	Name       string            `yaml:"name"`
	State      string            `yaml:"state"`
	Namespace  string            `yaml:"namespace"`
	Metric     string            `yaml:"metric"`
	Dimensions map[string]string `yaml:"dimensions"`
	Reason     string            `yaml:"reason"`
	History    []string          `yaml:"history"` // summaries, newest first
}

type dbInstance struct {
	ID                  string `yaml:"id"`
	Class               string `yaml:"class"`
	Engine              string `yaml:"engine"`
	Status              string `yaml:"status"`
	AllocatedStorage    int    `yaml:"allocated_storage"`
	MaxAllocatedStorage int    `yaml:"max_allocated_storage"`
}

type function struct {
	Name                string `yaml:"name"`
	Runtime             string `yaml:"runtime"`
	Timeout             int    `yaml:"timeout"`
	MemorySize          int    `yaml:"memory"`
	ReservedConcurrency *int   `yaml:"reserved_concurrency"`
}

type queue struct {
	Name       string            `yaml:"name"`
	Messages   int               `yaml:"messages"`
	InFlight   int               `yaml:"in_flight"`
	DeadLetter string            `yaml:"dead_letter_queue"` // its redrive policy's target
	Tags       map[string]string `yaml:"tags"`
	// RedriveFails: moved messages fail again and come back (a consumer
	// that still cannot process them).
	RedriveFails bool `yaml:"redrive_fails"`
	moving       bool
}

type ecsService struct {
	Cluster string `yaml:"cluster"`
	Name    string `yaml:"name"`
	Desired int    `yaml:"desired"`
	Running int    `yaml:"running"`
	// DeploymentFails: a new deployment's tasks crash as the old ones did.
	DeploymentFails bool     `yaml:"deployment_fails"`
	Events          []string `yaml:"events"`
	deployments     []map[string]any
	deploying       bool
}

type accountFile struct {
	Metrics      []*series      `yaml:"metrics"`
	Alarms       []alarmSeed    `yaml:"alarms"`
	RDS          []*dbInstance  `yaml:"rds_instances"`
	Functions    []*function    `yaml:"lambda_functions"`
	Queues       []*queue       `yaml:"sqs_queues"`
	Topics       []topic        `yaml:"sns_topics"`
	ECS          []*ecsService  `yaml:"ecs_services"`
	Tables       []table        `yaml:"dynamodb_tables"`
	Caches       []cacheCluster `yaml:"cache_clusters"`
	RestAPIs     []api          `yaml:"rest_apis"`
	HTTPAPIs     []api          `yaml:"http_apis"`
	TargetGroups []targetGroup  `yaml:"target_groups"`
	Balancers    []balancer     `yaml:"load_balancers"`
	Volumes      []volume       `yaml:"volumes"`
	Region       string         `yaml:"region"`
	// LambdaConcurrency is the account's concurrent executions limit
	// (default 1000); reservations are taken from it.
	LambdaConcurrency int    `yaml:"lambda_concurrency"`
	AccountID         string `yaml:"account_id"`
}

type topic struct {
	Name      string `yaml:"name"`
	Confirmed int    `yaml:"subscriptions_confirmed"`
}

type table struct {
	Name  string `yaml:"name"`
	Mode  string `yaml:"billing_mode"` // PROVISIONED or PAY_PER_REQUEST
	Read  int    `yaml:"read_capacity"`
	Write int    `yaml:"write_capacity"`
}

type cacheCluster struct {
	ID       string `yaml:"id"`
	NodeType string `yaml:"node_type"`
	Engine   string `yaml:"engine"`
	Nodes    int    `yaml:"nodes"`
}

type api struct {
	ID     string   `yaml:"id"`
	Name   string   `yaml:"name"`
	Stages []string `yaml:"stages"`
}

type targetGroup struct {
	Name    string   `yaml:"name"` // the TargetGroup dimension: targetgroup/NAME/ID
	Targets []target `yaml:"targets"`
	// AutoScalingGroup: the targets are this fleet group's members
	// (port Port); ServiceDown members fail the health check until a
	// command sent through SSM reaches them, if RestartFixes.
	AutoScalingGroup string            `yaml:"auto_scaling_group"`
	Port             int               `yaml:"port"`
	ServiceDown      []string          `yaml:"service_down"`
	RestartFixes     bool              `yaml:"restart_fixes"`
	Tags             map[string]string `yaml:"tags"`
}

type target struct {
	ID     string `yaml:"id"`
	Port   int    `yaml:"port"`
	State  string `yaml:"state"`
	Reason string `yaml:"reason"`
}

type balancer struct {
	Name string `yaml:"name"` // the LoadBalancer dimension: app/NAME/ID
	Type string `yaml:"type"`
}

type volume struct {
	ID   string `yaml:"id"`
	Type string `yaml:"type"`
	Size int    `yaml:"size"`
	Iops int    `yaml:"iops"`
}

// OpenAccount reads the first of AccountFiles in dir; none is an empty
// account (every resource unknown).
func OpenAccount(dir string) (*Account, error) {
	for _, name := range AccountFiles {
		path := filepath.Join(dir, name)
		raw, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err == nil {
			var a *Account
			if a, err = ParseAccount(raw); err == nil {
				return a, nil
			}
		}
		return nil, fmt.Errorf("account %s: %w", path, err)
	}
	return NewAccount(), nil
}

// NewAccount returns an empty account.
func NewAccount() *Account {
	a, _ := ParseAccount(nil)
	return a
}

// Names as the services accept them; the same patterns the packs' action
// parameters declare, so a value the simulation refuses is one AWS refuses.
var (
	dbInstanceName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,62}$`)
	functionName   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	queueName      = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}(\.fifo)?$`)
	ecsName        = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
)

// ParseAccount reads an account file (YAML or JSON), refusing unknown
// fields and resources whose names the service would refuse.
func ParseAccount(raw []byte) (*Account, error) {
	var file accountFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	a := &Account{file: file, metrics: file.Metrics, dbs: map[string]*dbInstance{}, functions: map[string]*function{},
		queues: map[string]*queue{}, services: map[string]*ecsService{}, fixed: map[string]bool{}, down: map[string]bool{}}
	for _, tg := range file.TargetGroups {
		for _, id := range tg.ServiceDown {
			a.down[id] = true
		}
	}
	for i, d := range file.RDS {
		if !dbInstanceName.MatchString(d.ID) {
			return nil, fmt.Errorf("rds_instances[%d].id: %q is not a DB instance identifier", i, d.ID)
		}
		d.Status = or(d.Status, "available")
		a.dbs[d.ID] = d
	}
	for i, f := range file.Functions {
		if !functionName.MatchString(f.Name) {
			return nil, fmt.Errorf("lambda_functions[%d].name: %q is not a function name", i, f.Name)
		}
		a.functions[f.Name] = f
	}
	for i, q := range file.Queues {
		if !queueName.MatchString(q.Name) {
			return nil, fmt.Errorf("sqs_queues[%d].name: %q is not a queue name", i, q.Name)
		}
		a.queues[q.Name] = q
	}
	for i, s := range file.ECS {
		if !ecsName.MatchString(s.Cluster) || !ecsName.MatchString(s.Name) {
			return nil, fmt.Errorf("ecs_services[%d]: cluster %q / name %q are not ECS names", i, s.Cluster, s.Name)
		}
		if s.Running > s.Desired || s.Desired < 0 {
			return nil, fmt.Errorf("ecs_services[%d]: running %d must be between 0 and desired %d", i, s.Running, s.Desired)
		}
		s.deployments = []map[string]any{deployment("ecs-svc/0", "PRIMARY", "COMPLETED", s.Desired, s.Running, 0)}
		a.services[s.Cluster+"/"+s.Name] = s
	}
	for i, m := range file.Metrics {
		if m.Namespace == "" || m.Name == "" {
			return nil, fmt.Errorf("metrics[%d]: namespace and name are required", i)
		}
	}
	return a, nil
}

func (a *Account) region() string  { return or(a.file.Region, "us-east-1") }
func (a *Account) account() string { return or(a.file.AccountID, "123456789012") }

// serviceError is an AWS error as the aws-sdk integration of service svc
// (its Step Functions prefix, e.g. Rds, Lambda) raises it.
func serviceError(svc, exception, code, format string, args ...any) error {
	return &asl.Error{Name: svc + "." + exception, Cause: fmt.Sprintf(format, args...) + " (Service: " + svc + ", Status Code: 400, Error Code: " + code + ")"}
}

// ops maps the aws-sdk resources this account implements to their calls.
func (a *Account) ops() map[string]func(any) (any, error) {
	const sdk = "arn:aws:states:::aws-sdk:"
	return map[string]func(any) (any, error){
		sdk + "cloudwatch:getMetricData":                     a.GetMetricData,
		sdk + "cloudwatch:describeAlarmHistory":              a.DescribeAlarmHistory,
		sdk + "cloudwatch:describeAlarms":                    a.DescribeAlarms,
		sdk + "rds:describeDBInstances":                      a.DescribeDBInstances,
		sdk + "rds:describeDBClusters":                       a.DescribeDBClusters,
		sdk + "rds:modifyDBInstance":                         a.ModifyDBInstance,
		sdk + "elasticloadbalancingv2:describeTargetHealth":  a.DescribeTargetHealth,
		sdk + "elasticloadbalancingv2:describeTags":          a.DescribeTags,
		sdk + "elasticloadbalancingv2:deregisterTargets":     a.DeregisterTargets,
		sdk + "elasticloadbalancingv2:describeLoadBalancers": a.DescribeLoadBalancers,
		sdk + "lambda:getFunctionConfiguration":              a.GetFunctionConfiguration,
		sdk + "lambda:getAccountSettings":                    a.GetAccountSettings,
		sdk + "lambda:putFunctionConcurrency":                a.PutFunctionConcurrency,
		sdk + "sqs:getQueueUrl":                              a.GetQueueURL,
		sdk + "sqs:getQueueAttributes":                       a.GetQueueAttributes,
		sdk + "sqs:startMessageMoveTask":                     a.StartMessageMoveTask,
		sdk + "sqs:listQueueTags":                            a.ListQueueTags,
		sdk + "sqs:listDeadLetterSourceQueues":               a.ListDeadLetterSourceQueues,
		sdk + "sns:getTopicAttributes":                       a.GetTopicAttributes,
		sdk + "ecs:describeServices":                         a.DescribeServices,
		sdk + "ecs:updateService":                            a.UpdateService,
		sdk + "dynamodb:describeTable":                       a.DescribeTable,
		sdk + "elasticache:describeCacheClusters":            a.DescribeCacheClusters,
		sdk + "apigateway:getRestApis":                       a.GetRestApis,
		sdk + "apigateway:getStage":                          a.GetRestAPIStage,
		sdk + "apigatewayv2:getStage":                        a.GetHTTPAPIStage,
		sdk + "ec2:describeVolumes":                          a.DescribeVolumes,
	}
}

// Operations lists the aws-sdk resources the account implements (sorted).
func (a *Account) Operations() []string {
	var out []string
	for r := range a.ops() {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// linkFleet lets target groups attached to Auto Scaling groups see the
// fleet's instances.
func (a *Account) linkFleet(f *Fleet) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fleet == nil {
		a.fleet = f
	}
}

// CommandSent records a command sent through SSM to the instances: a
// target group with restart_fixes counts it as the restart of its service.
func (a *Account) CommandSent(instanceIDs []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, tg := range a.file.TargetGroups {
		if !tg.RestartFixes {
			continue
		}
		for _, id := range instanceIDs {
			delete(a.down, id)
		}
	}
}
