package challenge

import (
	"context"
	"sync"
)

// Result is the outcome of one target of CheckEach.
type Result struct {
	Identifier string
	// Exempt names (Exempt) are never fetched; they pass as they are.
	Exempt bool
	// Err is why the target failed; nil when it passed or is exempt.
	Err *Error
}

// Results are CheckEach's answer, one per target in the order given.
type Results []Result

// Failed is the first failure in the targets' order, or nil if every
// target passed: the same one on every run, unlike Check's, which is
// whichever fetch failed first.
func (rs Results) Failed() *Error {
	for _, r := range rs {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

// FailedCount is how many targets failed.
func (rs Results) FailedCount() int {
	n := 0
	for _, r := range rs {
		if r.Err != nil {
			n++
		}
	}
	return n
}

// CheckEach validates every target that is not Exempt, like Check, but a
// failure stops none of the others: a person fixing several names wants
// to know about each. It takes as long as the slowest fetch (each bounded
// by Config.Timeout), where Check stops at the first failure.
func (c *Checker) CheckEach(ctx context.Context, requester string, targets []Target) Results {
	res := make(Results, len(targets))
	todo := make(chan int, len(targets))
	for i, t := range targets {
		res[i].Identifier = t.Identifier
		if Exempt(t.Identifier) {
			res[i].Exempt = true
			continue
		}
		todo <- i
	}
	close(todo)
	var wg sync.WaitGroup
	for range min(c.concurrency, len(todo)) {
		wg.Go(func() {
			for i := range todo {
				// Each worker writes only its own index: no lock needed.
				res[i].Err = c.checkOne(ctx, requester, targets[i])
			}
		})
	}
	wg.Wait()
	return res
}
