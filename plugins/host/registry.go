package host

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// Registry holds the running method plugins of one provider by configured
// name: what the provider asks when it chooses a method (descriptions,
// health) and where it finds the plugin to call. Safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	plugins map[string]*Plugin
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{plugins: map[string]*Plugin{}}
}

// Launch starts the plugins of specs concurrently and adds them. If any
// fails (or a name is taken), the ones this call started are closed and the
// errors are returned, each naming its method and file; plugins added
// earlier stay.
func (r *Registry) Launch(ctx context.Context, specs ...Spec) error {
	seen := map[string]bool{}
	r.mu.RLock()
	for _, s := range specs {
		if _, taken := r.plugins[s.Name]; taken || seen[s.Name] {
			r.mu.RUnlock()
			return fmt.Errorf("method %s: launched twice", s.Name)
		}
		seen[s.Name] = true
	}
	r.mu.RUnlock()

	started := make([]*Plugin, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started[i], errs[i] = Launch(ctx, s)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, p := range started {
			if p != nil {
				_ = p.Close()
			}
		}
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range started {
		if _, taken := r.plugins[p.Name()]; taken {
			_ = p.Close()
			return fmt.Errorf("method %s: launched twice", p.Name())
		}
		r.plugins[p.Name()] = p
	}
	return nil
}

// Method returns the plugin configured under name.
func (r *Registry) Method(name string) (*Plugin, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.plugins[name]
	return p, ok
}

// Names returns the configured names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.plugins))
	for n := range r.plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Descriptions returns each method's launch-time Description by name.
func (r *Registry) Descriptions() map[string]sdk.Description {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]sdk.Description, len(r.plugins))
	for n, p := range r.plugins {
		out[n] = p.Description()
	}
	return out
}

// Health returns Healthy of each method by name (for /readyz).
func (r *Registry) Health() map[string]bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]bool, len(r.plugins))
	for n, p := range r.plugins {
		out[n] = p.Healthy()
	}
	return out
}

// Restarts returns the restart count of each method by name (for a
// metric).
func (r *Registry) Restarts() map[string]int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]int64, len(r.plugins))
	for n, p := range r.plugins {
		out[n] = p.Restarts()
	}
	return out
}

// Close stops every plugin and empties the registry.
func (r *Registry) Close() error {
	r.mu.Lock()
	ps := r.plugins
	r.plugins = map[string]*Plugin{}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Close()
		}()
	}
	wg.Wait()
	return nil
}
