package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		d := make([]time.Duration, len(n))
		for i, v := range n {
			d[i] = time.Duration(v) * time.Millisecond
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of four", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p90 of 1..100", ms(hundred...), 90, 90 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p99.9 of 1..100 is the max", ms(hundred...), 99.9, 100 * time.Millisecond},
		{"p100", ms(1, 2, 3), 100, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8000", true},
		{"http://127.5.6.7:1/x", true},
		{"http://localhost:8080/index/", true},
		{"http://[::1]:9000", true},
		{"https://127.0.0.1", true},
		{"http://10.0.0.1:8000", false},
		{"http://192.168.1.5", false},
		{"http://example.com", false},
		{"http://0.0.0.0:8000", false},
		{"ftp://127.0.0.1", false},
		{"127.0.0.1:8000", false},
	}
	for _, tt := range tests {
		if err := checkLoopback(tt.url); (err == nil) != tt.ok {
			t.Errorf("checkLoopback(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
}

func TestLoadURLs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "urls")
	os.WriteFile(file, []byte("# index files\n/index/3/f/foo\n\nhttp://127.0.0.1:9/x\n"), 0o644)
	got, err := loadURLs("http://127.0.0.1:8000/", file, []string{"/index/config.json"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"http://127.0.0.1:8000/index/config.json", "http://127.0.0.1:8000/index/3/f/foo", "http://127.0.0.1:9/x"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := loadURLs("http://127.0.0.1:8000", "", []string{"http://10.1.2.3/"}); err == nil {
		t.Error("a non-loopback URL was accepted")
	}
	if _, err := loadURLs("http://127.0.0.1:8000", "", nil); err == nil {
		t.Error("no URLs was accepted")
	}
}

// TestGet drives a real server: the request count is honoured exactly and
// failures are counted, not hidden.
func TestGet(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "hello")
	}))
	defer srv.Close()

	tests := []struct {
		name       string
		args       []string
		requests   int
		errors     int
		wantHitsOK int
	}{
		{"closed loop, in turn", []string{"-c", "4", "-n", "100", "/ok"}, 100, 0, 100},
		{"failures count", []string{"-c", "2", "-n", "10", "/ok", "/missing"}, 10, 5, 5},
		{"open loop", []string{"-c", "2", "-n", "20", "-rate", "2000", "/ok"}, 20, 0, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			clear(hits)
			mu.Unlock()
			var out bytes.Buffer
			args := append([]string{"get", "-base", srv.URL, "-d", "20s", "-format", "json"}, tt.args...)
			if err := run(context.Background(), args, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			var r Result
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatal(err, out.String())
			}
			if r.Requests != tt.requests || r.Errors != tt.errors {
				t.Errorf("requests=%d errors=%d, want %d and %d", r.Requests, r.Errors, tt.requests, tt.errors)
			}
			if hits["/ok"] != tt.wantHitsOK {
				t.Errorf("server saw %d requests of /ok, want %d", hits["/ok"], tt.wantHitsOK)
			}
			if r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P99 {
				t.Errorf("percentiles out of order: %+v", r)
			}
			if tt.errors > 0 && len(r.FirstErrors) == 0 {
				t.Error("no error message reported")
			}
		})
	}
}

// TestPublish checks what a publish sends: cargo's frame with the token,
// unique name and version pairs, versions of a crate in order.
func TestPublish(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	var order []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.URL.Path != "/api/v1/crates/new" || r.Header.Get("Authorization") != "secret" {
			http.Error(w, "bad request line or token", http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		n := binary.LittleEndian.Uint32(body)
		var meta struct{ Name, Vers string }
		if err := json.Unmarshal(body[4:4+n], &meta); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		crate := body[8+n:]
		if binary.LittleEndian.Uint32(body[4+n:]) != uint32(len(crate)) || len(crate) < 10<<10 {
			http.Error(w, "bad crate length", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		key := meta.Name + "@" + meta.Vers
		if seen[key] {
			http.Error(w, "duplicate "+key, http.StatusConflict)
			return
		}
		seen[key] = true
		order = append(order, key)
		io.WriteString(w, `{"warnings":{"invalid_categories":[],"invalid_badges":[],"other":[]}}`)
	}))
	defer srv.Close()

	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("secret\n"), 0o600)
	var out bytes.Buffer
	args := []string{"publish", "-base", srv.URL, "-token-file", tokenFile, "-c", "1", "-n", "6", "-warmup-n", "2", "-versions", "2", "-prefix", "t", "-format", "json"}
	if err := run(context.Background(), args, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Requests != 6 || r.Errors != 0 || len(seen) != 8 {
		t.Fatalf("requests=%d errors=%d distinct=%d %v", r.Requests, r.Errors, len(seen), r.FirstErrors)
	}
	// Eight publishes over four crates: each crate's 0.1.0 before its 0.1.1.
	pos := map[string]int{}
	for i, k := range order {
		pos[k] = i
	}
	for k, i := range pos {
		if name, ok := strings.CutSuffix(k, "@0.1.1"); ok {
			if j, ok := pos[name+"@0.1.0"]; !ok || j > i {
				t.Errorf("%s sent before its first version", k)
			}
		}
	}
}

func TestMirror(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/gone" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "body of "+r.URL.Path)
	}))
	defer srv.Close()
	tests := []struct {
		name  string
		paths []string
		ok    bool
	}{
		{"files", []string{"/index/3/f/foo", "/api/v1/crates/foo/1.0.0/download"}, true},
		{"a failed GET fails", []string{"/index/ok", "/gone"}, false},
		{"no climbing out", []string{"/index/../../etc/x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{"mirror", "-base", srv.URL, "-out", out, "-c", "2"}, tt.paths...)
			err := run(context.Background(), args, io.Discard, io.Discard)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok {
				return
			}
			for _, p := range tt.paths {
				b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(p)))
				if err != nil || string(b) != "body of "+p {
					t.Errorf("%s: %q, %v", p, b, err)
				}
			}
		})
	}
}
