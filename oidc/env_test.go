package oidc

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crated/crated"
)

// memStates is an in-memory StateStore with the contract of crated.Store.
type memStates struct {
	mu sync.Mutex
	m  map[string]crated.LoginState
}

func newMemStates() *memStates { return &memStates{m: map[string]crated.LoginState{}} }

func (s *memStates) PutLoginState(ctx context.Context, st *crated.LoginState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[st.Key] = *st
	return nil
}

func (s *memStates) TakeLoginState(ctx context.Context, key string, now time.Time) (*crated.LoginState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.m[key]
	delete(s.m, key)
	if !ok || !now.Before(st.ExpiresAt) {
		return nil, crated.Errorf(crated.ENOTFOUND, "login state not found")
	}
	return &st, nil
}

func (s *memStates) all() []crated.LoginState {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []crated.LoginState
	for _, st := range s.m {
		out = append(out, st)
	}
	return out
}

// fakeAccounts keeps one token per (issuer, subject), as the registry does.
type fakeAccounts struct {
	mu     sync.Mutex
	calls  []accountCall
	tokens map[string]string
	n      int
	err    error // returned instead, when set
	// next, when set, answers instead (the real registry service).
	next crated.Accounts
}

type accountCall struct {
	id      crated.Identity
	replace bool
}

func (a *fakeAccounts) OIDCLogin(ctx context.Context, id crated.Identity, replace bool) (*crated.LoginResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, accountCall{id, replace})
	if a.err != nil {
		return nil, a.err
	}
	if a.next != nil {
		return a.next.OIDCLogin(ctx, id, replace)
	}
	if a.tokens == nil {
		a.tokens = map[string]string{}
	}
	key := id.Issuer + " " + id.Subject
	res := &crated.LoginResult{Username: id.IssuerHost + ":" + id.Username}
	old := a.tokens[key]
	if old != "" && !replace {
		res.ExistingToken = old
		return res, nil
	}
	a.n++
	res.NewToken = fmt.Sprintf("cio%030d", a.n)
	res.RevokedToken = old
	a.tokens[key] = res.NewToken
	return res, nil
}

func (a *fakeAccounts) callList() []accountCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]accountCall(nil), a.calls...)
}

// clock is the injected Now of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a fake provider, a registry serving the login, and a browser with
// a cookie jar that does not follow redirects by itself.
type env struct {
	t        *testing.T
	op       *fakeProvider
	clock    *clock
	states   *memStates
	accounts *fakeAccounts
	login    *Login
	srv      *httptest.Server
	browser  *http.Client
	logs     *strings.Builder
}

func newEnv(t *testing.T, mutate func(*Config)) *env {
	t.Helper()
	e := &env{
		t:        t,
		clock:    &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		states:   newMemStates(),
		accounts: &fakeAccounts{},
		logs:     &strings.Builder{},
	}
	e.op = newFakeProvider(t, e.clock.Now)
	e.op.userinfo = gitlabClaims("alice", "firm/crate_owners")
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	cfg := Config{
		IssuerURL:        e.op.issuer(),
		RedirectURL:      e.srv.URL,
		ClientID:         e.op.clientID,
		ClientSecret:     e.op.clientSecret,
		AdditionalScopes: []string{"openid", "profile", "email"},
		Now:              e.clock.Now,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l, err := New(context.Background(), cfg, e.states, e.accounts, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.login = l
	l.Routes(mux)
	jar, _ := cookiejar.New(nil)
	e.browser = &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return e
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// get fetches u with the browser and returns the response with its body
// read.
func (e *env) get(u, accept string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := e.browser.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, string(b)
}

// start opens a start page (/me or /replace_token) and returns the URL the
// registry sends the browser to.
func (e *env) start(path string) *url.URL {
	e.t.Helper()
	resp, body := e.get(e.srv.URL+path, "")
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("GET %s: status %d, want 302; body: %s", path, resp.StatusCode, body)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// authorize visits the provider and returns the callback URL it sends the
// browser back to.
func (e *env) authorize(u *url.URL) *url.URL {
	e.t.Helper()
	resp, body := e.get(u.String(), "")
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("GET %s: status %d, want 302; body: %s", u, resp.StatusCode, body)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return back
}

// run does a whole login from the start page and returns the final page.
func (e *env) run(path, accept string) (*http.Response, string) {
	e.t.Helper()
	return e.get(e.authorize(e.start(path)).String(), accept)
}

var preRE = regexp.MustCompile(`(?s)<pre id="(\w+)">(.*?)</pre>`)

// pre returns the unescaped text of <pre id=id> in an HTML page.
func pre(t *testing.T, body, id string) string {
	t.Helper()
	for _, m := range preRE.FindAllStringSubmatch(body, -1) {
		if m[1] == id {
			return html.UnescapeString(m[2])
		}
	}
	t.Fatalf("no <pre id=%q> in page:\n%s", id, body)
	return ""
}
