package config

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeFile writes content to a new file in a temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// parseFlags registers the flags on a fresh set and parses args.
func parseFlags(t *testing.T, args ...string) *Flags {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f := RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return f
}

// comparable strips what records how a Config was loaded, leaving values.
func comparable(c *Config) Config {
	cp := *c
	cp.File = ""
	cp.fromFile = false
	cp.sources = nil
	return cp
}

func mustLoad(t *testing.T, path string, env []string, flags *Flags) *Config {
	t.Helper()
	c, err := Load(path, env, flags)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestDefault(t *testing.T) {
	want := Config{
		Server: ServerConfig{
			Address:            "127.0.0.1",
			Port:               8000,
			BaseURL:            "http://127.0.0.1:8000",
			MaxCrateSize:       10 << 20,
			MaxMetadataSize:    1 << 20,
			ReadTimeout:        5 * time.Minute,
			WriteTimeout:       5 * time.Minute,
			LogFormat:          "text",
			LoginRateLimit:     60,
			TokenRateLimit:     60,
			PublishRateLimit:   600,
			PasswordHashWait:   2 * time.Second,
			LoginMaxFailures:   10,
			LoginFailureWindow: 15 * time.Minute,
			MaxUnpackedSize:    512 << 20, MaxFiles: 100000, MaxPathLength: 4096, MaxManifestSize: 4 << 20,
			MaxDependencies: 5000, MaxFeatures: 30000, MaxFeatureValues: 30000, MaxVersionLength: 150,
			MaxDescriptionLength: 65536, MaxKeywords: 100, MaxKeywordLength: 100, MaxCategories: 100,
			ReservedNames: strings.Fields("con prn aux nul com0 com1 com2 com3 com4 com5 com6 com7 com8 com9 lpt0 lpt1 lpt2 lpt3 lpt4 lpt5 lpt6 lpt7 lpt8 lpt9"),
			RegistryName:  "crated",
		},
		DB: DBConfig{DBDirPath: "crated-data/db", QueryTimeout: 10 * time.Second},
		CrateFiles: CrateFilesConfig{
			DLDirPath:    "crated-data/crates",
			DLPath:       []string{"dl"},
			CacheDirPath: "crated-data/cache",
			S3Timeout:    30 * time.Second,
			S3MaxRetries: 2,
		},
		TrustedPublishing: TrustedPublishingConfig{
			GitHubIssuer:  "https://token.actions.githubusercontent.com",
			GitLabIssuers: []string{"https://gitlab.com"},
			HTTPTimeout:   10 * time.Second,
		},
	}
	got := Default()
	if !reflect.DeepEqual(comparable(got), want) {
		t.Errorf("Default() =\n%+v\nwant\n%+v", comparable(got), want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
	// With no file, no environment and no flags, Load gives Default().
	if c := mustLoad(t, "", nil, nil); !reflect.DeepEqual(comparable(c), want) {
		t.Errorf("Load with nothing =\n%+v\nwant\n%+v", comparable(c), want)
	}
}

func TestLoadKtraFile(t *testing.T) {
	c := mustLoad(t, "testdata/ktra.toml", nil, nil)
	want := Config{
		Server: ServerConfig{
			Address:            "0.0.0.0",
			Port:               8000,
			BaseURL:            "http://127.0.0.1:8000",
			MaxCrateSize:       10 << 20,
			MaxMetadataSize:    1 << 20,
			ReadTimeout:        5 * time.Minute,
			WriteTimeout:       5 * time.Minute,
			LogFormat:          "text",
			LoginRateLimit:     60,
			TokenRateLimit:     60,
			PublishRateLimit:   600,
			PasswordHashWait:   2 * time.Second,
			LoginMaxFailures:   10,
			LoginFailureWindow: 15 * time.Minute,
			MaxUnpackedSize:    512 << 20, MaxFiles: 100000, MaxPathLength: 4096, MaxManifestSize: 4 << 20,
			MaxDependencies: 5000, MaxFeatures: 30000, MaxFeatureValues: 30000, MaxVersionLength: 150,
			MaxDescriptionLength: 65536, MaxKeywords: 100, MaxKeywordLength: 100, MaxCategories: 100,
			ReservedNames: strings.Fields("con prn aux nul com0 com1 com2 com3 com4 com5 com6 com7 com8 com9 lpt0 lpt1 lpt2 lpt3 lpt4 lpt5 lpt6 lpt7 lpt8 lpt9"),
			RegistryName:  "crated",
		},
		DB: DBConfig{DBDirPath: "/var/lib/ktra/db", LoginPrefix: "ktra-secure-auth:", QueryTimeout: 10 * time.Second},
		CrateFiles: CrateFilesConfig{
			DLDirPath:    "/var/lib/ktra/crates",
			DLPath:       []string{"path", "to", "download"},
			CacheDirPath: "/var/lib/ktra/crates_io_caches",
			S3Timeout:    30 * time.Second,
			S3MaxRetries: 2,
		},
		Index: &IndexConfig{
			RemoteURL:     "https://gitlab.example.com/infra/crates-index.git",
			Branch:        "master",
			LocalPath:     "/var/lib/ktra/index",
			HTTPSUsername: "ktra-bot",
			HTTPSPassword: "glpat-not-a-real-token",
			Name:          "ktra-driver",
			Email:         "ktra@example.com",
		},
		OpenID: &OpenIDConfig{
			IssuerURL:              "https://gitlab.com",
			RedirectURL:            "http://registry.szl",
			ClientID:               "717dc0ffee",
			ClientSecret:           "[redacted]",
			AdditionalScopes:       []string{"openid", "profile", "email"},
			GitlabAuthorizedGroups: []string{"firm/groups/crate_owners"},
			GitlabAuthorizedUsers:  []string{"gagbo"},
			GroupsClaim:            "groups",
			UsernameClaim:          "nickname",
			HTTPTimeout:            10 * time.Second,
		},
	}
	got := comparable(c)
	eq(t, "server_config", got.Server, want.Server)
	eq(t, "db_config", got.DB, want.DB)
	eq(t, "crate_files_config", got.CrateFiles, want.CrateFiles)
	eq(t, "index_config", got.Index, want.Index)
	eq(t, "openid_config", got.OpenID, want.OpenID)
	eq(t, "mirror_config", got.Mirror, want.Mirror)
	eq(t, "File", c.File, "testdata/ktra.toml")
	eq(t, "AllowedGroups", c.OpenID.AllowedGroups(), []string{"firm/groups/crate_owners"})
	eq(t, "AllowedUsers", c.OpenID.AllowedUsers(), []string{"gagbo"})
}

// A file that sets only what Ktra's quick start sets gets Ktra's defaults for
// everything else, except login_prefix.
func TestLoadKtraDefaults(t *testing.T) {
	path := writeFile(t, "ktra.toml", `
[index_config]
remote_url = "https://github.com/YOUR_USERNAME/YOUR_INDEX.git"
https_username = "YOUR_USERNAME"
https_password = "GITHUB_ACCESS_TOKEN"
`)
	c := mustLoad(t, path, nil, nil)
	for _, tc := range []struct {
		key       string
		got, want any
	}{
		{"address", c.Server.Address, "0.0.0.0"},
		{"port", c.Server.Port, 8000},
		{"db_dir_path", c.DB.DBDirPath, "db"},
		{"login_prefix", c.DB.LoginPrefix, ""},
		{"dl_dir_path", c.CrateFiles.DLDirPath, "crates"},
		{"dl_path", c.CrateFiles.DLPath, []string{"dl"}},
		{"cache_dir_path", c.CrateFiles.CacheDirPath, "crates_io_caches"},
		{"branch", c.Index.Branch, "main"},
		{"local_path", c.Index.LocalPath, "index"},
		{"name", c.Index.Name, "ktra-driver"},
		{"email", c.Index.Email, "undefined@example.com"},
		{"openid absent", c.OpenID == nil, true},
		{"mirror absent", c.Mirror == nil, true},
	} {
		eq(t, tc.key, tc.got, tc.want)
	}
}

func TestLoadValues(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   []string
		flags []string
		check func(t *testing.T, c *Config)
	}{
		{
			name: "IPv6 array address",
			file: "[server_config]\naddress = [0, 0, 0, 0, 0, 0, 0, 1]\nport = 9000\n",
			check: func(t *testing.T, c *Config) {
				eq(t, "address", c.Server.Address, "::1")
				eq(t, "base_url", c.Server.BaseURL, "http://[::1]:9000")
			},
		},
		{
			name:  "string address and wildcard base URL",
			file:  "[server_config]\naddress = \"::\"\n",
			check: func(t *testing.T, c *Config) { eq(t, "base_url", c.Server.BaseURL, "http://localhost:8000") },
		},
		{
			name: "s3 timeout and retries",
			file: "[crate_files_config]\ns3_bucket = \"b\"\ns3_timeout = \"5s\"\n",
			env:  []string{"CRATED_CRATE_FILES_CONFIG_S3_MAX_RETRIES=0"},
			check: func(t *testing.T, c *Config) {
				eq(t, "s3_timeout", c.CrateFiles.S3Timeout, 5*time.Second)
				eq(t, "s3_max_retries", c.CrateFiles.S3MaxRetries, 0)
			},
		},
		{
			name: "publish limits",
			file: "[server_config]\nmax_unpacked_size = \"1GiB\"\nmax_files = 7\nmax_path_length = 100\nmax_manifest_size = \"64KiB\"\n" +
				"max_dependencies = 9\nmax_features = 10\nmax_feature_values = 11\nmax_version_length = 12\nmax_description_length = 13\n" +
				"max_keywords = 14\nmax_keyword_length = 15\nmax_categories = 16\nreserved_names = []\n",
			env: []string{"CRATED_SERVER_CONFIG_MAX_FEATURES=400"},
			check: func(t *testing.T, c *Config) {
				s := c.Server
				eq(t, "limits", []int64{s.MaxUnpackedSize, int64(s.MaxFiles), int64(s.MaxPathLength), s.MaxManifestSize,
					int64(s.MaxDependencies), int64(s.MaxFeatures), int64(s.MaxFeatureValues), int64(s.MaxVersionLength),
					int64(s.MaxDescriptionLength), int64(s.MaxKeywords), int64(s.MaxKeywordLength), int64(s.MaxCategories)},
					[]int64{1 << 30, 7, 100, 64 << 10, 9, 400, 11, 12, 13, 14, 15, 16})
				eq(t, "reserved_names", len(s.ReservedNames), 0)
			},
		},
		{
			name: "registry name",
			file: "[server_config]\nregistry_name = \"acme-internal\"\n",
			check: func(t *testing.T, c *Config) {
				eq(t, "registry_name", c.Server.RegistryName, "acme-internal")
			},
		},
		{
			name: "reserved names from the environment",
			env:  []string{"CRATED_SERVER_CONFIG_RESERVED_NAMES=nul,secret-project"},
			check: func(t *testing.T, c *Config) {
				eq(t, "reserved_names", c.Server.ReservedNames, []string{"nul", "secret-project"})
			},
		},
		{
			name: "sizes and durations",
			file: "[server_config]\nmax_crate_size = \"50MB\"\nmax_metadata_size = 65536\nread_timeout = 30\n" +
				"[mirror_config]\nmin_age = \"7d\"\nindex_ttl = \"90s\"\n",
			check: func(t *testing.T, c *Config) {
				eq(t, "max_crate_size", c.Server.MaxCrateSize, int64(50_000_000))
				eq(t, "max_metadata_size", c.Server.MaxMetadataSize, int64(65536))
				eq(t, "read_timeout", c.Server.ReadTimeout, 30*time.Second)
				eq(t, "min_age", c.Mirror.MinAge, 7*24*time.Hour)
				eq(t, "index_ttl", c.Mirror.IndexTTL, 90*time.Second)
				eq(t, "upstream_index", c.Mirror.UpstreamIndex, "https://index.crates.io/")
				eq(t, "serve_stale_on_error", c.Mirror.ServeStaleOnError, true)
			},
		},
		{
			name: "normalization",
			file: "[server_config]\nbase_url = \"https://crates.example.com/\"\n" +
				"[crate_files_config]\ndl_path = [\"api/v1\", \"dl\"]\n" +
				"[openid_config]\nissuer_url = \"https://gitlab.com\"\nredirect_url = \"https://crates.example.com/\"\nclient_id = \"x\"\nclient_secret = \"y\"\n" +
				"[mirror_config]\nupstream_index = \"sparse+https://mirror.example.com/index\"\n",
			check: func(t *testing.T, c *Config) {
				eq(t, "base_url", c.Server.BaseURL, "https://crates.example.com")
				eq(t, "dl_path", c.CrateFiles.DLPath, []string{"api", "v1", "dl"})
				eq(t, "redirect_url", c.OpenID.RedirectURL, "https://crates.example.com")
				eq(t, "upstream_index", c.Mirror.UpstreamIndex, "https://mirror.example.com/index/")
			},
		},
		{
			name: "git_name and git_email from the Ktra book",
			file: "[index_config]\nremote_url = \"ssh://git@example.com/index.git\"\ngit_name = \"bot\"\ngit_email = \"bot@example.com\"\n",
			check: func(t *testing.T, c *Config) {
				eq(t, "name", c.Index.Name, "bot")
				eq(t, "email", c.Index.Email, "bot@example.com")
			},
		},
		{
			name: "env beats file",
			file: "[server_config]\nport = 8001\nauth_required = false\n[db_config]\nlogin_prefix = \"ktra-secure-auth:\"\n",
			env: []string{
				"CRATED_SERVER_CONFIG_PORT=8002",
				"CRATED_SERVER_CONFIG_AUTH_REQUIRED=true",
				"CRATED_DB_CONFIG_LOGIN_PREFIX=", // empty is a value, not "unset"
				"CRATED_CRATE_FILES_CONFIG_DL_PATH=api, v1 ,dl",
				"CRATED_SERVER_CONFIG_MAX_CRATE_SIZE=20MiB",
				"PATH=/usr/bin",
			},
			check: func(t *testing.T, c *Config) {
				eq(t, "port", c.Server.Port, 8002)
				eq(t, "auth_required", c.Server.AuthRequired, true)
				eq(t, "login_prefix", c.DB.LoginPrefix, "")
				eq(t, "dl_path", c.CrateFiles.DLPath, []string{"api", "v1", "dl"})
				eq(t, "max_crate_size", c.Server.MaxCrateSize, 20*MiB)
				eq(t, "base_url", c.Server.BaseURL, "http://127.0.0.1:8002")
			},
		},
		{
			name:  "flags beat env",
			file:  "[server_config]\nport = 8001\n[index_config]\nbranch = \"from-file\"\n",
			env:   []string{"CRATED_SERVER_CONFIG_PORT=8002", "CRATED_INDEX_CONFIG_BRANCH=from-env", "CRATED_SERVER_CONFIG_ADDRESS=10.0.0.1"},
			flags: []string{"--port", "8003", "--branch=from-flag", "--auth-required", "--dl-path", "api", "--dl-path", "v1,dl"},
			check: func(t *testing.T, c *Config) {
				eq(t, "port", c.Server.Port, 8003)
				eq(t, "branch", c.Index.Branch, "from-flag")
				eq(t, "address (no flag given: env stays)", c.Server.Address, "10.0.0.1")
				eq(t, "auth_required", c.Server.AuthRequired, true)
				eq(t, "dl_path", c.CrateFiles.DLPath, []string{"api", "v1", "dl"})
			},
		},
		{
			name: "Ktra's flags",
			flags: []string{"--address", "0.0.0.0", "--dl-dir-path", "/srv/crates", "--cache-dir-path", "/srv/cache",
				"--db-dir-path", "/srv/db", "--login-prefix", "p:", "--remote-url", "https://git.example.com/i.git",
				"--local-path", "/srv/index", "--https-username", "u", "--https-password", "pw", "--ssh-username", "git",
				"--ssh-pubkey-path", "/k.pub", "--ssh-privkey-path", "/k", "--ssh-key-passphrase", "pp",
				"--git-name", "n", "--git-email", "e@example.com",
				"--openid-issuer", "https://gitlab.com", "--openid-redirect", "https://crates.example.com",
				"--openid-client-id", "id", "--openid-client-secret", "secret",
				"--openid-additional-scopes", "profile,email", "--openid-gitlab-groups", "g1,g2", "--openid-gitlab-users", "alice",
				"--base-url", "https://crates.example.com", "--open-registration", "--postgres-url", "postgres://db/crated"},
			check: func(t *testing.T, c *Config) {
				eq(t, "address", c.Server.Address, "0.0.0.0")
				eq(t, "dl_dir_path", c.CrateFiles.DLDirPath, "/srv/crates")
				eq(t, "cache_dir_path", c.CrateFiles.CacheDirPath, "/srv/cache")
				eq(t, "db_dir_path", c.DB.DBDirPath, "/srv/db")
				eq(t, "login_prefix", c.DB.LoginPrefix, "p:")
				eq(t, "index", *c.Index, IndexConfig{RemoteURL: "https://git.example.com/i.git", Branch: "main",
					LocalPath: "/srv/index", HTTPSUsername: "u", HTTPSPassword: "pw", SSHUsername: "git",
					SSHPubkeyPath: "/k.pub", SSHPrivkeyPath: "/k", SSHKeyPassphrase: "pp", Name: "n", Email: "e@example.com"})
				eq(t, "issuer", c.OpenID.IssuerURL, "https://gitlab.com")
				eq(t, "redirect", c.OpenID.RedirectURL, "https://crates.example.com")
				eq(t, "client_id", c.OpenID.ClientID, "id")
				eq(t, "client_secret", c.OpenID.ClientSecret, "secret")
				eq(t, "scopes", c.OpenID.AdditionalScopes, []string{"profile", "email"})
				eq(t, "groups", c.OpenID.GitlabAuthorizedGroups, []string{"g1", "g2"})
				eq(t, "users", c.OpenID.GitlabAuthorizedUsers, []string{"alice"})
				eq(t, "base_url", c.Server.BaseURL, "https://crates.example.com")
				eq(t, "open_registration", c.Server.OpenRegistration, true)
				eq(t, "postgres_url", c.DB.PostgresURL, "postgres://db/crated")
			},
		},
		{
			name: "env creates a section the file lacks",
			env: []string{
				"CRATED_OPENID_CONFIG_ISSUER_URL=https://gitlab.com",
				"CRATED_OPENID_CONFIG_REDIRECT_URL=https://crates.example.com",
				"CRATED_OPENID_CONFIG_CLIENT_ID=id",
				"CRATED_OPENID_CONFIG_CLIENT_SECRET=secret",
				"CRATED_OPENID_CONFIG_ADDITIONAL_SCOPES=profile,email",
				"CRATED_INDEX_CONFIG_REMOTE_URL=https://git.example.com/i.git",
			},
			check: func(t *testing.T, c *Config) {
				if c.OpenID == nil || c.Index == nil {
					t.Fatalf("sections not created: openid %v index %v", c.OpenID, c.Index)
				}
				eq(t, "username_claim", c.OpenID.UsernameClaim, "nickname")
				eq(t, "groups_claim", c.OpenID.GroupsClaim, "groups")
				eq(t, "scopes", c.OpenID.AdditionalScopes, []string{"profile", "email"})
				// No file: the embedded layout under ./crated-data.
				eq(t, "local_path", c.Index.LocalPath, "crated-data/index")
				eq(t, "mirror absent", c.Mirror == nil, true)
			},
		},
		{
			name: "an empty section enables its feature",
			file: "[mirror_config]\n",
			check: func(t *testing.T, c *Config) {
				if c.Mirror == nil {
					t.Fatal("mirror not enabled")
				}
				eq(t, "index_ttl", c.Mirror.IndexTTL, 60*time.Second)
				eq(t, "upstream_timeout", c.Mirror.UpstreamTimeout, 20*time.Second)
				eq(t, "upstream_concurrency", c.Mirror.UpstreamConcurrency, 8)
			},
		},
		{
			name: "variables used elsewhere are not keys",
			env:  []string{"CRATED_TOKEN_SEAL_KEY=abc", "CRATED_TEST_POSTGRES=postgres://x", "CRATED_TOOLS=/opt/tools", "NOT_CRATED_X=1"},
			check: func(t *testing.T, c *Config) {
				eq(t, "config", comparable(c), comparable(Default()))
			},
		},
		{
			name:  "CRATED_CONFIG names the file",
			env:   []string{"CRATED_CONFIG=testdata/ktra.toml"},
			check: func(t *testing.T, c *Config) { eq(t, "file", c.File, "testdata/ktra.toml") },
		},
		{
			name:  "-c names the file",
			flags: []string{"-c", "testdata/ktra.toml"},
			check: func(t *testing.T, c *Config) { eq(t, "file", c.File, "testdata/ktra.toml") },
		},
		{
			name:  "port 0 leaves base_url to the server",
			flags: []string{"--port", "0"},
			check: func(t *testing.T, c *Config) {
				eq(t, "base_url", c.Server.BaseURL, "")
				eq(t, "DefaultBaseURL", c.Server.DefaultBaseURL(41234), "http://127.0.0.1:41234")
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeFile(t, "crated.toml", tc.file)
			}
			var flags *Flags
			if tc.flags != nil {
				flags = parseFlags(t, tc.flags...)
			}
			tc.check(t, mustLoad(t, path, tc.env, flags))
		})
	}
}

func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	secret := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pg := secret("pg", "postgres://crated:pw@db/crated\n")
	cs := secret("cs", "  from-file-secret\n\n")
	tok := secret("tok", "upstream-token")
	pw := secret("pw", "index-password\n")
	ak := secret("ak", "AKIAEXAMPLE\n")
	sk := secret("sk", "s3-secret\n")
	pp := secret("pp", "passphrase\n")
	file := writeFile(t, "crated.toml", `
[db_config]
postgres_url_file = "`+pg+`"
[crate_files_config]
s3_bucket = "crates"
s3_access_key_file = "`+ak+`"
[index_config]
https_password_file = "`+pw+`"
[openid_config]
issuer_url = "https://gitlab.com"
redirect_url = "https://crates.example.com"
client_id = "id"
client_secret_file = "`+cs+`"
[mirror_config]
upstream_token_file = "`+tok+`"
`)
	env := []string{
		"CRATED_CRATE_FILES_CONFIG_S3_SECRET_KEY_FILE=" + sk,
		"CRATED_INDEX_CONFIG_SSH_KEY_PASSPHRASE_FILE=" + pp,
	}
	c := mustLoad(t, file, env, nil)
	eq(t, "postgres_url", c.DB.PostgresURL, "postgres://crated:pw@db/crated")
	eq(t, "postgres_url_file", c.DB.PostgresURLFile, pg)
	eq(t, "client_secret", c.OpenID.ClientSecret, "from-file-secret")
	eq(t, "upstream_token", c.Mirror.UpstreamToken, "upstream-token")
	eq(t, "https_password", c.Index.HTTPSPassword, "index-password")
	eq(t, "s3_access_key", c.CrateFiles.S3AccessKey, "AKIAEXAMPLE")
	eq(t, "s3_secret_key", c.CrateFiles.S3SecretKey, "s3-secret")
	eq(t, "ssh_key_passphrase", c.Index.SSHKeyPassphrase, "passphrase")

	// A higher layer's value beats a lower layer's _file, and the reverse:
	// the same setting in two layers is not a conflict.
	c = mustLoad(t, file, append(env, "CRATED_OPENID_CONFIG_CLIENT_SECRET=from-env"), nil)
	eq(t, "client_secret from env over the file's _file", c.OpenID.ClientSecret, "from-env")
	eq(t, "client_secret_file cleared", c.OpenID.ClientSecretFile, "")
	file2 := writeFile(t, "crated.toml", "[openid_config]\nissuer_url = \"https://gitlab.com\"\n"+
		"redirect_url = \"https://x.example.com\"\nclient_id = \"id\"\nclient_secret = \"in-file\"\n")
	c = mustLoad(t, file2, []string{"CRATED_OPENID_CONFIG_CLIENT_SECRET_FILE=" + cs}, nil)
	eq(t, "client_secret from env _FILE over the file's value", c.OpenID.ClientSecret, "from-file-secret")
}

func TestWarnings(t *testing.T) {
	path := writeFile(t, "crated.toml", "[server_config]\naddress = [0, 0, 0, 0]\n[db_config]\npostgres_url = \"postgres://db/x\"\n")
	w := strings.Join(mustLoad(t, path, nil, nil).Warnings(), "\n")
	for _, want := range []string{"server_config.base_url is not set", "db_config.postgres_url is written in ", "CRATED_DB_CONFIG_POSTGRES_URL"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q do not contain %q", w, want)
		}
	}
	if w := Default().Warnings(); len(w) != 0 {
		t.Errorf("Default().Warnings() = %q, want none", w)
	}
}
