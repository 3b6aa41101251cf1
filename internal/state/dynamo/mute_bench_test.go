package dynamo_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"

	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/inhibit"
	"github.com/medic-sre/medic/internal/state/dynamo"
	"github.com/medic-sre/medic/internal/trigger"
)

// capacityMeter asks DynamoDB for the capacity of every call and sums it.
type capacityMeter struct {
	dynamo.API
	mu        sync.Mutex
	read, wrt float64
}

func (m *capacityMeter) add(read bool, cc *types.ConsumedCapacity) {
	if cc == nil || cc.CapacityUnits == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if read {
		m.read += *cc.CapacityUnits
	} else {
		m.wrt += *cc.CapacityUnits
	}
}

func (m *capacityMeter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.GetItem(ctx, in, o...)
	if err == nil {
		m.add(true, out.ConsumedCapacity)
	}
	return out, err
}

func (m *capacityMeter) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.Query(ctx, in, o...)
	if err == nil {
		m.add(true, out.ConsumedCapacity)
	}
	return out, err
}

func (m *capacityMeter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.UpdateItem(ctx, in, o...)
	if err == nil {
		m.add(false, out.ConsumedCapacity)
	}
	return out, err
}

func (m *capacityMeter) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.API.DeleteItem(ctx, in, o...)
	if err == nil {
		m.add(false, out.ConsumedCapacity)
	}
	return out, err
}

func awsEC2InhibitRules(tb testing.TB) []inhibit.Rule {
	data, err := os.ReadFile("../../../packs/aws_ec2/pack.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	var p struct {
		InhibitRules []inhibit.Spec `yaml:"inhibit_rules"`
	}
	if err := yaml.Unmarshal(data, &p); err != nil {
		tb.Fatal(err)
	}
	rules, err := inhibit.Compile(p.InhibitRules)
	if err != nil {
		tb.Fatal(err)
	}
	return rules
}

func ec2Alarm(id, instance, metric string) trigger.Trigger {
	return trigger.Trigger{ID: id, Type: trigger.TypeCloudWatchAlarm, Time: time.Now(),
		Payload: map[string]any{"alarm_name": metric + "-" + instance, "state": "ALARM", "account": "111122223333",
			"region": "eu-west-1", "metric_name": metric, "instance_id": instance}}
}

// BenchmarkMuteOnDynalite: one new alert (Observe + Admit) with the
// aws_ec2 inhibit rules against n known alerts, over DynamoDB's protocol,
// reporting the read and write capacity units DynamoDB says it consumed
// per admission (ReturnConsumedCapacity): flat in n.
func BenchmarkMuteOnDynalite(b *testing.B) {
	rules := awsEC2InhibitRules(b)
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("known=%d", n), func(b *testing.B) {
			c, name := newTable(b)
			meter := &capacityMeter{API: c}
			cons := &dispatch.Consolidator{State: dynamo.New(meter, name, nil), Inhibit: rules}
			ctx := context.Background()
			cfg := dispatch.Config{Rule: "linux.free_disk"}
			admit := func(id, instance, metric string) dispatch.Decision {
				obs, err := cons.Observe(ctx, ec2Alarm(id, instance, metric))
				if err != nil {
					b.Fatal(err)
				}
				d, err := cons.Admit(ctx, obs, cfg)
				if err != nil {
					b.Fatal(err)
				}
				return d
			}
			for i := 0; i < n; i++ {
				metric := "disk_used_percent"
				if i%10 == 0 {
					metric = "StatusCheckFailed_Instance"
				}
				obs, err := cons.Observe(ctx, ec2Alarm(fmt.Sprintf("seed-%d", i), fmt.Sprintf("i-%07d", i), metric))
				if err != nil {
					b.Fatal(err)
				}
				_ = obs
			}
			admit("warm", "new-warm", "mem") // the one-time index build is not counted
			meter.read, meter.wrt = 0, 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				inst := fmt.Sprintf("new-%07d", i)
				if i%2 == 0 {
					inst = "i-0000000"
				}
				d := admit(fmt.Sprintf("bench-%d", i), inst, fmt.Sprintf("mem_%d", i))
				if strings.HasPrefix(d.Reason, "inhibited by ") != (i%2 == 0) {
					b.Fatalf("alert %d: %q", i, d.Reason)
				}
			}
			b.ReportMetric(meter.read/float64(b.N), "RCU/op")
			b.ReportMetric(meter.wrt/float64(b.N), "WCU/op")
		})
	}
}
