package sdk

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stepup-mfa/stepup/plugins/sdk/pluginpb"
)

// methodServer serves a Method over gRPC and hands it a remoteHost on each
// call.
type methodServer struct {
	pluginpb.UnimplementedMethodServer
	m      Method
	broker *plugin.GRPCBroker

	mu   sync.RWMutex
	conn *grpc.ClientConn
	st   pluginpb.StorageClient
	rl   pluginpb.RateLimitClient
	mail pluginpb.MailClient
}

func registerMethodServer(s *grpc.Server, broker *plugin.GRPCBroker, m Method) {
	pluginpb.RegisterMethodServer(s, &methodServer{m: m, broker: broker})
}

// Setup dials the host services at once: go-plugin forgets a brokered
// connection that is not dialled within seconds.
func (s *methodServer) Setup(ctx context.Context, req *pluginpb.SetupRequest) (*pluginpb.SetupResponse, error) {
	conn, err := s.broker.DialWithOptions(req.GetHostServiceId(), pluginpb.DialOptions()...)
	if err != nil {
		return nil, ToStatus(fmt.Errorf("%w: dial host services: %v", ErrUnavailable, err))
	}
	if c, ok := s.m.(Configurable); ok {
		if err := c.Configure(req.GetConfig()); err != nil {
			_ = conn.Close()
			return nil, ToStatus(err)
		}
	}
	s.mu.Lock()
	old := s.conn
	s.conn, s.st, s.rl, s.mail = conn, pluginpb.NewStorageClient(conn), pluginpb.NewRateLimitClient(conn), pluginpb.NewMailClient(conn)
	s.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	return &pluginpb.SetupResponse{}, nil
}

func (s *methodServer) host(nowUnixNano int64, records []*pluginpb.Record) (*remoteHost, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.conn == nil {
		return nil, ToStatus(fmt.Errorf("%w: plugin not set up by its host", ErrUnavailable))
	}
	return &remoteHost{now: time.Unix(0, nowUnixNano).UTC(), st: newCallStorage(remoteStorage{s.st}, records), rl: remoteRateLimit{s.rl},
		mail: s.mail}, nil
}

func (s *methodServer) Describe(ctx context.Context, _ *pluginpb.DescribeRequest) (*pluginpb.Description, error) {
	d, err := s.m.Describe(ctx)
	if err != nil {
		return nil, ToStatus(err)
	}
	out := &pluginpb.Description{
		Name: d.Name, DisplayName: d.DisplayName, Levels: d.Levels, Amr: d.AMR,
		NeedsEnrolment: d.NeedsEnrolment, Priority: int32(d.Priority), AdminActions: d.AdminActions,
		Bypass: d.Bypass, UserRecords: d.UserRecords, EnrolFields: fieldsToPB(d.EnrolFields),
		UsedEvent: d.UsedEvent, Admin: adminActionsToPB(d.Admin), Restricted: d.Restricted,
		Managed: d.Managed, ExceptWith: d.ExceptWith, SentEvent: d.SentEvent, NamesCredentials: d.NamesCredentials, Renamable: d.Renamable,
		DeclaresSettings: d.Settings != nil, FirstFactor: d.FirstFactor,
	}
	if _, ok := s.m.(Renamer); ok {
		out.Renamable = true
	}
	for _, st := range d.Settings {
		out.Settings = append(out.Settings, &pluginpb.Setting{Name: st.Name, Type: st.Type, Min: st.Min, Max: st.Max, Choices: st.Choices, Default: st.Default})
	}
	if d.Removal != (Removal{}) {
		out.Removal = &pluginpb.Removal{Label: d.Removal.Label, Event: d.Removal.Event, NoReverify: d.Removal.NoReverify}
	}
	for _, l := range d.Limits {
		out.Limits = append(out.Limits, &pluginpb.Limit{Operation: l.Operation, Max: int32(l.Max), WindowNanos: int64(l.Window), Key: l.Key,
			FailuresOnly: l.FailuresOnly})
	}
	return out, nil
}

func (s *methodServer) Begin(ctx context.Context, req *pluginpb.BeginRequest) (*pluginpb.Challenge, error) {
	h, err := s.host(req.GetNowUnixNano(), req.GetRecords())
	if err != nil {
		return nil, err
	}
	h.st.committing = req.GetCommitByHost()
	h.countedAhead(req.GetCount(), req.GetCounted())
	c, err := s.m.Begin(ctx, h, BeginRequest{User: userFromPB(req.GetUser()), Level: req.GetLevel()})
	if err != nil {
		return nil, ToStatus(err)
	}
	return &pluginpb.Challenge{
		Id: c.ID, Prompt: c.Prompt, Fields: fieldsToPB(c.Fields), Public: c.Public,
		ExpiresAtUnixNano: unixNano(c.ExpiresAt), Commit: h.st.commit,
	}, nil
}

func (s *methodServer) Verify(ctx context.Context, req *pluginpb.VerifyRequest) (*pluginpb.VerifyResult, error) {
	h, err := s.host(req.GetNowUnixNano(), req.GetRecords())
	if err != nil {
		return nil, err
	}
	h.countedAhead(req.GetCount(), req.GetCounted())
	h.accepting = req.GetPutOnAccept()
	r, err := s.m.Verify(ctx, h, VerifyRequest{
		UserID: req.GetUserId(), ChallengeID: req.GetChallengeId(), Response: req.GetResponse(),
	})
	if err != nil {
		return nil, ToStatus(err)
	}
	return &pluginpb.VerifyResult{Amr: r.AMR, CredentialId: r.CredentialID, OnAccept: h.onAccept, Notice: r.Notice, Renew: r.Renew,
		Levels: r.Levels, UserId: r.UserID}, nil
}

func (s *methodServer) Enrol(ctx context.Context, req *pluginpb.EnrolRequest) (*pluginpb.Enrolment, error) {
	h, err := s.host(req.GetNowUnixNano(), req.GetRecords())
	if err != nil {
		return nil, err
	}
	e, err := s.m.Enrol(ctx, h, EnrolRequest{User: userFromPB(req.GetUser()), Params: req.GetParams()})
	if err != nil {
		return nil, ToStatus(err)
	}
	return &pluginpb.Enrolment{
		Id: e.ID, Prompt: e.Prompt, Fields: fieldsToPB(e.Fields), Display: e.Display,
		ImagePng: e.ImagePNG, ExpiresAtUnixNano: unixNano(e.ExpiresAt), Displays: displaysToPB(e.Displays),
	}, nil
}

func (s *methodServer) ConfirmEnrolment(ctx context.Context, req *pluginpb.ConfirmEnrolmentRequest) (*pluginpb.Credential, error) {
	h, err := s.host(req.GetNowUnixNano(), req.GetRecords())
	if err != nil {
		return nil, err
	}
	h.st.committing = req.GetCommitByHost()
	c, err := s.m.ConfirmEnrolment(ctx, h, ConfirmRequest{
		User: userFromPB(req.GetUser()), EnrolmentID: req.GetEnrolmentId(), Label: req.GetLabel(), Response: req.GetResponse(),
	})
	if err != nil {
		return nil, ToStatus(err)
	}
	out := credentialToPB(c)
	out.Commit = h.st.commit
	return out, nil
}

func (s *methodServer) ListCredentials(ctx context.Context, req *pluginpb.ListCredentialsRequest) (*pluginpb.ListCredentialsResponse, error) {
	h, err := s.host(req.GetNowUnixNano(), req.GetRecords())
	if err != nil {
		return nil, err
	}
	cs, err := s.m.ListCredentials(ctx, h, req.GetUserId())
	if err != nil {
		return nil, ToStatus(err)
	}
	out := &pluginpb.ListCredentialsResponse{}
	for _, c := range cs {
		out.Credentials = append(out.Credentials, credentialToPB(c))
	}
	return out, nil
}

func (s *methodServer) Remove(ctx context.Context, req *pluginpb.RemoveRequest) (*pluginpb.RemoveResponse, error) {
	h, err := s.host(req.GetNowUnixNano(), req.GetRecords())
	if err != nil {
		return nil, err
	}
	h.st.committing = req.GetCommitByHost()
	if err := s.m.Remove(ctx, h, req.GetUserId(), req.GetCredentialId()); err != nil {
		return nil, ToStatus(err)
	}
	return &pluginpb.RemoveResponse{Commit: h.st.commit}, nil
}

func (s *methodServer) Rename(ctx context.Context, req *pluginpb.RenameRequest) (*pluginpb.RenameResponse, error) {
	rn, ok := s.m.(Renamer)
	if !ok {
		return nil, ToStatus(InvalidInput("This method's credentials cannot be renamed."))
	}
	h, err := s.host(req.GetNowUnixNano(), req.GetRecords())
	if err != nil {
		return nil, err
	}
	label, err := CredentialLabel(req.GetLabel(), "")
	if err != nil {
		return nil, ToStatus(err)
	}
	if label == "" {
		return nil, ToStatus(InvalidInput("Enter a name."))
	}
	if err := rn.Rename(ctx, h, req.GetUserId(), req.GetCredentialId(), label); err != nil {
		return nil, ToStatus(err)
	}
	return &pluginpb.RenameResponse{}, nil
}

func (s *methodServer) Admin(ctx context.Context, req *pluginpb.AdminRequest) (*pluginpb.AdminResponse, error) {
	h, err := s.host(req.GetNowUnixNano(), req.GetRecords())
	if err != nil {
		return nil, err
	}
	h.st.committing = req.GetCommitByHost()
	res, err := s.m.Admin(ctx, h, AdminRequest{Action: req.GetAction(), User: userFromPB(req.GetUser()), Params: req.GetParams(), Actor: req.GetActor()})
	if err != nil {
		return nil, ToStatus(err)
	}
	return &pluginpb.AdminResponse{Result: res, Commit: h.st.commit}, nil
}

func userFromPB(u *pluginpb.User) User {
	return User{ID: u.GetId(), Username: u.GetUsername(), Email: u.GetEmail(), Phone: u.GetPhone()}
}

func fieldsToPB(fs []Field) []*pluginpb.Field {
	out := make([]*pluginpb.Field, 0, len(fs))
	for _, f := range fs {
		out = append(out, &pluginpb.Field{
			Name: f.Name, Label: f.Label, Type: f.Type, Autocomplete: f.Autocomplete,
			InputMode: f.InputMode, Pattern: f.Pattern, MaxLength: int32(f.MaxLength),
		})
	}
	return out
}

func adminActionsToPB(as []AdminAction) []*pluginpb.AdminAction {
	out := make([]*pluginpb.AdminAction, 0, len(as))
	for _, a := range as {
		pa := &pluginpb.AdminAction{
			Name: a.Name, Resource: a.Resource, Verb: a.Verb, Label: a.Label, Event: a.Event, EventIf: a.EventIf,
			RefusedEvent: a.RefusedEvent, OfferedIf: a.OfferedIf, Done: a.Done, ActiveUserOnly: a.ActiveUserOnly,
			NotForSelf: a.NotForSelf, BreakGlass: a.BreakGlass, PatchField: a.PatchField,
		}
		for _, p := range a.Params {
			pa.Params = append(pa.Params, &pluginpb.AdminParam{Name: p.Name, Label: p.Label, Type: p.Type, Default: p.Default, Choices: p.Choices})
		}
		for _, r := range a.Results {
			pa.Results = append(pa.Results, &pluginpb.AdminResult{Name: r.Name, Label: r.Label, Type: r.Type, Secret: r.Secret})
		}
		out = append(out, pa)
	}
	return out
}

func displaysToPB(ds []Display) []*pluginpb.Display {
	out := make([]*pluginpb.Display, 0, len(ds))
	for _, d := range ds {
		out = append(out, &pluginpb.Display{Kind: d.Kind, Label: d.Label, Value: d.Value, Values: d.Values, Png: d.PNG})
	}
	return out
}

func credentialToPB(c Credential) *pluginpb.Credential {
	return &pluginpb.Credential{Id: c.ID, Label: c.Label, CreatedAtUnixNano: unixNano(c.CreatedAt), Warning: c.Warning, Explicit: c.Explicit,
		MaxLevel: c.MaxLevel, LastUsedAtUnixNano: unixNano(c.LastUsedAt), Note: c.Note}
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// remoteHost is the Host of one call, backed by the host's services over
// the broker.
type remoteHost struct {
	now time.Time
	st  *callStorage
	rl  RateLimiter
	// onAccept: in a Verify whose host writes on acceptance, the write
	// PutOnAccept left to it (accepting says the host can).
	accepting bool
	onAccept  *pluginpb.PutRequest
	mail      pluginpb.MailClient
}

func (h *remoteHost) Storage() Storage       { return h.st }
func (h *remoteHost) RateLimit() RateLimiter { return h.rl }
func (h *remoteHost) Now() time.Time         { return h.now }

// MailUser implements Mailer through the host's Mail service.
func (h *remoteHost) MailUser(ctx context.Context, userID, subject, text string) error {
	_, err := h.mail.Send(ctx, &pluginpb.MailRequest{UserId: userID, Subject: subject, Text: text})
	if status.Code(err) == codes.Unimplemented {
		return fmt.Errorf("%w: this host has no mail service", ErrUnavailable)
	}
	return FromStatus(err)
}

type remoteStorage struct{ c pluginpb.StorageClient }

func (s remoteStorage) Get(ctx context.Context, key string) ([]byte, int64, error) {
	r, err := s.c.Get(ctx, &pluginpb.GetRequest{Key: key})
	if err != nil {
		return nil, 0, FromStatus(err)
	}
	return r.GetValue(), r.GetVersion(), nil
}

func (s remoteStorage) Put(ctx context.Context, key string, value []byte, expectVersion int64, ttl time.Duration) (int64, error) {
	r, err := s.c.Put(ctx, &pluginpb.PutRequest{Key: key, Value: value, ExpectVersion: expectVersion, TtlNanos: int64(ttl)})
	if err != nil {
		return 0, FromStatus(err)
	}
	return r.GetVersion(), nil
}

func (s remoteStorage) Delete(ctx context.Context, key string, expectVersion int64) error {
	_, err := s.c.Delete(ctx, &pluginpb.DeleteRequest{Key: key, ExpectVersion: expectVersion})
	return FromStatus(err)
}

func (s remoteStorage) List(ctx context.Context, prefix string) ([]string, error) {
	r, err := s.c.List(ctx, &pluginpb.ListRequest{Prefix: prefix})
	if err != nil {
		return nil, FromStatus(err)
	}
	return r.GetKeys(), nil
}

type remoteRateLimit struct{ c pluginpb.RateLimitClient }

func (r remoteRateLimit) Count(ctx context.Context, key string, window time.Duration, limit int) (RateResult, error) {
	res, err := r.c.Count(ctx, &pluginpb.CountRequest{Key: key, WindowNanos: int64(window), Limit: int32(limit)})
	if err != nil {
		return RateResult{}, FromStatus(err)
	}
	return rateResultFromPB(res), nil
}

func rateResultFromPB(res *pluginpb.CountResponse) RateResult {
	out := RateResult{Allowed: res.GetAllowed(), Count: int(res.GetCount())}
	if n := res.GetRetryAfterUnixNano(); n != 0 {
		out.RetryAfter = time.Unix(0, n).UTC()
	}
	return out
}

// countedAhead makes the count the host made ahead of the call (count,
// counted; nil when it made none) the answer of the call's first Count
// of it.
func (h *remoteHost) countedAhead(count *pluginpb.CountRequest, counted *pluginpb.CountResponse) {
	if count != nil && counted != nil {
		h.rl = &countedRateLimit{remote: h.rl, req: count, res: counted}
	}
}

// countedRateLimit is the RateLimiter of a Begin or a Verify the host
// counted ahead (Limit.Key): the first Count of exactly what the host
// counted takes the host's answer, without a round trip; any other Count,
// or that one again, goes to the host.
type countedRateLimit struct {
	remote RateLimiter
	mu     sync.Mutex
	req    *pluginpb.CountRequest // nil once taken
	res    *pluginpb.CountResponse
}

func (r *countedRateLimit) Count(ctx context.Context, key string, window time.Duration, limit int) (RateResult, error) {
	r.mu.Lock()
	if q := r.req; q != nil && q.GetKey() == key && q.GetWindowNanos() == int64(window) && int(q.GetLimit()) == limit {
		r.req = nil
		r.mu.Unlock()
		return rateResultFromPB(r.res), nil
	}
	r.mu.Unlock()
	return r.remote.Count(ctx, key, window, limit)
}
