package httpapi

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/crated/crated"
)

// limiter is a token bucket per key (a client address, a user): each key
// may make burst requests at once and then perMinute a minute. It lives in
// memory, per replica.
//
// Memory is bounded: at most maxKeys buckets are kept. When a new key would
// go over, the buckets that have refilled (which behave exactly as a
// forgotten key) are dropped first; if that is not enough, random ones
// are, so that a flood of addresses costs the attacker the limit of some
// other client for a while, never the server's memory.
type limiter struct {
	rate    float64 // tokens per second
	burst   float64
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// defaultMaxKeys bounds each limiter's memory: about 100 bytes a key.
const defaultMaxKeys = 1 << 16

// newLimiter returns a limiter of perMinute requests a minute, or nil (no
// limit) when perMinute is 0.
func newLimiter(perMinute int) *limiter {
	if perMinute <= 0 {
		return nil
	}
	return &limiter{
		rate:    float64(perMinute) / 60,
		burst:   float64(perMinute),
		maxKeys: defaultMaxKeys,
		now:     time.Now,
		buckets: map[string]*bucket{},
	}
}

// allow takes a token from key's bucket. When there is none it returns
// false and how long until there is one. A nil limiter allows everything.
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.maxKeys {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = l.refilled(b, now)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

func (l *limiter) refilled(b *bucket, now time.Time) float64 {
	return min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
}

// evict makes room for new keys: full buckets go first, then random ones
// until a quarter of the room is free, so that sweeps stay rare. l.mu is
// held.
func (l *limiter) evict(now time.Time) {
	for k, b := range l.buckets {
		if l.refilled(b, now) >= l.burst {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) <= l.maxKeys*3/4 {
			break
		}
		delete(l.buckets, k)
	}
}

// size is the number of keys remembered, for tests.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// limits are the rate limits of one server.
type limits struct {
	login   *limiter // password checks, per client address
	token   *limiter // token and pending-login creation, per client address
	publish *limiter // publishes, per client address and per user
}

// clientKey is the key of a client address in a limiter: an IPv6 client
// is its /64, which one machine commonly owns whole.
func clientKey(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.Unmap().String()
}

// limited returns ERATELIMIT with the delay cargo should wait (it honours
// Retry-After), or nil.
func limited(l *limiter, key, what string) error {
	ok, wait := l.allow(key)
	if ok {
		return nil
	}
	return crated.Retry(crated.ERATELIMIT, wait, "too many %s: try again in %d s", what, int((wait+time.Second-1)/time.Second))
}

// loginPaths are Ktra's password API: each request checks a password and
// creates a token.
var loginPaths = []string{"/ktra/api/v1/login/", "/ktra/api/v1/new_user/", "/ktra/api/v1/change_password/"}

// limitRequest applies the per-address limits that apply before routing:
// password logins and requests that create tokens or pending logins.
// Publishes are limited in their handler, which also knows the user.
func (s *Server) limitRequest(r *http.Request) error {
	login, token := false, false
	switch r.Method {
	case http.MethodPost:
		if r.URL.Path == "/me" {
			login = true
		}
		for _, p := range loginPaths {
			if strings.HasPrefix(r.URL.Path, p) {
				login = true
			}
		}
		token = login
	case http.MethodGet, http.MethodHead:
		// With OpenID, each visit of /me and /replace_token starts a login
		// and stores a pending state until the callback.
		token = s.cfg.OpenIDLogin && (r.URL.Path == "/me" || r.URL.Path == "/replace_token")
	}
	if !login && !token {
		return nil
	}
	key := clientKey(s.clientAddr(r))
	if login {
		if err := limited(s.limits.login, key, "login attempts from your address"); err != nil {
			return err
		}
	}
	if token {
		if err := limited(s.limits.token, key, "new tokens or logins from your address"); err != nil {
			return err
		}
	}
	return nil
}

// rateLimit refuses requests over the limits of limitRequest with 429.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.limitRequest(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
