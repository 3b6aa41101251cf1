package pack

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// RunnerWorkflow is the runner whose entry_point names a state machine;
// every other runner's entry_point is a file relative to the action's
// folder (st2's layout: packs/<pack>/actions/).
const RunnerWorkflow = "workflow"

// machineName is what a workflow entry_point may be: the NAME of
// statemachines/NAME.asl.json, never a path.
var machineName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$`)

// checkEntryPoint makes an action's entry_point stay inside its pack: a
// script that resolved elsewhere (../../../../etc/hostname, or a symlink
// out of the pack) would be embedded in a command and run as root.
func checkEntryPoint(src source, packDir string, a *Action, ps *problems) {
	line := a.Lines["entry_point"]
	switch {
	case a.EntryPoint == "":
		return
	case a.RunnerType == RunnerWorkflow:
		if !machineName.MatchString(a.EntryPoint) {
			ps.add(a.File, line, "entry_point", "%q is not a state machine name (letters, digits, _ . -; the NAME of statemachines/NAME.asl.json)", a.EntryPoint)
		}
		return
	}
	rel := path.Join(packDir, "actions", a.EntryPoint)
	if path.IsAbs(a.EntryPoint) || !strings.HasPrefix(rel, packDir+"/") {
		ps.add(a.File, line, "entry_point", "%q resolves outside the pack %s: a script must live inside its pack", a.EntryPoint, src.show(packDir))
		return
	}
	if _, err := fs.Stat(src.fsys, rel); err != nil {
		ps.add(a.File, line, "entry_point", "%q: no such script in the pack (%s)", a.EntryPoint, src.show(rel))
		return
	}
	if src.onDisk {
		if _, err := a.ScriptPath(); err != nil {
			ps.add(a.File, line, "entry_point", "%v", err)
		}
	}
}

// ScriptPath is the file a script runner's entry_point names, resolved on
// disk (filepath.Clean, then EvalSymlinks) and refused unless it is inside
// the action's pack folder. The pack is the folder above the action's
// actions/ folder.
func (a *Action) ScriptPath() (string, error) {
	actionsDir := filepath.Dir(a.File)
	packDir, err := filepath.EvalSymlinks(filepath.Dir(actionsDir))
	if err != nil {
		return "", fmt.Errorf("%q: pack folder: %w", a.EntryPoint, err)
	}
	if filepath.IsAbs(a.EntryPoint) {
		return "", fmt.Errorf("%q is absolute: name a script inside the pack, relative to %s", a.EntryPoint, actionsDir)
	}
	script, err := filepath.EvalSymlinks(filepath.Join(actionsDir, a.EntryPoint))
	if err != nil {
		return "", fmt.Errorf("%q: %w", a.EntryPoint, err)
	}
	inside, err := filepath.Rel(packDir, script)
	if err != nil || inside == ".." || strings.HasPrefix(inside, ".."+string(filepath.Separator)) || filepath.IsAbs(inside) {
		return "", fmt.Errorf("%q resolves to %s, outside the pack %s (after following symlinks): a script must live inside its pack", a.EntryPoint, script, packDir)
	}
	return script, nil
}
