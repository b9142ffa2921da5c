package testenv

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/crated/crated/app"
	"github.com/crated/crated/config"
)

// Crated is a crated server running in-process for a test.
type Crated struct {
	*app.Main
	// Dir holds its data; it survives Restart.
	Dir string
	t   testing.TB
	cfg *config.Config
	// logTo, when set, receives every log line at debug level.
	logTo io.Writer
}

// StartCrated starts crated on 127.0.0.1, port 0, with its data in a temp
// dir. edit may change the configuration first.
func StartCrated(t testing.TB, edit ...func(*config.Config)) *Crated {
	t.Helper()
	return startCrated(t, nil, edit...)
}

// StartCratedLogging is StartCrated with every log line, at debug level,
// written to w: for tests that check what the logs hold.
func StartCratedLogging(t testing.TB, w io.Writer, edit ...func(*config.Config)) *Crated {
	t.Helper()
	return startCrated(t, w, edit...)
}

func startCrated(t testing.TB, logTo io.Writer, edit ...func(*config.Config)) *Crated {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Server.Address = "127.0.0.1"
	cfg.Server.Port = 0
	cfg.Server.BaseURL = ""
	cfg.DB.DBDirPath = filepath.Join(dir, "db")
	cfg.CrateFiles.DLDirPath = filepath.Join(dir, "crates")
	for _, e := range edit {
		e(cfg)
	}
	c := &Crated{Dir: dir, t: t, cfg: cfg, logTo: logTo}
	c.start()
	t.Cleanup(func() { c.Stop() })
	return c
}

func (c *Crated) start() {
	c.t.Helper()
	m := app.NewMain()
	m.Config = c.cfg
	level := slog.LevelWarn
	if os.Getenv("CRATED_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	var out io.Writer = os.Stderr
	if c.logTo != nil {
		out, level = c.logTo, slog.LevelDebug
	}
	m.Logger = slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}))
	if err := m.Open(context.Background()); err != nil {
		c.t.Fatalf("start crated: %v", err)
	}
	m.Start()
	c.Main = m
}

// Stop stops the server; safe to call twice.
func (c *Crated) Stop() {
	if c.Main != nil {
		if err := c.Main.Close(); err != nil {
			c.t.Errorf("stop crated: %v", err)
		}
		c.Main = nil
	}
}

// Restart stops crated and starts it again on the same data, on the same
// port so clients' configuration stays valid.
func (c *Crated) Restart() {
	c.t.Helper()
	url := c.URL
	c.Stop()
	c.cfg.Server.BaseURL = url
	_, port, _ := splitHostPort(url)
	c.cfg.Server.Port = port
	c.start()
}

// IndexURL is the sparse index URL for cargo.
func (c *Crated) IndexURL() string { return "sparse+" + c.URL + "/index/" }

// AddUser creates a password user and returns its token.
func (c *Crated) AddUser(name string) string {
	c.t.Helper()
	_, token, err := c.Service.CreateUser(context.Background(), name, "")
	if err != nil {
		c.t.Fatalf("add user %s: %v", name, err)
	}
	return token
}
