package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/medic-sre/medic/internal/kv"
)

func init() {
	register(command{name: "kv", summary: "datastore (st2kv): set KEY VALUE [--ttl 1h] | get KEY | list [PREFIX] | delete KEY", run: runKV})
}

const kvUsage = "usage: medic kv set KEY VALUE [--ttl DURATION] | get KEY | list [PREFIX] [--json] | delete KEY   (all take --state DIR)"

func runKV(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, kvUsage)
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet("kv "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state", envOr("MEDIC_STATE_DIR", ".medic"), "state directory (the datastore is DIR/kv)")
	ttl := fs.Duration("ttl", 0, "time to live for kv set, e.g. 30m or 1h (0: forever)")
	asJSON := fs.Bool("json", false, "print JSON (kv list)")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return 2
	}
	want := map[string][2]int{"set": {2, 2}, "get": {1, 1}, "delete": {1, 1}, "list": {0, 1}}
	n, ok := want[verb]
	if !ok || len(pos) < n[0] || len(pos) > n[1] {
		fmt.Fprintln(stderr, kvUsage)
		return 2
	}
	store, err := kv.OpenLocal(filepath.Join(*state, "kv"))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	switch verb {
	case "set":
		err = store.Set(pos[0], pos[1], *ttl)
	case "delete":
		err = store.Delete(pos[0])
	case "get":
		return kvGet(store, pos[0], stdout, stderr)
	case "list":
		prefix := ""
		if len(pos) == 1 {
			prefix = pos[0]
		}
		return kvList(store, prefix, *asJSON, stdout, stderr)
	}
	if errors.Is(err, kv.ErrNotFound) {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func kvGet(store kv.Store, key string, stdout, stderr io.Writer) int {
	v, ok, err := store.Get(key)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if !ok {
		fmt.Fprintf(stderr, "key %q not found\n", key)
		return 1
	}
	fmt.Fprintln(stdout, v)
	return 0
}

func kvList(store kv.Store, prefix string, asJSON bool, stdout, stderr io.Writer) int {
	items, err := store.List(prefix)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if asJSON {
		return printJSON(stdout, items)
	}
	for _, it := range items {
		if it.Expires.IsZero() {
			fmt.Fprintf(stdout, "%s\t%s\n", it.Key, it.Value)
		} else {
			fmt.Fprintf(stdout, "%s\t%s\t(expires %s)\n", it.Key, it.Value, it.Expires.Format(time.RFC3339))
		}
	}
	return 0
}

// parseInterleaved parses flags placed before, between or after the
// positional arguments ("kv set K V --ttl 1h" and "kv set --ttl 1h K V").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
