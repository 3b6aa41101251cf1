package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/medic-sre/medic/internal/alert"
	consolidate "github.com/medic-sre/medic/internal/dispatch"
	"github.com/medic-sre/medic/internal/state"
)

func init() {
	register(command{name: "alerts", summary: "consolidated alerts: list [--json] | groups [--json]", run: runAlerts})
}

const alertsUsage = "usage: medic alerts list [--json] | groups [--json]   (both take --state DIR, default $MEDIC_STATE_DIR or .medic)"

func runAlerts(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, alertsUsage)
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet("alerts "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state", envOr("MEDIC_STATE_DIR", ".medic"), "state directory")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return 2
	}
	if len(pos) != 0 || (verb != "list" && verb != "groups") {
		fmt.Fprintln(stderr, alertsUsage)
		return 2
	}
	store, err := state.OpenStateDir(*stateDir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	c := &consolidate.Consolidator{State: store}
	if verb == "groups" {
		return alertGroups(c, *asJSON, stdout, stderr)
	}
	return alertList(c, *asJSON, stdout, stderr)
}

// alertView is one line of `medic alerts list`.
type alertView struct {
	consolidate.Record
	Count      int64  `json:"count"`
	SilencedBy string `json:"silenced_by,omitempty"`
}

func alertList(c *consolidate.Consolidator, asJSON bool, stdout, stderr io.Writer) int {
	ctx := context.Background()
	recs, err := c.Alerts(ctx)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// Most recent change first: what an operator looks for.
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Since.After(recs[j].Since) })
	views := make([]alertView, 0, len(recs))
	for _, r := range recs {
		v := alertView{Record: r, Count: r.Count}
		if r.Status == alert.Firing {
			if s, err := c.Silences().Match(ctx, r.Labels); err == nil && s != nil {
				v.SilencedBy = s.ID
			}
		}
		views = append(views, v)
	}
	if asJSON {
		return printJSON(stdout, views)
	}
	if len(views) == 0 {
		fmt.Fprintln(stderr, "no alerts recorded")
		return 0
	}
	fmt.Fprintln(stdout, "FINGERPRINT\tSTATUS\tCOUNT\tSINCE\tNOTE\tALERT")
	for _, v := range views {
		note := "-"
		switch {
		case v.SilencedBy != "":
			note = "silenced:" + v.SilencedBy
		case v.Flap.Flapping:
			note = "flapping"
		}
		fmt.Fprintf(stdout, "%s\t%s\t%d\t%s\t%s\t%s %s\n", v.Fingerprint, v.Status, v.Count,
			v.Since.UTC().Format(time.RFC3339), note, v.Labels[alert.LabelName], alert.Summary(v.Labels))
	}
	return 0
}

func alertGroups(c *consolidate.Consolidator, asJSON bool, stdout, stderr io.Writer) int {
	groups, err := c.Groups(context.Background())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if asJSON {
		return printJSON(stdout, groups)
	}
	if len(groups) == 0 {
		fmt.Fprintln(stderr, "no open groups")
		return 0
	}
	for _, g := range groups {
		last := "never"
		if !g.LastFlush.IsZero() {
			last = g.LastFlush.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "%s\t%d alerts, %d firing\tacted %d times, last %s\tnext look %s\n", g.Key(), len(g.Members),
			len(g.Firing()), g.Seq, last, g.NextFlush.UTC().Format(time.RFC3339))
	}
	return 0
}
