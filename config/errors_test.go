package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crated/crated"
)

// Every problem stops the load with crated.EINVALID and a message that names
// the key and where its value came from, and never shows a secret.
func TestErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	openid := "[openid_config]\nissuer_url = \"https://gitlab.com\"\nredirect_url = \"https://crates.example.com\"\nclient_id = \"id\"\n"
	tests := []struct {
		name  string
		file  string // "" for no file
		env   []string
		flags []string
		// want are substrings of the message.
		want []string
		// secret must not appear in the message.
		secret string
	}{
		{name: "unknown key", file: "[server_config]\nprot = 8000\n",
			want: []string{"unknown key server_config.prot in ", "crated.toml", "did you mean server_config.port?"}},
		{name: "unknown section", file: "[server_confg]\nport = 8000\n",
			want: []string{"unknown section [server_confg]", "did you mean [server_config]?"}},
		{name: "key outside a section", file: "port = 8000\n",
			want: []string{"unknown key port", "server_config.port"}},
		{name: "section not a table", file: "server_config = 1\n",
			want: []string{"[server_config]", "expected a table"}},
		{name: "TOML syntax", file: "[server_config\n", want: []string{"crated.toml", "toml: line"}},
		{name: "wrong type", file: "[server_config]\nport = \"8000\"\n",
			want: []string{"server_config.port in ", "expected an integer, got a string"}},
		{name: "wrong list type", file: "[openid_config]\nadditional_scopes = \"email\"\n",
			want: []string{"openid_config.additional_scopes", "expected an array of strings"}},
		{name: "wrong bool type", file: "[server_config]\nauth_required = \"yes\"\n",
			want: []string{"server_config.auth_required", "expected true or false"}},
		{name: "table for a scalar", file: "[server_config.port]\nx = 1\n",
			want: []string{"server_config.port", "got a table"}},
		{name: "port out of range", file: "[server_config]\nport = 70000\n",
			want: []string{"server_config.port in ", "70000 is out of range 0..65535"}},
		{name: "port out of range from env", env: []string{"CRATED_SERVER_CONFIG_PORT=-1"},
			want: []string{"server_config.port from CRATED_SERVER_CONFIG_PORT", "out of range"}},
		{name: "port not a number from flag", flags: []string{"--port", "80a"},
			want: []string{"server_config.port from flag --port", `"80a"`, "expected an integer"}},
		{name: "bad log format", file: "[server_config]\nlog_format = \"xml\"\n",
			want: []string{"server_config.log_format in ", `"xml" is not a log format`}},
		{name: "bad metrics address", env: []string{"CRATED_SERVER_CONFIG_METRICS_ADDRESS=9100"},
			want: []string{"server_config.metrics_address from CRATED_SERVER_CONFIG_METRICS_ADDRESS", "host:port"}},
		{name: "bad trusted proxy", file: "[server_config]\ntrusted_proxies = [\"10.0.0.0/33\"]\n",
			want: []string{"server_config.trusted_proxies in ", `"10.0.0.0/33" is not a CIDR`}},
		{name: "negative rate limit", file: "[server_config]\npublish_rate_limit = -1\n",
			want: []string{"server_config.publish_rate_limit in ", "0 for no limit"}},
		{name: "metrics token shown nowhere", file: "[server_config]\nmetrics_token = \"s3cr3t-metrics\"\nmetrics_token_file = \"x\"\n",
			want: []string{"metrics_token", "set only one"}, secret: "s3cr3t-metrics"},
		{name: "bad address", file: "[server_config]\naddress = \"0.0.0.256\"\n",
			want: []string{"server_config.address", "expected an IP address"}},
		{name: "bad address array", file: "[server_config]\naddress = [0, 0, 0]\n",
			want: []string{"server_config.address", "[0, 0, 0]"}},
		{name: "bad address byte", file: "[server_config]\naddress = [0, 0, 0, 256]\n",
			want: []string{"server_config.address"}},
		{name: "bad address from flag", flags: []string{"--address", "example.com"},
			want: []string{"server_config.address from flag --address"}},
		{name: "bad base_url", file: "[server_config]\nbase_url = \"crates.example.com\"\n",
			want: []string{"server_config.base_url", "not an http:// or https:// URL"}},
		{name: "zero limit", file: "[server_config]\nmax_features = 0\n",
			want: []string{"server_config.max_features", "must be positive, got 0"}},
		{name: "negative limit", env: []string{"CRATED_SERVER_CONFIG_MAX_FILES=-5"},
			want: []string{"server_config.max_files", "must be positive, got -5"}},
		{name: "bad reserved name", file: "[server_config]\nreserved_names = [\"nul\", \"not a name\"]\n",
			want: []string{"server_config.reserved_names", `"not a name" is not a crate name`}},
		{name: "bad registry name", file: "[server_config]\nregistry_name = \"crates.example.com\"\n",
			want: []string{"server_config.registry_name", `"crates.example.com" is not a registry name`}},
		{name: "empty registry name", env: []string{"CRATED_SERVER_CONFIG_REGISTRY_NAME="},
			want: []string{"server_config.registry_name", `"" is not a registry name`}},
		{name: "negative size", file: "[server_config]\nmax_crate_size = -1\n",
			want: []string{"server_config.max_crate_size", "must be a positive number of bytes"}},
		{name: "bad size", env: []string{"CRATED_SERVER_CONFIG_MAX_METADATA_SIZE=10 parsecs"},
			want: []string{"server_config.max_metadata_size from CRATED_SERVER_CONFIG_MAX_METADATA_SIZE", "expected a size"}},
		{name: "bad duration", file: "[server_config]\nread_timeout = \"soon\"\n",
			want: []string{"server_config.read_timeout", "expected a duration"}},
		{name: "negative duration", file: "[mirror_config]\nmin_age = \"-1h\"\n",
			want: []string{"mirror_config.min_age", "must not be negative"}},
		{name: "negative hash concurrency", file: "[server_config]\npassword_hash_concurrency = -1\n",
			want: []string{"server_config.password_hash_concurrency", "one per CPU"}},
		{name: "zero hash wait", env: []string{"CRATED_SERVER_CONFIG_PASSWORD_HASH_WAIT=0s"},
			want: []string{"server_config.password_hash_wait from CRATED_SERVER_CONFIG_PASSWORD_HASH_WAIT", "must be positive"}},
		{name: "zero login failures", file: "[server_config]\nlogin_max_failures = 0\nlogin_failure_window = 0\n",
			want: []string{"server_config.login_max_failures", "server_config.login_failure_window"}},
		{name: "zero query timeout", file: "[db_config]\nquery_timeout = 0\n",
			want: []string{"db_config.query_timeout", "must be positive"}},
		{name: "zero openid http timeout", file: "[openid_config]\nissuer_url = \"https://gitlab.com\"\nredirect_url = \"https://x.example.com\"\nclient_id = \"id\"\nclient_secret = \"s\"\nhttp_timeout = \"0s\"\n",
			want: []string{"openid_config.http_timeout", "must be positive"}},
		{name: "trusted publishing", file: "[trusted_publishing]\ngithub_issuer = \"token.actions\"\ngitlab_issuers = [\"ftp://gitlab.example.com\"]\naudience = \"https://crates.example.com\"\nhttp_timeout = 0\n",
			want: []string{"trusted_publishing.github_issuer", "trusted_publishing.gitlab_issuers", "trusted_publishing.audience", "trusted_publishing.http_timeout"}},
		{name: "redis", file: "[db_config]\nredis_url = \"redis://:hunter2@localhost\"\n", secret: "hunter2",
			want: []string{"db_config.redis_url", "SQLite", "db_config.postgres_url", "crated import"}},
		{name: "mongodb", flags: []string{"--mongodb-url", "mongodb://u:hunter2@localhost:27017"}, secret: "hunter2",
			want: []string{"db_config.mongodb_url from flag --mongodb-url", "SQLite", "db_config.postgres_url", "crated import"}},
		{name: "bad postgres_url", env: []string{"CRATED_DB_CONFIG_POSTGRES_URL=mysql://u:hunter2@db/x"}, secret: "hunter2",
			want: []string{"db_config.postgres_url from CRATED_DB_CONFIG_POSTGRES_URL", "postgres://"}},
		{name: "openid without issuer_url", file: "[openid_config]\nredirect_url = \"https://x.example.com\"\nclient_id = \"id\"\nclient_secret = \"s\"\n",
			want: []string{"openid_config.issuer_url: is required"}},
		{name: "openid without redirect_url", file: "[openid_config]\nissuer_url = \"https://gitlab.com\"\nclient_id = \"id\"\nclient_secret = \"s\"\n",
			want: []string{"openid_config.redirect_url: is required"}},
		{name: "openid without client_id", file: "[openid_config]\nissuer_url = \"https://gitlab.com\"\nredirect_url = \"https://x.example.com\"\nclient_secret = \"s\"\n",
			want: []string{"openid_config.client_id: is required"}},
		{name: "openid without client_secret", file: openid,
			want: []string{"openid_config.client_secret: is required"}},
		{name: "bad issuer_url", file: openid + "client_secret = \"s\"\n", env: []string{"CRATED_OPENID_CONFIG_ISSUER_URL=gitlab.com"},
			want: []string{"openid_config.issuer_url from CRATED_OPENID_CONFIG_ISSUER_URL", "not an http:// or https:// URL"}},
		{name: "bad redirect_url", file: openid + "client_secret = \"s\"\n", flags: []string{"--openid-redirect", "ftp://x"},
			want: []string{"openid_config.redirect_url from flag --openid-redirect", "not an http:// or https:// URL"}},
		{name: "client_secret and client_secret_file", file: openid + "client_secret = \"hunter2\"\nclient_secret_file = \"/run/s\"\n",
			secret: "hunter2",
			want:   []string{"openid_config.client_secret and openid_config.client_secret_file are both set in ", "set only one"}},
		{name: "secret and _FILE in env", env: []string{"CRATED_MIRROR_CONFIG_UPSTREAM_TOKEN=hunter2", "CRATED_MIRROR_CONFIG_UPSTREAM_TOKEN_FILE=/x"},
			secret: "hunter2",
			want:   []string{"mirror_config.upstream_token", "mirror_config.upstream_token_file", "set only one"}},
		{name: "name and git_name", file: "[index_config]\nname = \"a\"\ngit_name = \"b\"\n",
			want: []string{"index_config.name and index_config.git_name are both set"}},
		{name: "secret file missing", file: openid + "client_secret_file = \"" + filepath.Join(dir, "nope") + "\"\n",
			want: []string{"openid_config.client_secret_file in ", "cannot read", "no such file"}},
		{name: "secret file empty", env: []string{"CRATED_DB_CONFIG_POSTGRES_URL_FILE=" + empty},
			want: []string{"db_config.postgres_url_file from CRATED_DB_CONFIG_POSTGRES_URL_FILE", "is empty"}},
		{name: "s3 without bucket", file: "[crate_files_config]\ns3_endpoint = \"https://s3.example.com\"\n",
			want: []string{"crate_files_config.s3_endpoint", "s3_bucket is not"}},
		{name: "s3 secret without bucket", env: []string{"CRATED_CRATE_FILES_CONFIG_S3_SECRET_KEY=hunter2"}, secret: "hunter2",
			want: []string{"crate_files_config.s3_secret_key from CRATED_CRATE_FILES_CONFIG_S3_SECRET_KEY", "s3_bucket is not"}},
		{name: "s3 timeout out of range", file: "[crate_files_config]\ns3_bucket = \"b\"\ns3_timeout = \"0s\"\n",
			want: []string{"crate_files_config.s3_timeout", "between 1s and 10m"}},
		{name: "s3 retries out of range", file: "[crate_files_config]\ns3_bucket = \"b\"\ns3_max_retries = 11\n",
			want: []string{"crate_files_config.s3_max_retries", "between 0 and 10"}},
		{name: "s3 half credentials", file: "[crate_files_config]\ns3_bucket = \"b\"\ns3_access_key = \"AKIA\"\n",
			want: []string{"crate_files_config.s3_access_key", "together"}},
		{name: "s3 bad endpoint", file: "[crate_files_config]\ns3_bucket = \"b\"\ns3_endpoint = \"s3.example.com:9000\"\n",
			want: []string{"crate_files_config.s3_endpoint", "not an http:// or https:// URL"}},
		{name: "empty dl_path", file: "[crate_files_config]\ndl_path = []\n",
			want: []string{"crate_files_config.dl_path", "at least one"}},
		{name: "dot dl_path", file: "[crate_files_config]\ndl_path = [\"..\"]\n",
			want: []string{"crate_files_config.dl_path", `".."`}},
		{name: "dl_path over the API", file: "[crate_files_config]\ndl_path = [\"api/v1\"]\n",
			want: []string{"crate_files_config.dl_path", `"api/v1" overlaps`}},
		{name: "empty branch", file: "[index_config]\nbranch = \"\"\n",
			want: []string{"index_config.branch", "is required"}},
		{name: "mirror bad pattern", file: "[mirror_config]\ndeny = [\"[\"]\n",
			want: []string{"mirror_config.deny", "not a valid pattern"}},
		{name: "mirror bad upstream", env: []string{"CRATED_MIRROR_CONFIG_UPSTREAM_INDEX=index.crates.io"},
			want: []string{"mirror_config.upstream_index", "not an http:// or https:// URL"}},
		{name: "unknown env", env: []string{"CRATED_SERVER_CONFIG_PROT=8000"},
			want: []string{"unknown environment variable CRATED_SERVER_CONFIG_PROT", "did you mean CRATED_SERVER_CONFIG_PORT?"}},
		{name: "unknown env far from any key", env: []string{"CRATED_LISTEN=:8000"},
			want: []string{"unknown environment variable CRATED_LISTEN"}},
		{name: "bad bool from env", env: []string{"CRATED_SERVER_CONFIG_AUTH_REQUIRED=sometimes"},
			want: []string{"server_config.auth_required from CRATED_SERVER_CONFIG_AUTH_REQUIRED", "expected true or false"}},
		{name: "missing config file", flags: []string{"--config", filepath.Join(dir, "missing.toml")},
			want: []string{"cannot read", "missing.toml"}},
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
			_, err := Load(path, tc.env, flags)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if code := crated.ErrorCode(err); code != crated.EINVALID {
				t.Errorf("code = %q, want %q (%v)", code, crated.EINVALID, err)
			}
			msg := crated.ErrorMessage(err)
			if !strings.HasPrefix(msg, "config: ") {
				t.Errorf("message %q does not start with \"config: \"", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("message %q shows the secret", err)
			}
		})
	}
}

// Several problems are reported together, so they can be fixed in one go.
func TestErrorsAreCollected(t *testing.T) {
	path := writeFile(t, "crated.toml", "[server_config]\nprot = 1\nadress = \"x\"\n")
	_, err := Load(path, []string{"CRATED_DB_CONFIG_DB_DIR=x"}, nil)
	for _, w := range []string{"server_config.prot", "server_config.adress", "CRATED_DB_CONFIG_DB_DIR"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not mention %s", err, w)
		}
	}
}

// Validate also checks configurations built in code, where no source is
// known.
func TestValidateHandmade(t *testing.T) {
	c := Default()
	c.Server.Port = 65536
	c.Server.Address = "somewhere"
	c.OpenID = &OpenIDConfig{}
	err := c.Validate()
	for _, w := range []string{"server_config.port: 65536", "server_config.address", "openid_config.issuer_url", "openid_config.groups_claim"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not mention %q", err, w)
		}
	}
}
