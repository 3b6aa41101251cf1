// Package awskv is the datastore (st2kv) in AWS: SSM Parameter Store under
// one path prefix. Keys with a TTL become Advanced-tier parameters with an
// Expiration policy, which Parameter Store enforces by deleting them.
package awskv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/medic-sre/medic/internal/kv"
)

// API is the part of the SSM client the store uses.
type API interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, opts ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, opts ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error)
	GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, opts ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error)
}

// Store implements kv.Store. Prefix is a parameter path such as
// "/medic/kv"; key "a.b" is stored as "/medic/kv/a.b".
type Store struct {
	API     API
	Prefix  string
	Timeout time.Duration // per call; 0 = 5s
	Now     func() time.Time
}

var _ kv.Store = (*Store)(nil)

func (s *Store) name(key string) (string, error) {
	if key == "" {
		return "", kv.ErrEmptyKey
	}
	return strings.TrimRight(s.Prefix, "/") + "/" + key, nil
}

func (s *Store) ctx() (context.Context, context.CancelFunc) {
	d := s.Timeout
	if d == 0 {
		d = 5 * time.Second
	}
	return context.WithTimeout(context.Background(), d)
}

// Get reads a key; an absent parameter is ok=false, not an error.
func (s *Store) Get(key string) (string, bool, error) {
	name, err := s.name(key)
	if err != nil {
		return "", false, err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	out, err := s.API.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	var missing *types.ParameterNotFound
	if errors.As(err, &missing) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("datastore get %s: %w", name, err)
	}
	return aws.ToString(out.Parameter.Value), true, nil
}

// Set writes a key, overwriting; a ttl makes it expire.
func (s *Store) Set(key, value string, ttl time.Duration) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	in := &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: types.ParameterTypeString, Overwrite: aws.Bool(true)}
	if ttl > 0 {
		policy, err := expirationPolicy(s.now().Add(ttl))
		if err != nil {
			return err
		}
		in.Tier, in.Policies = types.ParameterTierAdvanced, aws.String(policy)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if _, err := s.API.PutParameter(ctx, in); err != nil {
		return fmt.Errorf("datastore set %s: %w", name, err)
	}
	return nil
}

func expirationPolicy(at time.Time) (string, error) {
	b, err := json.Marshal([]map[string]any{{
		"Type": "Expiration", "Version": "1.0",
		"Attributes": map[string]string{"Timestamp": at.UTC().Format(time.RFC3339)},
	}})
	return string(b), err
}

// Delete removes a key; kv.ErrNotFound when it does not exist.
func (s *Store) Delete(key string) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	_, err = s.API.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(name)})
	var missing *types.ParameterNotFound
	if errors.As(err, &missing) {
		return kv.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("datastore delete %s: %w", name, err)
	}
	return nil
}

// List returns the keys under the prefix whose names start with prefix.
func (s *Store) List(prefix string) ([]kv.Item, error) {
	root := strings.TrimRight(s.Prefix, "/")
	ctx, cancel := s.ctx()
	defer cancel()
	var items []kv.Item
	p := ssm.NewGetParametersByPathPaginator(s.API, &ssm.GetParametersByPathInput{
		Path: aws.String(root), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("datastore list %s: %w", root, err)
		}
		for _, prm := range page.Parameters {
			key := strings.TrimPrefix(aws.ToString(prm.Name), root+"/")
			if strings.HasPrefix(key, prefix) {
				items = append(items, kv.Item{Key: key, Value: aws.ToString(prm.Value)})
			}
		}
	}
	return items, nil
}

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}
