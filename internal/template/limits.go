package template

import (
	"errors"
	"fmt"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// Templates come from pack authors, but their numbers may come from a
// trigger payload; a width or a range in the billions would stall the
// engine. These limits make such templates fail instead.
const (
	maxRange    = 100_000
	maxWidthArg = 10_000
)

// boundedFilters are gonja builtins whose integer arguments size their
// output or their loop.
var boundedFilters = []string{"center", "indent", "wordwrap", "truncate", "batch", "slice", "random"}

func bounded(name string, fn exec.FilterFunction) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		args := append([]*exec.Value{}, params.Args...)
		for _, v := range params.KwArgs {
			args = append(args, v)
		}
		for _, a := range args {
			if a.IsInteger() && (a.Integer() > maxWidthArg || a.Integer() < -maxWidthArg) {
				return exec.AsValue(fmt.Errorf("%s: argument %d is beyond the limit of %d", name, a.Integer(), maxWidthArg))
			}
		}
		return fn(e, in, params)
	}
}

// rangeFunction is Jinja's range, as a list of at most maxRange numbers
// (gonja's streams from a goroutine that leaks when not drained).
func rangeFunction(_ *exec.Evaluator, params *exec.VarArgs) ([]int, error) {
	start, stop, step := 0, 0, 1
	ints := make([]int, len(params.Args))
	for i, a := range params.Args {
		if !a.IsInteger() {
			return nil, exec.ErrInvalidCall(errors.New("range arguments must be integers"))
		}
		ints[i] = a.Integer()
	}
	switch len(ints) {
	case 1:
		stop = ints[0]
	case 2:
		start, stop = ints[0], ints[1]
	case 3:
		start, stop, step = ints[0], ints[1], ints[2]
	default:
		return nil, exec.ErrInvalidCall(errors.New("expected signature is [start, ]stop[, step]"))
	}
	if step == 0 {
		return nil, exec.ErrInvalidCall(errors.New("step cannot be 0"))
	}
	n := 0
	if step > 0 && stop > start {
		n = (stop - start + step - 1) / step
	} else if step < 0 && stop < start {
		n = (start - stop - step - 1) / -step
	}
	if n > maxRange || n < 0 {
		return nil, exec.ErrInvalidCall(fmt.Errorf("range of %d items is beyond the limit of %d", n, maxRange))
	}
	out := make([]int, n)
	for i := range out {
		out[i] = start + i*step
	}
	return out, nil
}
