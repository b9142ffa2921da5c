package config

import (
	"flag"
	"strings"
)

// Flags holds the command-line overrides defined by RegisterFlags. Only the
// flags that were given override the file and the environment. Values are
// parsed by Load, so that a bad value is reported with its key like any
// other configuration problem.
type Flags struct {
	// Config is the configuration file (--config, -c).
	Config string

	// order lists the flags given, in the order they were first set.
	order []*flagValue
}

// ConfigFile returns the file given with --config or -c, "" when none (or
// when f is nil).
func (f *Flags) ConfigFile() string {
	if f == nil {
		return ""
	}
	return f.Config
}

// flagDefs maps Ktra's command-line flags, by their Ktra names, plus crated's
// own, to configuration keys. Ktra's --dl-path took several values after one
// flag; here it is repeated or comma-separated (--dl-path api,v1,dl).
var flagDefs = []struct {
	name, key, usage string
}{
	{"address", "server_config.address", "IP address to listen on"},
	{"port", "server_config.port", "TCP port to listen on (0 picks a free one)"},
	{"base-url", "server_config.base_url", "external URL of the registry"},
	{"open-registration", "server_config.open_registration", "let anyone create a password user"},
	{"auth-required", "server_config.auth_required", "require a token for every read"},
	{"db-dir-path", "db_config.db_dir_path", "SQLite database directory"},
	{"login-prefix", "db_config.login_prefix", "prefix of password users' login names"},
	{"postgres-url", "db_config.postgres_url", "PostgreSQL URL (prefer CRATED_DB_CONFIG_POSTGRES_URL_FILE: flags are visible to other users)"},
	{"redis-url", "db_config.redis_url", "Ktra's Redis backend: not supported, see --postgres-url"},
	{"mongodb-url", "db_config.mongodb_url", "Ktra's MongoDB backend: not supported, see --postgres-url"},
	{"dl-dir-path", "crate_files_config.dl_dir_path", "crate files directory"},
	{"dl-path", "crate_files_config.dl_path", "download route segments (repeat or comma-separate)"},
	{"cache-dir-path", "crate_files_config.cache_dir_path", "mirror cache directory"},
	{"remote-url", "index_config.remote_url", "URL of the remote git index repository"},
	{"local-path", "index_config.local_path", "path of the local git index repository"},
	{"branch", "index_config.branch", "branch of the git index repository"},
	{"https-username", "index_config.https_username", "user name for an HTTPS git remote"},
	{"https-password", "index_config.https_password", "password for an HTTPS git remote"},
	{"ssh-username", "index_config.ssh_username", "user name for an SSH git remote"},
	{"ssh-pubkey-path", "index_config.ssh_pubkey_path", "public key for an SSH git remote"},
	{"ssh-privkey-path", "index_config.ssh_privkey_path", "private key for an SSH git remote"},
	{"ssh-key-passphrase", "index_config.ssh_key_passphrase", "passphrase of the SSH private key"},
	{"git-name", "index_config.name", "author and committer name of index commits"},
	{"git-email", "index_config.email", "author and committer email of index commits"},
	{"openid-issuer", "openid_config.issuer_url", "OpenID Connect issuer URL (must be discoverable)"},
	{"openid-redirect", "openid_config.redirect_url", "external base URL registered at the provider"},
	{"openid-client-id", "openid_config.client_id", "OpenID client ID"},
	{"openid-client-secret", "openid_config.client_secret", "OpenID client secret"},
	{"openid-additional-scopes", "openid_config.additional_scopes", "comma-separated scopes to ask for besides openid"},
	{"openid-gitlab-groups", "openid_config.gitlab_authorized_groups", "comma-separated groups allowed to log in"},
	{"openid-gitlab-users", "openid_config.gitlab_authorized_users", "comma-separated users allowed to log in"},
}

// RegisterFlags defines crated's configuration flags on fs, with Ktra's flag
// names (--config/-c, --address, --dl-dir-path, --openid-issuer, ...) and
// crated's additions (--port, --base-url, --auth-required,
// --open-registration, --postgres-url). Pass the result to Load after
// fs.Parse.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.Config, "config", "", "configuration file (Ktra's TOML format; env CRATED_CONFIG)")
	fs.StringVar(&f.Config, "c", "", "shorthand for --config")
	for _, d := range flagDefs {
		k := keysByID[d.key]
		if k == nil {
			panic("config: flag --" + d.name + " names unknown key " + d.key)
		}
		v := &flagValue{flags: f, key: k, name: d.name}
		fs.Var(v, d.name, d.usage+" ("+d.key+", env "+k.env()+")")
	}
	return f
}

// flagValue is a flag.Value that records that the flag was given.
type flagValue struct {
	flags *Flags
	key   *keyDef
	name  string
	vals  []string
}

func (v *flagValue) Set(s string) error {
	if len(v.vals) == 0 {
		v.flags.order = append(v.flags.order, v)
	}
	if v.key.kind == kList {
		v.vals = append(v.vals, s) // repeatable
	} else {
		v.vals = []string{s}
	}
	return nil
}

// String returns the value given; flag's help shows it as the default, which
// is empty because nothing has been given then.
func (v *flagValue) String() string {
	if v == nil {
		return ""
	}
	return v.value()
}

// IsBoolFlag lets boolean flags be given without a value (--auth-required).
func (v *flagValue) IsBoolFlag() bool { return v.key.kind == kBool || v.key.kind == kOptBool }

func (v *flagValue) value() string { return strings.Join(v.vals, ",") }
