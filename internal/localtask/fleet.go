package localtask

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// FleetFiles are the names OpenFleet looks for in the state directory, in
// order. JSON is valid YAML, so one parser reads both.
var FleetFiles = []string{"fleet.yaml", "fleet.yml", "fleet.json"}

// Fleet is a small simulated EC2 fleet and its Auto Scaling groups: the
// local stand-in for the accounts the aws_ec2 workflows act on. State
// changes take effect over the next observations (Describe* calls), as
// they take minutes in EC2, so a workflow's wait-and-check loops run for
// real. The fleet lives in memory; its file is only the starting point.
type Fleet struct {
	// Now gives the time for Auto Scaling cooldowns (default time.Now).
	Now func() time.Time

	mu        sync.Mutex
	instances map[string]*instance
	groups    map[string]*group
	order     []string // instance ids in file order, for stable listings
	launched  int      // instances launched by scaling out, for their ids
}

type instance struct {
	id, itype, zone string
	state           string // pending, running, stopping, stopped, shutting-down, terminated
	instanceStatus  string // ok, impaired, initializing, not-applicable
	systemStatus    string
	rebootFixes     bool
	tags            map[string]string
	// Addresses an alert may name the instance by (target.Local).
	privateIP, privateDNS, publicIP string
	// next holds the snapshots the following observations see, one each.
	next []snapshot
}

type snapshot struct{ state, instanceStatus, systemStatus string }

type group struct {
	name               string
	min, max, desired  int
	cooldown           time.Duration
	lastScaled         time.Time
	activityInProgress bool
}

// fleetFile is the seed file's shape (docs/actions.md, "Local fleet").
type fleetFile struct {
	Instances []struct {
		ID             string            `yaml:"id"`
		Type           string            `yaml:"type"`
		Zone           string            `yaml:"zone"`
		State          string            `yaml:"state"`
		InstanceStatus string            `yaml:"instance_status"`
		SystemStatus   string            `yaml:"system_status"`
		RebootFixes    *bool             `yaml:"reboot_fixes"`
		Tags           map[string]string `yaml:"tags"`
		PrivateIP      string            `yaml:"private_ip"`
		PrivateDNS     string            `yaml:"private_dns"`
		PublicIP       string            `yaml:"public_ip"`
	} `yaml:"instances"`
	Groups []struct {
		Name               string `yaml:"name"`
		Min                int    `yaml:"min"`
		Max                int    `yaml:"max"`
		Desired            int    `yaml:"desired"`
		CooldownSeconds    int    `yaml:"cooldown_seconds"`
		ActivityInProgress bool   `yaml:"activity_in_progress"`
	} `yaml:"auto_scaling_groups"`
}

var (
	instanceStates = set("pending", "running", "stopping", "stopped", "shutting-down", "terminated")
	checkStatuses  = set("ok", "impaired", "initializing")
)

func set(items ...string) map[string]bool {
	m := map[string]bool{}
	for _, s := range items {
		m[s] = true
	}
	return m
}

// OpenFleet reads the first of FleetFiles found in dir. No file at all is
// an empty fleet (every instance is then unknown, as in an empty account);
// a file that does not parse is an error naming it.
func OpenFleet(dir string) (*Fleet, error) {
	for _, name := range FleetFiles {
		path := filepath.Join(dir, name)
		raw, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("fleet %s: %w", path, err)
		}
		f, err := ParseFleet(raw)
		if err != nil {
			return nil, fmt.Errorf("fleet %s: %w", path, err)
		}
		return f, nil
	}
	return NewFleet(), nil
}

// NewFleet returns an empty fleet.
func NewFleet() *Fleet {
	return &Fleet{instances: map[string]*instance{}, groups: map[string]*group{}}
}

// ParseFleet reads a fleet file (YAML or JSON), refusing unknown fields and
// impossible states so a typo does not silently become a healthy instance.
func ParseFleet(raw []byte) (*Fleet, error) {
	var file fleetFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	f := NewFleet()
	for i, in := range file.Instances {
		where := fmt.Sprintf("instances[%d]", i)
		inst, err := newInstance(where, in.ID, in.State, in.InstanceStatus, in.SystemStatus)
		if err != nil {
			return nil, err
		}
		if f.instances[inst.id] != nil {
			return nil, fmt.Errorf("%s.id: %q appears twice", where, in.ID)
		}
		inst.itype, inst.zone, inst.tags = or(in.Type, "t3.micro"), or(in.Zone, "local-1a"), in.Tags
		inst.rebootFixes = in.RebootFixes == nil || *in.RebootFixes
		if err := inst.setAddresses(where, in.PrivateIP, in.PrivateDNS, in.PublicIP); err != nil {
			return nil, err
		}
		f.instances[inst.id] = inst
		f.order = append(f.order, inst.id)
	}
	for i, g := range file.Groups {
		where := fmt.Sprintf("auto_scaling_groups[%d]", i)
		switch {
		case g.Name == "":
			return nil, fmt.Errorf("%s.name: required", where)
		case f.groups[g.Name] != nil:
			return nil, fmt.Errorf("%s.name: %q appears twice", where, g.Name)
		case g.Min < 0 || g.Max < g.Min:
			return nil, fmt.Errorf("%s: min %d and max %d must satisfy 0 <= min <= max", where, g.Min, g.Max)
		case g.Desired < g.Min || g.Desired > g.Max:
			return nil, fmt.Errorf("%s.desired: %d is outside min..max (%d..%d)", where, g.Desired, g.Min, g.Max)
		case g.CooldownSeconds < 0:
			return nil, fmt.Errorf("%s.cooldown_seconds: %d is negative", where, g.CooldownSeconds)
		}
		f.groups[g.Name] = &group{name: g.Name, min: g.Min, max: g.Max, desired: g.Desired,
			cooldown: time.Duration(g.CooldownSeconds) * time.Second, activityInProgress: g.ActivityInProgress}
	}
	return f, nil
}

func newInstance(where, id, state, instStatus, sysStatus string) (*instance, error) {
	if !strings.HasPrefix(id, "i-") || len(id) < 3 {
		return nil, fmt.Errorf("%s.id: %q is not an instance id (i-...)", where, id)
	}
	state = or(state, "running")
	if !instanceStates[state] {
		return nil, fmt.Errorf("%s.state: %q is not an EC2 state (pending, running, stopping, stopped, shutting-down, terminated)", where, state)
	}
	inst := &instance{id: id, state: state, instanceStatus: or(instStatus, "ok"), systemStatus: or(sysStatus, "ok")}
	for field, v := range map[string]string{"instance_status": inst.instanceStatus, "system_status": inst.systemStatus} {
		if !checkStatuses[v] {
			return nil, fmt.Errorf("%s.%s: %q is not a status check value (ok, impaired, initializing)", where, field, v)
		}
	}
	if state != "running" {
		inst.instanceStatus, inst.systemStatus = "not-applicable", "not-applicable"
	}
	return inst, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (f *Fleet) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// observe advances an instance by one pending step: what a Describe call
// sees a little later than the one before.
func (in *instance) observe() {
	if len(in.next) == 0 {
		return
	}
	s := in.next[0]
	in.next = in.next[1:]
	in.state, in.instanceStatus, in.systemStatus = s.state, s.instanceStatus, s.systemStatus
}

// Instance reports an instance's state and status checks (for tests and
// `medic` status output); ok is false for an unknown id.
func (f *Fleet) Instance(id string) (state, instanceStatus, systemStatus string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := f.instances[id]
	if in == nil {
		return "", "", "", false
	}
	return in.state, in.instanceStatus, in.systemStatus, true
}

// Group reports an Auto Scaling group's sizes; ok is false for an unknown name.
func (f *Fleet) Group(name string) (min, max, desired int, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.groups[name]
	if g == nil {
		return 0, 0, 0, false
	}
	return g.min, g.max, g.desired, true
}
