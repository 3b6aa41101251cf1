package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/medic-sre/medic/internal/trigger"
)

func init() {
	register(command{name: "triggers", summary: "list trigger types and their payload schemas (list [--json])", run: runTriggers})
}

func runTriggers(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "list" {
		fmt.Fprintln(stderr, "usage: medic triggers list [--json]")
		return 2
	}
	fs := flag.NewFlagSet("triggers list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the types with their JSON schemas as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "medic triggers list: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	types := trigger.Types()
	if *asJSON {
		return printJSON(stdout, types)
	}
	for i, t := range types {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		printTriggerType(stdout, t)
	}
	return 0
}

// printTriggerType shows a type as a rule author reads it: one line per
// field, with its JSON type and description, parameters first for timers.
func printTriggerType(w io.Writer, t trigger.TypeInfo) {
	fmt.Fprintf(w, "%s\n  %s\n", t.Name, t.Description)
	if t.ParametersSchema != nil {
		fmt.Fprintln(w, "  parameters (trigger.parameters):")
		printSchemaFields(w, t.ParametersSchema)
	}
	fmt.Fprintln(w, "  payload (trigger.<field> in criteria and templates):")
	printSchemaFields(w, t.PayloadSchema)
}

type fieldSchema struct {
	Type        any    `json:"type"`
	Enum        []any  `json:"enum"`
	Ref         string `json:"$ref"`
	Description string `json:"description"`
	Format      string `json:"format"`
}

func printSchemaFields(w io.Writer, raw json.RawMessage) {
	var s struct {
		Properties map[string]fieldSchema `json:"properties"`
		Required   []string               `json:"required"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		fmt.Fprintf(w, "    (schema unreadable: %v)\n", err)
		return
	}
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		f := s.Properties[name]
		line := fmt.Sprintf("    %-15s %-24s", name, describeFieldType(f))
		if f.Description != "" {
			line += " " + f.Description
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
}

func describeFieldType(f fieldSchema) string {
	switch {
	case f.Enum != nil:
		parts := make([]string, len(f.Enum))
		for i, v := range f.Enum {
			parts[i] = fmt.Sprintf("%v", v)
			if parts[i] == "" {
				parts[i] = `""`
			}
		}
		return strings.Join(parts, "|")
	case f.Ref != "":
		return "integer|string"
	case f.Format != "":
		return fmt.Sprintf("%v (%s)", f.Type, f.Format)
	case f.Type == nil:
		return "any"
	}
	if list, ok := f.Type.([]any); ok {
		parts := make([]string, len(list))
		for i, v := range list {
			parts[i] = fmt.Sprint(v)
		}
		return strings.Join(parts, "|")
	}
	return fmt.Sprint(f.Type)
}
