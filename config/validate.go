package config

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/crated/crated/cargo"
)

// Validate checks the whole configuration and reports every problem at once,
// each naming its key (and, after Load, where the value came from). It only
// reads c, so it also serves configurations built in code.
func (c *Config) Validate() error {
	v := &validator{c: c}
	c.validateServer(v)
	c.validateDB(v)
	c.validateCrateFiles(v)
	if c.Index != nil {
		c.validateIndex(v)
	}
	if c.OpenID != nil {
		c.validateOpenID(v)
	}
	if c.Mirror != nil {
		c.validateMirror(v)
	}
	c.validateTrustedPublishing(v)
	return v.p.err()
}

type validator struct {
	c *Config
	p problems
}

// fail reports a problem with key.
func (v *validator) fail(key, format string, args ...any) {
	v.p.addf("%s%s: %s", key, v.c.origin(key), fmt.Sprintf(format, args...))
}

// required reports key when its value is empty.
func (v *validator) required(key, value, why string) {
	if strings.TrimSpace(value) == "" {
		v.fail(key, "is required%s", why)
	}
}

// httpURL checks that s is an absolute http or https URL. The value is not
// echoed when secret.
func (v *validator) httpURL(key, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.fail(key, "%q is not an http:// or https:// URL", s)
		return
	}
	if u.RawQuery != "" || u.Fragment != "" {
		v.fail(key, "%q must not have a query or fragment", s)
	}
}

func (c *Config) validateServer(v *validator) {
	s := &c.Server
	if !validAddress(s.Address) {
		v.fail("server_config.address", "%q is not an IP address: use for example \"0.0.0.0\", \"::\", \"127.0.0.1\" or [0, 0, 0, 0]", s.Address)
	}
	if s.Port < 0 || s.Port > 65535 {
		v.fail("server_config.port", "%d is out of range 0..65535", s.Port)
	}
	// An empty base_url is left only for port 0, where the server derives
	// it once it knows the port it got.
	if s.BaseURL != "" || s.Port != 0 {
		v.httpURL("server_config.base_url", s.BaseURL)
	}
	if s.MaxCrateSize <= 0 {
		v.fail("server_config.max_crate_size", "must be a positive number of bytes, got %d", s.MaxCrateSize)
	}
	if s.MaxMetadataSize <= 0 {
		v.fail("server_config.max_metadata_size", "must be a positive number of bytes, got %d", s.MaxMetadataSize)
	}
	for _, l := range []struct {
		key   string
		value int64
	}{
		{"max_unpacked_size", s.MaxUnpackedSize}, {"max_files", int64(s.MaxFiles)},
		{"max_path_length", int64(s.MaxPathLength)}, {"max_manifest_size", s.MaxManifestSize},
		{"max_dependencies", int64(s.MaxDependencies)}, {"max_features", int64(s.MaxFeatures)},
		{"max_feature_values", int64(s.MaxFeatureValues)}, {"max_version_length", int64(s.MaxVersionLength)},
		{"max_description_length", int64(s.MaxDescriptionLength)}, {"max_keywords", int64(s.MaxKeywords)},
		{"max_keyword_length", int64(s.MaxKeywordLength)}, {"max_categories", int64(s.MaxCategories)},
	} {
		// 0 would read as "the default" in cargo.Limits: refuse it rather
		// than let a limit silently differ from what the file says.
		if l.value <= 0 {
			v.fail("server_config."+l.key, "must be positive, got %d", l.value)
		}
	}
	for _, n := range s.ReservedNames {
		if err := cargo.ValidateName(n); err != nil {
			v.fail("server_config.reserved_names", "%q is not a crate name", n)
		}
	}
	if !validRegistryName(s.RegistryName) {
		v.fail("server_config.registry_name", "%q is not a registry name cargo accepts: ASCII letters, digits, '-' and '_', starting with a letter, at most 64", s.RegistryName)
	}
	if s.ReadTimeout < 0 {
		v.fail("server_config.read_timeout", "must not be negative, got %s", s.ReadTimeout)
	}
	if s.WriteTimeout < 0 {
		v.fail("server_config.write_timeout", "must not be negative, got %s", s.WriteTimeout)
	}
	if s.LogFormat != "text" && s.LogFormat != "json" {
		v.fail("server_config.log_format", "%q is not a log format: use \"text\" or \"json\"", s.LogFormat)
	}
	if s.MetricsAddress != "" {
		if _, port, err := net.SplitHostPort(s.MetricsAddress); err != nil || port == "" {
			v.fail("server_config.metrics_address", "%q is not host:port, such as \"127.0.0.1:9100\" or \":9100\"", s.MetricsAddress)
		}
	}
	for _, p := range s.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			v.fail("server_config.trusted_proxies", "%q is not a CIDR such as \"10.0.0.0/8\" or an IP address", p)
		}
	}
	for _, l := range []struct {
		key string
		n   int
	}{
		{"server_config.login_rate_limit", s.LoginRateLimit},
		{"server_config.token_rate_limit", s.TokenRateLimit},
		{"server_config.publish_rate_limit", s.PublishRateLimit},
	} {
		if l.n < 0 {
			v.fail(l.key, "must be a number of requests per minute, or 0 for no limit; got %d", l.n)
		}
	}
	if s.PasswordHashConcurrency < 0 {
		v.fail("server_config.password_hash_concurrency", "must be 0 (one per CPU) or a positive number, got %d", s.PasswordHashConcurrency)
	}
	if s.PasswordHashWait <= 0 {
		v.fail("server_config.password_hash_wait", "must be positive, got %s", s.PasswordHashWait)
	}
	if s.LoginMaxFailures <= 0 {
		v.fail("server_config.login_max_failures", "must be a positive number of failed logins, got %d", s.LoginMaxFailures)
	}
	if s.LoginFailureWindow <= 0 {
		v.fail("server_config.login_failure_window", "must be positive, got %s", s.LoginFailureWindow)
	}
	if s.StaticDir != "" && filepath.Clean(s.StaticDir) == filepath.Clean(c.CrateFiles.DLDirPath) {
		// Sync removes every file of the tree it did not write.
		v.fail("server_config.static_dir", "must not be crate_files_config.dl_dir_path (%q): crated removes files there that the index does not name", s.StaticDir)
	}
}

// importHint ends the messages about Ktra's other database backends.
const importHint = "crated stores metadata in SQLite (the default, under db_config.db_dir_path) " +
	"or PostgreSQL (set db_config.postgres_url); bring Ktra's crates over from its index checkout " +
	"(index_config.local_path) and dl_dir_path with `crated import` (docs/import.md), " +
	"and re-create its users with `crated user add`"

func (c *Config) validateDB(v *validator) {
	d := &c.DB
	if d.RedisURL != "" {
		v.fail("db_config.redis_url", "Redis is not a crated backend: %s", importHint)
	}
	if d.MongoDBURL != "" {
		v.fail("db_config.mongodb_url", "MongoDB is not a crated backend: %s", importHint)
	}
	if d.QueryTimeout <= 0 {
		v.fail("db_config.query_timeout", "must be positive, got %s", d.QueryTimeout)
	}
	if d.PostgresURL != "" {
		// The value holds a password: never show it.
		if !validPostgresURL(d.PostgresURL) {
			key := "db_config.postgres_url"
			if d.PostgresURLFile != "" {
				key = "db_config.postgres_url_file"
			}
			v.fail(key, "must be a postgres:// or postgresql:// URL, or a key=value connection string (value not shown: it may hold a password)")
		}
	} else {
		v.required("db_config.db_dir_path", d.DBDirPath, " unless db_config.postgres_url is set")
	}
}

func validPostgresURL(s string) bool {
	if scheme, _, ok := strings.Cut(s, "://"); ok {
		if scheme != "postgres" && scheme != "postgresql" {
			return false
		}
		_, err := url.Parse(s)
		return err == nil
	}
	// libpq's keyword form: "host=db user=crated dbname=crated".
	return strings.Contains(s, "=")
}

func (c *Config) validateCrateFiles(v *validator) {
	f := &c.CrateFiles
	if f.S3Bucket == "" {
		v.required("crate_files_config.dl_dir_path", f.DLDirPath, " unless crate_files_config.s3_bucket is set")
		// Any other S3 setting without a bucket is a half-done switch to S3.
		for _, s := range []struct {
			key string
			set bool
		}{
			{"s3_endpoint", f.S3Endpoint != ""},
			{"s3_region", f.S3Region != ""},
			{"s3_access_key", f.S3AccessKey != ""},
			{"s3_secret_key", f.S3SecretKey != ""},
			{"s3_prefix", f.S3Prefix != ""},
			{"s3_path_style", f.S3PathStyle != nil},
			{"s3_redirect_downloads", f.S3RedirectDownloads},
			{"s3_static_prefix", f.S3StaticPrefix != ""},
		} {
			if s.set {
				v.fail("crate_files_config."+s.key, "is set but crate_files_config.s3_bucket is not: set the bucket to store crates in S3")
			}
		}
	} else {
		if f.S3Endpoint != "" {
			v.httpURL("crate_files_config.s3_endpoint", f.S3Endpoint)
		}
		if (f.S3AccessKey == "") != (f.S3SecretKey == "") {
			v.fail("crate_files_config.s3_access_key", "and crate_files_config.s3_secret_key must be set together (or both left empty to use the environment's credentials)")
		}
		if f.S3Timeout < time.Second || f.S3Timeout > 10*time.Minute {
			v.fail("crate_files_config.s3_timeout", "must be between 1s and 10m, got %s", f.S3Timeout)
		}
		if f.S3MaxRetries < 0 || f.S3MaxRetries > 10 {
			v.fail("crate_files_config.s3_max_retries", "must be between 0 and 10, got %d", f.S3MaxRetries)
		}
	}
	if p := f.S3StaticPrefix; p != "" && f.S3Bucket != "" {
		switch first, _, _ := strings.Cut(p, "/"); {
		case first == "crates" || first == "mirror":
			v.fail("crate_files_config.s3_static_prefix", "%q would mix the static tree with the crate files kept under %q/: choose another prefix, such as \"static\"", p, first)
		case c.Server.AuthRequired:
			// A CDN or a bucket cannot check cargo tokens.
			v.fail("crate_files_config.s3_static_prefix", "cannot be used with server_config.auth_required: a bucket or CDN would serve a private registry to anyone; use server_config.static_dir behind nginx (crated nginx-config) instead")
		}
	}
	if len(f.DLPath) == 0 {
		v.fail("crate_files_config.dl_path", "must have at least one path segment, such as [\"dl\"]")
	}
	for _, seg := range f.DLPath {
		if seg == "." || seg == ".." || strings.ContainsAny(seg, "/?#") {
			v.fail("crate_files_config.dl_path", "segment %q is not a plain path segment", seg)
		}
	}
	if p := strings.Join(f.DLPath, "/"); p == "api" || p == "api/v1" {
		// /{dl_path}/{name}/{version}/download would overlap the web API's
		// /api/v1/crates/{name}[/{version}] routes.
		v.fail("crate_files_config.dl_path", "%q overlaps cargo's web API under /api/v1/crates; use [\"dl\"] (or [\"api\", \"v1\", \"crates\"], which is the API's own download route)", p)
	}
	if c.Mirror != nil {
		v.required("crate_files_config.cache_dir_path", f.CacheDirPath, " with [mirror_config]")
	}
}

func (c *Config) validateIndex(v *validator) {
	x := c.Index
	v.required("index_config.branch", x.Branch, "")
	v.required("index_config.local_path", x.LocalPath, "")
	v.required("index_config.name", x.Name, "")
	if strings.ContainsAny(x.Branch, " ~^:?*[\\") {
		v.fail("index_config.branch", "%q is not a valid git branch name", x.Branch)
	}
	if x.SSHPubkeyPath != "" && x.SSHPrivkeyPath == "" {
		v.fail("index_config.ssh_pubkey_path", "is set but index_config.ssh_privkey_path is not")
	}
}

func (c *Config) validateOpenID(v *validator) {
	o := c.OpenID
	const why = " in [openid_config]"
	v.required("openid_config.issuer_url", o.IssuerURL, why)
	v.required("openid_config.redirect_url", o.RedirectURL, why)
	v.required("openid_config.client_id", o.ClientID, why)
	if o.ClientSecret == "" {
		v.fail("openid_config.client_secret", "is required%s (or openid_config.client_secret_file)", why)
	}
	if o.HTTPTimeout <= 0 {
		v.fail("openid_config.http_timeout", "must be positive, got %s", o.HTTPTimeout)
	}
	if o.IssuerURL != "" {
		v.httpURL("openid_config.issuer_url", o.IssuerURL)
	}
	if o.RedirectURL != "" {
		v.httpURL("openid_config.redirect_url", o.RedirectURL)
	}
	v.required("openid_config.groups_claim", o.GroupsClaim, "")
	v.required("openid_config.username_claim", o.UsernameClaim, "")
}

func (c *Config) validateMirror(v *validator) {
	m := c.Mirror
	v.required("mirror_config.upstream_index", m.UpstreamIndex, " in [mirror_config]")
	if m.UpstreamIndex != "" {
		v.httpURL("mirror_config.upstream_index", m.UpstreamIndex)
	}
	if m.IndexTTL < 0 {
		v.fail("mirror_config.index_ttl", "must not be negative, got %s", m.IndexTTL)
	}
	if m.MinAge < 0 {
		v.fail("mirror_config.min_age", "must not be negative, got %s", m.MinAge)
	}
	if m.UpstreamTimeout <= 0 {
		v.fail("mirror_config.upstream_timeout", "must be positive, got %s", m.UpstreamTimeout)
	}
	if m.UpstreamConcurrency < 1 || m.UpstreamConcurrency > 256 {
		v.fail("mirror_config.upstream_concurrency", "must be between 1 and 256, got %d", m.UpstreamConcurrency)
	}
	for _, l := range []struct {
		key  string
		pats []string
	}{{"mirror_config.allow", m.Allow}, {"mirror_config.deny", m.Deny}} {
		for _, p := range l.pats {
			if _, err := path.Match(p, ""); err != nil {
				v.fail(l.key, "%q is not a valid pattern", p)
			}
		}
	}
}

func (c *Config) validateTrustedPublishing(v *validator) {
	tp := &c.TrustedPublishing
	if tp.GitHubIssuer != "" {
		v.httpURL("trusted_publishing.github_issuer", tp.GitHubIssuer)
	}
	for _, u := range tp.GitLabIssuers {
		v.httpURL("trusted_publishing.gitlab_issuers", u)
	}
	if strings.Contains(tp.Audience, "://") || strings.ContainsAny(tp.Audience, " \t") {
		v.fail("trusted_publishing.audience", "%q must be a bare audience such as \"crates.example.com\", without a scheme", tp.Audience)
	}
	if tp.HTTPTimeout <= 0 {
		v.fail("trusted_publishing.http_timeout", "must be positive, got %s", tp.HTTPTimeout)
	}
}

// Warnings returns advice about a valid configuration that the server
// should log at start: nothing here stops it.
func (c *Config) Warnings() []string {
	var w []string
	s := &c.Server
	if _, set := c.sources["server_config.base_url"]; !set && (s.Address == "0.0.0.0" || s.Address == "::") && s.BaseURL != "" {
		w = append(w, fmt.Sprintf("server_config.base_url is not set: using %s, which other machines cannot reach; set it to the URL clients use", s.BaseURL))
	}
	// Secrets written into the file itself: suggest a _file key or the
	// environment, which keep them out of a file that is often shared.
	for _, k := range keys {
		if !k.secret || k.fileOf != "" {
			continue
		}
		if src := c.sources[k.id()]; strings.HasPrefix(src, "in ") {
			w = append(w, fmt.Sprintf("%s is written %s: consider %s_file or %s", k.id(), src, k.id(), k.env()))
		}
	}
	if s.OpenRegistration {
		w = append(w, "server_config.open_registration is on: anyone who can reach the server can create a user and publish")
	}
	return w
}

// validRegistryName is cargo's rule for the NAME of [registries.NAME] (the
// rule of crate names): a letter first, then letters, digits, '-' and '_'.
func validRegistryName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if i == 0 && !letter || !letter && !(c >= '0' && c <= '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
