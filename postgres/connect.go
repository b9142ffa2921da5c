package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crated/crated"
)

// configKey is the setting that holds the URL, named in every error about it.
const configKey = "db_config.postgres_url"

// Pool defaults for one replica among several; see the package comment.
// Each applies unless the URL sets it (pool_max_conns, ...).
const (
	defaultMaxConns        = 10
	defaultMaxConnIdleTime = 5 * time.Minute
	defaultMaxConnLifetime = 30 * time.Minute
	// maxConnLifetimeJitter spreads the replacement of the connections so
	// that a pool never renews them all at once.
	maxConnLifetimeJitter = 5 * time.Minute
	// defaultConnectTimeout bounds a connection attempt to an unreachable
	// host, which would otherwise wait for the operating system's TCP
	// timeout (minutes).
	defaultConnectTimeout = 10 * time.Second
	// pingTimeout bounds the liveness check of an idle connection.
	pingTimeout = 5 * time.Second
	// applicationName shows crated's connections in pg_stat_activity.
	applicationName = "crated"
)

// poolConfig parses the URL and applies the defaults it does not override.
func poolConfig(rawURL string) (*pgxpool.Config, error) {
	if strings.TrimSpace(rawURL) == "" {
		return nil, crated.Errorf(crated.EINVALID, "%s is empty", configKey)
	}
	if m := urlScheme.FindStringSubmatch(rawURL); m != nil && m[1] != "postgres" && m[1] != "postgresql" {
		return nil, crated.Errorf(crated.EINVALID, "%s must start with postgres:// or postgresql://, not %s://", configKey, m[1])
	}
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, parseError(rawURL, err)
	}
	// pgxpool removed its own parameters from the connection's; look at
	// them in a plain parse.
	given, err := pgconn.ParseConfig(rawURL)
	if err != nil {
		return nil, parseError(rawURL, err)
	}
	set := func(param string) bool { _, ok := given.RuntimeParams[param]; return ok }
	if !set("pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	if !set("pool_max_conn_idle_time") {
		cfg.MaxConnIdleTime = defaultMaxConnIdleTime
	}
	if !set("pool_max_conn_lifetime") {
		cfg.MaxConnLifetime = defaultMaxConnLifetime
	}
	if !set("pool_max_conn_lifetime_jitter") {
		cfg.MaxConnLifetimeJitter = maxConnLifetimeJitter
	}
	if !set("pool_ping_timeout") {
		cfg.PingTimeout = pingTimeout
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = applicationName
	}
	return cfg, nil
}

// listenConfig is the configuration of Listen's connection: the pool's, under
// its own application name so that an operator can tell it apart.
func listenConfig(c *pgx.ConnConfig) *pgx.ConnConfig {
	lc := c.Copy()
	lc.RuntimeParams["application_name"] = c.RuntimeParams["application_name"] + "-listener"
	return lc
}

// parseError explains a URL that pgx cannot parse. The driver's message
// quotes the URL (with the password masked only on a best-effort basis), so
// the reason is rebuilt without the URL and scrubbed of the password.
func parseError(rawURL string, err error) error {
	reason := "cannot parse it"
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		// pe.Error() is "cannot parse `URL`: MESSAGE" or
		// "cannot parse `URL`: MESSAGE (INNER)"; keep MESSAGE.
		full := pe.Error()
		if i := strings.Index(full, "`: "); i >= 0 {
			reason = full[i+len("`: "):]
		}
		if inner := errors.Unwrap(pe); inner != nil {
			reason = strings.TrimSuffix(reason, " ("+inner.Error()+")")
			// url.Error quotes the URL too: keep only what is wrong.
			var ue *url.Error
			if errors.As(inner, &ue) {
				inner = ue.Err
			}
			reason += ": " + inner.Error()
		}
		reason = scrub(rawURL, reason)
	}
	return crated.Errorf(crated.EINVALID,
		"%s is not a valid PostgreSQL URL (%s); the expected form is postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=require",
		configKey, reason)
}

// connectError explains why the first connection failed, naming the server,
// the user and the database but never the password.
func connectError(rawURL string, c *pgx.ConnConfig, err error) error {
	where := serverName(c)
	if e := pgError(err); e != nil {
		switch {
		case e.Code == "3D000": // invalid_catalog_name
			return crated.Errorf(crated.EINVALID,
				"%s: database %q does not exist on the PostgreSQL server %s; create it (CREATE DATABASE) or fix the URL",
				configKey, c.Database, where)
		case e.Code == "28P01" || e.Code == "28000": // invalid password, invalid authorization
			return crated.Errorf(crated.EINVALID,
				"%s: the PostgreSQL server %s refused user %q: %s (SQLSTATE %s); check the user name and the password",
				configKey, where, c.User, scrub(rawURL, e.Message), e.Code)
		default:
			return crated.Errorf(crated.EUNAVAILABLE, "%s: the PostgreSQL server %s refused the connection: %s (SQLSTATE %s)",
				configKey, where, scrub(rawURL, e.Message), e.Code)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return crated.Errorf(crated.EUNAVAILABLE, "%s: no answer from the PostgreSQL server %s in time", configKey, where)
	}
	reason := err.Error()
	var opErr *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		reason = dnsErr.Error()
	case errors.As(err, &opErr):
		reason = opErr.Err.Error()
	}
	return crated.Errorf(crated.EUNAVAILABLE, "%s: cannot connect to the PostgreSQL server %s as user %q, database %q: %s",
		configKey, where, c.User, c.Database, scrub(rawURL, reason))
}

// serverName is host:port of the first server the configuration names (or
// the socket directory).
func serverName(c *pgx.ConnConfig) string {
	if strings.HasPrefix(c.Host, "/") {
		return fmt.Sprintf("%s (socket, port %d)", c.Host, c.Port)
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))
}

// urlScheme finds the scheme of a URL (and nothing in a key=value string,
// whose password may contain "://").
var urlScheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)

// keywordPassword finds the password of a key=value connection string,
// queryPassword the one in the query of a URL.
var (
	keywordPassword = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)
	queryPassword   = regexp.MustCompile(`[?&]password=([^&#]*)`)
)

// passwords lists the spellings of the password that rawURL holds, found
// even in a URL too broken to parse, longest first.
func passwords(rawURL string) []string {
	var out []string
	if urlScheme.MatchString(rawURL) {
		_, rest, _ := strings.Cut(rawURL, "://")
		// The authority ends at the first '/', '?' or '#'; the user info
		// is what precedes its last '@'.
		authority := rest
		if i := strings.IndexAny(authority, "/?#"); i >= 0 {
			authority = authority[:i]
		}
		if at := strings.LastIndex(authority, "@"); at >= 0 {
			if _, pw, ok := strings.Cut(authority[:at], ":"); ok {
				out = append(out, pw)
				if u, err := url.PathUnescape(pw); err == nil {
					out = append(out, u)
				}
			}
		}
		for _, m := range queryPassword.FindAllStringSubmatch(rawURL, -1) {
			out = append(out, m[1])
			if u, err := url.QueryUnescape(m[1]); err == nil {
				out = append(out, u)
			}
		}
	} else {
		for _, m := range keywordPassword.FindAllStringSubmatch(rawURL, -1) {
			out = append(out, m[1], strings.Trim(m[1], "'"))
		}
	}
	// Longest first, so that a shorter spelling replaced first cannot
	// leave the rest of a longer one behind.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// scrub removes every spelling of the password in rawURL from text.
func scrub(rawURL, text string) string {
	for _, pw := range passwords(rawURL) {
		if pw != "" {
			text = strings.ReplaceAll(text, pw, "xxxxx")
		}
	}
	return text
}
