package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// crates.io as Cargo.lock names it, in both protocols.
var cratesIOSources = []string{
	"registry+https://github.com/rust-lang/crates.io-index",
	"sparse+https://index.crates.io/",
}

// runMirror is `crated mirror prefetch`: it fills the mirror's cache with
// every registry package of the given Cargo.lock files, so that builds keep
// working when the upstream cannot be reached (air-gapped networks).
var mirrorSpecs = []*cmdSpec{{
	name:     "mirror prefetch",
	synopsis: "LOCKFILE... [-c FILE]",
	about: `Fills the mirror's cache ([mirror_config]) with every registry package of the given
Cargo.lock files, so that builds keep working when the upstream cannot be reached
(air-gapped networks). Like serve, it creates the registry when it does not exist yet, so
that a cache can be prepared before the server first runs.`,
	nargs:    1,
	variadic: true,
}}

func runMirror(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cl, m, err := start("mirror", mirrorSpecs, args, stdout, stderr)
	if err != nil {
		return err
	}
	locks := cl.args
	if m.Config.Mirror == nil {
		return errors.New("mirror prefetch: [mirror_config] is not set in the configuration")
	}
	if err := m.OpenStores(ctx); err != nil {
		return err
	}
	defer m.Close()
	mir, err := m.NewMirror(ctx)
	if err != nil {
		return err
	}
	upstream := strings.TrimSuffix(mir.Upstream(), "/")
	sources := append([]string{"sparse+" + upstream + "/", "registry+" + upstream}, cratesIOSources...)
	// A lockfile made against this crated's own mirror names it instead.
	if base := strings.TrimSuffix(m.Config.Server.BaseURL, "/"); base != "" {
		sources = append(sources, "sparse+"+base+"/mirror/index/", "sparse+"+base+"/all/index/")
	}

	pkgs, skipped, err := lockedPackages(locks, sources)
	if err != nil {
		return err
	}

	var bar *progressbar.ProgressBar
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar = progressbar.NewOptions(len(pkgs),
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("prefetch"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))
	}

	// Workers as many as the upstream requests the mirror allows in flight.
	workers := max(1, m.Config.Mirror.UpstreamConcurrency)
	var (
		mu              sync.Mutex
		fetched, cached int
		failures        []string
		wg              sync.WaitGroup
		next            = make(chan lockedPackage)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				cksum, got, err := mir.Prefetch(ctx, p.Name, p.Version)
				if err == nil && p.Checksum != "" && cksum != p.Checksum {
					err = fmt.Errorf("Cargo.lock has checksum %s, the upstream index %s", p.Checksum, cksum)
				}
				mu.Lock()
				switch {
				case err != nil:
					failures = append(failures, fmt.Sprintf("%s %s: %v", p.Name, p.Version, err))
				case got:
					fetched++
				default:
					cached++
				}
				if bar != nil {
					bar.Add(1)
				}
				mu.Unlock()
			}
		}()
	}
	for _, p := range pkgs {
		select {
		case next <- p:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()

	fmt.Fprintf(stdout, "%d packages: %d fetched, %d already cached, %d failed; %d skipped (not from %s)\n",
		len(pkgs), fetched, cached, len(failures), skipped, upstream+"/")
	sort.Strings(failures)
	for _, f := range failures {
		fmt.Fprintln(stderr, "  failed:", f)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(failures) > 0 {
		return fmt.Errorf("mirror prefetch: %d packages could not be cached", len(failures))
	}
	return nil
}

type lockedPackage struct {
	Name     string `toml:"name"`
	Version  string `toml:"version"`
	Source   string `toml:"source"`
	Checksum string `toml:"checksum"`
}

// lockedPackages reads the Cargo.lock files and returns each package from
// one of sources once, and how many packages came from elsewhere (git, other
// registries).
func lockedPackages(files []string, sources []string) ([]lockedPackage, int, error) {
	seen := map[[2]string]bool{}
	var out []lockedPackage
	skipped := 0
	for _, file := range files {
		var lock struct {
			Package []lockedPackage `toml:"package"`
		}
		if _, err := toml.DecodeFile(file, &lock); err != nil {
			return nil, 0, fmt.Errorf("mirror prefetch: %s: %w", file, err)
		}
		for _, p := range lock.Package {
			if p.Source == "" {
				continue // the workspace's own packages
			}
			if !fromSources(p.Source, sources) {
				skipped++
				continue
			}
			k := [2]string{p.Name, p.Version}
			if !seen[k] {
				seen[k] = true
				out = append(out, p)
			}
		}
	}
	return out, skipped, nil
}

func fromSources(src string, sources []string) bool {
	src = strings.TrimSuffix(src, "/")
	for _, s := range sources {
		if src == strings.TrimSuffix(s, "/") {
			return true
		}
	}
	return false
}
