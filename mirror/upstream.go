package mirror

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/crated/crated"
)

// Retry policy for 5xx and 429 answers: a few attempts, exponential backoff
// from retryBase, or the upstream's Retry-After when it sends one, never
// more than maxRetryWait, so that a request of cargo is not held for long.
const (
	maxAttempts  = 3
	retryBase    = 250 * time.Millisecond
	maxRetryWait = 5 * time.Second
)

// upstream talks to the upstream registry as a good citizen: one client
// with a tuned transport (connections reused), at most `concurrency`
// requests in flight, a deadline on every request, bounded retries that
// honour Retry-After, and a User-Agent that names crated.
type upstream struct {
	index   *url.URL // the sparse index URL, trailing slash
	token   string
	ua      string
	client  *http.Client
	sem     chan struct{}
	timeout time.Duration
	metrics *metrics
	// sleep waits between attempts; tests may shorten it.
	sleep func(ctx context.Context, d time.Duration) error
}

func newUpstream(cfg Config, m *metrics) (*upstream, error) {
	u, err := url.Parse(strings.TrimPrefix(cfg.Upstream, "sparse+"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("upstream index %q is not an http(s) URL", cfg.Upstream)
	}
	if u.Path == "" || u.Path[len(u.Path)-1] != '/' {
		u.Path += "/"
	}
	conc := cfg.Concurrency
	if conc <= 0 {
		conc = 8
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2 * conc,
		MaxIdleConnsPerHost:   conc,
		MaxConnsPerHost:       conc,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &upstream{
		index:   u,
		token:   cfg.Token,
		ua:      userAgent(),
		client:  &http.Client{Transport: tr},
		sem:     make(chan struct{}, conc),
		timeout: timeout,
		metrics: m,
		sleep:   sleepCtx,
	}, nil
}

// userAgent names crated and its version, so that an upstream's operators
// know who calls them.
func userAgent() string {
	v := "dev"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		} else {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					v = "dev-" + s.Value[:12]
				}
			}
		}
	}
	return "crated/" + v + " (pull-through mirror; +https://github.com/crated/crated)"
}

// fileURL is the URL of an index file (or config.json) upstream.
func (u *upstream) fileURL(path string) string {
	return u.index.String() + path
}

// do sends a GET to rawURL with the given extra headers and hands the
// response to fn, within one deadline per attempt. 5xx and 429 answers are
// retried; fn sees every other answer, and its error ends the request. The
// body is closed after fn returns.
func (u *upstream) do(ctx context.Context, kind, rawURL string, header http.Header, fn func(*http.Response) error) error {
	var last error
	for attempt := 1; ; attempt++ {
		wait, err := u.attempt(ctx, kind, rawURL, header, fn)
		if err == nil {
			return nil
		}
		last = err
		if wait < 0 || attempt == maxAttempts || ctx.Err() != nil {
			return last
		}
		if wait == 0 {
			wait = retryBase << (attempt - 1)
		}
		wait = min(wait, maxRetryWait)
		u.metrics.upstream.WithLabelValues(kind, "retry").Inc()
		if err := u.sleep(ctx, wait); err != nil {
			return last
		}
	}
}

// attempt makes one request. It returns the error and, for a retryable
// failure, how long to wait (0: the default backoff); -1 means do not retry.
func (u *upstream) attempt(ctx context.Context, kind, rawURL string, header http.Header, fn func(*http.Response) error) (time.Duration, error) {
	select {
	case u.sem <- struct{}{}:
	case <-ctx.Done():
		return -1, ctx.Err()
	}
	defer func() { <-u.sem }()
	ctx, cancel := context.WithTimeout(ctx, u.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return -1, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", u.ua)
	// The token is the upstream index's: it goes to that host only, not to
	// a download host that the upstream's dl template may name.
	if u.token != "" && req.URL.Host == u.index.Host {
		req.Header.Set("Authorization", u.token)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		u.metrics.upstream.WithLabelValues(kind, "error").Inc()
		u.metrics.errors.WithLabelValues(kind).Inc()
		err = fmt.Errorf("upstream %s: %w", kind, err)
		// A refused or reset connection may be passing: retry it. A
		// timeout is not retried: the client is already waiting that long.
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return -1, err
		}
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		u.metrics.upstream.WithLabelValues(kind, "error").Inc()
		u.metrics.errors.WithLabelValues(kind).Inc()
		return retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("upstream %s: %s answered %s", kind, redact(rawURL), resp.Status)
	}
	if err := fn(resp); err != nil {
		return -1, err
	}
	return 0, nil
}

// retryAfter reads a Retry-After header: seconds or an HTTP date; 0 when
// absent or unreadable.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// redact drops a URL's user information and query for logs and errors.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(bad URL)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// upstreamDown is the error of a failed upstream fetch with nothing cached
// to serve instead: 502, and cargo retries 5xx by itself.
func upstreamDown(what string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: %w", crated.Errorf(crated.EBADGATEWAY, "could not get %s from the upstream registry", what), err)
}
