// Package kv is Medic's datastore (StackStorm's st2kv): string values under
// string keys, optionally expiring. Rules and templates read it through the
// small Reader interface so an AWS adapter (SSM Parameter Store) can stand in
// for the local store.
package kv

import (
	"errors"
	"time"
)

// Reader reads one key. ok is false when the key is absent or expired.
type Reader interface {
	Get(key string) (value string, ok bool, err error)
}

// Store is a readable and writable datastore. A ttl of zero means the key
// never expires.
type Store interface {
	Reader
	Set(key, value string, ttl time.Duration) error
	Delete(key string) error
	List(prefix string) ([]Item, error)
}

// Item is one stored key.
type Item struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Expires is zero for keys without a TTL.
	Expires time.Time `json:"expires,omitzero"`
}

// ErrNotFound is returned by Delete for a key that does not exist.
var ErrNotFound = errors.New("key not found")

// ErrEmptyKey is returned for an empty key name.
var ErrEmptyKey = errors.New("key must not be empty")

// Map is an in-memory Reader for tests and tools.
type Map map[string]string

// Get implements Reader.
func (m Map) Get(key string) (string, bool, error) {
	v, ok := m[key]
	return v, ok, nil
}
