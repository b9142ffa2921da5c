package cargo

import (
	"strings"
	"unicode/utf8"
)

// CanonicalName is the uniqueness key of a crate name, as on crates.io:
// lowercased, with '-' replaced by '_', so that Foo-Bar, foo_bar and FOO-BAR
// are one crate. Valid names are ASCII; other bytes are left as they are.
func CanonicalName(name string) string {
	// Fast path: most names are already canonical, and then no copy is made.
	i := 0
	for ; i < len(name); i++ {
		c := name[i]
		if c == '-' || ('A' <= c && c <= 'Z') {
			break
		}
	}
	if i == len(name) {
		return name
	}
	b := []byte(name)
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '-':
			b[i] = '_'
		case 'A' <= c && c <= 'Z':
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// ValidateName checks the shape of a crate name, with the rule of crates.io:
// 1 to 64 ASCII characters, an ASCII letter first, then ASCII letters,
// digits, '-' or '_'. Reserved names are a publish policy (Limits.IsReserved,
// checked by NewCrate.Validate): a crate with such a name may still exist.
func ValidateName(name string) error {
	return validateIdent("crate", name, false)
}

// validateDependencyName checks the real package name of a dependency: the
// crate-name rule without the reserved names, which exist elsewhere.
func validateDependencyName(name string) error {
	return validateIdent("dependency", name, false)
}

// validateDependencyAlias checks the name a dependency is renamed to in
// Cargo.toml (explicit_name_in_toml) and dependency names inside feature
// values: like a crate name, but it may also start with '_'.
func validateDependencyAlias(name string) error {
	return validateIdent("dependency", name, true)
}

// validateIdent is the crates.io identifier rule; what says which kind of
// name it is for the error message.
func validateIdent(what, name string, underscoreFirst bool) error {
	if name == "" {
		return invalidf("%s name cannot be empty", what)
	}
	if len(name) > MaxNameLength && utf8.RuneCountInString(name) > MaxNameLength {
		return invalidf("invalid %s name %s: it is longer than %d characters", what, show(name), MaxNameLength)
	}
	c := name[0]
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
	case c == '_' && underscoreFirst:
	default:
		if underscoreFirst {
			return invalidf("invalid %s name %s: the first character must be an ASCII letter or `_`", what, show(name))
		}
		return invalidf("invalid %s name %s: the first character must be an ASCII letter", what, show(name))
	}
	for i := 1; i < len(name); i++ {
		if !isNameByte(name[i]) {
			r, _ := utf8.DecodeRuneInString(name[i:])
			return invalidf("invalid %s name %s: invalid character %s, only ASCII letters, digits, `-` and `_` are allowed",
				what, show(name), showRune(r))
		}
	}
	return nil
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// ValidateFeatureName checks a feature name (a key of [features], or the
// feature part of "dep/feature"), with the rule of crates.io: the first
// character is a Unicode XID_Start character, '_' or an ASCII digit; the
// others are XID_Continue characters, '+', '-' or '.'.
func ValidateFeatureName(name string) error {
	if name == "" {
		return invalidf("feature name cannot be empty")
	}
	for i, r := range name {
		if i == 0 {
			if !(isXIDStart(r) || r == '_' || ('0' <= r && r <= '9')) {
				return invalidf("invalid character %s in feature %s: the first character must be a Unicode XID start character or digit (most letters or `_` or `0` to `9`)",
					showRune(r), show(name))
			}
			continue
		}
		if !(isXIDContinue(r) || r == '+' || r == '-' || r == '.') {
			return invalidf("invalid character %s in feature %s: characters must be Unicode XID characters, `+`, `-`, or `.` (numbers, `+`, `-`, `_`, `.`, or most letters)",
				showRune(r), show(name))
		}
	}
	return nil
}

// ValidateFeature checks one value of a feature (or one feature a dependency
// enables): a plain feature name, "dep:name", "name/feature" or
// "name?/feature". Dependency names there may start with '_' because they
// are the names used in Cargo.toml, which may be aliases.
func ValidateFeature(value string) error {
	if dep, feat, ok := strings.Cut(value, "/"); ok {
		dep = strings.TrimSuffix(dep, "?")
		if err := validateDependencyAlias(dep); err != nil {
			return err
		}
		return ValidateFeatureName(feat)
	}
	if dep, ok := strings.CutPrefix(value, "dep:"); ok {
		return validateDependencyAlias(dep)
	}
	return ValidateFeatureName(value)
}

// validateKeyword checks a keyword: 1 to max characters, no control
// characters. crates.io's character rule (an ASCII letter or digit first,
// then [A-Za-z0-9_+-]) came after crates were published with keywords such
// as "shared memory" or "nl80211.h", so it is not enforced.
func validateKeyword(kw string, max int) error {
	if kw == "" {
		return invalidf("keywords cannot be empty")
	}
	if len(kw) > max && utf8.RuneCountInString(kw) > max {
		return invalidf("invalid keyword %s: keywords are at most %d characters long", show(kw), max)
	}
	if !isPlainText(kw) {
		return invalidf("invalid keyword %s: it contains a control character", show(kw))
	}
	return nil
}
