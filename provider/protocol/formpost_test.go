package protocol_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/testenv"
)

// TestFormPostPagesInChromium: zitadel's form_post page, as stepup sends
// it (SelfSubmitting), and stepup's error page submit themselves in a
// real browser under their policy, to a client on another origin, with
// the values they carry; the policy lets through the one script and the
// one form, and so nothing else can run.
func TestFormPostPagesInChromium(t *testing.T) {
	var mu sync.Mutex
	var got []string
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.ParseForm() != nil {
			http.Error(w, "want a form post", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, r.PostForm.Encode())
		mu.Unlock()
		fmt.Fprint(w, "<!doctype html><title>back</title><p id=back>back at the client</p>")
	}))
	defer rp.Close()
	callback := rp.URL + "/callback"

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+protocol.FormPostScriptPath, protocol.ServeFormPostScript)
	mux.HandleFunc("GET /code", func(w http.ResponseWriter, r *http.Request) {
		held, finish := protocol.SelfSubmitting(w, callback)
		defer finish()
		resp := struct {
			Code  string `schema:"code"`
			State string `schema:"state"`
		}{"the-code", "the-state"}
		if err := op.AuthResponseFormPost(held, callback, &resp, httphelper.Encoder(oidcEncoder{})); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("GET /error", func(w http.ResponseWriter, r *http.Request) {
		protocol.WriteFormPostError(w, callback, "the-state", oidc.ErrLoginRequired().WithDescription("sign in first"))
	})
	stepup := httptest.NewServer(mux)
	defer stepup.Close()

	ctx := testenv.NewChrome(t)
	for _, c := range []struct{ path, want string }{
		{"/code", "code=the-code&state=the-state"},
		{"/error", "error=login_required&error_description=sign+in+first&state=the-state"},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(stepup.URL+c.path), chromedp.WaitVisible(chromedp.ID("back"))); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
			t.Fatalf("%s did not post itself to the client: %v\n%s", c.path, err, html)
		}
		mu.Lock()
		last := got[len(got)-1]
		mu.Unlock()
		if last != c.want {
			t.Errorf("%s posted %q, want %q", c.path, last, c.want)
		}
	}
}

// TestSelfSubmittingPassesOthersThrough: an answer that is not zitadel's
// form_post page (a redirect, an error) goes out as it was written.
func TestSelfSubmittingPassesOthersThrough(t *testing.T) {
	rec := httptest.NewRecorder()
	held, finish := protocol.SelfSubmitting(rec, "https://rp.example/cb")
	http.Redirect(held, httptest.NewRequest("GET", "/", nil), "https://rp.example/cb?error=x", http.StatusFound)
	finish()
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "https://rp.example/cb?error=x" || rec.Header().Get("Content-Security-Policy") != "" {
		t.Fatalf("a redirect became %d %v", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	held, finish = protocol.SelfSubmitting(rec, "https://rp.example/cb")
	held.Write([]byte("<p>not a form_post page</p>"))
	finish()
	if rec.Code != http.StatusOK || rec.Body.String() != "<p>not a form_post page</p>" || rec.Header().Get("Content-Security-Policy") != "" {
		t.Fatalf("another page became %d %q %v", rec.Code, rec.Body, rec.Header())
	}
}

// oidcEncoder encodes a response as zitadel's provider does (schema tags).
type oidcEncoder struct{}

func (oidcEncoder) Encode(src any, dst map[string][]string) error {
	r := src.(*struct {
		Code  string `schema:"code"`
		State string `schema:"state"`
	})
	dst["code"], dst["state"] = []string{r.Code}, []string{r.State}
	return nil
}
