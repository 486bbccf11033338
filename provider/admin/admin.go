package admin

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/password"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/username"
)

// Service runs the administrative operations on what it is given.
type Service struct {
	Store  storage.Store
	Hasher password.Hasher
	// Now is the clock every operation reads (the provider's, settable in
	// tests).
	Now func() time.Time
	// Log receives what a caller is not told (a method's own failure).
	Log *slog.Logger
	// Methods are the launched methods, in the order their admin actions
	// and credentials are offered; the offline command may give none.
	Methods []Method
	// Audit records what an administrator did for the user userID, with
	// the request's actor (audit.Log.Admin); nil: nothing is recorded.
	Audit func(ctx context.Context, typ, userID, outcome string, details map[string]string)
	// Event is the event Audit would record, completed, for the caller to
	// write with its change (audit.Log.AdminEvent); nil: the change is
	// written without one.
	Event func(ctx context.Context, typ, userID, outcome string, details map[string]string) storage.Event
	// WithEvents makes ctx, for one call of a method that changes what a
	// user has, carry the events to write with the method's committing
	// write (methods.WithEvents); done reports whether they went with it.
	// nil, or a method that made its write itself: they are appended
	// after the call.
	WithEvents func(ctx context.Context, events func(results map[string]string) []storage.Event) (_ context.Context, done func() bool)
	// RemovedMail is the message telling the user u that an administrator
	// removed a credential of the method (SPEC §6: they are emailed),
	// queued with the removal's event; nil, or nil returned: nobody is
	// told.
	RemovedMail func(ctx context.Context, u storage.User, method string) *storage.Mail
}

// Method is what the administration needs of one launched method.
type Method interface {
	// Name is the method's configured name.
	Name() string
	// Actions are the well-formed admin actions it declared, in its order.
	Actions() []sdk.AdminAction
	// NeedsEnrolment: it holds credentials a user enrols (and an
	// administrator may list and remove).
	NeedsEnrolment() bool
	// Admin runs one of its admin actions.
	Admin(ctx context.Context, req sdk.AdminRequest) (map[string]string, error)
	// ListCredentials lists a user's credentials of this method.
	ListCredentials(ctx context.Context, userID string) ([]sdk.Credential, error)
	// Remove removes one credential of a user (sdk.ErrNotFound: none such).
	Remove(ctx context.Context, userID, credentialID string) error
}

// Messages of the operations. A value the caller sent is quoted to at
// most 40 characters, so that no answer repeats a whole input.
const (
	msgNoSuchUser       = "no user %.40q"
	msgBadUsername      = "no user %.40q: %v"
	msgUnknownPerm      = "unknown permission %.40q: use one of %s"
	msgShortPassword    = "password must have at least 8 characters"
	msgUserExists       = "user %.40q already exists"
	msgLookAlike        = "username %.40q looks like the existing user %.40q: choose a name that cannot be mistaken for it"
	msgNoMethod         = "no method %.40q: ids look like totp:ABC (list them first)"
	msgNoCredential     = "user %s has no %.40q"
	msgMethodNotAnswers = "method %s is not answering; try again"
)

// UserByName finds a user by the name sign-in would compare.
func (s *Service) UserByName(ctx context.Context, name string) (storage.User, error) {
	norm, err := username.Normalize(name)
	if err != nil {
		return storage.User{}, errorf(NotFound, msgBadUsername, name, err)
	}
	u, err := s.Store.GetUserByUsername(ctx, norm)
	if errors.Is(err, storage.ErrNotFound) {
		return u, errorf(NotFound, msgNoSuchUser, norm)
	}
	return u, err
}

// NewUser is what CreateUser is given.
type NewUser struct {
	Username, Email, Phone string
	// Password is the initial password; empty: none.
	Password    string
	Permissions []string
	// Event, when set, is the audit event of the creation, made from the
	// new user and written in the same transaction: never a user without
	// it.
	Event func(u storage.User) storage.Event
}

// CreateUser validates and stores a new active user: a username by the
// rule of package username that looks like no existing one, known
// permissions, an argon2id password when one is given.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (storage.User, error) {
	name, err := username.Normalize(nu.Username)
	if err != nil {
		return storage.User{}, &Error{Kind: Invalid, Msg: err.Error()}
	}
	for _, p := range nu.Permissions {
		if !slices.Contains(config.KnownPermissions, p) {
			return storage.User{}, errorf(Invalid, msgUnknownPerm, p, strings.Join(config.KnownPermissions, ", "))
		}
	}
	if nu.Password != "" && len(nu.Password) < 8 {
		return storage.User{}, &Error{Kind: Invalid, Msg: msgShortPassword}
	}
	skeleton := username.Skeleton(name)
	if err := s.lookAlike(ctx, name, skeleton); err != nil {
		return storage.User{}, err
	}
	now := s.Now()
	u := storage.User{ID: storage.NewUserID(), Username: name, Skeleton: skeleton, Email: strings.TrimSpace(nu.Email), Phone: strings.TrimSpace(nu.Phone),
		Active: true, Permissions: nu.Permissions, CreatedAt: now, UpdatedAt: now}
	if nu.Password != "" {
		hash, err := s.Hasher.Hash(nu.Password)
		if err != nil {
			return storage.User{}, err
		}
		u.PasswordHash = hash
	}
	var events []storage.Event
	if nu.Event != nil {
		events = append(events, nu.Event(u))
	}
	if err := s.Store.CreateUser(ctx, u, events...); errors.Is(err, storage.ErrAlreadyExists) {
		return storage.User{}, errorf(Conflict, msgUserExists, name)
	} else if err != nil {
		return storage.User{}, err
	}
	return u, nil
}

// lookAlike refuses a new username that looks like an existing one (equal
// UTS #39 skeletons, e.g. a Cyrillic "соор" beside "coop"). The same name
// is left to the store, which refuses it atomically. Two look-alikes
// created at the same instant can both pass: the check is for mistakes and
// impersonation by those who may create users, not a uniqueness constraint.
func (s *Service) lookAlike(ctx context.Context, name, skeleton string) error {
	other, err := s.Store.LookAlike(ctx, skeleton, name)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	return errorf(Conflict, msgLookAlike, name, other)
}

// SetActive activates or deactivates a user, with events (its audit
// event) in the same transaction; deactivating ends the user's sessions
// and revokes their tokens (which are dead from the change on: an
// inactive user's tokens are not live).
func (s *Service) SetActive(ctx context.Context, userID string, active bool, events ...storage.Event) (storage.User, error) {
	u, err := s.Store.UpdateUser(ctx, userID, func(u storage.User) (storage.User, error) {
		u.Active, u.UpdatedAt = active, s.Now()
		return u, nil
	}, events...)
	if err != nil {
		return u, err
	}
	if !active {
		if err := s.endSessions(ctx, userID); err != nil {
			return u, err
		}
	}
	return u, nil
}

// endSessions signs the user out everywhere: sessions, tokens and the
// browsers they trusted, which would otherwise spare a second factor to
// whoever holds them.
func (s *Service) endSessions(ctx context.Context, userID string) error {
	if _, err := s.Store.DeleteUserSessions(ctx, userID); err != nil {
		return err
	}
	if _, err := s.Store.DeleteUserTokens(ctx, userID, ""); err != nil {
		return err
	}
	return s.forgetOnSignOut(ctx, userID)
}

// Credential is one of a user's credentials; ID is "method:credential".
type Credential struct {
	ID, Method, Label string
	CreatedAt         time.Time
}

// Credentials lists a user's credentials across every method that holds
// some.
func (s *Service) Credentials(ctx context.Context, userID string) ([]Credential, error) {
	out := []Credential{}
	for _, m := range s.Methods {
		if !m.NeedsEnrolment() {
			continue
		}
		creds, err := m.ListCredentials(ctx, userID)
		if err != nil {
			return nil, errorf(Unavailable, msgMethodNotAnswers, m.Name())
		}
		for _, c := range creds {
			out = append(out, Credential{ID: m.Name() + ":" + c.ID, Method: m.Name(), Label: c.Label, CreatedAt: c.CreatedAt})
		}
	}
	return out, nil
}

func (s *Service) method(name string) (Method, bool) {
	i := slices.IndexFunc(s.Methods, func(m Method) bool { return m.Name() == name })
	if i < 0 {
		return nil, false
	}
	return s.Methods[i], true
}

// Disconnect removes one credential ("method:credential") of a user; with
// endSessions it also ends the user's sessions and revokes their tokens
// (a lost or stolen device). The removal is written with its
// method.removed event and the user's email (RemovedMail).
func (s *Service) Disconnect(ctx context.Context, u storage.User, id string, endSessions bool) error {
	name, credID, ok := strings.Cut(id, ":")
	m, known := s.method(name)
	if !ok || !known {
		return errorf(NotFound, msgNoMethod, id)
	}
	details := map[string]string{"method": id, "end_sessions": strconv.FormatBool(endSessions)}
	_, err := s.commit(ctx, func(map[string]string) []storage.Event {
		return s.events(ctx, "method.removed", u, details, s.removedMail(ctx, u, name))
	}, func(ctx context.Context) (map[string]string, error) {
		return nil, m.Remove(ctx, u.ID, credID)
	})
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		return errorf(NotFound, msgNoCredential, u.Username, id)
	case errors.Is(err, sdk.ErrInvalidInput):
		return &Error{Kind: Invalid, Msg: sdk.UserMessage(err)}
	case err != nil:
		return errorf(Unavailable, msgMethodNotAnswers, name)
	}
	if endSessions {
		return s.endSessions(ctx, u.ID)
	}
	return nil
}

// removedMail is the mail telling u that name lost a credential, or nil.
func (s *Service) removedMail(ctx context.Context, u storage.User, name string) *storage.Mail {
	if s.RemovedMail == nil {
		return nil
	}
	return s.RemovedMail(ctx, u, name)
}

// events is the completed success event typ for u with details, carrying
// mail (may be nil); none without Event, unless there is a mail to queue.
func (s *Service) events(ctx context.Context, typ string, u storage.User, details map[string]string, mail *storage.Mail) []storage.Event {
	var e storage.Event
	switch {
	case s.Event != nil:
		e = s.Event(ctx, typ, u.ID, "success", details)
	case mail != nil:
		e = storage.Event{Time: s.Now(), Type: typ, Actor: "system", UserID: u.ID, Outcome: "success", Details: details}
	default:
		return nil
	}
	e.Mail = mail
	return []storage.Event{e}
}

// commit runs call, a method's call that changes what a user has, with
// the events (made from its results) written with the method's
// committing write, in one transaction; when the method made its write
// itself, they are appended once it has succeeded.
func (s *Service) commit(ctx context.Context, events func(results map[string]string) []storage.Event,
	call func(ctx context.Context) (map[string]string, error)) (map[string]string, error) {
	cctx, done := ctx, func() bool { return false }
	if s.WithEvents != nil {
		cctx, done = s.WithEvents(ctx, events)
	}
	out, err := call(cctx)
	if err != nil || done() {
		return out, err
	}
	for _, e := range events(out) {
		if aerr := s.Store.AppendEvent(ctx, e); aerr != nil && s.Log != nil {
			s.Log.Error("audit event not recorded", "type", e.Type, "user", e.UserID, "err", aerr)
		}
	}
	return out, nil
}
