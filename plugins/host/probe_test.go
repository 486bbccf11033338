package host_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/sdk/pluginpb"
)

// The test binary doubles as plugin executables: TestMain serves one of
// these when STEPUP_HOST_TEST_PLUGIN names it.
const pluginEnv = "STEPUP_HOST_TEST_PLUGIN"

func servePluginIfAsked() bool {
	switch os.Getenv(pluginEnv) {
	case "probe":
		sdk.Serve(probe{})
	case "counted":
		sdk.Serve(countedProbe{})
	case "failures":
		sdk.Serve(failuresProbe{})
	case "sender":
		sdk.Serve(senderProbe{})
	case "pair":
		sdk.Serve(pairProbe{})
	case "v2":
		// A plugin of a future protocol version only.
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  sdk.Handshake,
			VersionedPlugins: map[int]plugin.PluginSet{2: {sdk.PluginName: v2Plugin{}}},
			GRPCServer:       plugin.DefaultGRPCServer,
		})
	case "":
		return false
	default:
		fmt.Fprintln(os.Stderr, "unknown test plugin")
		os.Exit(2)
	}
	return true
}

type v2Plugin struct{ plugin.NetRPCUnsupportedPlugin }

func (v2Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterMethodServer(s, pluginpb.UnimplementedMethodServer{})
	return nil
}

func (v2Plugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("not a host")
}

// probe is a method whose behaviour the test steers through the response
// ("mode") and admin actions, to exercise the host.
type probe struct{}

var sentinels = map[string]error{
	"invalid_response": sdk.ErrInvalidResponse,
	"not_enrolled":     sdk.ErrNotEnrolled,
	"already_enrolled": sdk.ErrAlreadyEnrolled,
	"not_found":        sdk.ErrNotFound,
	"conflict":         sdk.ErrConflict,
	"unavailable":      sdk.ErrUnavailable,
}

func (probe) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name: "probe", DisplayName: "Probe", Levels: []string{"aal2"}, AMR: []string{"otp"},
		Priority: 7, Bypass: true, AdminActions: []string{"cas-race", "put", "get", "delete", "list", "count", "now", "env", "panic", "mail"},
		Managed: true, ExceptWith: []string{"other"},
		Limits:      []sdk.Limit{{Operation: sdk.OpVerify, Max: 3, Window: time.Minute}},
		UserRecords: []string{"rec/" + sdk.UserPlaceholder},
		EnrolFields: []sdk.Field{{Name: "phone", Label: "Phone", Type: "tel", Autocomplete: "tel"}},
		Admin: []sdk.AdminAction{{
			Name: "now", Resource: "clock", Verb: sdk.VerbPost, Label: "Read the clock", Event: "probe.read", EventIf: "read",
			RefusedEvent: "probe.refused", Done: "Read.", ActiveUserOnly: true, NotForSelf: true, BreakGlass: true,
			PatchField: "probe_clock",
			Params:     []sdk.AdminParam{{Name: "ttl", Label: "For", Type: sdk.ParamDuration, Default: "2h", Choices: []string{"1h", "2h"}}},
			Results:    []sdk.AdminResult{{Name: "now", Label: "Now", Type: sdk.ResultTime, Secret: true}, {Name: "read", Type: sdk.ResultBool}},
		}},
		UsedEvent: "probe.used",
		Removal:   sdk.Removal{Label: "Give up", Event: "probe.given_up", NoReverify: true},
	}, nil
}

func (probe) Begin(_ context.Context, h sdk.Host, req sdk.BeginRequest) (sdk.Challenge, error) {
	return sdk.Challenge{ID: "c-" + req.User.ID, Prompt: "Say the word", Fields: []sdk.Field{{Name: "code"}},
		Public: map[string]string{"hint": "bird"}, ExpiresAt: h.Now().Add(time.Minute)}, nil
}

// countedProbe is the probe with a verify limit whose key it declares
// (sdk.Limit.Key), so that the host counts each verification ahead of the
// call; its Verify checks that limit with CheckLimit, and passes.
type countedProbe struct{ probe }

const countedMax = 3

func (countedProbe) Describe(ctx context.Context) (sdk.Description, error) {
	d, err := probe{}.Describe(ctx)
	d.Limits = []sdk.Limit{{Operation: sdk.OpVerify, Max: countedMax, Window: time.Minute, Key: "verify/" + sdk.UserPlaceholder}}
	return d, err
}

func (countedProbe) Verify(ctx context.Context, h sdk.Host, req sdk.VerifyRequest) (sdk.Result, error) {
	if err := sdk.CheckLimit(ctx, h, "verify/"+req.UserID, time.Minute, countedMax); err != nil {
		return sdk.Result{}, err
	}
	return sdk.Result{AMR: []string{"otp"}}, nil
}

// pairProbe is the probe with two records of each user, "rec/USER" and
// "pair/USER", as a method may declare several (SMS does three). Its
// Verify reads both and reports them in its CredentialID, each as
// "value@version" or "absent".
type pairProbe struct{ probe }

func (pairProbe) Describe(ctx context.Context) (sdk.Description, error) {
	d, err := probe{}.Describe(ctx)
	d.UserRecords = append(d.UserRecords, "pair/"+sdk.UserPlaceholder)
	return d, err
}

func (pairProbe) Verify(ctx context.Context, h sdk.Host, req sdk.VerifyRequest) (sdk.Result, error) {
	var seen []string
	for _, key := range []string{"rec/" + req.UserID, "pair/" + req.UserID} {
		value, version, err := h.Storage().Get(ctx, key)
		switch {
		case errors.Is(err, sdk.ErrNotFound):
			seen = append(seen, "absent")
		case err != nil:
			return sdk.Result{}, err
		default:
			seen = append(seen, fmt.Sprintf("%s@%d", value, version))
		}
	}
	return sdk.Result{AMR: []string{"otp"}, CredentialID: strings.Join(seen, ",")}, nil
}

// failuresProbe is the countedProbe with a limit that counts failed
// verifications only (sdk.Limit.FailuresOnly). Its Verify counts the calls
// that reach it past CheckLimit ("reached/USER") and accepts the code
// "right".
type failuresProbe struct{ probe }

func (failuresProbe) Describe(ctx context.Context) (sdk.Description, error) {
	d, err := countedProbe{}.Describe(ctx)
	d.Limits[0].FailuresOnly = true
	return d, err
}

func (failuresProbe) Verify(ctx context.Context, h sdk.Host, req sdk.VerifyRequest) (sdk.Result, error) {
	if err := sdk.CheckLimit(ctx, h, "verify/"+req.UserID, time.Minute, countedMax); err != nil {
		return sdk.Result{}, err
	}
	if err := bump(ctx, h.Storage(), "reached/"+req.UserID); err != nil {
		return sdk.Result{}, err
	}
	if req.Response["code"] != "right" {
		return sdk.Result{}, sdk.ErrInvalidResponse
	}
	return sdk.Result{AMR: []string{"otp"}}, nil
}

// Verify counts itself in storage ("verify-count", so a test sees whether
// the host sent it twice; not in the modes benchmarked) and then behaves
// by Response["mode"].
func (probe) Verify(ctx context.Context, h sdk.Host, req sdk.VerifyRequest) (sdk.Result, error) {
	st := h.Storage()
	mode := req.Response["mode"]
	if mode != "ok" && mode != "record" && mode != "on-accept" {
		if err := bump(ctx, st, "verify-count"); err != nil {
			return sdk.Result{}, err
		}
	}
	switch {
	case mode == "ok":
		want, _, err := st.Get(ctx, "secret")
		if err != nil {
			return sdk.Result{}, err
		}
		if string(want) != req.Response["code"] {
			return sdk.Result{}, sdk.ErrInvalidResponse
		}
		return sdk.Result{AMR: []string{"otp"}, CredentialID: "cred-1"}, nil
	case mode == "record": // the user's record, sent with the call
		value, version, err := st.Get(ctx, "rec/"+req.UserID)
		if err != nil {
			return sdk.Result{}, err
		}
		if code, ok := req.Response["code"]; ok && code != string(value) {
			return sdk.Result{}, sdk.ErrInvalidResponse
		}
		return sdk.Result{AMR: []string{"otp"}, CredentialID: fmt.Sprintf("%s@%d", value, version)}, nil
	case mode == "record-write": // the call reads its own write
		_, version, err := st.Get(ctx, "rec/"+req.UserID)
		if err != nil {
			return sdk.Result{}, err
		}
		if _, err := st.Put(ctx, "rec/"+req.UserID, []byte("written"), version, 0); err != nil {
			return sdk.Result{}, err
		}
		value, version, err := st.Get(ctx, "rec/"+req.UserID)
		if err != nil {
			return sdk.Result{}, err
		}
		return sdk.Result{CredentialID: fmt.Sprintf("%s@%d", value, version)}, nil
	case strings.HasPrefix(mode, "on-accept"): // leaves its write to the host
		value, version, err := st.Get(ctx, "rec/"+req.UserID)
		if err != nil {
			return sdk.Result{}, err
		}
		// "on-accept-race": another replica writes the record meanwhile,
		// the first time; "on-accept-stale": every time.
		if mode == "on-accept-stale" || (mode == "on-accept-race" && string(value) != "raced") {
			if _, err := st.Put(ctx, "rec/"+req.UserID, []byte("raced"), sdk.AnyVersion, 0); err != nil {
				return sdk.Result{}, err
			}
		}
		key := "rec/" + req.UserID
		if mode == "on-accept-badkey" {
			key = ""
		}
		if err := sdk.PutOnAccept(ctx, h, key, []byte(req.Response["code"]), version, 0); err != nil {
			return sdk.Result{}, err
		}
		if mode == "on-accept-twice" {
			if err := sdk.PutOnAccept(ctx, h, "rec/"+req.UserID, []byte("again"), version, 0); err != nil {
				return sdk.Result{}, err
			}
		}
		if mode == "on-accept-fail" {
			return sdk.Result{}, sdk.ErrInvalidResponse
		}
		return sdk.Result{AMR: []string{"otp"}, CredentialID: string(value)}, nil
	case mode == "hang":
		select {
		case <-ctx.Done():
			return sdk.Result{}, ctx.Err()
		case <-time.After(time.Minute):
		}
	case mode == "exit":
		os.Exit(3)
	case mode == "rate_limited":
		return sdk.Result{}, fmt.Errorf("probe: %w", sdk.RateLimited(h.Now().Add(90*time.Second)))
	case mode == "invalid_input":
		return sdk.Result{}, sdk.InvalidInput("enter the word %q", "bird")
	case mode == "conflict_message":
		return sdk.Result{}, fmt.Errorf("probe: %w", sdk.Conflict("a %s is already active", "bird"))
	case strings.HasPrefix(mode, "err:"):
		if err, ok := sentinels[strings.TrimPrefix(mode, "err:")]; ok {
			return sdk.Result{}, fmt.Errorf("probe detail: %w", err)
		}
		return sdk.Result{}, errors.New("probe: some other failure")
	}
	return sdk.Result{AMR: []string{"otp"}}, nil
}

func bump(ctx context.Context, st sdk.Storage, key string) error {
	for {
		raw, v, err := st.Get(ctx, key)
		if errors.Is(err, sdk.ErrNotFound) {
			raw, v = []byte("0"), sdk.MustNotExist
		} else if err != nil {
			return err
		}
		n, _ := strconv.Atoi(string(raw))
		_, err = st.Put(ctx, key, []byte(strconv.Itoa(n+1)), v, 0)
		if !errors.Is(err, sdk.ErrConflict) {
			return err
		}
	}
}

// Enrol shows what it was given: a phone number (its EnrolFields) comes
// back as displays; without one it answers as a method of an earlier sdk.
func (probe) Enrol(_ context.Context, _ sdk.Host, req sdk.EnrolRequest) (sdk.Enrolment, error) {
	if phone := req.Params["phone"]; phone != "" {
		return sdk.Enrolment{ID: "e2", Displays: []sdk.Display{
			{Kind: sdk.DisplayText, Value: "Sent to " + phone},
			{Kind: sdk.DisplayCodes, Label: "Keep these:", Values: []string{"A1", "B2"}},
			{Kind: sdk.DisplayImage, Label: "A picture", PNG: []byte{4, 5}},
		}}, nil
	}
	return sdk.Enrolment{ID: "e1", Display: map[string]string{"k": "v"}, ImagePNG: []byte{1, 2, 3}}, nil
}

func (probe) ConfirmEnrolment(_ context.Context, h sdk.Host, req sdk.ConfirmRequest) (sdk.Credential, error) {
	return sdk.Credential{ID: "cred-1", Label: req.Label, CreatedAt: h.Now()}, nil
}

func (probe) ListCredentials(_ context.Context, h sdk.Host, userID string) ([]sdk.Credential, error) {
	return []sdk.Credential{{ID: "cred-1", Label: userID, CreatedAt: h.Now(), Explicit: userID == "explicit"}}, nil
}

func (probe) Remove(_ context.Context, _ sdk.Host, _, credentialID string) error {
	if credentialID != "cred-1" {
		return sdk.ErrNotFound
	}
	return nil
}

func (probe) Admin(ctx context.Context, h sdk.Host, req sdk.AdminRequest) (map[string]string, error) {
	st, p := h.Storage(), req.Params
	switch req.Action {
	case "cas-race":
		n, _ := strconv.Atoi(p["n"])
		var mu sync.Mutex
		out := map[string]int{}
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := st.Put(ctx, p["key"], []byte(strconv.Itoa(i)), sdk.MustNotExist, 0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					out["won"]++
				case errors.Is(err, sdk.ErrConflict):
					out["conflict"]++
				default:
					out["other"]++
				}
			}()
		}
		wg.Wait()
		return map[string]string{"won": strconv.Itoa(out["won"]), "conflict": strconv.Itoa(out["conflict"]), "other": strconv.Itoa(out["other"])}, nil
	case "put":
		ev, _ := strconv.ParseInt(p["expect"], 10, 64)
		ttl, _ := time.ParseDuration(p["ttl"])
		v, err := st.Put(ctx, p["key"], []byte(p["value"]), ev, ttl)
		return map[string]string{"version": strconv.FormatInt(v, 10)}, err
	case "get":
		val, v, err := st.Get(ctx, p["key"])
		return map[string]string{"value": string(val), "version": strconv.FormatInt(v, 10)}, err
	case "delete":
		ev, _ := strconv.ParseInt(p["expect"], 10, 64)
		return nil, st.Delete(ctx, p["key"], ev)
	case "list":
		keys, err := st.List(ctx, p["prefix"])
		return map[string]string{"keys": strings.Join(keys, ",")}, err
	case "count":
		w, _ := time.ParseDuration(p["window"])
		l, _ := strconv.Atoi(p["limit"])
		r, err := h.RateLimit().Count(ctx, p["key"], w, l)
		return map[string]string{"allowed": strconv.FormatBool(r.Allowed), "count": strconv.Itoa(r.Count),
			"retry_after": r.RetryAfter.Format(time.RFC3339Nano)}, err
	case "now":
		return map[string]string{"now": h.Now().Format(time.RFC3339Nano), "actor": req.Actor}, nil
	case "env":
		return map[string]string{"env": strings.Join(os.Environ(), "\n")}, nil
	case "panic":
		panic("probe panics")
	case "mail":
		return nil, sdk.SendMail(ctx, h, req.User.ID, p["subject"], p["text"])
	}
	return nil, sdk.InvalidInput("no action %q", req.Action)
}

// senderProbe is the probe as a method whose Begin sends a code, as SMS
// and email do: the host counts the message ahead (SendBudget.Limit), and
// the code it keeps is its committing write. Its gateway fails for a
// Begin at the level "down".
type senderProbe struct{ probe }

const senderMax = 3

var senderBudget = sdk.SendBudget{
	CountKey: func(u string) string { return "send/" + u }, FailedKey: func(u string) string { return "send-failed/" + u },
	Window: time.Hour, Max: senderMax, FailuresPerMax: 3, Refusal: func(time.Time) string { return "Too many messages." },
}

func (senderProbe) Describe(ctx context.Context) (sdk.Description, error) {
	d, err := probe{}.Describe(ctx)
	d.Limits = []sdk.Limit{senderBudget.Limit(sdk.OpBegin)}
	d.UserRecords = []string{"send-failed/" + sdk.UserPlaceholder}
	return d, err
}

func (senderProbe) Begin(ctx context.Context, h sdk.Host, req sdk.BeginRequest) (sdk.Challenge, error) {
	err := senderBudget.Send(ctx, h, req.User.ID, func() error {
		if req.Level == "down" {
			return sdk.Unavailable("The message could not be sent.")
		}
		return nil
	})
	if err != nil {
		return sdk.Challenge{}, err
	}
	if err := sdk.PutJSONOnCommit(ctx, h.Storage(), "code/"+req.User.ID, map[string]string{"code": "123456"}, sdk.AnyVersion, time.Minute); err != nil {
		return sdk.Challenge{}, err
	}
	return probe{}.Begin(ctx, h, req)
}
