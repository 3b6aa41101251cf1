package action

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Every state machine, pending ones included, must be valid for Step
// Functions as it stands: asl-validator (npm, installed by `make deps`)
// checks what our interpreter might accept too generously.
func TestStateMachinesPassASLValidator(t *testing.T) {
	validator := "../../node_modules/.bin/asl-validator"
	if _, err := os.Stat(validator); err != nil {
		t.Fatalf("asl-validator is not installed (run `make deps` or `npm ci`): %v", err)
	}
	var args []string
	for _, dir := range machineDirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.asl.json"))
		for _, f := range files {
			args = append(args, "--json-path", f)
		}
	}
	if len(args) < 2*8 {
		t.Fatalf("found only %d state machines", len(args)/2)
	}
	if out, err := exec.Command(validator, args...).CombinedOutput(); err != nil {
		t.Fatalf("asl-validator: %v\n%s", err, out)
	}
}
