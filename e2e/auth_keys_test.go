package e2e

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crated/crated"
	"github.com/crated/crated/app"
	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// TestLoginLimitKeys: login_max_failures and login_failure_window decide
// when the password API locks a name out, and the Retry-After it sends.
func TestLoginLimitKeys(t *testing.T) {
	srv := testenv.StartCrated(t, func(c *config.Config) {
		c.Server.LoginMaxFailures = 2
		c.Server.LoginFailureWindow = time.Hour
	})
	if _, _, err := srv.Service.CreateUser(context.Background(), "bob", "long enough"); err != nil {
		t.Fatal(err)
	}
	login := func(password string) (int, http.Header) {
		resp, err := http.Post(srv.URL+"/ktra/api/v1/login/bob", "application/json",
			bytes.NewReader([]byte(`{"password":"`+password+`"}`)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	for i := range 2 {
		if code, _ := login("wrong password"); code != http.StatusForbidden {
			t.Fatalf("wrong password %d: %d, want 403", i+1, code)
		}
	}
	code, h := login("long enough")
	if code != http.StatusTooManyRequests {
		t.Fatalf("third attempt: %d, want 429 after login_max_failures = 2", code)
	}
	if s, err := strconv.Atoi(h.Get("Retry-After")); err != nil || s < 3000 || s > 3600 {
		t.Errorf("Retry-After %q, want about login_failure_window (3600 s)", h.Get("Retry-After"))
	}
}

// TestOpenIDHTTPTimeoutKey: http_timeout bounds the calls to the provider;
// a provider that accepts connections and never answers stops the start
// with an error once it has passed, well before the 10 s default.
func TestOpenIDHTTPTimeoutKey(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Server.Port = 0
	cfg.Server.BaseURL = ""
	cfg.DB.DBDirPath = filepath.Join(dir, "db")
	cfg.CrateFiles.DLDirPath = filepath.Join(dir, "crates")
	cfg.OpenID = testenv.LoadOpenID(t, `[openid_config]
issuer_url = "http://`+ln.Addr().String()+`"
redirect_url = "http://crates.example.com"
client_id = "crated"
client_secret = "s"
http_timeout = "300ms"
`)
	m := app.NewMain()
	m.Config = cfg
	m.Logger = slog.New(slog.DiscardHandler)
	done := make(chan error, 1)
	go func() { done <- m.Open(context.Background()) }()
	select {
	case err := <-done:
		if err == nil {
			m.Close()
			t.Fatal("Main.Open succeeded against a silent provider")
		}
		if !crated.IsCode(err, crated.EUNAVAILABLE) || !strings.Contains(err.Error(), "openid_config") {
			t.Errorf("Main.Open = %v, want EUNAVAILABLE naming openid_config", err)
		}
	case <-time.After(8 * time.Second):
		// 300 ms configured; the 10 s default would end here.
		t.Fatal("Main.Open still waits for a silent provider: http_timeout is not applied")
	}
}

// TestQueryTimeoutKey: with PostgreSQL, a request whose query gets no
// answer within db_config.query_timeout (the table is locked by another
// session) gets 503 instead of waiting for the lock.
func TestQueryTimeoutKey(t *testing.T) {
	dbURL := testenv.PostgresURL(t)
	srv := testenv.StartCrated(t, func(c *config.Config) {
		c.DB.PostgresURL = dbURL
		c.DB.QueryTimeout = 300 * time.Millisecond
	})
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `LOCK TABLE crates IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	code, body, _ := do(t, "GET", srv.URL+"/api/v1/crates?q=x", "", nil)
	if code != http.StatusServiceUnavailable {
		t.Errorf("search behind a locked table: %d %s, want 503", code, body)
	}
	tx.Rollback(ctx)
	if code, body, _ := do(t, "GET", srv.URL+"/api/v1/crates?q=x", "", nil); code != http.StatusOK {
		t.Errorf("search after the lock: %d %s, want 200", code, body)
	}
}
