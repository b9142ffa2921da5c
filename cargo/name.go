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

// reservedNames are refused as crate names, compared canonically: the names
// crates.io reserves for the Rust toolchain, and the Windows device names,
// which cannot be file names on Windows (cargo unpacks crates into a
// directory named after the crate).
var reservedNames = func() map[string]bool {
	m := make(map[string]bool)
	for _, n := range strings.Fields(`alloc arena ast builtins collections
		compiler-builtins compiler-rt compiletest core coretest debug driver
		flate fmt_macros grammar graphviz macro macros proc_macro rbml
		rust-installer rustbook rustc rustc_back rustc_borrowck rustc_driver
		rustc_llvm rustc_resolve rustc_trans rustc_typeck rustdoc rustllvm
		rustuv serialize std syntax test unicode`) {
		m[CanonicalName(n)] = true
	}
	return m
}()

// isWindowsDeviceName reports whether the canonical name is nul, con, prn,
// aux, com0-com9 or lpt0-lpt9.
func isWindowsDeviceName(canon string) bool {
	switch canon {
	case "nul", "con", "prn", "aux":
		return true
	}
	return len(canon) == 4 && (canon[:3] == "com" || canon[:3] == "lpt") &&
		'0' <= canon[3] && canon[3] <= '9'
}

// ValidateName checks the name of a crate being published, with the rules of
// crates.io: 1 to 64 ASCII characters, an ASCII letter first, then ASCII
// letters, digits, '-' or '_'; not a reserved name (toolchain crates such as
// std, or a Windows device name such as nul or com1).
func ValidateName(name string) error {
	if err := validateIdent("crate", name, false); err != nil {
		return err
	}
	canon := CanonicalName(name)
	if reservedNames[canon] {
		return invalidf("the name %s is reserved and cannot be used as a crate name", show(name))
	}
	if isWindowsDeviceName(canon) {
		return invalidf("the name %s is a reserved Windows device name and cannot be used as a crate name", show(name))
	}
	return nil
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

// validateKeyword checks a keyword: 1 to 20 characters, an ASCII letter or
// digit first, then ASCII letters, digits, '_', '-' or '+' (crates.io).
func validateKeyword(kw string) error {
	if kw == "" {
		return invalidf("keywords cannot be empty")
	}
	if len(kw) > MaxKeywordLength {
		return invalidf("invalid keyword %s: keywords are at most %d characters long", show(kw), MaxKeywordLength)
	}
	c := kw[0]
	if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
		return invalidf("invalid keyword %s: the first character must be an ASCII letter or digit", show(kw))
	}
	for i := 1; i < len(kw); i++ {
		if c := kw[i]; !isNameByte(c) && c != '+' {
			r, _ := utf8.DecodeRuneInString(kw[i:])
			return invalidf("invalid keyword %s: invalid character %s, only ASCII letters, digits, `_`, `-` and `+` are allowed", show(kw), showRune(r))
		}
	}
	return nil
}
