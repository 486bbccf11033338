package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/sdk/pluginpb"
)

// Defaults of Spec.
const (
	DefaultCallTimeout  = 5 * time.Second
	DefaultStartTimeout = 10 * time.Second
	DefaultMinBackoff   = 100 * time.Millisecond
	DefaultMaxBackoff   = 10 * time.Second
)

// stableAfter is how long a process must have lived for its crash to start
// the backoff again from MinBackoff.
const stableAfter = time.Minute

// Spec says how to run one method plugin.
type Spec struct {
	// Name is the method's configured name ("totp"): its storage
	// namespace, its rate-limit prefix and the name in every error.
	// Lower-case letters, digits, '-' and '_'.
	Name string
	// Path is the executable. Args follow it on the command line, so that
	// `ps` tells the processes apart: a built-in method re-executing the
	// stepup binary has Args {"plugin", "totp"}; one with a binary of its
	// own and an external plugin run as their own files.
	Path string
	Args []string
	// Env is the plugin's whole environment besides go-plugin's own
	// variables: the host's environment (which holds its secrets) is not
	// inherited. TMPDIR is passed on when set.
	Env []string
	// SHA256 is the expected hex checksum of Path, checked before every
	// start of the process, the first and each restart after a crash: a
	// file that does not have it is not run (ErrChecksumMismatch). Empty
	// skips the check.
	SHA256 string
	// Config is handed to the method's Configure (sdk.Configurable).
	Config map[string]string

	// Backend stores the method's data and rate-limit events.
	Backend Backend
	// Key is the 32-byte AES-256-GCM key that encrypts the method's values
	// at rest.
	Key []byte
	// Now is the host clock: sent with every call (the plugin's Host.Now)
	// and used for storage expiry and rate limits. Default time.Now.
	Now func() time.Time

	// CallTimeout bounds every call, including a wait for a restart.
	CallTimeout time.Duration
	// StartTimeout bounds one start of the process up to a working Setup.
	StartTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a restart after a
	// crash: MinBackoff, doubling while the restarted process keeps
	// failing, up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration

	// Logger receives the plugin's log lines and the host's events about
	// it (crashes, restarts). Default: discard.
	Logger *slog.Logger
	// OnRestart, when set, is called after each successful restart (for a
	// metric); Plugin.Restarts counts them too.
	OnRestart func(name string)
	// OnRefused, when set, is called when a start is refused because the
	// file does not have SHA256 (for the audit log): once, until the file
	// passes the check again, however often the restarts retry meanwhile.
	OnRefused func(name string, err error)
}

// ErrChecksumMismatch is the error (errors.Is) of a start refused because
// the plugin file's SHA-256 is not Spec.SHA256.
var ErrChecksumMismatch = errors.New("checksum mismatch")

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Launch starts the plugin of spec, hands it its host services, asks it
// to Describe itself, and keeps it running: a crash is followed by restarts
// with backoff until Close. Every error names the method and the file: a
// missing file, a checksum mismatch, a plugin of another protocol version
// or one that fails to start.
func Launch(ctx context.Context, spec Spec) (*Plugin, error) {
	p, err := newPlugin(spec)
	if err != nil {
		return nil, err
	}
	inst, err := p.start(ctx)
	if err != nil {
		return nil, err
	}
	desc, err := describe(ctx, inst, p.spec)
	if err != nil {
		inst.client.Kill()
		return nil, fmt.Errorf("method %s: plugin %s: describe: %w", spec.Name, p.spec.Path, err)
	}
	if err := checkKeys(desc); err != nil {
		inst.client.Kill()
		return nil, fmt.Errorf("method %s: plugin %s: describe: %w", spec.Name, p.spec.Path, err)
	}
	// The configuration against what the method declares it takes: a key
	// it does not take stops the start, with one line naming it.
	if err := sdk.CheckSettings(desc.Settings, spec.Config); err != nil {
		inst.client.Kill()
		var se *sdk.SettingError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("config: methods.%s.%s %s", spec.Name, se.Key, se.Msg)
		}
		return nil, fmt.Errorf("method %s: %w", spec.Name, err)
	}
	desc.Name = spec.Name
	p.desc = desc
	p.install(inst)
	return p, nil
}

// checkKeys refuses key templates the host could not fill: the user
// records' and the limits'.
func checkKeys(d sdk.Description) error {
	if len(d.UserRecords) > sdk.MaxUserRecords {
		return fmt.Errorf("%d user records declared, at most %d", len(d.UserRecords), sdk.MaxUserRecords)
	}
	bad := func(k string) bool { return strings.Count(k, sdk.UserPlaceholder) != 1 || len(k) > sdk.MaxKeyLen/2 }
	for _, k := range d.UserRecords {
		if bad(k) {
			return fmt.Errorf("user record %q: needs %s exactly once and at most %d bytes", k, sdk.UserPlaceholder, sdk.MaxKeyLen/2)
		}
	}
	for _, l := range d.Limits {
		if l.FailuresOnly && (l.Operation != sdk.OpVerify || l.Key == "") {
			return fmt.Errorf("%s limit counts failures only: only a %s limit with a key can", l.Operation, sdk.OpVerify)
		}
		if l.Key == "" {
			continue
		}
		if bad(l.Key) || l.Max <= 0 || l.Window <= 0 {
			return fmt.Errorf("%s limit key %q: needs %s exactly once, at most %d bytes, and a positive max and window",
				l.Operation, l.Key, sdk.UserPlaceholder, sdk.MaxKeyLen/2)
		}
	}
	return nil
}

func newPlugin(spec Spec) (*Plugin, error) {
	if !nameRE.MatchString(spec.Name) {
		return nil, fmt.Errorf("method %q: name must be lower-case letters, digits, '-' or '_'", spec.Name)
	}
	if spec.Path == "" {
		return nil, fmt.Errorf("method %s: no plugin path", spec.Name)
	}
	fi, err := os.Stat(spec.Path)
	if err != nil {
		return nil, fmt.Errorf("method %s: plugin file %s: %w", spec.Name, spec.Path, err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("method %s: plugin file %s: not an executable file", spec.Name, spec.Path)
	}
	var sum []byte
	if spec.SHA256 != "" {
		sum, err = hex.DecodeString(strings.TrimSpace(spec.SHA256))
		if err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("method %s: sha256 of plugin file %s is not 64 hex digits", spec.Name, spec.Path)
		}
	}
	if spec.Now == nil {
		spec.Now = time.Now
	}
	if spec.Logger == nil {
		spec.Logger = slog.New(slog.DiscardHandler)
	}
	spec.Logger = spec.Logger.With("method", spec.Name)
	setDefault(&spec.CallTimeout, DefaultCallTimeout)
	setDefault(&spec.StartTimeout, DefaultStartTimeout)
	setDefault(&spec.MinBackoff, DefaultMinBackoff)
	setDefault(&spec.MaxBackoff, DefaultMaxBackoff)
	svc, err := newServices(Namespace(spec.Name), spec.Backend, spec.Key, spec.Now, spec.Logger)
	if err != nil {
		return nil, fmt.Errorf("method %s: %w", spec.Name, err)
	}
	return &Plugin{spec: spec, checksum: sum, svc: svc, ready: make(chan struct{}), closeCh: make(chan struct{})}, nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// instance is one running process of a plugin.
type instance struct {
	client  *plugin.Client
	rpc     pluginpb.MethodClient
	done    <-chan struct{} // closed when the process has exited
	pid     int
	started time.Time
}

// start runs one process up to a working Setup.
func (p *Plugin) start(ctx context.Context) (*instance, error) {
	spec := p.spec
	fail := func(step string, err error) error {
		return fmt.Errorf("method %s: plugin %s: %s: %w", spec.Name, spec.Path, step, oneLine(err))
	}
	// The plugin's socket goes in a directory of its own, removed once the
	// process has exited however it ended: a plugin killed with SIGKILL
	// cannot remove its socket itself.
	removeOrphanSockets()
	sockets, err := os.MkdirTemp("", socketDirPrefix(os.Getpid()))
	if err != nil {
		return nil, fail("socket directory", err)
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env = append(append(baseEnv(), spec.Env...), plugin.EnvUnixSocketDir+"="+sockets)
	setProcAttr(cmd)
	var secure *plugin.SecureConfig
	if p.checksum != nil {
		secure = &plugin.SecureConfig{Checksum: p.checksum, Hash: sha256.New()}
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: sdk.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			sdk.ProtocolVersion: {sdk.PluginName: &clientPlugin{}},
		},
		Cmd:              cmd,
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		GRPCDialOptions:  pluginpb.DialOptions(),
		StartTimeout:     spec.StartTimeout,
		SkipHostEnv:      true,
		Logger:           hclogFor(spec.Logger),
	})
	kill := func() {
		client.Kill()
		_ = os.RemoveAll(sockets)
	}
	started := time.Now()
	proto, err := client.Client()
	if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
		err = p.refused()
	}
	if err != nil {
		kill()
		return nil, fail("start", err)
	}
	p.refusing.Store(false)
	raw, err := proto.Dispense(sdk.PluginName)
	if err != nil {
		kill()
		return nil, fail("dispense", err)
	}
	d := raw.(*dispensed)
	id := d.broker.NextId()
	go d.broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(append(opts, pluginpb.ServerOptions()...)...)
		pluginpb.RegisterStorageServer(s, storageServer{s: p.svc})
		pluginpb.RegisterRateLimitServer(s, rateLimitServer{s: p.svc})
		pluginpb.RegisterMailServer(s, mailServer{s: p.svc})
		return s
	})
	inst := &instance{client: client, rpc: pluginpb.NewMethodClient(d.conn), done: d.done.Done(), started: started}
	go func() {
		<-inst.done
		_ = os.RemoveAll(sockets)
	}()
	if rc := client.ReattachConfig(); rc != nil {
		inst.pid = rc.Pid
	} else if pid, err := strconv.Atoi(client.ID()); err == nil {
		inst.pid = pid
	}
	sctx, cancel := context.WithTimeout(ctx, spec.StartTimeout)
	defer cancel()
	if _, err := inst.rpc.Setup(sctx, &pluginpb.SetupRequest{HostServiceId: id, Name: spec.Name, Config: spec.Config}); err != nil {
		kill()
		return nil, fail("setup", sdk.FromStatus(err))
	}
	return inst, nil
}

// socketDirPrefix begins the name of each plugin's socket directory
// (under os.TempDir): it names the host's process, so that a host that
// starts can tell the directories of hosts that were killed with their
// plugins, which nobody removed.
func socketDirPrefix(hostPID int) string { return "stepup-plugin-" + strconv.Itoa(hostPID) + "-" }

// swept are the temporary directories removeOrphanSockets went through:
// once each is enough, a host's own plugins remove theirs.
var swept sync.Map

// removeOrphanSockets removes, the first time this host starts a plugin
// under os.TempDir, the socket directories of hosts that no longer run.
func removeOrphanSockets() {
	tmp := os.TempDir()
	if _, done := swept.LoadOrStore(tmp, true); done {
		return
	}
	dirs, _ := filepath.Glob(filepath.Join(tmp, "stepup-plugin-*-*"))
	for _, d := range dirs {
		pid, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), "stepup-plugin-"), "-")
		if n, err := strconv.Atoi(pid); err == nil && n != os.Getpid() && processGone(n) {
			_ = os.RemoveAll(d)
		}
	}
}

// refused is the error of a start that go-plugin refused because the
// file's checksum is not the expected one; it tells OnRefused the first
// time.
func (p *Plugin) refused() error {
	err := fmt.Errorf("%w: the file's sha256 is not the expected %x", ErrChecksumMismatch, p.checksum)
	if got, herr := fileSHA256(p.spec.Path); herr == nil {
		err = fmt.Errorf("%w: file has sha256 %x, expected %x", ErrChecksumMismatch, got, p.checksum)
	}
	if !p.refusing.Swap(true) && p.spec.OnRefused != nil {
		p.spec.OnRefused(p.spec.Name, fmt.Errorf("method %s: plugin file %s: %w", p.spec.Name, p.spec.Path, err))
	}
	return err
}

func describe(ctx context.Context, inst *instance, spec Spec) (sdk.Description, error) {
	ctx, cancel := context.WithTimeout(ctx, spec.CallTimeout)
	defer cancel()
	d, err := inst.rpc.Describe(ctx, &pluginpb.DescribeRequest{NowUnixNano: spec.Now().UnixNano()})
	if err != nil {
		return sdk.Description{}, sdk.FromStatus(err)
	}
	return descriptionFromPB(d), nil
}

// oneLine keeps go-plugin's multi-line diagnostics to the one line an
// operator needs, and the original for errors.Is / errors.As.
func oneLine(err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "\n") {
		return err
	}
	if strings.HasPrefix(msg, "Unrecognized remote plugin message") {
		msg = "not a stepup method plugin: it exited or wrote no go-plugin handshake (wrong file, architecture or permissions?)"
	} else {
		var parts []string
		for _, l := range strings.Split(msg, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				parts = append(parts, l)
			}
		}
		msg = strings.Join(parts, " ")
	}
	return &lineError{msg: msg, err: err}
}

type lineError struct {
	msg string
	err error
}

func (e *lineError) Error() string { return e.msg }
func (e *lineError) Unwrap() error { return e.err }

// baseEnv is what a plugin inherits from the host's environment.
func baseEnv() []string {
	var env []string
	if v, ok := os.LookupEnv("TMPDIR"); ok {
		env = append(env, "TMPDIR="+v)
	}
	return env
}

// clientPlugin is the host side of the go-plugin plugin set.
type clientPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (clientPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("host: the plugin side is sdk.Serve")
}

func (clientPlugin) GRPCClient(ctx context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &dispensed{done: ctx, broker: broker, conn: conn}, nil
}

// dispensed is what go-plugin hands out: the connection, the broker, and
// a context that ends when the process exits.
type dispensed struct {
	done   context.Context
	broker *plugin.GRPCBroker
	conn   *grpc.ClientConn
}
