// Package dynalite runs dynalite (npm, a devDependency) for tests that
// need DynamoDB's real JSON protocol: the state adapter, and the Lambdas
// that keep their state in the table.
package dynalite

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/medic-sre/medic/internal/state/dynamo"
)

// Server is one running dynalite.
type Server struct {
	Endpoint string
	cmd      *exec.Cmd
	tables   atomic.Int64
}

// Main runs a package's tests with dynalite started first; a missing
// dynalite fails the package (it is never skipped). Use it as
//
//	var db *dynalite.Server
//	func TestMain(m *testing.M) { os.Exit(dynalite.Main(m, &db)) }
func Main(m *testing.M, srv **Server) int {
	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: these tests need dynalite:", err)
		return 1
	}
	*srv = s
	defer s.Stop()
	return m.Run()
}

// Start runs dynalite on a free local port and waits until it listens.
func Start() (*Server, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(root, "node_modules", ".bin", "dynalite")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s is missing: run `npm ci` (or `npm install --no-save dynalite@4.0.0`) at the repository root", bin)
	}
	// dynalite treats --port 0 as its default 4567, so pick a free port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", fmt.Sprint(port), "--createTableMs", "0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	if err := waitListening(out); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func waitListening(out interface{ Read([]byte) (int, error) }) error {
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening at") {
				ready <- nil
				for sc.Scan() {
				}
				return
			}
		}
		ready <- fmt.Errorf("dynalite exited before listening")
	}()
	select {
	case err := <-ready:
		return err
	case <-time.After(20 * time.Second):
		return fmt.Errorf("dynalite did not start listening within 20s")
	}
}

// Stop ends dynalite.
func (s *Server) Stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// Client is a DynamoDB client for this server with test credentials.
func (s *Server) Client() *dynamodb.Client {
	return dynamodb.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

// NewTable creates a fresh Medic state table, so tests do not see each
// other's items, and returns a client and its name.
func (s *Server) NewTable(t testing.TB) (*dynamodb.Client, string) {
	c := s.Client()
	name := fmt.Sprintf("medic-state-%d", s.tables.Add(1))
	if err := dynamo.CreateTable(context.Background(), c, name); err != nil {
		t.Fatal(err)
	}
	return c, name
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test directory")
		}
		dir = parent
	}
}
