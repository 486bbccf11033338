package launch

import (
	"context"
	"log/slog"
	"maps"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/stepup-mfa/stepup/plugins"
	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/config"
)

// Method is one enabled method to start.
type Method struct {
	Name     string
	Settings map[string]string // as the plugin's Configure takes them
	// Path and SHA256 are an external plugin's executable and its
	// checksum; empty for a built-in.
	Path, SHA256 string
	// Named: the config file names the method (not only the defaults),
	// so that one this build cannot run is logged.
	Named bool
}

// FromConfig returns the enabled methods of cfg, sorted by name.
func FromConfig(cfg config.Config) []Method {
	names := make([]string, 0, len(cfg.Methods))
	for name := range cfg.Methods {
		names = append(names, name)
	}
	sort.Strings(names)
	var methods []Method
	for _, name := range names {
		mc := cfg.Methods[name]
		if !mc.IsEnabled() {
			continue
		}
		settings := mc.PluginSettings()
		maps.Copy(settings, hostSettings(cfg))
		methods = append(methods, Method{Name: name, Settings: settings, Path: mc.Path,
			SHA256: mc.SHA256, Named: cfg.MethodNamed(name)})
	}
	return methods
}

// hostSettings are the deployment's facts every method's Configure gets
// besides its own settings (sdk.HostSettingPrefix): the issuer, the
// product name, and the outbox as an absolute path (the plugin may run in
// another directory).
func hostSettings(cfg config.Config) map[string]string {
	dir := cfg.Outbox.Dir
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return map[string]string{sdk.SettingIssuer: cfg.Issuer, sdk.SettingProductName: cfg.UI.ProductName, sdk.SettingOutboxDir: dir}
}

// Options say how to start the method plugins.
type Options struct {
	// Self is the stepup executable: built-in methods run as the
	// stepup-NAME binaries beside it whose checksums its build recorded, or
	// else as `Self plugin NAME`, each pinned by SHA-256
	// (plugins.BuiltinCommand).
	Self string
	// Backend is the plugins' storage (provider.PluginBackend).
	Backend host.Backend
	// Key returns the key that encrypts a method's data at rest
	// (secrets.Secrets.PluginKey).
	Key func(method string) []byte
	// OnRefused is called when a start of a plugin is refused because its
	// file's checksum is not the pinned one (provider.AuditRefused).
	OnRefused func(method string, err error)
	Logger    *slog.Logger
	Now       func() time.Time
}

// Methods starts every method as a plugin subprocess. Every process,
// external or built in, runs only while its file has the pinned SHA-256:
// a start, first or after a crash, of a file swapped meanwhile is refused
// (OnRefused). A checksum mismatch, a missing file or a wrong protocol
// version stops it with one error naming the method. A method that is
// neither built in nor given a path is skipped: logged when the config
// file names it, silently when it is there only by default.
func Methods(ctx context.Context, methods []Method, o Options) (*host.Registry, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	var specs []host.Spec
	var missing []string
	for _, m := range methods {
		spec := host.Spec{Name: m.Name, Config: m.Settings, Backend: o.Backend, Now: o.Now, Logger: o.Logger}
		if o.Key != nil {
			spec.Key = o.Key(m.Name)
		}
		switch {
		case m.Path != "":
			spec.Path, spec.SHA256 = m.Path, m.SHA256
		case plugins.IsBuiltin(m.Name):
			c, err := plugins.BuiltinCommand(o.Self, m.Name)
			if err != nil {
				return nil, err
			}
			spec.Path, spec.Args, spec.SHA256 = c.Path, c.Args, c.SHA256
			if c.Skipped != nil {
				o.Logger.Info("built-in method re-executes stepup instead of its own binary", "method", m.Name, "reason", c.Skipped.Error())
			}
		default:
			if m.Named {
				missing = append(missing, m.Name)
			}
			continue
		}
		spec.OnRefused = o.OnRefused
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
