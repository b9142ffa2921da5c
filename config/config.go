// Package config loads crated's configuration: Ktra's TOML file, read
// unchanged, plus crated's own keys in the same style.
//
// Precedence, lowest first: built-in defaults < the TOML file < CRATED_*
// environment variables < command-line flags. Every key of every section can
// come from the file or the environment; the keys in flagDefs (Ktra's flags
// and a few of crated's) also from a flag. Keys that hold secrets can also be
// read from a file
// (`<key>_file` in TOML, `CRATED_<SECTION>_<KEY>_FILE` in the environment).
//
// Two sets of defaults exist on purpose. With no file at all, crated is a
// self-contained development server: it binds 127.0.0.1:8000 and keeps all its
// data under ./crated-data. As soon as a file is given, keys the file leaves
// out take Ktra's defaults (address 0.0.0.0, db_dir_path "db", dl_dir_path
// "crates", ...) so that a Ktra installation behaves the same after the switch.
//
// Every problem is reported at start, with the key that causes it and where
// the value came from; values of secret keys never appear in messages.
package config

import (
	"net"
	"os"
	"slices"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

// Sizes in bytes, for readable defaults.
const (
	KiB int64 = 1 << 10
	MiB int64 = 1 << 20
	GiB int64 = 1 << 30
)

// Default rate limits, requests per minute per client address: far above
// what a team does by hand or a CI publishing a large workspace does, far
// below what a password-guessing or row-filling script does.
const (
	DefaultLoginRateLimit   = 60
	DefaultTokenRateLimit   = 60
	DefaultPublishRateLimit = 600
)

// Config is the whole configuration of a crated server. Sections that enable
// an optional feature are pointers and nil when the feature is off.
type Config struct {
	Server     ServerConfig     `toml:"server_config"`
	DB         DBConfig         `toml:"db_config"`
	CrateFiles CrateFilesConfig `toml:"crate_files_config"`
	Index      *IndexConfig     `toml:"index_config"`  // git index; nil when the section is absent
	OpenID     *OpenIDConfig    `toml:"openid_config"` // OpenID login; nil when absent
	Mirror     *MirrorConfig    `toml:"mirror_config"` // upstream mirror; nil when absent
	// TrustedPublishing is always present: trusted publishing is on by
	// default and turned off by emptying its issuers.
	TrustedPublishing TrustedPublishingConfig `toml:"trusted_publishing"`

	// File is the file the configuration was loaded from, "" for none.
	File string `toml:"-"`

	// fromFile selects Ktra's defaults for sections created while loading.
	fromFile bool
	// sources records where each key's value came from ("in FILE",
	// "from CRATED_X", "from flag --x"), keyed by "section.key", so that
	// errors can point the operator at the right place.
	sources map[string]string
}

// ServerConfig is [server_config]: where crated listens and how it is seen
// from outside.
type ServerConfig struct {
	// Address is the IP address to listen on, normalized ("0.0.0.0", "::1").
	// Ktra's array form [0, 0, 0, 0] is accepted in the file.
	Address string `toml:"address"`
	// Port is the TCP port, 0..65535; 0 picks a free port (tests).
	Port int `toml:"port"`
	// BaseURL is the external URL of the registry, without a trailing slash.
	// When unset it is derived from Address and Port; it stays "" when Port
	// is 0 and the server must then call DefaultBaseURL with the real port.
	BaseURL string `toml:"base_url"`
	// OpenRegistration lets anyone create a password user through
	// /ktra/api/v1/new_user (Ktra always allowed it; crated defaults to off).
	OpenRegistration bool `toml:"open_registration"`
	// AuthRequired makes every read (index, downloads, search) need a token.
	AuthRequired bool `toml:"auth_required"`
	// MaxCrateSize limits the .crate file of a publish, in bytes.
	MaxCrateSize int64 `toml:"max_crate_size"`
	// MaxMetadataSize limits the JSON metadata of a publish, in bytes.
	MaxMetadataSize int64 `toml:"max_metadata_size"`
	// ReadTimeout and WriteTimeout bound one HTTP request; 0 means no limit.
	ReadTimeout  time.Duration `toml:"read_timeout"`
	WriteTimeout time.Duration `toml:"write_timeout"`
	// LogFormat is "text" (logfmt-like key=value) or "json".
	LogFormat string `toml:"log_format"`
	// MetricsAddress ("host:port") serves /metrics on a listener of its own,
	// and then only there; "" serves it on the main listener.
	MetricsAddress string `toml:"metrics_address"`
	// MetricsToken, when set, is the bearer token /metrics requires. Secret.
	MetricsToken     string `toml:"metrics_token"`
	MetricsTokenFile string `toml:"metrics_token_file"`
	// TrustedProxies are the CIDRs (or single addresses) of the reverse
	// proxies whose X-Forwarded-For names the client, for rate limits and
	// logs.
	TrustedProxies []string `toml:"trusted_proxies"`
	// LoginRateLimit, TokenRateLimit and PublishRateLimit are requests per
	// minute per client address (and per user for publishes), with a burst
	// of the same size; 0 turns the limit off.
	LoginRateLimit   int `toml:"login_rate_limit"`
	TokenRateLimit   int `toml:"token_rate_limit"`
	PublishRateLimit int `toml:"publish_rate_limit"`
	// PasswordHashConcurrency bounds the argon2id password hashes (19 MiB
	// each) computed at once; 0 means one per CPU. PasswordHashWait is how
	// long a login queues for one before the answer is 503 with
	// Retry-After.
	PasswordHashConcurrency int           `toml:"password_hash_concurrency"`
	PasswordHashWait        time.Duration `toml:"password_hash_wait"`
	// LoginMaxFailures password guesses per user name are evaluated within
	// LoginFailureWindow, counted in the database across replicas.
	LoginMaxFailures   int           `toml:"login_max_failures"`
	LoginFailureWindow time.Duration `toml:"login_failure_window"`

	// The other publish limits (cargo.Limits): the decompressed size,
	// entries and path length of the .crate, the size of its Cargo.toml,
	// and the counts and lengths of the metadata. Their defaults take every
	// crate crates.io took (docs/configuration.md).
	MaxUnpackedSize      int64 `toml:"max_unpacked_size"`
	MaxFiles             int   `toml:"max_files"`
	MaxPathLength        int   `toml:"max_path_length"`
	MaxManifestSize      int64 `toml:"max_manifest_size"`
	MaxDependencies      int   `toml:"max_dependencies"`
	MaxFeatures          int   `toml:"max_features"`
	MaxFeatureValues     int   `toml:"max_feature_values"`
	MaxVersionLength     int   `toml:"max_version_length"`
	MaxDescriptionLength int   `toml:"max_description_length"`
	MaxKeywords          int   `toml:"max_keywords"`
	MaxKeywordLength     int   `toml:"max_keyword_length"`
	MaxCategories        int   `toml:"max_categories"`
	// ReservedNames are refused as names of published crates, compared
	// canonically (Foo-Bar = foo_bar). Empty: none.
	ReservedNames []string `toml:"reserved_names"`
	// StaticDir, when set, is the directory where crated publishes the
	// index and the crate files as static files for nginx (package static).
	StaticDir string `toml:"static_dir"`
	// RegistryName is the name users give the registry in their cargo
	// configuration ([registries.NAME]): the web pages and the /me token
	// page show it in their cargo commands.
	RegistryName string `toml:"registry_name"`
}

// DBConfig is [db_config]: where metadata lives.
type DBConfig struct {
	// DBDirPath is the directory of the SQLite database (used when
	// PostgresURL is empty).
	DBDirPath string `toml:"db_dir_path"`
	// LoginPrefix is put before the names of password users. Ktra's default
	// was "ktra-secure-auth:"; crated's is "".
	LoginPrefix string `toml:"login_prefix"`
	// PostgresURL selects PostgreSQL instead of SQLite. Secret.
	PostgresURL     string `toml:"postgres_url"`
	PostgresURLFile string `toml:"postgres_url_file"`
	// RedisURL and MongoDBURL are Ktra's other backends. crated refuses them
	// at start with a pointer to PostgreSQL and `crated import`.
	RedisURL   string `toml:"redis_url"`
	MongoDBURL string `toml:"mongodb_url"`
	// QueryTimeout bounds each PostgreSQL operation, waiting for a pooled
	// connection included; past it the request gets 503.
	QueryTimeout time.Duration `toml:"query_timeout"`
}

// CrateFilesConfig is [crate_files_config]: where .crate files live and the
// URL path they are served under.
type CrateFilesConfig struct {
	// DLDirPath is the directory of the file-system blob store.
	DLDirPath string `toml:"dl_dir_path"`
	// DLPath is the download route as path segments: ["dl"] serves
	// /dl/{name}/{version}/download. Elements holding slashes are split.
	DLPath []string `toml:"dl_path"`
	// CacheDirPath holds the .crate files of the upstream mirror when the
	// blob store is the file system (Ktra's crates.io cache directory); with
	// S3 they go to the same bucket under the prefix "mirror/".
	CacheDirPath string `toml:"cache_dir_path"`

	// S3Bucket selects an S3-compatible object store instead of DLDirPath.
	S3Bucket string `toml:"s3_bucket"`
	// S3Endpoint is the URL of the store (https://s3.example.com); empty
	// means AWS.
	S3Endpoint string `toml:"s3_endpoint"`
	S3Region   string `toml:"s3_region"`
	// S3AccessKey and S3SecretKey are static credentials; both empty means
	// the SDK's usual sources (environment, instance role). Secrets.
	S3AccessKey     string `toml:"s3_access_key"`
	S3AccessKeyFile string `toml:"s3_access_key_file"`
	S3SecretKey     string `toml:"s3_secret_key"`
	S3SecretKeyFile string `toml:"s3_secret_key_file"`
	// S3Prefix is put before every object key, without leading or trailing
	// slash.
	S3Prefix string `toml:"s3_prefix"`
	// S3PathStyle forces path-style (true) or virtual-host (false) bucket
	// addressing; nil lets the client choose.
	S3PathStyle *bool `toml:"s3_path_style"`
	// S3RedirectDownloads answers downloads with a redirect to a presigned
	// URL instead of streaming the object through crated.
	S3RedirectDownloads bool `toml:"s3_redirect_downloads"`
	// S3Timeout is the longest the object store may keep a request
	// waiting: for an answer, retries included, or, within a transfer,
	// for the next bytes.
	S3Timeout time.Duration `toml:"s3_timeout"`
	// S3MaxRetries is how many times a failed S3 request is tried again.
	S3MaxRetries int `toml:"s3_max_retries"`
	// S3StaticPrefix, when set, is where crated publishes the index and the
	// crate files as static objects in the bucket (inside S3Prefix), for a
	// CDN to serve (package static).
	S3StaticPrefix string `toml:"s3_static_prefix"`
}

// IndexConfig is [index_config]: the git index, kept in LocalPath and pushed
// to RemoteURL as Ktra did.
type IndexConfig struct {
	RemoteURL            string `toml:"remote_url"`
	Branch               string `toml:"branch"`
	LocalPath            string `toml:"local_path"`
	HTTPSUsername        string `toml:"https_username"`
	HTTPSPassword        string `toml:"https_password"` // secret
	HTTPSPasswordFile    string `toml:"https_password_file"`
	SSHUsername          string `toml:"ssh_username"`
	SSHPubkeyPath        string `toml:"ssh_pubkey_path"`
	SSHPrivkeyPath       string `toml:"ssh_privkey_path"`
	SSHKeyPassphrase     string `toml:"ssh_key_passphrase"` // secret
	SSHKeyPassphraseFile string `toml:"ssh_key_passphrase_file"`
	// Name and Email sign the index commits. The Ktra book calls them
	// git_name and git_email; both spellings are accepted.
	Name  string `toml:"name"`
	Email string `toml:"email"`
}

// OpenIDConfig is [openid_config]: login through an OpenID Connect provider.
type OpenIDConfig struct {
	IssuerURL string `toml:"issuer_url"`
	// RedirectURL is the registry's external URL as registered at the
	// provider; callback paths are appended to it. No trailing slash.
	RedirectURL      string   `toml:"redirect_url"`
	ClientID         string   `toml:"client_id"`
	ClientSecret     string   `toml:"client_secret"` // secret
	ClientSecretFile string   `toml:"client_secret_file"`
	AdditionalScopes []string `toml:"additional_scopes"`
	// Ktra's GitLab-named allow lists, and crated's provider-neutral ones.
	// A user may log in when every list is empty, or when they match one.
	GitlabAuthorizedGroups []string `toml:"gitlab_authorized_groups"`
	GitlabAuthorizedUsers  []string `toml:"gitlab_authorized_users"`
	AuthorizedGroups       []string `toml:"authorized_groups"`
	AuthorizedUsers        []string `toml:"authorized_users"`
	// GroupsClaim and UsernameClaim name the userinfo claims read for the
	// groups and the login name (the login code falls back to
	// preferred_username when the username claim is missing).
	GroupsClaim   string `toml:"groups_claim"`
	UsernameClaim string `toml:"username_claim"`
	// TokenSealKey is the key that seals API tokens so that the /me login
	// can show an existing token again: 32 bytes, base64 or hex. Empty: a
	// key file is created beside the database. Also read from the older
	// variable CRATED_TOKEN_SEAL_KEY.
	TokenSealKey     string `toml:"token_seal_key"` // secret
	TokenSealKeyFile string `toml:"token_seal_key_file"`
	// AllowPasswordLogin keeps the password-user API on next to OpenID.
	AllowPasswordLogin bool `toml:"allow_password_login"`
	// HTTPTimeout bounds each call to the provider (discovery, token
	// exchange, userinfo, signing keys).
	HTTPTimeout time.Duration `toml:"http_timeout"`
}

// AllowedGroups returns the union of gitlab_authorized_groups and
// authorized_groups.
func (o *OpenIDConfig) AllowedGroups() []string {
	return union(o.GitlabAuthorizedGroups, o.AuthorizedGroups)
}

// AllowedUsers returns the union of gitlab_authorized_users and
// authorized_users.
func (o *OpenIDConfig) AllowedUsers() []string {
	return union(o.GitlabAuthorizedUsers, o.AuthorizedUsers)
}

// MirrorConfig is [mirror_config]: a pull-through cache of an upstream sparse
// registry (crates.io by default).
type MirrorConfig struct {
	// UpstreamIndex is the upstream sparse index URL, with a trailing slash;
	// a "sparse+" prefix is accepted and dropped.
	UpstreamIndex string `toml:"upstream_index"`
	// IndexTTL is how long a fetched index file is served before it is
	// checked again upstream.
	IndexTTL time.Duration `toml:"index_ttl"`
	// ServeStaleOnError serves an expired index file when upstream fails.
	ServeStaleOnError bool `toml:"serve_stale_on_error"`
	// MinAge hides upstream versions younger than this (a cool-down against
	// freshly published malicious releases); 0 disables it.
	MinAge time.Duration `toml:"min_age"`
	// Allow and Deny are crate-name glob patterns (path.Match syntax). With
	// Allow set only matching crates are mirrored; Deny always wins.
	Allow []string `toml:"allow"`
	Deny  []string `toml:"deny"`
	// UpstreamToken is sent as Authorization upstream. Secret.
	UpstreamToken     string `toml:"upstream_token"`
	UpstreamTokenFile string `toml:"upstream_token_file"`
	// UpstreamTimeout bounds every request to the upstream, body included.
	UpstreamTimeout time.Duration `toml:"upstream_timeout"`
	// UpstreamConcurrency caps the requests in flight to the upstream.
	UpstreamConcurrency int `toml:"upstream_concurrency"`
}

// TrustedPublishingConfig is [trusted_publishing]: which CI providers' OpenID
// Connect ID tokens may be exchanged for publish tokens (package trustpub).
type TrustedPublishingConfig struct {
	// GitHubIssuer is GitHub Actions' issuer; "" turns GitHub off.
	GitHubIssuer string `toml:"github_issuer"`
	// GitLabIssuers are the GitLab instances trusted (gitlab.com and any
	// self-hosted one); empty turns GitLab off.
	GitLabIssuers []string `toml:"gitlab_issuers"`
	// Audience is the `aud` ID tokens must carry; "" is base_url without
	// its scheme, what crates-io-auth-action asks for.
	Audience string `toml:"audience"`
	// HTTPTimeout bounds each fetch of an issuer's discovery document and
	// keys.
	HTTPTimeout time.Duration `toml:"http_timeout"`
}

// Default GitHub Actions and GitLab issuers.
const (
	DefaultGitHubIssuer = "https://token.actions.githubusercontent.com"
	DefaultGitLabIssuer = "https://gitlab.com"
)

// Default returns the embedded configuration used when there is no file:
// 127.0.0.1:8000, SQLite and files under ./crated-data, no git index, no
// OpenID, no mirror.
func Default() *Config {
	c := newConfig(false)
	c.finalize()
	return c
}

// newConfig returns the defaults before the layers are applied. fromFile
// selects Ktra's defaults, used whenever a configuration file is given.
func newConfig(fromFile bool) *Config {
	c := &Config{
		Server: ServerConfig{
			Address:              "127.0.0.1",
			Port:                 8000,
			MaxCrateSize:         10 * MiB,
			MaxMetadataSize:      1 * MiB,
			ReadTimeout:          5 * time.Minute,
			WriteTimeout:         5 * time.Minute,
			LogFormat:            "text",
			LoginRateLimit:       DefaultLoginRateLimit,
			TokenRateLimit:       DefaultTokenRateLimit,
			PublishRateLimit:     DefaultPublishRateLimit,
			PasswordHashWait:     2 * time.Second,
			LoginMaxFailures:     10,
			LoginFailureWindow:   15 * time.Minute,
			MaxUnpackedSize:      cargo.DefaultMaxUnpacked,
			MaxFiles:             cargo.DefaultMaxEntries,
			MaxPathLength:        cargo.DefaultMaxPath,
			MaxManifestSize:      cargo.DefaultMaxManifest,
			MaxDependencies:      cargo.DefaultMaxDependencies,
			MaxFeatures:          cargo.DefaultMaxFeatures,
			MaxFeatureValues:     cargo.DefaultMaxFeatureValues,
			MaxVersionLength:     cargo.DefaultMaxVersionLength,
			MaxDescriptionLength: cargo.DefaultMaxDescription,
			MaxKeywords:          cargo.DefaultMaxKeywords,
			MaxKeywordLength:     cargo.DefaultMaxKeywordLength,
			MaxCategories:        cargo.DefaultMaxCategories,
			ReservedNames:        slices.Clone(cargo.DefaultReservedNames),
			RegistryName:         "crated",
		},
		DB: DBConfig{
			DBDirPath:    "crated-data/db",
			QueryTimeout: 10 * time.Second,
		},
		CrateFiles: CrateFilesConfig{
			DLDirPath:    "crated-data/crates",
			DLPath:       []string{"dl"},
			CacheDirPath: "crated-data/cache",
			S3Timeout:    30 * time.Second,
			S3MaxRetries: 2,
		},
		TrustedPublishing: TrustedPublishingConfig{
			GitHubIssuer:  DefaultGitHubIssuer,
			GitLabIssuers: []string{DefaultGitLabIssuer},
			HTTPTimeout:   10 * time.Second,
		},
		fromFile: fromFile,
	}
	if fromFile {
		c.Server.Address = "0.0.0.0"
		c.DB.DBDirPath = "db"
		c.CrateFiles.DLDirPath = "crates"
		c.CrateFiles.CacheDirPath = "crates_io_caches"
	}
	return c
}

// The optional sections are created with their defaults the first time any
// layer sets one of their keys (or the file names the section).

func (c *Config) index() *IndexConfig {
	if c.Index == nil {
		c.Index = &IndexConfig{
			Branch:    "main",
			LocalPath: "index",
			Name:      "ktra-driver",
			Email:     "undefined@example.com", // what Ktra signs with when email is unset
		}
		if !c.fromFile {
			c.Index.LocalPath = "crated-data/index"
		}
	}
	return c.Index
}

func (c *Config) openID() *OpenIDConfig {
	if c.OpenID == nil {
		c.OpenID = &OpenIDConfig{
			GroupsClaim:   "groups",
			UsernameClaim: "nickname",
			HTTPTimeout:   10 * time.Second,
		}
	}
	return c.OpenID
}

func (c *Config) mirror() *MirrorConfig {
	if c.Mirror == nil {
		c.Mirror = &MirrorConfig{
			UpstreamIndex:       "https://index.crates.io/",
			IndexTTL:            60 * time.Second,
			ServeStaleOnError:   true,
			UpstreamTimeout:     20 * time.Second,
			UpstreamConcurrency: 8,
		}
	}
	return c.Mirror
}

// Load builds the configuration: defaults, then the TOML file at path, then
// the CRATED_* variables of environ (e.g. os.Environ()), then the flags that
// were set, then the secrets read from their files; and validates the result.
//
// When path is "", the file named by flags.Config (--config, -c) or by the
// CRATED_CONFIG variable is used; when all are empty there is no file and the
// embedded defaults apply. A named file that cannot be read is an error
// (Ktra silently fell back to its defaults).
//
// Errors carry the code crated.EINVALID and a message naming the key.
func Load(path string, environ []string, flags *Flags) (*Config, error) {
	if path == "" {
		path, _ = explicitFile(flags, environ)
	}

	c := newConfig(path != "")
	c.File = path
	var p problems
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, crated.Errorf(crated.EINVALID, "config: cannot read %s: %s", path, fsReason(err))
		}
		c.applyTOML(data, path, &p)
	}
	c.applyEnv(environ, &p)
	if flags != nil {
		c.applyFlags(flags, &p)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	c.readSecretFiles(&p)
	if err := p.err(); err != nil {
		return nil, err
	}
	c.finalize()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// DefaultBaseURL returns the URL derived from the listen address and port,
// used when base_url is not set: a wildcard address becomes the loopback
// host, since no better name is known.
func (s *ServerConfig) DefaultBaseURL(port int) string {
	host := s.Address
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, itoa(port))
}

// origin describes where key's value came from, for messages: " in FILE",
// " from CRATED_X", " from flag --x", or "" for a default or a value set in
// code.
func (c *Config) origin(key string) string {
	if s, ok := c.sources[key]; ok {
		return " " + s
	}
	return ""
}

func (c *Config) setSource(key, source string) {
	if c.sources == nil {
		c.sources = make(map[string]string)
	}
	c.sources[key] = source
}

// finalize normalizes values after every layer has been applied: derived
// defaults, trailing slashes, path segments.
func (c *Config) finalize() {
	s := &c.Server
	s.BaseURL = trimSlash(s.BaseURL)
	if s.BaseURL == "" && s.Port != 0 {
		s.BaseURL = s.DefaultBaseURL(s.Port)
	}
	c.CrateFiles.DLPath = splitSegments(c.CrateFiles.DLPath)
	c.CrateFiles.S3Endpoint = trimSlash(c.CrateFiles.S3Endpoint)
	c.CrateFiles.S3Prefix = trimSlashes(c.CrateFiles.S3Prefix)
	c.CrateFiles.S3StaticPrefix = trimSlashes(c.CrateFiles.S3StaticPrefix)
	if o := c.OpenID; o != nil {
		// Ktra appends "/" + callback path, so a trailing slash would
		// produce "//" in the redirect URI registered at the provider.
		o.RedirectURL = trimSlash(o.RedirectURL)
	}
	if m := c.Mirror; m != nil {
		m.UpstreamIndex = normalizeIndexURL(m.UpstreamIndex)
	}
}
