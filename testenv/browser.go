package testenv

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// Browser is a cookie-keeping HTTP client that reads pages the way a
// person's browser would, without JavaScript. It follows redirects within
// the provider and stops at any other host (the relying party's callback).
type Browser struct {
	t      testing.TB
	env    *Env
	Client *http.Client
}

// NewBrowser returns a browser with an empty cookie jar.
func (e *Env) NewBrowser(t testing.TB) *Browser {
	jar, _ := cookiejar.New(nil)
	provider, _ := url.Parse(e.URL)
	b := &Browser{t: t, env: e}
	b.Client = &http.Client{Transport: e.browsers, Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != provider.Host {
			return http.ErrUseLastResponse
		}
		if len(via) > 20 {
			return fmt.Errorf("too many redirects")
		}
		return nil
	}}
	return b
}

// Page is a response as the browser sees it.
type Page struct {
	Status   int
	URL      *url.URL // the page's address after redirects
	Location *url.URL // set when the browser stopped at a redirect off the provider
	Body     string
	Header   http.Header // the response's
	doc      *html.Node
}

// Get loads a URL.
func (b *Browser) Get(u string) *Page {
	b.t.Helper()
	resp, err := b.Client.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	return b.read(resp)
}

// Post submits form values to a URL.
func (b *Browser) Post(u string, v url.Values) *Page {
	b.t.Helper()
	resp, err := b.Client.PostForm(u, v)
	if err != nil {
		b.t.Fatalf("POST %s: %v", u, err)
	}
	return b.read(resp)
}

func (b *Browser) read(resp *http.Response) *Page {
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := &Page{Status: resp.StatusCode, URL: resp.Request.URL, Body: string(body), Header: resp.Header}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc, err := resp.Location(); err == nil {
			p.Location = loc
		}
	}
	if strings.Contains(resp.Header.Get("Content-Type"), "html") {
		p.doc, _ = html.Parse(strings.NewReader(p.Body))
	}
	return p
}

// Form is an HTML form on a page.
type Form struct {
	Action string
	Method string
	Values url.Values // every named input's value (hidden ones included)
	Inputs []Input
}

// Input is one input element.
type Input struct {
	Name, Type, ID, Autocomplete, Value string
}

// Forms returns the page's forms.
func (p *Page) Forms() []Form {
	var forms []Form
	var walk func(n *html.Node, f *Form)
	walk = func(n *html.Node, f *Form) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				forms = append(forms, Form{Action: attr(n, "action"), Method: strings.ToLower(attr(n, "method")), Values: url.Values{}})
				f = &forms[len(forms)-1]
			case "input", "button", "textarea":
				if f != nil && attr(n, "name") != "" {
					in := Input{Name: attr(n, "name"), Type: attr(n, "type"), ID: attr(n, "id"), Autocomplete: attr(n, "autocomplete"), Value: attr(n, "value")}
					f.Inputs = append(f.Inputs, in)
					if n.Data == "input" && in.Type != "submit" {
						f.Values.Set(in.Name, in.Value)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, f)
		}
	}
	if p.doc != nil {
		walk(p.doc, nil)
	}
	return forms
}

// Form returns the only form whose action contains action, failing the test otherwise.
func (p *Page) Form(t testing.TB, action string) Form {
	t.Helper()
	for _, f := range p.Forms() {
		if strings.Contains(f.Action, action) {
			return f
		}
	}
	t.Fatalf("no form posting to %q on %s (status %d):\n%s", action, p.URL, p.Status, p.Body)
	return Form{}
}

// Submit posts the form with fields set over its current values.
func (b *Browser) Submit(page *Page, f Form, fields map[string]string) *Page {
	b.t.Helper()
	v := url.Values{}
	for k, vs := range f.Values {
		v[k] = append([]string(nil), vs...)
	}
	for k, val := range fields {
		v.Set(k, val)
	}
	target, err := page.URL.Parse(f.Action)
	if err != nil {
		b.t.Fatal(err)
	}
	if f.Method == "get" {
		target.RawQuery = v.Encode()
		return b.Get(target.String())
	}
	return b.Post(target.String(), v)
}

// Text returns the page's visible text, collapsed.
func (p *Page) Text() string {
	if p.doc == nil {
		return p.Body
	}
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "style" || n.Data == "script") {
			return
		}
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
			sb.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(p.doc)
	return strings.Join(strings.Fields(sb.String()), " ")
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}
