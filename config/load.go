package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/crated/crated"
)

const (
	envPrefix = "CRATED_"
	// envConfigPath names the configuration file, like --config.
	envConfigPath = "CRATED_CONFIG"
)

// otherEnv lists the CRATED_* variables that are not configuration keys but
// are read elsewhere in the program. Every other CRATED_* variable must be a
// key, so that a typo fails at start instead of being silently ignored. Add
// new non-key variables here.
var otherEnv = []string{
	envConfigPath,          // the configuration file (this package)
	envLegacySealKey,       // openid_config.token_seal_key (applyEnv)
	"CRATED_TOOLS",         // cache of test servers built by .ci/run
	"CRATED_VERSITYGW_DIR", // exported by .ci/tools/versitygw.sh
}

// otherEnvPrefixes are prefixes of non-key variables (test settings).
var otherEnvPrefixes = []string{"CRATED_TEST_"}

func isOtherEnv(name string) bool {
	for _, n := range otherEnv {
		if name == n {
			return true
		}
	}
	for _, p := range otherEnvPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// lookupEnv returns the value of name in environ ("" when absent). The last
// occurrence wins, as with os.Getenv.
func lookupEnv(environ []string, name string) string {
	v := ""
	for _, kv := range environ {
		if n, val, ok := strings.Cut(kv, "="); ok && n == name {
			v = val
		}
	}
	return v
}

// problems collects every problem of a load, so that the operator can fix
// them all at once.
type problems []string

func (p *problems) add(msg string) { *p = append(*p, msg) }

func (p *problems) addf(format string, args ...any) { p.add(fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return crated.Errorf(crated.EINVALID, "config: %s", strings.Join(p, "; "))
}

// valueProblem describes a value that cannot be parsed, showing the value
// unless the key is secret.
func valueProblem(k *keyDef, source string, value any, err error) string {
	if k.secret || k.fileOf != "" {
		return fmt.Sprintf("%s %s: %v", k.id(), source, err)
	}
	return fmt.Sprintf("%s %s: %s: %v", k.id(), source, showValue(value), err)
}

func showValue(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("%q", v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = showValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprint(v)
}

func wrongType(want string, got any) error {
	return fmt.Errorf("expected %s, got %s", want, tomlType(got))
}

// tomlType names the TOML type of a decoded value.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return "a date or time"
}

// applyTOML applies a Ktra/crated TOML document. Keys are visited in the
// order of the file (MetaData.Keys) and looked up in the key table, so an
// unknown section or key is reported where it appears.
func (c *Config) applyTOML(data []byte, file string, p *problems) {
	var doc map[string]any
	md, err := toml.Decode(string(data), &doc)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			p.addf("%s: %s", file, pe.Error())
		} else {
			p.addf("%s: %v", file, err)
		}
		return
	}
	source := "in " + file
	l := newLayer(c, p)
	for _, key := range md.Keys() {
		switch len(key) {
		case 1:
			name := key[0]
			if !isSection(name) {
				p.add(unknownTopLevel(name, source))
				continue
			}
			if _, ok := doc[name].(map[string]any); !ok {
				p.addf("[%s] %s: expected a table, got %s", name, source, tomlType(doc[name]))
				continue
			}
			ensureSection(c, name)
		case 2:
			section, name := key[0], key[1]
			table, ok := doc[section].(map[string]any)
			if !ok || !isSection(section) {
				continue // reported with the section
			}
			k := keysByID[section+"."+name]
			if k == nil {
				p.add(unknownKey(section+"."+name, source))
				continue
			}
			l.setTOML(k, source, table[name])
		default:
			// Deeper keys belong to a value already reported as having the
			// wrong type (a table where a scalar belongs), or to an unknown
			// section.
		}
	}
}

func unknownTopLevel(name, source string) string {
	// A key written above every [section] header is a common slip.
	var homes []string
	for _, k := range keys {
		if k.name == name {
			homes = append(homes, k.id())
		}
	}
	if len(homes) > 0 {
		return fmt.Sprintf("unknown key %s %s: keys belong in a section, did you mean %s?", name, source, strings.Join(homes, " or "))
	}
	msg := fmt.Sprintf("unknown section [%s] %s", name, source)
	var names []string
	for _, s := range sections {
		names = append(names, s.name)
	}
	if s := suggest(name, names); s != "" {
		msg += fmt.Sprintf(" (did you mean [%s]?)", s)
	}
	return msg
}

func unknownKey(id, source string) string {
	msg := fmt.Sprintf("unknown key %s %s", id, source)
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.id())
	}
	if s := suggest(id, ids); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return msg
}

// envLegacySealKey is the older name of CRATED_OPENID_CONFIG_TOKEN_SEAL_KEY,
// which deployments already set. It only matters with OpenID login, and was
// ignored without it: it sets the key only when [openid_config] exists, so
// that it never creates the section, and the newer variables win over it.
const envLegacySealKey = "CRATED_TOKEN_SEAL_KEY"

// applyEnv applies the CRATED_* variables of environ. Any other CRATED_*
// variable not on the otherEnv list is an error: typos must not be silent.
func (c *Config) applyEnv(environ []string, p *problems) {
	l := newLayer(c, p)
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) || isOtherEnv(name) {
			continue
		}
		k := keysByEnv[name]
		if k == nil {
			p.add(unknownEnv(name))
			continue
		}
		l.setString(k, "from "+name, value)
	}
	k, kf := keysByID[secOpenID+".token_seal_key"], keysByID[secOpenID+".token_seal_key_file"]
	if v := lookupEnv(environ, envLegacySealKey); v != "" && c.OpenID != nil &&
		lookupEnv(environ, k.env()) == "" && lookupEnv(environ, kf.env()) == "" {
		l.setString(k, "from "+envLegacySealKey, v)
	}
}

func unknownEnv(name string) string {
	msg := fmt.Sprintf("unknown environment variable %s: no such configuration key", name)
	var names []string
	for _, k := range keys {
		names = append(names, k.env())
	}
	if s := suggest(name, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return msg
}

// applyFlags applies the command-line flags that were set, in the order
// they were first given.
func (c *Config) applyFlags(f *Flags, p *problems) {
	l := newLayer(c, p)
	for _, v := range f.order {
		l.setString(v.key, "from flag --"+v.name, v.value())
	}
}

// readSecretFiles replaces each secret whose _file key is set by the trimmed
// content of that file.
func (c *Config) readSecretFiles(p *problems) {
	for _, k := range keys {
		if k.fileOf == "" || !c.hasSection(k.section) {
			continue
		}
		path := *k.field(c).(*string)
		if path == "" {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			p.addf("%s%s: cannot read %s: %s", k.id(), c.origin(k.id()), path, fsReason(err))
			continue
		}
		secret := strings.TrimSpace(string(data))
		if secret == "" {
			p.addf("%s%s: %s is empty", k.id(), c.origin(k.id()), path)
			continue
		}
		target := keysByID[k.section+"."+k.fileOf]
		*target.field(c).(*string) = secret
	}
}

// hasSection reports whether an optional section exists, so that reading a
// field does not create it.
func (c *Config) hasSection(name string) bool {
	switch name {
	case secIndex:
		return c.Index != nil
	case secOpenID:
		return c.OpenID != nil
	case secMirror:
		return c.Mirror != nil
	}
	return true
}

// fsReason is the short reason of a file error, without the path that the
// caller already prints.
func fsReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// DefaultFile is the configuration file every command reads from the
// current directory when neither --config nor CRATED_CONFIG names one, so
// that `crated serve` and `crated user add` run in the same directory find
// the same registry without repeating -c.
const DefaultFile = "crated.toml"

// explicitFile returns the file named by --config/-c, else by CRATED_CONFIG,
// and how it was named; "" when neither is set.
func explicitFile(flags *Flags, environ []string) (path, how string) {
	if p := flags.ConfigFile(); p != "" {
		return p, "from flag --config"
	}
	if p := lookupEnv(environ, envConfigPath); p != "" {
		return p, "from " + envConfigPath
	}
	return "", ""
}

// Locate returns the configuration file the commands use and how it was
// found: --config/-c, else CRATED_CONFIG, else ./crated.toml when that file
// exists; "" (the embedded defaults) otherwise. The one rule for serve and
// every admin command, so that they open the same registry.
func Locate(flags *Flags, environ []string) (path, how string, err error) {
	if path, how = explicitFile(flags, environ); path != "" {
		return path, how, nil
	}
	fi, err := os.Stat(DefaultFile)
	switch {
	case err == nil && fi.Mode().IsRegular():
		return DefaultFile, "found in the current directory", nil
	case err == nil:
		return "", "", crated.Errorf(crated.EINVALID, "config: ./%s is not a regular file", DefaultFile)
	case errors.Is(err, fs.ErrNotExist):
		return "", "", nil
	}
	return "", "", crated.Errorf(crated.EINVALID, "config: cannot read ./%s: %s", DefaultFile, fsReason(err))
}

// Origin says where the value of key ("section.key") came from: "in FILE",
// "from CRATED_X", "from flag --x", or "" for a default. For messages that
// point the operator at the setting to change.
func (c *Config) Origin(key string) string {
	return c.sources[key]
}
