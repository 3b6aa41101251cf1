package dispatch

import (
	"strings"
	"testing"
)

// A run of several targets leases them all or none; its end (Finish by
// execution name, as for rule runs) frees them all.
func TestAdmitRunLeasesEveryTargetOrNone(t *testing.T) {
	f := newFixture(t)
	run := RunAdmission{Key: "action:linux.collect_diagnostics", Targets: []string{"web1", "web2"}}
	_, busy, err := f.c.Acquire(ctx, Config{Rule: "linux.free_disk_on_alarm"}, "web2")
	if err != nil || !busy.Act {
		t.Fatal(busy, err)
	}
	_, d, err := f.c.AdmitRun(ctx, run)
	if err != nil || d.Act || d.Target != "web2" || !strings.Contains(d.Reason, "target busy") {
		t.Fatalf("one target busy: %+v %v", d, err)
	}
	// web1 was given back: a rule may act on it.
	if _, d, _ := f.c.Acquire(ctx, Config{Rule: "other"}, "web1"); !d.Act {
		t.Fatalf("web1 kept by a refused run: %+v", d)
	}
	leases, d, err := f.c.AdmitRun(ctx, RunAdmission{Key: run.Key, Targets: []string{"web3", "web4"}})
	if err != nil || !d.Act || len(leases) != 2 {
		t.Fatalf("%+v %v", d, err)
	}
	if err := f.c.BindAll(ctx, "chat-1", leases); err != nil {
		t.Fatal(err)
	}
	if bound, _ := f.c.Bound(ctx, "chat-1"); !bound {
		t.Fatal("not bound")
	}
	if remediation, err := f.c.Ended(ctx, "chat-1", true); err != nil || !remediation {
		t.Fatalf("ended: %v %v", remediation, err)
	}
	for _, target := range []string{"web3", "web4"} {
		if _, d, _ := f.c.Acquire(ctx, Config{Rule: "other"}, target); !d.Act {
			t.Fatalf("%s not released at the end: %+v", target, d)
		}
	}
}

func TestAdmitRunNeedsAKeyAndTargets(t *testing.T) {
	f := newFixture(t)
	for _, r := range []RunAdmission{{Targets: []string{"x"}}, {Key: "action:a"}} {
		if _, _, err := f.c.AdmitRun(ctx, r); err == nil {
			t.Errorf("%+v accepted", r)
		}
	}
	if err := f.c.BindAll(ctx, "x", nil); err == nil {
		t.Error("bound nothing")
	}
	if _, _, err := (&Consolidator{}).AdmitRun(ctx, RunAdmission{Key: "k", Targets: []string{"t"}}); err == nil {
		t.Error("no state")
	}
}
