package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pathological are READMEs on which goldmark is superlinear: unbudgeted,
// each costs seconds of CPU (2 to 10 s on the development machine; the last
// grows more slowly, so it is larger).
var pathological = map[string]string{
	"emphasis":  strings.Repeat("*a_", 96<<10/3),
	"link-open": strings.Repeat("[a](", 96<<10/4),
	"link-ref":  strings.Repeat("[a]\n", 768<<10/4),
}

// countRenders wraps ui's renderer to count the renders it starts.
func countRenders(ui *UI) *atomic.Int32 {
	var n atomic.Int32
	render := ui.readme.render
	ui.readme.render = func(src string, deadline time.Time) (template.HTML, error) {
		n.Add(1)
		return render(src, deadline)
	}
	return &n
}

// A README on which goldmark goes superlinear is abandoned at the render
// budget and shown as plain text; the outcome is remembered, so later views
// render nothing.
func TestReadmePathological(t *testing.T) {
	for name, src := range pathological {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.publish(t, release{name: "hostile", vers: "1.0.0", readme: src})
			ui := newUI(f, Config{}, nil) // waits for the render's outcome
			// A budget well below what these READMEs cost on any machine
			// (2 to 10 s each here): at the real 2 s, a fast core renders
			// one of them in time and the test would see HTML.
			ui.readme.budget = 200 * time.Millisecond
			renders := countRenders(ui)
			for range 3 {
				w := serve(t, ui, "/crates/hostile")
				if w.Code != http.StatusOK {
					t.Fatalf("status %d", w.Code)
				}
				body := text(w)
				if !strings.Contains(body, "shown as plain text") || !strings.Contains(body, src[:300]) {
					t.Fatalf("page does not show the README as plain text")
				}
			}
			if n := renders.Load(); n != 1 {
				t.Errorf("%d renders for 3 views, want 1", n)
			}
		})
	}
}

// The budget stops goldmark itself, not just the wait for it: the render
// returns errOverBudget instead of running on.
func TestRenderReadmeBudget(t *testing.T) {
	for name, src := range pathological {
		if _, err := renderReadme(src, time.Now().Add(50*time.Millisecond)); err != errOverBudget {
			t.Errorf("%s: renderReadme: %v, want errOverBudget", name, err)
		}
	}
	// An ordinary README renders well within a budget.
	html, err := renderReadme(fooReadme, time.Now().Add(time.Minute))
	if err != nil || !strings.Contains(string(html), "<strong>fast</strong>") {
		t.Errorf("renderReadme(fooReadme) = %q, %v", html, err)
	}
}

// Page views never wait on a render beyond their short wait: while a render
// is stuck, concurrent views all answer with the plain text, and they share
// one render. Once it is done, views show the HTML without rendering again.
func TestReadmeRenderedInBackground(t *testing.T) {
	f := newFixture(t)
	f.publish(t, release{name: "slow", vers: "1.0.0", readme: "# Slow *readme*\n"})
	ui := newUI(f, Config{}, nil)
	ui.readme.wait = 0
	release := make(chan struct{})
	var renders atomic.Int32
	ui.readme.render = func(src string, deadline time.Time) (template.HTML, error) {
		renders.Add(1)
		<-release
		return renderReadme(src, deadline)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			w := serve(t, ui, "/crates/slow")
			if body := text(w); w.Code != http.StatusOK || !strings.Contains(body, "being rendered") || !strings.Contains(body, "# Slow *readme*") {
				t.Errorf("status %d, page without the plain README and the pending note", w.Code)
			}
		})
	}
	wg.Wait()
	close(release)
	// The render finishes in the background; wait for its outcome.
	for i := 0; ; i++ {
		if _, ok := ui.readme.cache.get(f.versionID(t, "slow", "1.0.0")); ok {
			break
		}
		if i > 1000 {
			t.Fatal("the render never finished")
		}
		time.Sleep(10 * time.Millisecond)
	}
	w := serve(t, ui, "/crates/slow")
	if !strings.Contains(w.Body.String(), "<em>readme</em>") {
		t.Errorf("page lacks the rendered README")
	}
	if n := renders.Load(); n != 1 {
		t.Errorf("%d renders, want 1", n)
	}
}

// A view whose client has gone stops waiting for the render.
func TestReadmeWaitEndsWithRequest(t *testing.T) {
	f := newFixture(t)
	f.publish(t, release{name: "slow", vers: "1.0.0", readme: "# Slow\n"})
	ui := newUI(f, Config{}, nil)
	ui.readme.wait = time.Hour
	release := make(chan struct{})
	defer close(release)
	ui.readme.render = func(src string, deadline time.Time) (template.HTML, error) {
		<-release
		return "", errOverBudget
	}
	mux := http.NewServeMux()
	ui.Routes(mux)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, http.MethodGet, "/crates/slow", nil))
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the page view still waits for the render after its client left")
	}
}

// The cache of outcomes is bounded by bytes: it keeps the most recently
// used entries that fit, and never more.
func TestByteLRU(t *testing.T) {
	const max, size = 1000, 300
	c := newByteLRU(max)
	for id := range int64(10) {
		c.put(id, readmeOutcome{html: template.HTML(strings.Repeat("x", size)), ok: true}, size)
		if id == 7 {
			c.get(5) // 5 is now more recent than 6 and 7
		}
	}
	if got := c.bytes(); got > max {
		t.Errorf("cache holds %d bytes, bound %d", got, max)
	}
	for id := range int64(10) {
		_, ok := c.get(id)
		if want := id == 8 || id == 9 || id == 5; ok != want {
			t.Errorf("entry %d kept = %v, want %v", id, ok, want)
		}
	}
	// One entry larger than the cache is not kept, and evicts nothing.
	c.put(100, readmeOutcome{}, max+1)
	if _, ok := c.get(100); ok {
		t.Error("an entry larger than the cache was kept")
	}
	if _, ok := c.get(9); !ok {
		t.Error("an entry too large to keep evicted others")
	}
}

// versionID is the id of a published version.
func (f *fixture) versionID(t *testing.T, name, vers string) int64 {
	t.Helper()
	c, err := f.store.CrateByName(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := f.store.Versions(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Vers == vers {
			return v.ID
		}
	}
	t.Fatalf("no version %s@%s", name, vers)
	return 0
}

// BenchmarkRenderReadme renders the pathological READMEs under the render
// budget (what one background render costs at most) and an ordinary one.
func BenchmarkRenderReadme(b *testing.B) {
	cases := map[string]string{"ordinary": strings.Repeat(fooReadme, 200)}
	for name, src := range pathological {
		cases[name] = src
	}
	for name, src := range cases {
		b.Run(fmt.Sprintf("%s-%dKB", name, len(src)>>10), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				renderReadme(src, time.Now().Add(renderBudget))
			}
		})
	}
}

// BenchmarkCratePageHostile is a view of a crate whose README is
// pathological, once its outcome is known: what every anonymous view costs.
func BenchmarkCratePageHostile(b *testing.B) {
	for name, src := range pathological {
		b.Run(name, func(b *testing.B) {
			f := newFixture(b)
			f.publish(b, release{name: "hostile", vers: "1.0.0", readme: src})
			ui := New(reader(f.store), Config{BaseURL: testBase}, nil)
			ui.readme.wait = time.Minute
			mux := http.NewServeMux()
			ui.Routes(mux)
			get := func() {
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/crates/hostile", nil))
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
			get() // the render, under its budget
			b.ResetTimer()
			for b.Loop() {
				get()
			}
		})
	}
}
