package dynamo_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/guard"
	"github.com/medic-sre/medic/internal/state"
	"github.com/medic-sre/medic/internal/state/dynalite"
	"github.com/medic-sre/medic/internal/state/dynamo"
	"github.com/medic-sre/medic/internal/state/statetest"
	"github.com/medic-sre/medic/internal/trigger"
)

// db is dynalite, started by TestMain: the adapter is tested over
// DynamoDB's real JSON protocol.
var db *dynalite.Server

func TestMain(m *testing.M) { os.Exit(dynalite.Main(m, &db)) }

func client() *dynamodb.Client { return db.Client() }

// newTable creates a fresh table so tests do not see each other's items.
func newTable(t testing.TB) (*dynamodb.Client, string) { return db.NewTable(t) }

func TestConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T, clock *statetest.Clock) state.Store {
		c, name := newTable(t)
		return dynamo.New(c, name, clock.Now)
	})
}

// The TTL attribute is epoch seconds, as DynamoDB's TTL wants, rounded up
// so TTL never removes an item still live to Medic.
func TestTTLAttribute(t *testing.T) {
	c, name := newTable(t)
	s := dynamo.New(c, name, nil)
	exp := time.Unix(1_800_000_000, 300e6)
	ctx := context.Background()
	if _, err := s.Put(ctx, state.Item{Key: state.Key{PK: "p", SK: "s"}, ExpiresAt: exp}, state.Always()); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: &name, Key: map[string]typesAV{
		"pk": &avS{Value: "p"}, "sk": &avS{Value: "s"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Item["expires_at"].(*avN).Value; got != "1800000001" {
		t.Fatalf("expires_at = %s, want 1800000001", got)
	}
	if got := out.Item["exp_ms"].(*avN).Value; got != "1800000000300" {
		t.Fatalf("exp_ms = %s, want 1800000000300", got)
	}
	in := dynamo.CreateTableInput("x")
	if len(in.KeySchema) != 2 || aws.ToString(in.KeySchema[0].AttributeName) != "pk" || aws.ToString(in.KeySchema[1].AttributeName) != "sk" {
		t.Fatalf("key schema = %+v", in.KeySchema)
	}
}

// A smaller storm through the real protocol: the consolidator's counts
// and single action per alert hold on DynamoDB too.
func TestConsolidatorOnDynamo(t *testing.T) {
	c, name := newTable(t)
	clock := statetest.NewClock()
	cons := &dispatch.Consolidator{State: dynamo.New(c, name, clock.Now), Now: clock.Now}
	ctx := context.Background()
	const alerts, each = 5, 20
	type result struct {
		act bool
		err error
	}
	results := make(chan result, alerts*each)
	for i := 0; i < alerts*each; i++ {
		go func() {
			tr := trigger.Trigger{ID: fmt.Sprintf("e%d", i), Type: trigger.TypeCloudWatchAlarm, Time: clock.Now(),
				Payload: map[string]any{"alarm_name": "disk-full", "state": "ALARM",
					"dimensions": map[string]any{"InstanceId": fmt.Sprintf("i-%d", i%alerts)}}}
			obs, err := cons.Observe(ctx, tr)
			if err != nil {
				results <- result{err: err}
				return
			}
			d, err := cons.Admit(ctx, obs, dispatch.Config{Rule: "r", GroupWait: dispatch.NoWait})
			results <- result{act: d.Act, err: err}
		}()
	}
	acts := 0
	for i := 0; i < alerts*each; i++ {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.act {
			acts++
		}
	}
	if acts != alerts {
		t.Fatalf("%d actions, want %d", acts, alerts)
	}
	recs, err := cons.Alerts(ctx)
	if err != nil || len(recs) != alerts {
		t.Fatalf("alerts = %d, %v", len(recs), err)
	}
	for _, r := range recs {
		if r.Count != each {
			t.Errorf("%s counted %d, want %d", r.Labels["InstanceId"], r.Count, each)
		}
	}
}

type (
	typesAV = types.AttributeValue
	avS     = types.AttributeValueMemberS
	avN     = types.AttributeValueMemberN
)

// BenchmarkConsolidatorOnDynalite: 1,000 deliveries for 50 alerts from 16
// goroutines through the DynamoDB protocol (dynalite, in memory).
func BenchmarkConsolidatorOnDynalite(b *testing.B) {
	const events, alerts, workers = 1000, 50, 16
	for i := 0; i < b.N; i++ {
		c, name := newTable(b)
		cons := &dispatch.Consolidator{State: dynamo.New(c, name, nil)}
		var next atomic.Int64
		done := make(chan error, workers)
		for w := 0; w < workers; w++ {
			go func() {
				for {
					n := next.Add(1) - 1
					if n >= events {
						done <- nil
						return
					}
					tr := trigger.Trigger{ID: fmt.Sprintf("b%d-%d", i, n), Type: trigger.TypeCloudWatchAlarm, Time: time.Now(),
						Payload: map[string]any{"alarm_name": "disk-full", "state": "ALARM",
							"dimensions": map[string]any{"InstanceId": fmt.Sprintf("i-%d", n%alerts)}}}
					obs, err := cons.Observe(context.Background(), tr)
					if err == nil {
						_, err = cons.Admit(context.Background(), obs, dispatch.Config{Rule: "r", Guard: guard.Limits{RatePerRule: alerts}})
					}
					if err != nil {
						done <- err
						return
					}
				}
			}()
		}
		for w := 0; w < workers; w++ {
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
}

// The conformance suite holds when its partitions are sharded: Query
// merges the shards into the one ordered logical partition.
func TestConformanceSharded(t *testing.T) {
	statetest.Run(t, func(t *testing.T, clock *statetest.Clock) state.Store {
		c, name := newTable(t)
		return dynamo.NewSharded(c, name, clock.Now, map[string]int{"test": 4, "other": 3})
	})
}

// Alert records, delivery claims and groups are spread over 16 physical
// partitions (they were all in one per kind: one partition took every
// write of a storm); none is stored under the bare kind.
func TestStormKindsAreSpreadOverShards(t *testing.T) {
	c, name := newTable(t)
	s := dynamo.New(c, name, nil)
	ctx := context.Background()
	for i := 0; i < 200; i++ {
		for _, kind := range []string{"alert", "delivery", "group"} {
			if _, err := s.Put(ctx, state.Item{Key: state.Key{PK: kind, SK: fmt.Sprintf("id-%03d", i)}, Value: []byte(`{}`)}, state.Always()); err != nil {
				t.Fatal(err)
			}
		}
	}
	count := func(pk string) int {
		out, err := c.Query(ctx, &dynamodb.QueryInput{TableName: &name, KeyConditionExpression: aws.String("pk = :pk"),
			ExpressionAttributeValues: map[string]typesAV{":pk": &avS{Value: pk}}})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Items)
	}
	for _, kind := range []string{"alert", "delivery", "group"} {
		if n := count(kind); n != 0 {
			t.Fatalf("%d %s items under the bare kind", n, kind)
		}
		busiest := 0
		for i := 0; i < 16; i++ {
			busiest = max(busiest, count(fmt.Sprintf("%s#%02d", kind, i)))
		}
		if busiest > 40 { // 200 over 16: 12.5 on average
			t.Fatalf("%s: the busiest shard holds %d of 200", kind, busiest)
		}
		items, err := s.Query(ctx, kind, "id-")
		if err != nil || len(items) != 200 || items[0].Key != (state.Key{PK: kind, SK: "id-000"}) || items[199].Key.SK != "id-199" {
			t.Fatalf("%s: logical query: %d items, err %v", kind, len(items), err)
		}
	}
}
