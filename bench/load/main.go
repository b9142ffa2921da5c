// Command load is crated's load generator: fixed concurrency, bounded in
// time and count, loopback targets only. It reports requests per second and
// latency percentiles.
//
//	load get [flags] [URL ...]       GET a list of URLs (index files, downloads)
//	load publish [flags]             PUT real-sized crates to /api/v1/crates/new
//	load mirror -out DIR [flags]     save the responses of a list of paths as files
//
// get takes its URLs as arguments or from -urls FILE (one a line, absolute
// or a path joined to -base), in turn or at random (-random). With -rate R it
// runs open-loop: requests are due at R per second whatever the server does,
// and each latency counts from when its request was due, so that a stalled
// server cannot hide its stall by slowing the client down.
//
// publish first builds every crate in memory (a ~20 KB .crate made with
// archive/tar and compress/gzip: normalized Cargo.toml, source code, README,
// see bench/synth), then sends them with a token: -n publishes spread over
// n/-versions crates, each crate's versions in semver order.
//
// mirror copies what a server answers for each path into DIR/path, so that
// a static file server can serve the very same bytes as a baseline.
//
// -format kv prints one key=value line for scripts, -format json an object.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/crated/crated/bench/synth"
)

// Bounds that no flag can exceed: a load test here must stop by itself.
const (
	maxDuration = 10 * time.Minute
	maxRequests = 50_000_000
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "load:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage:
  load get [flags] [URL ...]   GET URLs (from arguments and/or -urls FILE)
  load publish [flags]         PUT generated crates to BASE/api/v1/crates/new
  load mirror -out DIR [flags] [PATH ...]  save BASE/PATH as DIR/PATH for each path
run "load MODE -h" for the flags`

// common holds the flags both modes share.
type common struct {
	base        string
	concurrency int
	duration    time.Duration
	requests    int
	warmup      time.Duration
	format      string
	timeout     time.Duration
}

func (c *common) register(fs *flag.FlagSet, conc int, dur time.Duration) {
	fs.StringVar(&c.base, "base", "http://127.0.0.1:8000", "server URL that paths are joined to")
	fs.IntVar(&c.concurrency, "c", conc, "concurrent connections")
	fs.DurationVar(&c.duration, "d", dur, "how long to send requests (at most 10m)")
	fs.IntVar(&c.requests, "n", 0, "stop after this many requests (0: only the duration counts)")
	fs.DurationVar(&c.warmup, "warmup", 0, "send requests this long first, unmeasured")
	fs.StringVar(&c.format, "format", "text", "output: text, kv (key=value line) or json")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "timeout of one request")
}

func (c *common) check() error {
	switch {
	case c.concurrency < 1 || c.concurrency > 4096:
		return errors.New("-c must be between 1 and 4096")
	case c.duration <= 0 || c.duration > maxDuration:
		return fmt.Errorf("-d must be positive and at most %s", maxDuration)
	case c.warmup < 0 || c.warmup > maxDuration:
		return fmt.Errorf("-warmup must be at most %s", maxDuration)
	case c.requests < 0 || c.requests > maxRequests:
		return fmt.Errorf("-n must be between 0 and %d", maxRequests)
	case c.format != "text" && c.format != "kv" && c.format != "json":
		return errors.New("-format must be text, kv or json")
	}
	return checkLoopback(c.base)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("no mode given")
	}
	switch args[0] {
	case "get":
		return runGet(ctx, args[1:], stdout, stderr)
	case "publish":
		return runPublish(ctx, args[1:], stdout, stderr)
	case "mirror":
		return runMirror(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("unknown mode %q", args[0])
}

// checkLoopback refuses any target that is not this machine: the load
// generator must never send traffic elsewhere.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s is not a loopback address: load only targets this machine (127.0.0.0/8, ::1, localhost)", u.Host)
}

func newClient(conc int, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        2 * conc,
			MaxIdleConnsPerHost: 2 * conc,
			MaxConnsPerHost:     conc,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ---- get ----

func runGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, 64, 15*time.Second)
	urlsFile := fs.String("urls", "", "file of URLs or paths, one a line")
	random := fs.Bool("random", false, "pick each URL at random (default: in turn)")
	rate := fs.Float64("rate", 0, "requests per second, open-loop (0: as fast as the connections go)")
	var headers headerFlags
	fs.Var(&headers, "H", "request header \"Name: value\" (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	if *rate < 0 || *rate > 1e6 {
		return errors.New("-rate must be between 0 and 1000000")
	}
	urls, err := loadURLs(c.base, *urlsFile, fs.Args())
	if err != nil {
		return err
	}
	client := newClient(c.concurrency, c.timeout)
	do := func(ctx context.Context, r *rand.Rand, seq int) (int64, error) {
		u := urls[seq%len(urls)]
		if *random {
			u = urls[r.IntN(len(urls))]
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, err
		}
		headers.apply(req)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return n, err
		}
		if resp.StatusCode != http.StatusOK {
			return n, fmt.Errorf("GET %s: %s", strings.TrimPrefix(u, c.base), resp.Status)
		}
		return n, nil
	}
	res, err := measure(ctx, c, *rate, do)
	if err != nil {
		return err
	}
	res.Mode = "get"
	return res.write(stdout, c.format)
}

func loadURLs(base, file string, args []string) ([]string, error) {
	lines := append([]string(nil), args...)
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	if len(lines) == 0 {
		return nil, errors.New("no URLs: give them as arguments or with -urls FILE")
	}
	base = strings.TrimSuffix(base, "/")
	urls := make([]string, len(lines))
	for i, l := range lines {
		if strings.HasPrefix(l, "/") {
			l = base + l
		}
		if err := checkLoopback(l); err != nil {
			return nil, err
		}
		urls[i] = l
	}
	return urls, nil
}

type headerFlags []string

func (h *headerFlags) String() string { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error {
	if name, _, ok := strings.Cut(v, ":"); !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("header %q is not \"Name: value\"", v)
	}
	*h = append(*h, v)
	return nil
}
func (h headerFlags) apply(req *http.Request) {
	for _, kv := range h {
		name, value, _ := strings.Cut(kv, ":")
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
}

// ---- mirror ----

func runMirror(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load mirror", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("base", "http://127.0.0.1:8000", "server URL that paths are joined to")
	urlsFile := fs.String("urls", "", "file of paths, one a line")
	out := fs.String("out", "", "directory to write the files under")
	conc := fs.Int("c", 16, "concurrent connections")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-out DIR is required")
	}
	if *conc < 1 || *conc > 256 {
		return errors.New("-c must be between 1 and 256")
	}
	if err := checkLoopback(*base); err != nil {
		return err
	}
	lines, err := loadURLs(*base, *urlsFile, fs.Args())
	if err != nil {
		return err
	}
	prefix := strings.TrimSuffix(*base, "/")
	client := newClient(*conc, 30*time.Second)
	var next atomic.Int64
	var bytes atomic.Int64
	errc := make(chan error, *conc)
	var wg sync.WaitGroup
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(lines) || ctx.Err() != nil {
					return
				}
				n, err := mirrorOne(ctx, client, lines[i], prefix, *out)
				if err != nil {
					errc <- err
					return
				}
				bytes.Add(n)
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "mirrored %d files, %d bytes, into %s\n", len(lines), bytes.Load(), *out)
	return nil
}

func mirrorOne(ctx context.Context, client *http.Client, u, prefix, out string) (int64, error) {
	path, ok := strings.CutPrefix(u, prefix)
	if !ok || !strings.HasPrefix(path, "/") || strings.Contains(path, "..") || strings.ContainsAny(path, "?#") {
		return 0, fmt.Errorf("%s: mirror takes plain paths below -base", u)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	file := filepath.Join(out, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return 0, err
	}
	return int64(len(body)), os.WriteFile(file, body, 0o644)
}

// ---- publish ----

func runPublish(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, 8, 2*time.Minute)
	token := fs.String("token", "", "API token (prefer -token-file)")
	tokenFile := fs.String("token-file", "", "file holding the API token")
	prefix := fs.String("prefix", "", "crate name prefix, unique per run (default: from the clock)")
	versions := fs.Int("versions", 1, "versions per crate: n publishes go to n/versions crates")
	warmupN := fs.Int("warmup-n", 0, "send this many publishes first, unmeasured")
	codeBytes := fs.Int("code-bytes", synth.Large, "size of each crate's src/lib.rs before compression (the default gives ~20 KB .crate files)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.requests == 0 {
		c.requests = 1000
	}
	if err := c.check(); err != nil {
		return err
	}
	if c.warmup > 0 {
		return errors.New("publish counts its warm-up: use -warmup-n")
	}
	if *warmupN < 0 || *warmupN > 100000 {
		return errors.New("-warmup-n must be between 0 and 100000")
	}
	if *versions < 1 || *versions > 64 {
		return errors.New("-versions must be between 1 and 64")
	}
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return err
		}
		*token = strings.TrimSpace(string(b))
	}
	if *token == "" {
		return errors.New("a token is needed: -token-file FILE (crated user add NAME prints one)")
	}
	if *prefix == "" {
		*prefix = "p" + strings.ToLower(fmt.Sprintf("%x", time.Now().UnixNano()/1e6))[4:]
	}

	// Build everything first, so that the client spends nothing but sending
	// while it is measured. The warm-up publishes come first in the list.
	n := *warmupN + c.requests
	fmt.Fprintf(stderr, "load: building %d crates in memory...\n", n)
	frames := buildFrames(*prefix, n, *versions, *codeBytes)
	var total int64
	for _, f := range frames {
		total += int64(len(f))
	}
	fmt.Fprintf(stderr, "load: average publish body %.1f KB\n", float64(total)/float64(n)/1024)

	client := newClient(c.concurrency, c.timeout)
	endpoint := strings.TrimSuffix(c.base, "/") + "/api/v1/crates/new"
	offset := 0 // the measured run starts after the warm-up's frames
	do := func(ctx context.Context, _ *rand.Rand, seq int) (int64, error) {
		i := offset + seq
		if i >= len(frames) {
			return 0, errors.New("out of prepared crates")
		}
		body := frames[i]
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, endpoint, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.ContentLength = int64(len(body))
		req.Header.Set("Authorization", *token)
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("publish: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
		}
		return int64(len(body)), nil
	}
	if *warmupN > 0 {
		warm := c
		warm.requests = *warmupN
		if _, err := drive(ctx, warm, 0, do); err != nil {
			return err
		}
		offset = *warmupN
	}
	res, err := drive(ctx, c, 0, do)
	if err != nil {
		return err
	}
	res.Mode = "publish"
	return res.write(stdout, c.format)
}

// buildFrames makes n publish bodies in parallel. Publish k goes to crate
// k mod K as its (k div K)-th version, K = ceil(n/versions), so that a
// crate's first version is sent long before its second. Crate k depends on
// crate k-1 of the same run, as private crates depend on each other.
func buildFrames(prefix string, n, versions, codeBytes int) [][]byte {
	k := (n + versions - 1) / versions
	frames := make([][]byte, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				crate, vers := i%k, i/k
				internal := ""
				if crate > 0 {
					internal = prefix + "-" + synth.Name(crate-1)
				}
				c := synth.New(prefix+"-"+synth.Name(crate), synth.Version(vers), codeBytes, internal)
				frames[i] = synth.Frame(c.Metadata(), c.Tarball())
			}
		}()
	}
	wg.Wait()
	return frames
}

// ---- the measuring loop ----

// doFunc sends request number seq and returns the body bytes it moved.
type doFunc func(ctx context.Context, r *rand.Rand, seq int) (int64, error)

// measure runs the warm-up, if any, then the measured run.
func measure(ctx context.Context, c common, rate float64, do doFunc) (*Result, error) {
	if c.warmup > 0 {
		warm := c
		warm.duration, warm.requests = c.warmup, 0
		if _, err := drive(ctx, warm, rate, do); err != nil {
			return nil, err
		}
	}
	return drive(ctx, c, rate, do)
}

// drive sends requests from c.concurrency workers until the duration or
// the request count is reached, then waits for the requests in flight.
func drive(ctx context.Context, c common, rate float64, do doFunc) (*Result, error) {
	deadline := time.Now().Add(c.duration)
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(c.timeout))
	defer cancel()

	var seq atomic.Int64
	// take returns the next request number, or -1 when the run is over.
	take := func() int {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return -1
		}
		s := int(seq.Add(1)) - 1
		if c.requests > 0 && s >= c.requests {
			return -1
		}
		return s
	}

	// Open loop: a pacer hands out the times at which requests are due.
	var due chan time.Time
	start := time.Now()
	if rate > 0 {
		due = make(chan time.Time, 4096)
		go func() {
			defer close(due)
			interval := time.Duration(float64(time.Second) / rate)
			for k := 0; ; k++ {
				t := start.Add(time.Duration(k) * interval)
				if t.After(deadline) || (c.requests > 0 && k >= c.requests) {
					return
				}
				if d := time.Until(t); d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
						return
					}
				}
				select {
				case due <- t:
				case <-ctx.Done():
					return
				}
			}
		}()
	}

	type workerResult struct {
		lat    []time.Duration
		errs   int
		bytes  int64
		errMsg []string
	}
	results := make([]workerResult, c.concurrency)
	cpu0 := processCPU()
	var wg sync.WaitGroup
	for w := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			res := &results[w]
			res.lat = make([]time.Duration, 0, 1024)
			for {
				var t0 time.Time
				s := 0
				if due != nil {
					t, ok := <-due
					if !ok {
						return
					}
					t0 = t
					s = int(seq.Add(1)) - 1
				} else {
					if s = take(); s < 0 {
						return
					}
					t0 = time.Now()
				}
				n, err := do(ctx, r, s)
				res.lat = append(res.lat, time.Since(t0))
				res.bytes += n
				if err != nil {
					res.errs++
					if len(res.errMsg) < 3 {
						res.errMsg = append(res.errMsg, err.Error())
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	out := &Result{Concurrency: c.concurrency, Rate: rate}
	var lat []time.Duration
	seen := map[string]bool{}
	for _, r := range results {
		lat = append(lat, r.lat...)
		out.Errors += r.errs
		out.Bytes += r.bytes
		for _, m := range r.errMsg {
			if !seen[m] && len(out.FirstErrors) < 5 {
				seen[m] = true
				out.FirstErrors = append(out.FirstErrors, m)
			}
		}
	}
	summarize(out, lat, elapsed)
	if out.Requests > 0 {
		out.ClientCPU = (processCPU() - cpu0).Seconds() * 1000 / float64(out.Requests)
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return out, err
	}
	return out, nil
}

// processCPU is the user and system CPU time this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
