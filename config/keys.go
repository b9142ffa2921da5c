package config

import (
	"reflect"
	"strings"
	"time"
)

// kind says how a key's value is written and parsed.
type kind int

const (
	kString   kind = iota // TOML string; env as is
	kBool                 // TOML boolean; env true/false/1/0
	kOptBool              // like kBool, stored as *bool (unset = nil)
	kInt                  // TOML integer; env decimal
	kSize                 // bytes: TOML integer or "10MiB"; env the same
	kDuration             // TOML "90s"/"5m"/"7d" or integer seconds
	kList                 // TOML array of strings; env comma-separated
	kAddress              // IP: TOML string or Ktra's array [0, 0, 0, 0]
)

// keyDef describes one configuration key. The table below is the single list
// of keys: the TOML reader, the environment, the flags, the tests and the
// documentation check all walk it.
type keyDef struct {
	section string
	name    string
	kind    kind
	// secret keys never have their value shown in messages.
	secret bool
	// fileOf, on a "<key>_file" key, names the secret key its file fills.
	fileOf string
	// aliasOf names the key this one is another spelling of (Ktra's book
	// documents git_name/git_email for name/email).
	aliasOf string
	// field returns a pointer to the value in c, creating the section when
	// it is optional and absent. Its type matches kind.
	field func(c *Config) any
}

// id is "section.key", the name used in messages and documentation.
func (k *keyDef) id() string { return k.section + "." + k.name }

// env is the environment variable that sets the key.
func (k *keyDef) env() string { return envPrefix + strings.ToUpper(k.section+"_"+k.name) }

// slot groups keys that set the same thing, so that setting two of them in
// one layer is reported: a secret and its _file, or an alias and its key.
// Setting one clears the others, so that a higher layer's client_secret
// beats a lower layer's client_secret_file.
func (k *keyDef) slot() string {
	switch {
	case k.fileOf != "":
		return k.section + "." + k.fileOf
	case k.aliasOf != "":
		return k.section + "." + k.aliasOf
	}
	return k.id()
}

const (
	secServer     = "server_config"
	secDB         = "db_config"
	secCrateFiles = "crate_files_config"
	secIndex      = "index_config"
	secOpenID     = "openid_config"
	secMirror     = "mirror_config"
	secTrustPub   = "trusted_publishing"
)

// sections in the order they are documented and validated. ensure creates an
// optional section; the three base sections always exist.
var sections = []struct {
	name   string
	ensure func(c *Config)
}{
	{secServer, func(*Config) {}},
	{secDB, func(*Config) {}},
	{secCrateFiles, func(*Config) {}},
	{secIndex, func(c *Config) { c.index() }},
	{secOpenID, func(c *Config) { c.openID() }},
	{secMirror, func(c *Config) { c.mirror() }},
	{secTrustPub, func(*Config) {}}, // always present: on by default
}

func isSection(name string) bool {
	for _, s := range sections {
		if s.name == name {
			return true
		}
	}
	return false
}

func ensureSection(c *Config, name string) {
	for _, s := range sections {
		if s.name == name {
			s.ensure(c)
		}
	}
}

// keys is every configuration key, section by section.
var keys = func() []*keyDef {
	var ks []*keyDef
	add := func(section, name string, k kind, field func(*Config) any) *keyDef {
		d := &keyDef{section: section, name: name, kind: k, field: field}
		ks = append(ks, d)
		return d
	}
	// secret adds a secret key and its "<name>_file" companion.
	secret := func(section, name string, value, file func(*Config) any) {
		add(section, name, kString, value).secret = true
		add(section, name+"_file", kString, file).fileOf = name
	}

	s := secServer
	add(s, "address", kAddress, func(c *Config) any { return &c.Server.Address })
	add(s, "port", kInt, func(c *Config) any { return &c.Server.Port })
	add(s, "base_url", kString, func(c *Config) any { return &c.Server.BaseURL })
	add(s, "open_registration", kBool, func(c *Config) any { return &c.Server.OpenRegistration })
	add(s, "auth_required", kBool, func(c *Config) any { return &c.Server.AuthRequired })
	add(s, "max_crate_size", kSize, func(c *Config) any { return &c.Server.MaxCrateSize })
	add(s, "max_metadata_size", kSize, func(c *Config) any { return &c.Server.MaxMetadataSize })
	add(s, "read_timeout", kDuration, func(c *Config) any { return &c.Server.ReadTimeout })
	add(s, "write_timeout", kDuration, func(c *Config) any { return &c.Server.WriteTimeout })
	add(s, "log_format", kString, func(c *Config) any { return &c.Server.LogFormat })
	add(s, "metrics_address", kString, func(c *Config) any { return &c.Server.MetricsAddress })
	secret(s, "metrics_token",
		func(c *Config) any { return &c.Server.MetricsToken },
		func(c *Config) any { return &c.Server.MetricsTokenFile })
	add(s, "trusted_proxies", kList, func(c *Config) any { return &c.Server.TrustedProxies })
	add(s, "login_rate_limit", kInt, func(c *Config) any { return &c.Server.LoginRateLimit })
	add(s, "token_rate_limit", kInt, func(c *Config) any { return &c.Server.TokenRateLimit })
	add(s, "publish_rate_limit", kInt, func(c *Config) any { return &c.Server.PublishRateLimit })
	add(s, "password_hash_concurrency", kInt, func(c *Config) any { return &c.Server.PasswordHashConcurrency })
	add(s, "password_hash_wait", kDuration, func(c *Config) any { return &c.Server.PasswordHashWait })
	add(s, "login_max_failures", kInt, func(c *Config) any { return &c.Server.LoginMaxFailures })
	add(s, "login_failure_window", kDuration, func(c *Config) any { return &c.Server.LoginFailureWindow })
	add(s, "max_unpacked_size", kSize, func(c *Config) any { return &c.Server.MaxUnpackedSize })
	add(s, "max_files", kInt, func(c *Config) any { return &c.Server.MaxFiles })
	add(s, "max_path_length", kInt, func(c *Config) any { return &c.Server.MaxPathLength })
	add(s, "max_manifest_size", kSize, func(c *Config) any { return &c.Server.MaxManifestSize })
	add(s, "max_dependencies", kInt, func(c *Config) any { return &c.Server.MaxDependencies })
	add(s, "max_features", kInt, func(c *Config) any { return &c.Server.MaxFeatures })
	add(s, "max_feature_values", kInt, func(c *Config) any { return &c.Server.MaxFeatureValues })
	add(s, "max_version_length", kInt, func(c *Config) any { return &c.Server.MaxVersionLength })
	add(s, "max_description_length", kInt, func(c *Config) any { return &c.Server.MaxDescriptionLength })
	add(s, "max_keywords", kInt, func(c *Config) any { return &c.Server.MaxKeywords })
	add(s, "max_keyword_length", kInt, func(c *Config) any { return &c.Server.MaxKeywordLength })
	add(s, "max_categories", kInt, func(c *Config) any { return &c.Server.MaxCategories })
	add(s, "reserved_names", kList, func(c *Config) any { return &c.Server.ReservedNames })
	add(s, "static_dir", kString, func(c *Config) any { return &c.Server.StaticDir })
	add(s, "registry_name", kString, func(c *Config) any { return &c.Server.RegistryName })

	s = secDB
	add(s, "db_dir_path", kString, func(c *Config) any { return &c.DB.DBDirPath })
	add(s, "login_prefix", kString, func(c *Config) any { return &c.DB.LoginPrefix })
	secret(s, "postgres_url",
		func(c *Config) any { return &c.DB.PostgresURL },
		func(c *Config) any { return &c.DB.PostgresURLFile })
	// Ktra's URLs may hold passwords: treat them as secrets in messages.
	add(s, "redis_url", kString, func(c *Config) any { return &c.DB.RedisURL }).secret = true
	add(s, "mongodb_url", kString, func(c *Config) any { return &c.DB.MongoDBURL }).secret = true
	add(s, "query_timeout", kDuration, func(c *Config) any { return &c.DB.QueryTimeout })

	s = secCrateFiles
	add(s, "dl_dir_path", kString, func(c *Config) any { return &c.CrateFiles.DLDirPath })
	add(s, "dl_path", kList, func(c *Config) any { return &c.CrateFiles.DLPath })
	add(s, "cache_dir_path", kString, func(c *Config) any { return &c.CrateFiles.CacheDirPath })
	add(s, "s3_bucket", kString, func(c *Config) any { return &c.CrateFiles.S3Bucket })
	add(s, "s3_endpoint", kString, func(c *Config) any { return &c.CrateFiles.S3Endpoint })
	add(s, "s3_region", kString, func(c *Config) any { return &c.CrateFiles.S3Region })
	secret(s, "s3_access_key",
		func(c *Config) any { return &c.CrateFiles.S3AccessKey },
		func(c *Config) any { return &c.CrateFiles.S3AccessKeyFile })
	secret(s, "s3_secret_key",
		func(c *Config) any { return &c.CrateFiles.S3SecretKey },
		func(c *Config) any { return &c.CrateFiles.S3SecretKeyFile })
	add(s, "s3_prefix", kString, func(c *Config) any { return &c.CrateFiles.S3Prefix })
	add(s, "s3_path_style", kOptBool, func(c *Config) any { return &c.CrateFiles.S3PathStyle })
	add(s, "s3_redirect_downloads", kBool, func(c *Config) any { return &c.CrateFiles.S3RedirectDownloads })
	add(s, "s3_timeout", kDuration, func(c *Config) any { return &c.CrateFiles.S3Timeout })
	add(s, "s3_max_retries", kInt, func(c *Config) any { return &c.CrateFiles.S3MaxRetries })
	add(s, "s3_static_prefix", kString, func(c *Config) any { return &c.CrateFiles.S3StaticPrefix })

	s = secIndex
	add(s, "remote_url", kString, func(c *Config) any { return &c.index().RemoteURL })
	add(s, "branch", kString, func(c *Config) any { return &c.index().Branch })
	add(s, "local_path", kString, func(c *Config) any { return &c.index().LocalPath })
	add(s, "https_username", kString, func(c *Config) any { return &c.index().HTTPSUsername })
	secret(s, "https_password",
		func(c *Config) any { return &c.index().HTTPSPassword },
		func(c *Config) any { return &c.index().HTTPSPasswordFile })
	add(s, "ssh_username", kString, func(c *Config) any { return &c.index().SSHUsername })
	add(s, "ssh_pubkey_path", kString, func(c *Config) any { return &c.index().SSHPubkeyPath })
	add(s, "ssh_privkey_path", kString, func(c *Config) any { return &c.index().SSHPrivkeyPath })
	secret(s, "ssh_key_passphrase",
		func(c *Config) any { return &c.index().SSHKeyPassphrase },
		func(c *Config) any { return &c.index().SSHKeyPassphraseFile })
	add(s, "name", kString, func(c *Config) any { return &c.index().Name })
	add(s, "email", kString, func(c *Config) any { return &c.index().Email })
	add(s, "git_name", kString, func(c *Config) any { return &c.index().Name }).aliasOf = "name"
	add(s, "git_email", kString, func(c *Config) any { return &c.index().Email }).aliasOf = "email"

	s = secOpenID
	add(s, "issuer_url", kString, func(c *Config) any { return &c.openID().IssuerURL })
	add(s, "redirect_url", kString, func(c *Config) any { return &c.openID().RedirectURL })
	add(s, "client_id", kString, func(c *Config) any { return &c.openID().ClientID })
	secret(s, "client_secret",
		func(c *Config) any { return &c.openID().ClientSecret },
		func(c *Config) any { return &c.openID().ClientSecretFile })
	add(s, "additional_scopes", kList, func(c *Config) any { return &c.openID().AdditionalScopes })
	add(s, "gitlab_authorized_groups", kList, func(c *Config) any { return &c.openID().GitlabAuthorizedGroups })
	add(s, "gitlab_authorized_users", kList, func(c *Config) any { return &c.openID().GitlabAuthorizedUsers })
	add(s, "authorized_groups", kList, func(c *Config) any { return &c.openID().AuthorizedGroups })
	add(s, "authorized_users", kList, func(c *Config) any { return &c.openID().AuthorizedUsers })
	add(s, "groups_claim", kString, func(c *Config) any { return &c.openID().GroupsClaim })
	add(s, "username_claim", kString, func(c *Config) any { return &c.openID().UsernameClaim })
	secret(s, "token_seal_key",
		func(c *Config) any { return &c.openID().TokenSealKey },
		func(c *Config) any { return &c.openID().TokenSealKeyFile })
	add(s, "allow_password_login", kBool, func(c *Config) any { return &c.openID().AllowPasswordLogin })
	add(s, "http_timeout", kDuration, func(c *Config) any { return &c.openID().HTTPTimeout })

	s = secMirror
	add(s, "upstream_index", kString, func(c *Config) any { return &c.mirror().UpstreamIndex })
	add(s, "index_ttl", kDuration, func(c *Config) any { return &c.mirror().IndexTTL })
	add(s, "serve_stale_on_error", kBool, func(c *Config) any { return &c.mirror().ServeStaleOnError })
	add(s, "min_age", kDuration, func(c *Config) any { return &c.mirror().MinAge })
	add(s, "allow", kList, func(c *Config) any { return &c.mirror().Allow })
	add(s, "deny", kList, func(c *Config) any { return &c.mirror().Deny })
	secret(s, "upstream_token",
		func(c *Config) any { return &c.mirror().UpstreamToken },
		func(c *Config) any { return &c.mirror().UpstreamTokenFile })
	add(s, "upstream_timeout", kDuration, func(c *Config) any { return &c.mirror().UpstreamTimeout })
	add(s, "upstream_concurrency", kInt, func(c *Config) any { return &c.mirror().UpstreamConcurrency })

	s = secTrustPub
	add(s, "github_issuer", kString, func(c *Config) any { return &c.TrustedPublishing.GitHubIssuer })
	add(s, "gitlab_issuers", kList, func(c *Config) any { return &c.TrustedPublishing.GitLabIssuers })
	add(s, "audience", kString, func(c *Config) any { return &c.TrustedPublishing.Audience })
	add(s, "http_timeout", kDuration, func(c *Config) any { return &c.TrustedPublishing.HTTPTimeout })
	return ks
}()

// Lookup tables built from keys.
var (
	keysByID  = map[string]*keyDef{}
	keysByEnv = map[string]*keyDef{}
)

func init() {
	for _, k := range keys {
		keysByID[k.id()] = k
		keysByEnv[k.env()] = k
	}
}

// layer applies the values of one source (the file, the environment, the
// flags) to a Config and collects the problems it finds.
type layer struct {
	c *Config
	p *problems
	// set maps each slot to the key that set it in this layer.
	set map[string]*keyDef
}

func newLayer(c *Config, p *problems) *layer {
	return &layer{c: c, p: p, set: map[string]*keyDef{}}
}

// assign stores v (already parsed to the field's type) under k, reporting a
// second key of the same slot and clearing the slot's other fields.
func (l *layer) assign(k *keyDef, source string, v any) {
	if prev := l.set[k.slot()]; prev != nil && prev != k {
		l.p.addf("%s and %s are both set %s: set only one", prev.id(), k.id(), source)
		return
	}
	l.set[k.slot()] = k
	for _, other := range keys {
		if other != k && other.slot() == k.slot() {
			reflect.ValueOf(other.field(l.c)).Elem().SetZero()
		}
	}
	reflect.ValueOf(k.field(l.c)).Elem().Set(reflect.ValueOf(v))
	l.c.setSource(k.id(), source)
}

// setString parses a value given as text (environment, flags).
func (l *layer) setString(k *keyDef, source, s string) {
	v, err := parseString(k.kind, s)
	if err != nil {
		l.p.add(valueProblem(k, source, s, err))
		return
	}
	l.assign(k, source, v)
}

// setTOML converts a decoded TOML value.
func (l *layer) setTOML(k *keyDef, source string, raw any) {
	v, err := parseTOML(k.kind, raw)
	if err != nil {
		l.p.add(valueProblem(k, source, raw, err))
		return
	}
	l.assign(k, source, v)
}

// parseString converts text to the Go type of kind.
func parseString(kd kind, s string) (any, error) {
	switch kd {
	case kString:
		return s, nil
	case kBool, kOptBool:
		b, err := parseBool(s)
		if err != nil {
			return nil, err
		}
		if kd == kOptBool {
			return &b, nil
		}
		return b, nil
	case kInt:
		return parseInt(s)
	case kSize:
		return parseSize(s)
	case kDuration:
		return parseDuration(s)
	case kList:
		return splitList(s), nil
	case kAddress:
		return parseAddress(s)
	}
	panic("config: unknown kind")
}

// parseTOML converts a value decoded by the TOML reader to the Go type of
// kind. Scalars must have the TOML type of the key, except where crated
// accepts two spellings (sizes, durations, addresses).
func parseTOML(kd kind, raw any) (any, error) {
	switch kd {
	case kString:
		if s, ok := raw.(string); ok {
			return s, nil
		}
		return nil, wrongType("a string", raw)
	case kBool, kOptBool:
		b, ok := raw.(bool)
		if !ok {
			return nil, wrongType("true or false", raw)
		}
		if kd == kOptBool {
			return &b, nil
		}
		return b, nil
	case kInt:
		if n, ok := raw.(int64); ok {
			return int(n), nil
		}
		return nil, wrongType("an integer", raw)
	case kSize:
		switch v := raw.(type) {
		case int64:
			return v, nil
		case string:
			return parseSize(v)
		}
		return nil, wrongType(`an integer number of bytes or a string such as "10MiB"`, raw)
	case kDuration:
		switch v := raw.(type) {
		case int64:
			return time.Duration(v) * time.Second, nil
		case string:
			return parseDuration(v)
		}
		return nil, wrongType(`a duration such as "90s", "5m", "7d" or an integer number of seconds`, raw)
	case kList:
		arr, ok := raw.([]any)
		if !ok {
			return nil, wrongType("an array of strings", raw)
		}
		var out []string
		for _, e := range arr {
			s, ok := e.(string)
			if !ok {
				return nil, wrongType("an array of strings", raw)
			}
			out = append(out, s)
		}
		return out, nil
	case kAddress:
		switch v := raw.(type) {
		case string:
			return parseAddress(v)
		case []any:
			return addressFromArray(v)
		}
		return nil, wrongType(`an IP address such as "0.0.0.0" or [0, 0, 0, 0]`, raw)
	}
	panic("config: unknown kind")
}
