package provider_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/stepup-mfa/stepup/testenv"
)

// The sign-in form compares the typed name in its normalised form; a name
// no user can have is a wrong login like any other.
func TestSignInNormalisesUsername(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "alice", alicePassword)
	rp := env.NewRP(t, testenv.PublicClient, "")
	for _, typed := range []string{"Alice", " ALICE ", "ａｌｉｃｅ"} {
		b := env.NewBrowser(t)
		testenv.MustCallback(t, b.SubmitPassword(b.Get(rp.AuthURL(nil).URL), typed, alicePassword))
	}
	b := env.NewBrowser(t)
	p := b.Get(rp.AuthURL(nil).URL)
	unknown := b.SubmitPassword(p, "mallory", alicePassword)
	for _, typed := range []string{"ali\u200bce", "alice\n", "\u0430lice", ".."} {
		got := b.SubmitPassword(p, typed, alicePassword)
		if got.Status != unknown.Status || got.Text() != unknown.Text() {
			t.Fatalf("%q: %d %s; an unknown name: %d %s", typed, got.Status, got.Text(), unknown.Status, unknown.Text())
		}
	}
	ev := listEvents(t, env, "login.password.failed")
	if len(ev) != 5 || ev[0].Details["reason"] != "invalid username" || ev[0].UserID != "" {
		t.Fatalf("failures: %+v", ev)
	}
}

// The admin API refuses a username outside the rule, and one that looks
// like an existing user's, saying what is allowed.
func TestAdminAPIUsernames(t *testing.T) {
	env := testenv.New(t)
	env.AddUser(t, "coop", alicePassword)
	cc := clientcredentials.Config{ClientID: testenv.AdminBot, ClientSecret: testenv.AdminBotSecret, TokenURL: env.URL + "/oauth/token"}
	tok, err := cc.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string) apiResponse {
		return callAPI(t, env, tok.AccessToken, "POST", "/admin/v1/users", map[string]any{"username": name})
	}
	allowed := "use letters, digits, '.', '-', '_' or '@'"
	for _, tc := range []struct {
		name string
		says []string
	}{
		{"ali\nce", []string{"U+000A", allowed}},
		{"ali\x00ce", []string{"U+0000", allowed}},
		{"ali\u200bce", []string{"U+200B", allowed}},
		{"a/b", []string{"'/' (U+002F)", allowed}},
		{"", []string{"a username is required", allowed}},
		{"\u0430lice", []string{"mixes letters of the Cyrillic and Latin scripts", "use letters of one script"}},
		{".", []string{"must begin with a letter or digit and end with a letter or digit"}},
		{"..", []string{"must begin with a letter or digit and end with a letter or digit"}},
	} {
		got := create(tc.name)
		detail, _ := got.Body["detail"].(string)
		if got.Status != http.StatusBadRequest || slices.ContainsFunc(tc.says, func(s string) bool { return !strings.Contains(detail, s) }) {
			t.Errorf("create %q: %d %s; want 400 saying %q", tc.name, got.Status, got.Raw, tc.says)
		}
	}
	got := create("\u0441\u043e\u043e\u0440") // Cyrillic "соор"
	if detail, _ := got.Body["detail"].(string); got.Status != http.StatusConflict || !strings.Contains(detail, `looks like the existing user "coop"`) {
		t.Errorf("look-alike of coop: %d %s", got.Status, got.Raw)
	}
	if got := create("Bob"); got.Status != http.StatusCreated || got.Body["username"] != "bob" {
		t.Fatalf("create Bob: %d %s", got.Status, got.Raw)
	}
	if got := create("BOB"); got.Status != http.StatusConflict {
		t.Errorf("create BOB beside bob: %d %s", got.Status, got.Raw)
	}
	if got := callAPI(t, env, tok.AccessToken, "GET", "/admin/v1/users/BOB", nil); got.Status != http.StatusOK || got.Body["username"] != "bob" {
		t.Errorf("get BOB: %d %s", got.Status, got.Raw)
	}
	if got := callAPI(t, env, tok.AccessToken, "GET", "/admin/v1/users/"+url.PathEscape("bo\u200bb"), nil); got.Status != http.StatusNotFound {
		t.Errorf("get an invalid name: %d %s", got.Status, got.Raw)
	}
	users, err := env.Store.ListUsers(t.Context())
	if err != nil || len(users) != 2 {
		t.Fatalf("users: %v %+v", err, users)
	}
}
