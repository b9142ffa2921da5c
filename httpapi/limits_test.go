package httpapi

import (
	"bytes"
	"fmt"
	"io"
	"net/http/httptest"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestLimiterBucket(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(60) // one a second, bursts of 60
	l.now = func() time.Time { return now }
	for i := 0; i < 60; i++ {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow("a")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("61st: ok=%v wait=%v; want refused with a wait of at most 1 s", ok, wait)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Error("another key shares the bucket")
	}
	now = now.Add(time.Second)
	if ok, _ := l.allow("a"); !ok {
		t.Error("no refill after a second")
	}
	if newLimiter(0) != nil {
		t.Error("0 is not off")
	}
	var off *limiter
	if ok, _ := off.allow("x"); !ok {
		t.Error("a nil limiter refuses")
	}
}

// A flood of addresses does not grow the limiter past its bound, and a
// client in the middle of being limited is not forgotten because of a
// flood of quiet ones.
func TestLimiterMemoryIsBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(2)
	l.maxKeys = 1000
	l.now = func() time.Time { return now }
	l.allow("guesser")
	l.allow("guesser")
	for i := 0; i < 100000; i++ {
		l.allow(fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255))
		if l.size() > 1000 {
			t.Fatalf("%d keys after %d addresses, bound 1000", l.size(), i+1)
		}
		if i%100 == 99 {
			// Time passes: the flood's buckets refill and are dropped first.
			now = now.Add(time.Minute)
			l.allow("guesser")
			l.allow("guesser")
			if ok, _ := l.allow("guesser"); ok {
				t.Fatalf("guesser allowed a third request within its burst of 2 after %d addresses", i+1)
			}
		}
	}
}

func TestClientAddr(t *testing.T) {
	s := &Server{cfg: Config{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"),
	}}}
	for _, tc := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.1:5000", nil, "192.0.2.1"},
		// An untrusted peer's header is ignored.
		{"192.0.2.1:5000", []string{"203.0.113.9"}, "192.0.2.1"},
		{"127.0.0.1:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		// Left of the first untrusted hop is the client's to write.
		{"127.0.0.1:5000", []string{"1.2.3.4, 203.0.113.9, 10.1.1.1"}, "203.0.113.9"},
		{"127.0.0.1:5000", []string{"1.2.3.4", "203.0.113.9"}, "203.0.113.9"},
		{"127.0.0.1:5000", []string{"10.1.1.2, 10.1.1.1"}, "10.1.1.2"},
		{"127.0.0.1:5000", []string{"garbage, 10.1.1.1"}, "10.1.1.1"},
		{"127.0.0.1:5000", nil, "127.0.0.1"},
		{"[::ffff:127.0.0.1]:5000", []string{"2001:db8::1"}, "2001:db8::1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.clientAddr(r).String(); got != tc.want {
			t.Errorf("%s %q: %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
	if k := clientKey(netip.MustParseAddr("2001:db8:1:2:3:4:5:6")); k != "2001:db8:1:2::/64" {
		t.Errorf("IPv6 key %s", k)
	}
}

func TestPrivateCacheControl(t *testing.T) {
	for in, want := range map[string]string{
		"public, max-age=31536000, immutable":  "private, max-age=31536000, immutable",
		"no-cache":                             "private, no-cache",
		"":                                     "private",
		"no-store":                             "no-store",
		"private, no-cache":                    "private, no-cache",
		"no-cache, max-age=0, must-revalidate": "private, no-cache, max-age=0, must-revalidate",
	} {
		if got := privateCacheControl(in); got != want {
			t.Errorf("%q -> %q, want %q", in, got, want)
		}
	}
}

// A body up to spoolMemory stays in memory; a larger one goes to a file
// that is gone once closed; both read back whole, with Len.
func TestSpool(t *testing.T) {
	for _, n := range []int{0, 10, spoolMemory - 1, spoolMemory, spoolMemory + 1, 3 * spoolMemory} {
		body := bytes.Repeat([]byte{'x'}, n)
		dir := t.TempDir()
		s, err := spool(bytes.NewReader(body), dir, int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("%d bytes: the spool file is visible in its directory", n)
		}
		if s.Len() != n {
			t.Errorf("%d bytes: Len %d", n, s.Len())
		}
		if (s.f != nil) != (n >= spoolMemory) {
			t.Errorf("%d bytes: in a file = %v", n, s.f != nil)
		}
		if n > 4 {
			// A body in memory gives its bytes without a copy; a file
			// cannot.
			if head := s.Take(4); (head != nil) != (s.f == nil) || head != nil && (string(head) != "xxxx" || s.Len() != n-4) {
				t.Errorf("%d bytes: Take(4) = %q, Len after %d", n, head, s.Len())
			}
			if s.Take(n) != nil {
				t.Errorf("%d bytes: Take of more than is left gave bytes", n)
			}
			if s.f == nil {
				body = body[4:]
			}
		}
		got, _ := io.ReadAll(s)
		if !bytes.Equal(got, body) || s.Len() != 0 {
			t.Errorf("%d bytes: read back %d, Len after %d", n, len(got), s.Len())
		}
		s.Close()
	}
	_, err := spool(io.MultiReader(strings.NewReader(strings.Repeat("y", spoolMemory)), errReader{}), t.TempDir(), -1)
	if Status(err) != 400 {
		t.Errorf("a body that fails to arrive: %v (status %d), want 400", err, Status(err))
	}
}

// A body of known length is held in one buffer of about its size, not in
// a buffer doubled up to it (which allocates about twice the body).
func TestSpoolSizedOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation sizes differ under the race detector")
	}
	body := bytes.Repeat([]byte{'x'}, 100<<10)
	const runs = 20
	dir := t.TempDir()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		s, err := spool(bytes.NewReader(body), dir, int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > uint64(len(body))+16<<10 {
		t.Errorf("spool allocated %d bytes per %d-byte body", per, len(body))
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// A client's X-Request-Id goes into every log line: only plain ones are
// kept.
func TestValidRequestID(t *testing.T) {
	for id, ok := range map[string]bool{
		"req-1": true, "5f3a:9.b_c": true, "": false, strings.Repeat("a", 65): false,
		"a b": false, "x\ny=forged": false, `"quoted"`: false,
	} {
		if validRequestID(id) != ok {
			t.Errorf("validRequestID(%q) = %v", id, !ok)
		}
	}
}
