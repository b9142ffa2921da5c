package config

import (
	"bytes"
	"flag"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The key table and the struct fields must agree: every field with a toml
// tag has a key of the same name whose accessor points at that very field,
// and every key but the aliases has a field.
func TestKeyTableMatchesStructs(t *testing.T) {
	c := &Config{}
	c.index()
	c.openID()
	c.mirror()
	seen := map[*keyDef]bool{}
	cv := reflect.ValueOf(c).Elem()
	ct := cv.Type()
	for i := 0; i < ct.NumField(); i++ {
		section := ct.Field(i).Tag.Get("toml")
		if section == "" || section == "-" {
			continue
		}
		sv := cv.Field(i)
		if sv.Kind() == reflect.Pointer {
			sv = sv.Elem()
		}
		for j := 0; j < sv.NumField(); j++ {
			name := sv.Type().Field(j).Tag.Get("toml")
			k := keysByID[section+"."+name]
			if k == nil {
				t.Errorf("field %s.%s (%s.%s) has no key", sv.Type().Name(), sv.Type().Field(j).Name, section, name)
				continue
			}
			seen[k] = true
			if got, want := reflect.ValueOf(k.field(c)).Pointer(), sv.Field(j).Addr().Pointer(); got != want {
				t.Errorf("key %s points at the wrong field", k.id())
			}
		}
	}
	for _, k := range keys {
		if !seen[k] && k.aliasOf == "" {
			t.Errorf("key %s has no struct field", k.id())
		}
	}
}

// Each kind's parser produces the field's type (assign panics otherwise).
func TestKeyKindsMatchFields(t *testing.T) {
	samples := map[kind]string{
		kString: "x", kBool: "true", kOptBool: "false", kInt: "1", kSize: "1KiB",
		kDuration: "1s", kList: "a,b", kAddress: "::1",
	}
	for _, k := range keys {
		c := &Config{}
		var p problems
		newLayer(c, &p).setString(k, "test", samples[k.kind])
		if len(p) != 0 {
			t.Errorf("%s: %v", k.id(), p)
		}
	}
}

// Ktra's command-line flags keep their names.
func TestKtraFlagNames(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	RegisterFlags(fs)
	// From Ktra 0.7.0's clap definition, plus crated's additions.
	for _, name := range []string{
		"config", "c", "dl-dir-path", "cache-dir-path", "dl-path", "login-prefix", "db-dir-path",
		"redis-url", "mongodb-url", "remote-url", "local-path", "branch", "https-username",
		"https-password", "ssh-username", "ssh-pubkey-path", "ssh-privkey-path", "ssh-key-passphrase",
		"git-name", "git-email", "address", "openid-issuer", "openid-redirect", "openid-client-id",
		"openid-client-secret", "openid-additional-scopes", "openid-gitlab-groups", "openid-gitlab-users",
		"port", "base-url", "auth-required", "open-registration", "postgres-url",
	} {
		if fs.Lookup(name) == nil {
			t.Errorf("flag --%s is not defined", name)
		}
	}
	// The help text names the key and its environment variable.
	var help bytes.Buffer
	fs.SetOutput(&help)
	fs.PrintDefaults()
	if !strings.Contains(help.String(), "server_config.port, env CRATED_SERVER_CONFIG_PORT") {
		t.Errorf("help does not name the key and variable:\n%s", help.String())
	}
}

// Flags that were not given do not override anything, even when their
// zero value differs from the file's value.
func TestUnsetFlagsDoNotOverride(t *testing.T) {
	path := writeFile(t, "crated.toml", "[server_config]\nauth_required = true\nport = 9000\n")
	c := mustLoad(t, path, nil, parseFlags(t, "--branch", "b"))
	eq(t, "auth_required", c.Server.AuthRequired, true)
	eq(t, "port", c.Server.Port, 9000)
	// --auth-required=false turns it off explicitly.
	c = mustLoad(t, path, nil, parseFlags(t, "--auth-required=false"))
	eq(t, "auth_required", c.Server.AuthRequired, false)
	eq(t, "ConfigFile of nil", (*Flags)(nil).ConfigFile(), "")
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"10485760", 10485760, true},
		{"10MiB", 10 * MiB, true},
		{"10 MiB", 10 * MiB, true},
		{"10mib", 10 * MiB, true},
		{"50MB", 50_000_000, true},
		{"512KiB", 512 * KiB, true},
		{"1kb", 1000, true},
		{"10M", 10 * MiB, true},
		{"1GiB", GiB, true},
		{"1.5KiB", 1536, true},
		{"100B", 100, true},
		{"-1", -1, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"10 parsecs", 0, false},
		{"9999999999999GiB", 0, false},
		{"1e3", 0, false},
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90s", 90 * time.Second, true},
		{"1h30m", 90 * time.Minute, true},
		{"300", 300 * time.Second, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"0", 0, true},
		{"-5m", -5 * time.Minute, true},
		{"soon", 0, false},
		{"1.5d", 0, false},
		{"d", 0, false},
		{"99999999999999d", 0, false},
	} {
		got, err := parseDuration(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct {
		in   any // string or TOML array
		want string
	}{
		{"0.0.0.0", "0.0.0.0"},
		{" 127.0.0.1 ", "127.0.0.1"},
		{"::", "::"},
		{"[::1]", "::1"},
		{"0:0:0:0:0:0:0:1", "::1"},
		{"LOCALHOST", "localhost"},
		{"example.com", ""},
		{"", ""},
		{[]any{int64(0), int64(0), int64(0), int64(0)}, "0.0.0.0"},
		{[]any{int64(192), int64(168), int64(1), int64(10)}, "192.168.1.10"},
		{[]any{int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(1)}, "::1"},
		{[]any{int64(0xfe80), int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(1)}, "fe80::1"},
		{[]any{int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(0),
			int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(1)}, "::1"},
		{[]any{int64(256), int64(0), int64(0), int64(0)}, ""},
		{[]any{int64(-1), int64(0), int64(0), int64(0)}, ""},
		{[]any{"0", "0", "0", "0"}, ""},
		{[]any{int64(0), int64(0), int64(0)}, ""},
	} {
		got, err := parseTOML(kAddress, tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("address %v = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("address %v = %v, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	ids := []string{"server_config.port", "server_config.address"}
	eq(t, "prot", suggest("server_config.prot", ids), "server_config.port")
	eq(t, "adress", suggest("server_config.adress", ids), "server_config.address")
	eq(t, "far", suggest("db_config.x", ids), "")
}

// uncomment turns "# key = value" and "# [section]" lines into TOML, leaving
// prose comments alone.
var commentedTOML = regexp.MustCompile(`(?m)^# ((?:\[[a-z_]+\])|(?:[a-z0-9_]+ = .*))$`)

// The example file, loaded as it is, equals the embedded defaults: every
// value it shows uncommented is the true default.
func TestExampleFileIsDefault(t *testing.T) {
	c := mustLoad(t, "../crated.example.toml", nil, nil)
	eq(t, "crated.example.toml", comparable(c), comparable(Default()))
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("warnings: %q", w)
	}
}

// Every key appears in the example file, and its commented-out keys are real
// keys of the right type.
func TestExampleFileShowsEveryKey(t *testing.T) {
	data, err := os.ReadFile("../crated.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	uncommented := commentedTOML.ReplaceAll(data, []byte("$1"))
	c := newConfig(true)
	var p problems
	c.applyTOML(uncommented, "crated.example.toml (uncommented)", &p)
	for _, msg := range p {
		// The example shows both a secret and its _file; anything else is
		// a mistake in the example.
		if !strings.Contains(msg, "set only one") {
			t.Error(msg)
		}
	}
	for _, k := range keys {
		if k.aliasOf != "" || k.id() == "db_config.redis_url" || k.id() == "db_config.mongodb_url" {
			continue
		}
		if !regexp.MustCompile(`(?m)^(# )?` + k.name + ` = `).Match(data) {
			t.Errorf("crated.example.toml does not show %s", k.id())
		}
	}
}

// docs/configuration.md documents every key and its environment variable.
func TestDocsCoverEveryKey(t *testing.T) {
	data, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, k := range keys {
		if !strings.Contains(doc, "`"+k.name+"`") {
			t.Errorf("docs/configuration.md does not document %s", k.id())
		}
		if k.aliasOf == "" && !strings.Contains(doc, k.env()) {
			t.Errorf("docs/configuration.md does not name %s", k.env())
		}
	}
	for _, d := range flagDefs {
		if !strings.Contains(doc, "--"+d.name) {
			t.Errorf("docs/configuration.md does not name flag --%s", d.name)
		}
	}
	for _, name := range otherEnv {
		if !strings.Contains(doc, name) {
			t.Errorf("docs/configuration.md does not name %s", name)
		}
	}
}
