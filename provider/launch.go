package provider

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/stepup-mfa/stepup/plugins"
	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// PluginKey is the key that encrypts one method's data at rest; each
// method gets its own, derived from keys.secret_file.
func (s *Secrets) PluginKey(method string) []byte {
	k, err := hkdf.Key(sha256.New, s.DataKey, nil, "stepup plugin "+method, 32)
	if err != nil {
		panic(err)
	}
	return k
}

// LaunchOptions say how to start the method plugins.
type LaunchOptions struct {
	// Self is the stepup executable: built-in methods run as the
	// stepup-NAME binaries beside it whose checksums its build recorded, or
	// else as `Self plugin NAME`, each pinned by SHA-256
	// (plugins.BuiltinCommand).
	Self   string
	Store  storage.Store
	Secret *Secrets
	Logger *slog.Logger
	Now    func() time.Time
}

// LaunchMethods starts every enabled method of the configuration as a
// plugin subprocess. Every process, external or built in, runs only while
// its file has the pinned SHA-256: a start, first or after a crash, of a
// file swapped meanwhile is refused and audited (method.plugin_refused).
// A checksum mismatch, a missing file or a wrong protocol version stops it
// with one error naming the method. A method the config file names that
// is neither built in nor given a path is skipped, and logged; one that is
// there only by default is skipped silently.
func LaunchMethods(ctx context.Context, cfg config.Config, o LaunchOptions) (*host.Registry, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	names := make([]string, 0, len(cfg.Methods))
	for name := range cfg.Methods {
		names = append(names, name)
	}
	sort.Strings(names)
	var specs []host.Spec
	var missing []string
	for _, name := range names {
		mc := cfg.Methods[name]
		if !mc.IsEnabled() {
			continue
		}
		spec := host.Spec{Name: name, Config: mc.PluginSettings(), Backend: PluginBackend(o.Store),
			Key: o.Secret.PluginKey(name), Now: o.Now, Logger: o.Logger}
		switch {
		case mc.Path != "":
			spec.Path, spec.SHA256 = mc.Path, mc.SHA256
		case plugins.IsBuiltin(name):
			c, err := plugins.BuiltinCommand(o.Self, name)
			if err != nil {
				return nil, err
			}
			spec.Path, spec.Args, spec.SHA256 = c.Path, c.Args, c.SHA256
			if c.Skipped != nil {
				o.Logger.Info("built-in method re-executes stepup instead of its own binary", "method", name, "reason", c.Skipped.Error())
			}
		default:
			if cfg.MethodNamed(name) {
				missing = append(missing, name)
			}
			continue
		}
		spec.OnRefused = func(name string, err error) { auditRefused(o, name, err) }
		specs = append(specs, spec)
	}
	if len(missing) > 0 {
		o.Logger.Warn("configured methods not in this build, skipped", "methods", strings.Join(missing, ","))
	}
	reg := host.NewRegistry()
	if err := reg.Launch(ctx, specs...); err != nil {
		reg.Close()
		return nil, err
	}
	return reg, nil
}

// auditRefused records a plugin file that was not run because its
// checksum is not the pinned one: replaced on disk, at start or while
// stepup runs.
func auditRefused(o LaunchOptions, name string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e := storage.Event{Time: o.Now(), Type: "method.plugin_refused", Actor: "system", Outcome: "denied",
		Details: map[string]string{"method": name, "reason": err.Error()}}
	if aerr := o.Store.AppendEvent(ctx, e); aerr != nil {
		o.Logger.Error("audit event not recorded", "type", e.Type, "method", name, "err", aerr)
	}
}
