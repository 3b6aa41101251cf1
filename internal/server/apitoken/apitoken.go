// Package apitoken is the local API token of `medic serve`: a random secret
// in the state directory that every read and control endpoint requires
// (Authorization: Bearer …), and that the `medic` CLI reads to talk to a
// running serve. Whoever can read the file is the local operator.
package apitoken

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FileName is the token's file inside the state directory.
const FileName = "api-token"

// EnvVar overrides the file for clients (never for the server).
const EnvVar = "MEDIC_API_TOKEN"

// randomBytes is the token's entropy; the file holds it hex-encoded.
const randomBytes = 32

// maxLen bounds what is read back: a token is 64 characters.
const maxLen = 1024

// Path is where the token of the state directory dir lives.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// Ensure returns the token of the state directory dir, creating it (0600,
// 32 random bytes in hex) when it is missing. An existing file must be a
// regular file that only its owner can read, holding a usable token.
func Ensure(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("API token: no state directory given")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	p := Path(dir)
	token, err := create(p)
	if errors.Is(err, fs.ErrExist) {
		return Read(dir)
	}
	return token, err
}

// create writes a fresh token with O_EXCL, so two serves starting at once
// on one state directory cannot overwrite each other's token.
func create(p string) (string, error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	b := make([]byte, randomBytes)
	rand.Read(b) // documented never to fail
	token := hex.EncodeToString(b)
	_, err = f.WriteString(token + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p)
		return "", fmt.Errorf("%s: writing the API token: %w", p, err)
	}
	return token, nil
}

// Read returns the token kept in the state directory dir, refusing a file
// that others could read (the token would not prove anything) or that
// holds no usable token.
func Read(dir string) (string, error) {
	p := Path(dir)
	info, err := os.Lstat(p)
	if err != nil {
		return "", fmt.Errorf("API token: %w (start `medic serve --state %s` once to create it, or set %s)", err, dir, EnvVar)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%s: the API token must be a regular file, not %s", p, info.Mode().Type())
	}
	if info.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s: the API token is readable by others (mode %04o); run chmod 600 %s", p, info.Mode().Perm(), p)
	}
	if info.Size() > maxLen {
		return "", fmt.Errorf("%s: %d bytes is not an API token (at most %d)", p, info.Size(), maxLen)
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	token := strings.TrimSpace(string(raw))
	if err := Check(token); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return token, nil
}

// MinLen is the shortest token accepted: 128 bits in hex.
const MinLen = 32

// Check says why token cannot be an API token: too short, or characters
// that could not travel in an Authorization header.
func Check(token string) error {
	if len(token) < MinLen {
		return fmt.Errorf("the API token is %d characters, want at least %d", len(token), MinLen)
	}
	if len(token) > maxLen {
		return fmt.Errorf("the API token is %d characters, want at most %d", len(token), maxLen)
	}
	for _, c := range token {
		if c <= ' ' || c > '~' {
			return errors.New("the API token holds spaces or characters outside printable ASCII")
		}
	}
	return nil
}

// ForClient is the token a CLI command sends to a running serve:
// MEDIC_API_TOKEN when set, else the state directory's file.
func ForClient(getenv func(string) string, dir string) (string, error) {
	if t := strings.TrimSpace(getenv(EnvVar)); t != "" {
		if err := Check(t); err != nil {
			return "", fmt.Errorf("%s: %w", EnvVar, err)
		}
		return t, nil
	}
	return Read(dir)
}

// Equal compares a presented token with the expected one in constant time.
// Both are hashed first, so neither the content nor the length of the
// expected token shows in the time taken.
func Equal(presented, expected string) bool {
	if expected == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(presented)), sha256.Sum256([]byte(expected))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
