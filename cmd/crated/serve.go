package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/crated/crated/app"
)

// serve runs the registry until ctx ends, saying what happened at start and
// at shutdown: the configuration file, the address actually bound, a
// listener on every interface that nobody asked for, how to create the first
// user.
func serve(ctx context.Context, m *app.Main) error {
	cfg, log := m.Config, m.Logger
	if cfg.File != "" {
		log.Info("configuration file", "file", cfg.File)
	} else {
		log.Info("no configuration file: the embedded default", "hint", "create ./crated.toml or pass -c FILE to configure")
	}
	if cfg.File != "" && cfg.Origin("server_config.address") == "" && (cfg.Server.Address == "0.0.0.0" || cfg.Server.Address == "::") {
		log.Warn(fmt.Sprintf("server_config.address is not set in %s: listening on every network interface (Ktra's default); "+
			"set address = \"127.0.0.1\" to accept local connections only (behind a proxy on the same machine), "+
			"or set it to %q to keep this and silence this warning", cfg.File, cfg.Server.Address))
	}
	if err := m.Open(ctx); err != nil {
		return err
	}
	m.Start()
	if users, err := m.Store.ListUsers(ctx); err == nil && len(users) == 0 {
		log.Info("no users yet; create the first one with: " + userAddCommand(cfg.File))
	}
	// Last of the start: tools wait for this line.
	log.Info("listening", "address", m.Addr().String(), "store", m.StoreName())
	<-ctx.Done()
	log.Info("shutting down: finishing requests in flight")
	err := m.Close()
	if err != nil {
		log.Error("shutdown", "err", err)
	} else {
		log.Info("stopped")
	}
	return err
}

// userAddCommand is the exact command that adds a user to this server's
// registry, with the file the server was started with.
func userAddCommand(file string) string {
	cmd := progName + " user add NAME"
	if file != "" {
		cmd += " -c " + shellQuote(file)
	}
	return cmd
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '.' || c == '-' || c == '_') {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}
