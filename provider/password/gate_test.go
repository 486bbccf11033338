package password

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// TestGateBoundsConcurrentChecks: of 20 checks that arrive while every
// slot is held, none runs; once the slots are given back, all do, never
// more than the slots at once (issue 18, item 11: N concurrent checks
// cost N times the memory of one).
func TestGateBoundsConcurrentChecks(t *testing.T) {
	g := NewGate(2, 0)
	ctx := context.Background()
	a, err1 := g.Enter(ctx)
	b, err2 := g.Enter(ctx)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for range 20 {
		if _, err := g.Enter(ctx); !errors.Is(err, ErrBusy) {
			t.Fatalf("a third check while both slots are held: %v, want ErrBusy", err)
		}
	}
	a()
	b()
	g = NewGate(2, 1<<62) // wait as long as it takes
	var mu sync.Mutex
	running, most := 0, 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			leave, err := g.Enter(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			running++
			most = max(most, running)
			mu.Unlock()
			Hasher{MemoryKiB: 64, Iterations: 1, Parallelism: 1}.VerifyDummy("pw")
			mu.Lock()
			running--
			mu.Unlock()
			leave()
		})
	}
	wg.Wait()
	if most > 2 {
		t.Fatalf("%d checks ran at once through a gate of 2", most)
	}
}
