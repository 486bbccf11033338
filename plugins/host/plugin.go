package host

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/sdk/pluginpb"
)

// Plugin is a running method plugin as the provider sees it: the calls of
// sdk.Method without the Host argument (the host supplies it), its health,
// and its restarts. It is safe for concurrent use.
//
// Every call is bounded by Spec.CallTimeout. When the plugin crashes (its
// process exits, or a call fails with a gRPC Unavailable that the plugin
// did not send), the process is killed and restarted with backoff; until
// then Healthy is false and calls fail at once with sdk.ErrUnavailable,
// except the calls that are safe to repeat (Describe, ListCredentials),
// which wait for the restart within their timeout and are tried once more.
// A call that may have consumed something (Begin, Verify, Enrol,
// ConfirmEnrolment, Remove, Admin) is never sent twice.
//
// Errors of the method arrive as the sdk sentinels (errors.Is), wrapped
// with the method's name.
type Plugin struct {
	spec     Spec
	checksum []byte
	svc      *services
	desc     sdk.Description

	mu      sync.Mutex
	inst    *instance     // nil while down
	ready   chan struct{} // closed while inst != nil
	closed  bool
	closeCh chan struct{}
	backoff time.Duration

	healthy  atomic.Bool
	restarts atomic.Int64
	refusing atomic.Bool // a start was refused for its checksum since the last that worked
	wg       sync.WaitGroup
}

// Name is the method's configured name.
func (p *Plugin) Name() string { return p.spec.Name }

// Description is what the plugin described at launch, with Name set to the
// configured name.
func (p *Plugin) Description() sdk.Description { return p.desc }

// Healthy reports whether a process is running and answering.
func (p *Plugin) Healthy() bool { return p.healthy.Load() }

// Restarts counts the restarts after crashes since Launch.
func (p *Plugin) Restarts() int64 { return p.restarts.Load() }

// PID is the process ID of the running plugin, 0 while it is down.
func (p *Plugin) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inst == nil {
		return 0
	}
	return p.inst.pid
}

// Close stops the plugin and its restarts. Calls made afterwards fail with
// sdk.ErrUnavailable.
func (p *Plugin) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.closeCh)
	inst := p.inst
	p.inst = nil
	p.healthy.Store(false)
	p.mu.Unlock()
	if inst != nil {
		inst.client.Kill()
	}
	p.wg.Wait()
	return nil
}

// install makes inst the running process and watches it; false when the
// plugin was closed meanwhile.
func (p *Plugin) install(inst *instance) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.inst = inst
	close(p.ready)
	p.healthy.Store(true)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case <-inst.done:
			p.crashed(inst, "process exited")
		case <-p.closeCh:
		}
	}()
	return true
}

// crashed takes inst out of service (once) and starts the restart loop.
func (p *Plugin) crashed(inst *instance, reason string) {
	p.mu.Lock()
	if p.closed || p.inst != inst {
		p.mu.Unlock()
		return
	}
	p.inst = nil
	p.ready = make(chan struct{})
	p.healthy.Store(false)
	if p.backoff == 0 || time.Since(inst.started) > stableAfter {
		p.backoff = p.spec.MinBackoff
	} else {
		p.backoff = min(2*p.backoff, p.spec.MaxBackoff)
	}
	delay := p.backoff
	p.wg.Add(1) // under mu: Close waits only after it has set closed
	p.mu.Unlock()
	p.spec.Logger.Warn("method plugin crashed; restarting", "pid", inst.pid, "reason", reason, "backoff", delay)
	go func() {
		defer p.wg.Done()
		inst.client.Kill()
		p.restart(delay)
	}()
}

func (p *Plugin) restart(delay time.Duration) {
	for {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-p.closeCh:
			t.Stop()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), p.spec.StartTimeout)
		inst, err := p.start(ctx)
		cancel()
		if err == nil {
			p.restarts.Add(1) // before Healthy turns true
			if !p.install(inst) {
				inst.client.Kill()
				return
			}
			p.spec.Logger.Info("method plugin restarted", "pid", inst.pid, "restarts", p.restarts.Load())
			if p.spec.OnRestart != nil {
				p.spec.OnRestart(p.spec.Name)
			}
			return
		}
		p.mu.Lock()
		p.backoff = min(2*p.backoff, p.spec.MaxBackoff)
		delay = p.backoff
		p.mu.Unlock()
		p.spec.Logger.Error("method plugin restart failed", "err", err, "next_try_in", delay)
	}
}

// current returns the running process; while there is none it fails at
// once, or, with wait, waits for the restart.
func (p *Plugin) current(ctx context.Context, wait bool) (*instance, error) {
	for {
		p.mu.Lock()
		inst, ready, closed := p.inst, p.ready, p.closed
		p.mu.Unlock()
		switch {
		case closed:
			return nil, fmt.Errorf("method %s: %w: plugin closed", p.spec.Name, sdk.ErrUnavailable)
		case inst != nil:
			return inst, nil
		case !wait:
			return nil, fmt.Errorf("method %s: %w: plugin is restarting", p.spec.Name, sdk.ErrUnavailable)
		}
		select {
		case <-ready:
		case <-p.closeCh:
		case <-ctx.Done():
			return nil, fmt.Errorf("method %s: %w: plugin is restarting: %w", p.spec.Name, sdk.ErrUnavailable, ctx.Err())
		}
	}
}

// isCrash tells a dead or unreachable process from an error the method
// returned: the sdk always sends an ErrorDetail; a transport failure has
// none.
func isCrash(inst *instance, err error) bool {
	select {
	case <-inst.done:
		return true
	default:
	}
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.Unavailable && sdk.Detail(st) == nil
}

// call runs f against the running process within the call timeout.
// retry: f is safe to repeat, so after a crash it waits for the restart and
// runs once more.
func (p *Plugin) call(ctx context.Context, op string, retry bool, f func(context.Context, *instance) error) error {
	ctx, cancel := context.WithTimeout(ctx, p.spec.CallTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		inst, err := p.current(ctx, retry)
		if err != nil {
			return err
		}
		err = f(ctx, inst)
		if err == nil {
			return nil
		}
		if isCrash(inst, err) {
			p.crashed(inst, op+": "+err.Error())
			if retry && attempt == 0 {
				continue
			}
			return fmt.Errorf("method %s: %s: %w: plugin crashed", p.spec.Name, op, sdk.ErrUnavailable)
		}
		return fmt.Errorf("method %s: %s: %w", p.spec.Name, op, sdk.FromStatus(err))
	}
}

func (p *Plugin) now() int64 { return p.spec.Now().UnixNano() }

// records reads the user's records the plugin declared
// (sdk.Description.UserRecords), to send along with a call so that the
// plugin need not ask for them: in one read when the backend is a
// BatchReader. One that cannot be read is left out: the plugin then asks
// for it as usual.
func (p *Plugin) records(ctx context.Context, userID string) []*pluginpb.Record {
	if len(p.desc.UserRecords) == 0 || userID == "" {
		return nil
	}
	keys := make([]string, len(p.desc.UserRecords))
	for i, tmpl := range p.desc.UserRecords {
		keys[i] = strings.Replace(tmpl, sdk.UserPlaceholder, userID, 1)
	}
	out := make([]*pluginpb.Record, 0, len(keys))
	for i, r := range p.svc.getMany(ctx, keys) {
		switch {
		case r.err == nil:
			out = append(out, &pluginpb.Record{Key: keys[i], Value: r.value, Version: r.version})
		case errors.Is(r.err, sdk.ErrNotFound):
			out = append(out, &pluginpb.Record{Key: keys[i]})
		}
	}
	return out
}

// Describe asks the plugin again what it is (safe to repeat). Name is the
// configured name.
func (p *Plugin) Describe(ctx context.Context) (sdk.Description, error) {
	var out sdk.Description
	err := p.call(ctx, "describe", true, func(ctx context.Context, inst *instance) error {
		d, err := inst.rpc.Describe(ctx, &pluginpb.DescribeRequest{NowUnixNano: p.now()})
		if err == nil {
			out = descriptionFromPB(d)
			out.Name = p.spec.Name
		}
		return err
	})
	return out, err
}

// Begin starts a challenge; see sdk.Method. Under a begin limit with a
// key (sdk.Limit.Key) the host counts the call ahead, as for Verify.
func (p *Plugin) Begin(ctx context.Context, req sdk.BeginRequest) (sdk.Challenge, error) {
	if err := textOnly(userText(req.User)...); err != nil {
		return sdk.Challenge{}, err
	}
	d, _ := ctx.Value(deferKey{}).(*Deferred)
	count, counted := p.countAhead(ctx, sdk.OpBegin, req.User.ID)
	var out sdk.Challenge
	var commit *pluginpb.Commit
	err := p.call(ctx, "begin", false, func(ctx context.Context, inst *instance) error {
		c, err := inst.rpc.Begin(ctx, &pluginpb.BeginRequest{NowUnixNano: p.now(), User: userToPB(req.User), Records: p.records(ctx, req.User.ID),
			Level: req.Level, CommitByHost: d != nil, Count: count, Counted: counted})
		if err == nil {
			out, commit = challengeFromPB(c), c.GetCommit()
		}
		return err
	})
	if err != nil || commit == nil {
		return out, err
	}
	if d == nil {
		return sdk.Challenge{}, fmt.Errorf("method %s: plugin left a write of its Begin to a host that did not ask for it", p.spec.Name)
	}
	w, err := p.commitWrite(commit)
	if err != nil {
		return sdk.Challenge{}, err
	}
	d.w = &w
	return out, nil
}

// countAhead counts op for the user as the method declared it counts it
// (sdk.Limit.Key), so that the method's own count needs no call back.
// Both are nil when it declared no such key, or when counting failed: the
// method then counts as usual.
func (p *Plugin) countAhead(ctx context.Context, op, userID string) (*pluginpb.CountRequest, *pluginpb.CountResponse) {
	l, key, ok := p.keyedLimit(op, userID)
	if !ok {
		return nil, nil
	}
	r, err := p.svc.Count(ctx, key, l.Window, l.Max)
	if err != nil {
		return nil, nil
	}
	return &pluginpb.CountRequest{Key: key, WindowNanos: int64(l.Window), Limit: int32(l.Max)}, countResponse(r)
}

// keyedLimit is the first limit of op whose key the method declared, with
// the key filled in for the user.
func (p *Plugin) keyedLimit(op, userID string) (sdk.Limit, string, bool) {
	if !sdk.ValidID(userID) {
		return sdk.Limit{}, "", false
	}
	for _, l := range p.desc.Limits {
		if l.Operation == op && l.Key != "" {
			return l, strings.Replace(l.Key, sdk.UserPlaceholder, userID, 1), true
		}
	}
	return sdk.Limit{}, "", false
}

// attempt is a verification counted ahead under a limit that counts
// failures only (sdk.Limit.FailuresOnly). The store can only add events,
// so the attempt is counted under the limit's own key, where it holds a
// place while it runs, and settle then adds it to one of two more keys,
// the host's own: accepted, where each event frees one place of the
// limit, or failed, which says when a refused user may try again. Every
// event of one attempt has its time, so they leave the window together.
type attempt struct {
	svc              *services
	limit            sdk.Limit
	key              string // the limit's, as the method counts it
	accepted, failed string // backend keys
	at               time.Time
}

// Backend keys of the host's own counts for a limit: the plugin's keys
// all start with the namespace and "/", and a method name has no ":".
func (s *services) acceptedKey(key string) string { return s.namespace + ":accepted/" + key }
func (s *services) failedKey(key string) string   { return s.namespace + ":failed/" + key }

// reserve counts a verification under l for the user: of concurrent
// attempts, CountEvent allows exactly as many as the limit has free
// places, so at most l.Max failures ever reach the method in a window.
// A refused attempt is sdk.ErrRateLimited, retry after the oldest failure
// leaves the window. nil and no error when counting failed: the method
// then counts the attempt as usual, like any other.
func (p *Plugin) reserve(ctx context.Context, l sdk.Limit, key string) (*attempt, *pluginpb.CountResponse, error) {
	s := p.svc
	a := &attempt{svc: s, limit: l, key: key, accepted: s.acceptedKey(key), failed: s.failedKey(key), at: s.now()}
	attempts := s.namespace + "/" + key
	r, err := s.backend.CountEvent(ctx, attempts, l.Window, l.Max, a.at)
	freed := 0
	if err == nil && !r.Allowed {
		// A limit of 0 counts without adding.
		var acc RateResult
		if acc, err = s.backend.CountEvent(ctx, a.accepted, l.Window, 0, a.at); err == nil && acc.Count > 0 {
			freed = acc.Count
			r, err = s.backend.CountEvent(ctx, attempts, l.Window, l.Max+freed, a.at)
		}
	}
	if err != nil {
		s.log.Warn("verify limit: cannot count ahead; the method counts itself", "key", key, "err", err)
		return nil, nil, nil
	}
	if !r.Allowed {
		retry := r.RetryAfter
		if f, err := s.backend.CountEvent(ctx, a.failed, l.Window, 0, a.at); err == nil && f.Count >= l.Max && !f.RetryAfter.IsZero() {
			retry = f.RetryAfter
		}
		return nil, nil, sdk.RateLimited(retry)
	}
	return a, countResponse(sdk.RateResult{Allowed: true, Count: r.Count - freed}), nil
}

// settle records how the attempt ended. Should that fail, a success
// keeps its place until it leaves the window, as any failure does.
func (a *attempt) settle(ctx context.Context, accepted bool) {
	key := a.failed
	if accepted {
		key = a.accepted
	}
	if _, err := a.svc.backend.CountEvent(ctx, key, a.limit.Window, math.MaxInt32, a.at); err != nil {
		a.svc.log.Warn("verify limit: cannot record the outcome", "key", a.key, "accepted", accepted, "err", err)
	}
}

// acceptTries bounds how often Verify asks again when the write of an
// accepted result lost a race.
const acceptTries = 4

// Verify checks a response; see sdk.Method. Never repeated after a crash.
// The attempt is counted once, before the call (countAhead); under a
// limit that counts failures only, a refused attempt does not reach the
// method, and a successful one is given back (see attempt). A result
// that comes with a write to make on acceptance (sdk.PutOnAccept) counts
// only once the write is made; when its record changed meanwhile, nothing
// was spent, and the method is asked again with the records as they are
// then (with the same count), as it would retry its own Put.
func (p *Plugin) Verify(ctx context.Context, req sdk.VerifyRequest) (sdk.Result, error) {
	if err := textOnly(append(mapText("response", req.Response), field{"user", req.UserID}, field{"challenge", req.ChallengeID})...); err != nil {
		return sdk.Result{}, err
	}
	l, key, ok := p.keyedLimit(sdk.OpVerify, req.UserID)
	if !ok || !l.FailuresOnly {
		count, counted := p.countAhead(ctx, sdk.OpVerify, req.UserID)
		return p.verify(ctx, req, count, counted)
	}
	a, counted, err := p.reserve(ctx, l, key)
	if err != nil {
		return sdk.Result{}, fmt.Errorf("method %s: verify: %w", p.spec.Name, err)
	}
	if a == nil {
		return p.verify(ctx, req, nil, nil)
	}
	out, err := p.verify(ctx, req, &pluginpb.CountRequest{Key: key, WindowNanos: int64(l.Window), Limit: int32(l.Max)}, counted)
	a.settle(ctx, err == nil)
	return out, err
}

func (p *Plugin) verify(ctx context.Context, req sdk.VerifyRequest, count *pluginpb.CountRequest, counted *pluginpb.CountResponse) (sdk.Result, error) {
	for range acceptTries {
		var out sdk.Result
		var put *pluginpb.PutRequest
		err := p.call(ctx, "verify", false, func(ctx context.Context, inst *instance) error {
			r, err := inst.rpc.Verify(ctx, &pluginpb.VerifyRequest{
				NowUnixNano: p.now(), UserId: req.UserID, ChallengeId: req.ChallengeID, Response: req.Response,
				Records: p.records(ctx, req.UserID), Count: count, Counted: counted, PutOnAccept: true,
			})
			if err == nil {
				out, put = sdk.Result{AMR: r.GetAmr(), CredentialID: r.GetCredentialId(), Notice: r.GetNotice(), Renew: r.GetRenew(),
					Levels: r.GetLevels(), UserID: r.GetUserId()}, r.GetOnAccept()
			}
			return err
		})
		if err != nil || put == nil {
			return out, err
		}
		// The spend is the verification's committing write: what the
		// caller attached (OnCommit) goes with it.
		wctx, cm := withPayload(ctx, Outcome{Result: out})
		_, err = p.svc.Put(wctx, put.GetKey(), put.GetValue(), put.GetExpectVersion(), time.Duration(put.GetTtlNanos()))
		switch {
		case err == nil:
			if cm != nil {
				cm.done.Store(true)
			}
			return out, nil
		case errors.Is(err, sdk.ErrInvalidInput):
			// The plugin's fault, not the user's: no message for the page.
			return sdk.Result{}, fmt.Errorf("method %s: plugin asked for an invalid write on acceptance: %s", p.spec.Name, err)
		case !errors.Is(err, sdk.ErrConflict):
			return sdk.Result{}, err
		}
	}
	return sdk.Result{}, sdk.ErrInvalidResponse
}

// Enrol starts an enrolment; see sdk.Method.
func (p *Plugin) Enrol(ctx context.Context, req sdk.EnrolRequest) (sdk.Enrolment, error) {
	if err := textOnly(append(userText(req.User), mapText("params", req.Params)...)...); err != nil {
		return sdk.Enrolment{}, err
	}
	var out sdk.Enrolment
	err := p.call(ctx, "enrol", false, func(ctx context.Context, inst *instance) error {
		e, err := inst.rpc.Enrol(ctx, &pluginpb.EnrolRequest{NowUnixNano: p.now(), User: userToPB(req.User), Params: req.Params, Records: p.records(ctx, req.User.ID)})
		if err == nil {
			out = enrolmentFromPB(e)
		}
		return err
	})
	return out, err
}

// ConfirmEnrolment completes an enrolment; see sdk.Method. Never repeated
// after a crash.
func (p *Plugin) ConfirmEnrolment(ctx context.Context, req sdk.ConfirmRequest) (sdk.Credential, error) {
	if err := textOnly(append(append(userText(req.User), mapText("response", req.Response)...), field{"enrolment", req.EnrolmentID}, field{"label", req.Label})...); err != nil {
		return sdk.Credential{}, err
	}
	for range commitTries {
		var out sdk.Credential
		var commit *pluginpb.Commit
		err := p.call(ctx, "confirm enrolment", false, func(ctx context.Context, inst *instance) error {
			c, err := inst.rpc.ConfirmEnrolment(ctx, &pluginpb.ConfirmEnrolmentRequest{
				NowUnixNano: p.now(), User: userToPB(req.User), EnrolmentId: req.EnrolmentID, Label: req.Label, Response: req.Response,
				Records: p.records(ctx, req.User.ID), CommitByHost: true,
			})
			if err == nil {
				out, commit = credentialFromPB(c), c.GetCommit()
			}
			return err
		})
		if err == nil {
			err = p.committed(ctx, commit, Outcome{Credential: out})
		}
		if !errors.Is(err, errRetryCommit) {
			return out, err
		}
	}
	return sdk.Credential{}, sdk.ErrAlreadyEnrolled
}

// ListCredentials returns the user's credentials (safe to repeat).
func (p *Plugin) ListCredentials(ctx context.Context, userID string) ([]sdk.Credential, error) {
	if err := textOnly(field{"user", userID}); err != nil {
		return nil, err
	}
	var out []sdk.Credential
	err := p.call(ctx, "list credentials", true, func(ctx context.Context, inst *instance) error {
		r, err := inst.rpc.ListCredentials(ctx, &pluginpb.ListCredentialsRequest{NowUnixNano: p.now(), UserId: userID, Records: p.records(ctx, userID)})
		if err == nil {
			out = make([]sdk.Credential, 0, len(r.GetCredentials()))
			for _, c := range r.GetCredentials() {
				out = append(out, credentialFromPB(c))
			}
		}
		return err
	})
	return out, err
}

// Remove deletes one credential; see sdk.Method.
func (p *Plugin) Remove(ctx context.Context, userID, credentialID string) error {
	if err := textOnly(field{"user", userID}, field{"credential", credentialID}); err != nil {
		return err
	}
	for range commitTries {
		var commit *pluginpb.Commit
		err := p.call(ctx, "remove", false, func(ctx context.Context, inst *instance) error {
			r, err := inst.rpc.Remove(ctx, &pluginpb.RemoveRequest{NowUnixNano: p.now(), UserId: userID, CredentialId: credentialID,
				Records: p.records(ctx, userID), CommitByHost: true})
			commit = r.GetCommit()
			return err
		})
		if err == nil {
			err = p.committed(ctx, commit, Outcome{})
		}
		if !errors.Is(err, errRetryCommit) {
			return err
		}
	}
	return fmt.Errorf("%w: method %s: the credential keeps changing", sdk.ErrUnavailable, p.spec.Name)
}

// Rename gives a credential a new label; see sdk.Renamer. A method that
// that is not Renamable is ErrInvalidInput, without a call.
func (p *Plugin) Rename(ctx context.Context, userID, credentialID, label string) error {
	if err := textOnly(field{"user", userID}, field{"credential", credentialID}, field{"label", label}); err != nil {
		return err
	}
	if !p.desc.Renamable {
		return sdk.InvalidInput("this method's credentials cannot be renamed")
	}
	return p.call(ctx, "rename", false, func(ctx context.Context, inst *instance) error {
		_, err := inst.rpc.Rename(ctx, &pluginpb.RenameRequest{NowUnixNano: p.now(), UserId: userID, CredentialId: credentialID,
			Label: label, Records: p.records(ctx, userID)})
		return err
	})
}

// Admin runs an administrative action; see sdk.Method. Never repeated
// after a crash.
func (p *Plugin) Admin(ctx context.Context, req sdk.AdminRequest) (map[string]string, error) {
	if err := textOnly(append(append(userText(req.User), mapText("params", req.Params)...), field{"action", req.Action}, field{"actor", req.Actor})...); err != nil {
		return nil, err
	}
	for range commitTries {
		var out map[string]string
		var commit *pluginpb.Commit
		err := p.call(ctx, "admin "+req.Action, false, func(ctx context.Context, inst *instance) error {
			r, err := inst.rpc.Admin(ctx, &pluginpb.AdminRequest{NowUnixNano: p.now(), Action: req.Action, User: userToPB(req.User), Params: req.Params, Actor: req.Actor,
				Records: p.records(ctx, req.User.ID), CommitByHost: true})
			if err == nil {
				out, commit = r.GetResult(), r.GetCommit()
			}
			return err
		})
		if err == nil {
			err = p.committed(ctx, commit, Outcome{Results: out})
		}
		if !errors.Is(err, errRetryCommit) {
			return out, err
		}
	}
	return nil, fmt.Errorf("%w: method %s: the record keeps changing", sdk.ErrConflict, p.spec.Name)
}

// What crosses the plugin boundary is text: protobuf's string fields must
// be valid UTF-8, and a call that carries anything else fails before the
// plugin sees it, which would read as a plugin that does not answer. So
// the host checks every string of a call first: one that is not UTF-8 is
// the caller's mistake (a form field of %FF), answered ErrInvalidInput
// with the field's name, and the method stays healthy.

// field is one string of a call, by what the caller would call it.
type field struct{ name, value string }

// textOnly returns an *sdk.InputError for the first field that is not
// valid UTF-8, naming it.
func textOnly(fields ...field) error {
	for _, f := range fields {
		if !utf8.ValidString(f.value) {
			return sdk.InvalidInput("the %s is not valid text (UTF-8): type it again", f.name)
		}
	}
	return nil
}

func userText(u sdk.User) []field {
	return []field{{"user", u.ID}, {"username", u.Username}, {"email address", u.Email}, {"phone number", u.Phone}}
}

// mapText is every key and value of m, the values named by their key.
func mapText(what string, m map[string]string) []field {
	out := make([]field, 0, 2*len(m))
	for k, v := range m {
		out = append(out, field{what + " field", k}, field{strings.ReplaceAll(k, "_", " "), v})
	}
	return out
}
