// Package dynamo is the state.Store of Medic in AWS: one DynamoDB table.
//
// Table design (one table for all consolidation state):
//
//	pk          S   partition key: the kind of record ("silence", "lease",
//	                "runs", ...), or for the kinds written on every
//	                delivery (DefaultShards: "delivery", "alert", "group",
//	                "execution") kind#NN, one of 16 shards chosen by a hash
//	                of sk; the inhibition index's own per-entity partitions
//	                ("inhibit#<rule>#<equal values>")
//	sk          S   sort key: the record's id within its kind
//	v           B   the record, JSON (absent when empty)
//	n           N   atomic counter (Incr: ADD)
//	ver         N   version, +1 on every write (optimistic concurrency)
//	expires_at  N   epoch seconds: the table's TTL attribute
//	exp_ms      N   epoch milliseconds of the same instant, for exact checks
//
// Billing PAY_PER_REQUEST, TTL enabled on expires_at. DynamoDB deletes
// expired items lazily (typically within two days), so every read filters
// them out and every condition treats them as absent: a write "if absent"
// succeeds over an expired item, which is how a crashed run's lease ends.
// All reads are strongly consistent.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/medic-sre/medic/internal/state"
)

// API is the part of *dynamodb.Client the store uses.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// Attribute names.
const (
	AttrPK        = "pk"
	AttrSK        = "sk"
	AttrValue     = "v"
	AttrCounter   = "n"
	AttrVersion   = "ver"
	AttrExpiresAt = "expires_at"
	AttrExpiresMs = "exp_ms"
)

// Store implements state.Store on one table.
type Store struct {
	api   API
	table string
	now   func() time.Time
	// shards: logical partitions spread over that many physical ones.
	shards map[string]int
}

// New returns the store of table; now nil means time.Now. The kinds in
// DefaultShards are spread over shards (see Sharded).
func New(api API, table string, now func() time.Time) *Store {
	return NewSharded(api, table, now, DefaultShards)
}

// DefaultShards are the logical partitions written on every delivery in a
// storm: delivery claims, alert records and counters, groups and
// execution records. Each is spread over 16 physical partitions, so an
// alarm storm's writes use 16 times DynamoDB's per-partition limit (1,000
// writes/s, 3,000 reads/s) before any throttling, instead of one.
var DefaultShards = map[string]int{"delivery": 16, "alert": 16, "group": 16, "execution": 16}

// NewSharded is New with the sharded kinds given: shards[pk] > 1 stores
// the items of logical partition pk under the physical partition keys
// pk#00 .. pk#NN, the shard chosen by a hash of the sort key. Get, Put,
// Incr and Delete address one item as before (one shard); Query of pk
// reads every shard and merges them in sort-key order, so callers see the
// same logical partition. Attribute names and the key schema (pk, sk) do
// not change.
func NewSharded(api API, table string, now func() time.Time, shards map[string]int) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{api: api, table: table, now: now, shards: shards}
}

// physicalPK is where the item of logical key k lives.
func (s *Store) physicalPK(k state.Key) string {
	n := s.shards[k.PK]
	if n <= 1 {
		return k.PK
	}
	h := fnv.New32a()
	h.Write([]byte(k.SK))
	return shardPK(k.PK, int(h.Sum32()%uint32(n)))
}

func shardPK(pk string, shard int) string { return fmt.Sprintf("%s#%02d", pk, shard) }

// logicalPK maps a stored partition key back to the caller's.
func (s *Store) logicalPK(physical string) string {
	i := strings.LastIndexByte(physical, '#')
	if i < 0 || s.shards[physical[:i]] <= 1 {
		return physical
	}
	if n, err := strconv.Atoi(physical[i+1:]); err == nil && n < s.shards[physical[:i]] {
		return physical[:i]
	}
	return physical
}

var _ state.Store = (*Store)(nil)

// Conditions, over placeholders :now (epoch ms) and :ver.
const (
	condLive       = "attribute_exists(pk) AND (attribute_not_exists(exp_ms) OR exp_ms > :now)"
	condAbsent     = "attribute_not_exists(pk) OR exp_ms <= :now"
	condVersion    = "ver = :ver AND (" + condLive + ")"
	condNotExpired = "attribute_not_exists(pk) OR attribute_not_exists(exp_ms) OR exp_ms > :now"
	condExpired    = "exp_ms <= :now"
)

func (s *Store) key(k state.Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: str(s.physicalPK(k)), AttrSK: str(k.SK)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func (s *Store) nowMs() int64 { return s.now().UnixMilli() }

// Get implements state.Store.
func (s *Store) Get(ctx context.Context, k state.Key) (state.Item, bool, error) {
	if err := k.Validate(); err != nil {
		return state.Item{}, false, err
	}
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: s.key(k), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return state.Item{}, false, s.wrap("get", k, err)
	}
	if out.Item == nil {
		return state.Item{}, false, nil
	}
	it, err := s.decode(out.Item)
	if err != nil {
		return state.Item{}, false, fmt.Errorf("dynamo: get %s: %w", k, err)
	}
	if !state.Live(it.ExpiresAt, s.now()) {
		return state.Item{}, false, nil
	}
	return it, true, nil
}

// Put implements state.Store with one conditional UpdateItem.
func (s *Store) Put(ctx context.Context, it state.Item, cond state.Condition) (int64, error) {
	if err := it.Key.Validate(); err != nil {
		return 0, err
	}
	values := map[string]types.AttributeValue{":one": num(1), ":n": num(it.Counter)}
	set := "SET n = :n"
	var remove []string
	if len(it.Value) > 0 {
		set += ", v = :v"
		values[":v"] = &types.AttributeValueMemberB{Value: it.Value}
	} else {
		remove = append(remove, AttrValue)
	}
	set, remove = expiry(set, remove, values, it.ExpiresAt)
	in := &dynamodb.UpdateItemInput{TableName: &s.table, Key: s.key(it.Key), ReturnValues: types.ReturnValueUpdatedNew}
	if cond.RequiresAbsent() {
		in.ConditionExpression = aws.String(condAbsent)
		values[":now"] = num(s.nowMs())
	} else if v, ok := cond.RequiredVersion(); ok {
		in.ConditionExpression = aws.String(condVersion)
		values[":now"], values[":ver"] = num(s.nowMs()), num(v)
	}
	in.UpdateExpression = aws.String(updateExpr(set, remove, "ver :one"))
	in.ExpressionAttributeValues = values
	out, err := s.api.UpdateItem(ctx, in)
	if err != nil {
		return 0, s.wrap("put "+cond.String(), it.Key, err)
	}
	return intAttr(out.Attributes, AttrVersion)
}

// Incr implements state.Store: an atomic ADD on a live (or missing) item,
// or, when the item has expired but not yet been deleted by TTL, a reset.
func (s *Store) Incr(ctx context.Context, k state.Key, delta int64, expiresAt time.Time) (int64, error) {
	if err := k.Validate(); err != nil {
		return 0, err
	}
	for attempt := 0; attempt < 100; attempt++ {
		values := map[string]types.AttributeValue{":d": num(delta), ":one": num(1), ":now": num(s.nowMs())}
		set, remove := expiry("", nil, values, expiresAt)
		out, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: s.key(k), ReturnValues: types.ReturnValueUpdatedNew,
			ConditionExpression:       aws.String(condNotExpired),
			UpdateExpression:          aws.String(updateExpr(set, remove, "n :d, ver :one")),
			ExpressionAttributeValues: values,
		})
		if err == nil {
			return intAttr(out.Attributes, AttrCounter)
		}
		if !isConditionFailed(err) {
			return 0, s.wrap("incr", k, err)
		}
		// Expired and still stored: start the counter afresh.
		set, remove = expiry("SET n = :d", []string{AttrValue}, values, expiresAt)
		out, err = s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: s.key(k), ReturnValues: types.ReturnValueUpdatedNew,
			ConditionExpression:       aws.String(condExpired),
			UpdateExpression:          aws.String(updateExpr(set, remove, "ver :one")),
			ExpressionAttributeValues: values,
		})
		if err == nil {
			return intAttr(out.Attributes, AttrCounter)
		}
		if !isConditionFailed(err) {
			return 0, s.wrap("incr", k, err)
		}
		// Another writer renewed or reset it meanwhile: add again.
	}
	return 0, fmt.Errorf("dynamo: incr %s: too much contention", k)
}

// expiry adds the TTL attributes to the SET (or REMOVE them).
func expiry(set string, remove []string, values map[string]types.AttributeValue, at time.Time) (string, []string) {
	if at.IsZero() {
		return set, append(remove, AttrExpiresAt, AttrExpiresMs)
	}
	if set == "" {
		set = "SET "
	} else {
		set += ", "
	}
	set += "expires_at = :es, exp_ms = :ems"
	// TTL is in whole seconds; round up so TTL never deletes a live item.
	values[":es"] = num((at.UnixMilli() + 999) / 1000)
	values[":ems"] = num(at.UnixMilli())
	return set, remove
}

func updateExpr(set string, remove []string, add string) string {
	expr := set
	if len(remove) > 0 {
		expr += " REMOVE "
		for i, r := range remove {
			if i > 0 {
				expr += ", "
			}
			expr += r
		}
	}
	return expr + " ADD " + add
}

// Delete implements state.Store.
func (s *Store) Delete(ctx context.Context, k state.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: s.key(k)})
	return s.wrap("delete", k, err)
}

// Query implements state.Store, page by page; a sharded partition is
// read shard by shard and merged.
func (s *Store) Query(ctx context.Context, pk, skPrefix string) ([]state.Item, error) {
	if pk == "" {
		return nil, fmt.Errorf("dynamo: query: empty pk")
	}
	physical := []string{pk}
	if n := s.shards[pk]; n > 1 {
		physical = physical[:0]
		for i := 0; i < n; i++ {
			physical = append(physical, shardPK(pk, i))
		}
	}
	var items []state.Item
	for _, p := range physical {
		got, err := s.queryPartition(ctx, p, skPrefix)
		if err != nil {
			return nil, err
		}
		items = append(items, got...)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Key.SK < items[j].Key.SK })
	return items, nil
}

func (s *Store) queryPartition(ctx context.Context, pk, skPrefix string) ([]state.Item, error) {
	cond := "pk = :pk"
	values := map[string]types.AttributeValue{":pk": str(pk)}
	if skPrefix != "" {
		cond += " AND begins_with(sk, :p)"
		values[":p"] = str(skPrefix)
	}
	in := &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: &cond,
		ExpressionAttributeValues: values, ConsistentRead: aws.Bool(true)}
	now := s.now()
	var items []state.Item
	for {
		out, err := s.api.Query(ctx, in)
		if err != nil {
			return nil, s.wrap("query", state.Key{PK: pk, SK: skPrefix + "*"}, err)
		}
		for _, raw := range out.Items {
			it, err := s.decode(raw)
			if err != nil {
				return nil, fmt.Errorf("dynamo: query %s: %w", pk, err)
			}
			if state.Live(it.ExpiresAt, now) {
				items = append(items, it)
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func (s *Store) decode(av map[string]types.AttributeValue) (state.Item, error) {
	var it state.Item
	pk, ok1 := av[AttrPK].(*types.AttributeValueMemberS)
	sk, ok2 := av[AttrSK].(*types.AttributeValueMemberS)
	if !ok1 || !ok2 {
		return it, fmt.Errorf("item without string pk/sk")
	}
	it.Key = state.Key{PK: s.logicalPK(pk.Value), SK: sk.Value}
	if b, ok := av[AttrValue].(*types.AttributeValueMemberB); ok {
		it.Value = b.Value
	}
	var err error
	if it.Counter, err = intAttr(av, AttrCounter); err != nil {
		return it, err
	}
	if it.Version, err = intAttr(av, AttrVersion); err != nil {
		return it, err
	}
	ms, err := intAttr(av, AttrExpiresMs)
	if err != nil {
		return it, err
	}
	if ms != 0 {
		it.ExpiresAt = time.UnixMilli(ms).UTC()
	}
	return it, nil
}

// intAttr reads a number attribute; absent is 0.
func intAttr(av map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := av[name]
	if !ok {
		return 0, nil
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s is %T, not a number", name, v)
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return i, nil
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

func (s *Store) wrap(op string, k state.Key, err error) error {
	if err == nil {
		return nil
	}
	if isConditionFailed(err) {
		return fmt.Errorf("dynamo: %s %s: %w", op, k, state.ErrConditionFailed)
	}
	return fmt.Errorf("dynamo: %s %s in table %s: %w", op, k, s.table, err)
}
