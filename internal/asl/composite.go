package asl

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
)

// parallel runs every branch on the state's effective input; the result is
// the array of branch outputs. The first branch to fail stops the others
// and its error becomes the state's error.
func (r *run) parallel(ctx context.Context, fr *frame, raw any) (any, map[string]any, *Error) {
	st := fr.st
	eff, err := r.effectiveInput(fr, raw)
	if err != nil {
		return nil, nil, err
	}
	inputs := make([]any, len(st.branches))
	for i := range inputs {
		inputs[i] = eff
	}
	results, err := r.fanOut(ctx, st.branches, inputs, fr.vars, 0, nil)
	if err != nil {
		return nil, nil, err
	}
	return r.processResult(fr, raw, results)
}

// mapState runs the item processor once per item of ItemsPath.
func (r *run) mapState(ctx context.Context, fr *frame, raw any) (any, map[string]any, *Error) {
	st := fr.st
	eff, err := applyInputPath(st, fr.env(raw))
	if err != nil {
		return nil, nil, err
	}
	itemsVal := eff
	if st.itemsPath != nil {
		if itemsVal, err = st.itemsPath.eval(fr.env(eff)); err != nil {
			return nil, nil, err
		}
	}
	if st.jItems != nil {
		if itemsVal, err = st.jItems.evalJ(fr.bindings(raw)); err != nil {
			return nil, nil, err
		}
	}
	items, ok := itemsVal.([]any)
	if !ok {
		return nil, nil, errorf(ErrRuntime, "the Map items must be an array, got %s", describe(itemsVal))
	}
	inputs := make([]any, len(items))
	for i, item := range items {
		inputs[i] = item
		if st.parameters == nil && st.jItemSelector == nil {
			continue
		}
		itemFrame := *fr
		itemFrame.set(func(f *frame) { f.item = map[string]any{"Index": float64(i), "Value": item} })
		if st.parameters != nil {
			inputs[i], err = st.parameters.eval(itemFrame.env(eff))
		} else {
			inputs[i], err = st.jItemSelector.evalJ(itemFrame.bindings(raw))
		}
		if err != nil {
			return nil, nil, err
		}
	}
	limit, err := r.concurrency(fr, eff)
	if err != nil {
		return nil, nil, err
	}
	tol, err := r.tolerance(fr, eff, len(items))
	if err != nil {
		return nil, nil, err
	}
	scopes := make([]*scope, len(inputs))
	for i := range scopes {
		scopes[i] = st.processor
	}
	results, err := r.fanOut(ctx, scopes, inputs, fr.vars, limit, tol)
	if err != nil {
		return nil, nil, err
	}
	return r.processResult(fr, raw, results)
}

func (r *run) effectiveInput(fr *frame, raw any) (any, *Error) {
	if fr.st.jArgs != nil {
		return fr.st.jArgs.evalJ(fr.bindings(raw))
	}
	eff, err := applyInputPath(fr.st, fr.env(raw))
	if err != nil || fr.st.parameters == nil {
		return eff, err
	}
	return fr.st.parameters.eval(fr.env(eff))
}

func (r *run) concurrency(fr *frame, eff any) (int, *Error) {
	st := fr.st
	if st.maxConcurrencyPath == nil {
		return st.maxConcurrency, nil
	}
	v, err := st.maxConcurrencyPath.eval(fr.env(eff))
	if err != nil {
		return 0, err
	}
	n, ok := v.(float64)
	if !ok || n < 0 || n != math.Trunc(n) {
		return 0, errorf(ErrRuntime, "MaxConcurrencyPath %s must name a non-negative integer, got %s", st.maxConcurrencyPath.src, describe(v))
	}
	return int(n), nil
}

// tolerance returns how many item failures the Map accepts, or nil when any
// failure fails the state.
func (r *run) tolerance(fr *frame, eff any, items int) (*int, *Error) {
	st := fr.st
	count, pct, has := st.toleratedCount, st.toleratedPercent, st.hasTolerance
	for _, x := range []struct {
		e    *expr
		dest *float64
	}{{st.toleratedCountPath, nil}, {st.toleratedPercentPath, &pct}} {
		if x.e == nil {
			continue
		}
		v, err := x.e.eval(fr.env(eff))
		if err != nil {
			return nil, err
		}
		n, ok := v.(float64)
		if !ok || n < 0 {
			return nil, errorf(ErrRuntime, "%s must name a non-negative number, got %s", x.e.src, describe(v))
		}
		if x.dest == nil {
			count = int(n)
		} else {
			pct = n
		}
		has = true
	}
	if !has {
		return nil, nil
	}
	allowed := count
	if pct > 0 {
		allowed = max(allowed, int(math.Floor(pct*float64(items)/100)))
	}
	return &allowed, nil
}

// inlineMapConcurrency is how many iterations an inline Map runs at once
// when MaxConcurrency is 0: Step Functions documents up to 40 for inline mode.
const inlineMapConcurrency = 40

// fanOut runs scopes[i] on inputs[i] with at most limit running at once
// (0 = up to inlineMapConcurrency). With tolerated == nil the first failure
// cancels the rest and is returned; otherwise failed items yield their
// {"Error","Cause"} until more than *tolerated have failed.
func (r *run) fanOut(ctx context.Context, scopes []*scope, inputs []any, vars map[string]any, limit int, tolerated *int) ([]any, *Error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if limit <= 0 {
		limit = inlineMapConcurrency
	}
	results := make([]any, len(inputs))
	var (
		mu       sync.Mutex
		firstErr *Error
		failures int
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	record := func(i int, out any, err *Error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			results[i] = out
		case tolerated != nil && err != errAborted:
			failures++
			results[i] = map[string]any{"Error": err.Name, "Cause": err.Cause}
			if failures > *tolerated && firstErr == nil {
				firstErr = errorf(ErrExceedToleratedFailure, "%d items failed, more than the %d tolerated; last: %s", failures, *tolerated, err)
				cancel()
			}
		case firstErr == nil:
			firstErr = err
			cancel()
		}
	}
	// A fixed set of workers pulls items in order, so goroutines (and their
	// grown stacks) are reused across items.
	for range min(limit, len(inputs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(inputs) {
					return
				}
				out, err := r.runScope(ctx, scopes[i], inputs[i], vars)
				record(i, out, err)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if ctx.Err() != nil {
		return nil, errAborted
	}
	return results, nil
}
