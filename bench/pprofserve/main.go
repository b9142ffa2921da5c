// Command pprofserve is `crated serve` with Go's profiler on a second,
// loopback-only port, to find where the time of a benchmark goes:
//
//	pprofserve -pprof 127.0.0.1:6060 [crated serve flags]
//	go tool pprof -top 'http://127.0.0.1:6060/debug/pprof/profile?seconds=10'
//	go tool pprof -sample_index=inuse_space -top http://127.0.0.1:6060/debug/pprof/heap
//
// It wires crated exactly as the real command does (app.Main from the same
// configuration flags), so a profile shows the server that was measured,
// not a copy of it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/crated/crated/app"
	"github.com/crated/crated/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "pprofserve:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("pprofserve", flag.ContinueOnError)
	flags := config.RegisterFlags(fs)
	addr := fs.String("pprof", "127.0.0.1:6060", "loopback address of the profiler")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if host, _, err := net.SplitHostPort(*addr); err != nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("-pprof %q: must be a loopback IP and port", *addr)
	}
	cfg, err := config.Load(flags.ConfigFile(), os.Environ(), flags)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ps := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := ps.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "pprofserve: profiler:", err)
		}
	}()
	defer ps.Close()

	m := app.NewMain()
	m.Config = cfg
	m.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return m.Run(ctx)
}
