package cargo

import (
	"strconv"
	"strings"
)

// Version is a strict semver 2.0 version, parsed the way cargo's semver
// crate parses one: exactly MAJOR.MINOR.PATCH, no leading zeros in numbers
// or numeric pre-release identifiers, no "v" prefix, no whitespace, no
// missing parts. Masterminds/semver accepts "1.0" and "v1.2.3", which cargo
// refuses, so this parser is written for the purpose.
//
// Because the grammar is strict, every version has exactly one spelling:
// String returns the input of ParseVersion unchanged. Versions are
// comparable with ==, which like Rust's semver includes build metadata.
type Version struct {
	Major, Minor, Patch uint64
	// Pre is the pre-release part without its '-', "" for a release.
	Pre string
	// Build is the build metadata without its '+', "" when absent.
	Build string
}

// ParseVersion parses a strict semver version such as "1.2.3-rc.1+build.5".
func ParseVersion(s string) (Version, error) {
	var v Version
	if s == "" {
		return v, invalidf("invalid version %s: empty string, expected a semver version", show(s))
	}
	rest := s
	var err error
	if v.Major, rest, err = parseNumber(s, rest, "major"); err != nil {
		return v, err
	}
	if rest, err = expectDot(s, rest, "major"); err != nil {
		return v, err
	}
	if v.Minor, rest, err = parseNumber(s, rest, "minor"); err != nil {
		return v, err
	}
	if rest, err = expectDot(s, rest, "minor"); err != nil {
		return v, err
	}
	if v.Patch, rest, err = parseNumber(s, rest, "patch"); err != nil {
		return v, err
	}
	var reason string
	if r, ok := strings.CutPrefix(rest, "-"); ok {
		if v.Pre, rest, reason = parseIdentifiers(r, "pre-release"); reason != "" {
			return v, invalidf("invalid version %s: %s", show(s), reason)
		}
	}
	if r, ok := strings.CutPrefix(rest, "+"); ok {
		if v.Build, rest, reason = parseIdentifiers(r, "build metadata"); reason != "" {
			return v, invalidf("invalid version %s: %s", show(s), reason)
		}
	}
	if rest != "" {
		return v, invalidf("invalid version %s: unexpected character %s, expected a semver version such as 1.2.3", show(s), showRune(firstRune(rest)))
	}
	return v, nil
}

// parseNumber reads a numeric identifier: digits, no leading zero, fits in
// 64 bits.
func parseNumber(s, rest, part string) (uint64, string, error) {
	n := 0
	for n < len(rest) && '0' <= rest[n] && rest[n] <= '9' {
		n++
	}
	if n == 0 {
		if rest == "" {
			return 0, rest, invalidf("invalid version %s: unexpected end of input while parsing %s version number", show(s), part)
		}
		return 0, rest, invalidf("invalid version %s: unexpected character %s while parsing %s version number", show(s), showRune(firstRune(rest)), part)
	}
	if n > 1 && rest[0] == '0' {
		return 0, rest, invalidf("invalid version %s: invalid leading zero in %s version number", show(s), part)
	}
	x, err := strconv.ParseUint(rest[:n], 10, 64)
	if err != nil {
		return 0, rest, invalidf("invalid version %s: value of %s version number exceeds u64::MAX", show(s), part)
	}
	return x, rest[n:], nil
}

func expectDot(s, rest, part string) (string, error) {
	if r, ok := strings.CutPrefix(rest, "."); ok {
		return r, nil
	}
	if rest == "" {
		return rest, invalidf("invalid version %s: unexpected end of input after %s version number, expected MAJOR.MINOR.PATCH", show(s), part)
	}
	return rest, invalidf("invalid version %s: unexpected character %s after %s version number, expected MAJOR.MINOR.PATCH", show(s), showRune(firstRune(rest)), part)
}

// parseIdentifiers reads dot-separated identifiers of [0-9A-Za-z-], each
// non-empty; numeric pre-release identifiers have no leading zero. It stops
// at the first byte that cannot be part of them. On failure it returns the
// reason, for the caller to put into its own message.
func parseIdentifiers(rest, part string) (ids, after, reason string) {
	i, start := 0, 0
	digitsOnly := true
	for {
		var c byte
		if i < len(rest) {
			c = rest[i]
		}
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '-':
			digitsOnly = false
			i++
			continue
		case '0' <= c && c <= '9':
			i++
			continue
		}
		// End of one identifier.
		if i == start {
			return "", rest, "empty identifier segment in " + part
		}
		if part == "pre-release" && digitsOnly && i-start > 1 && rest[start] == '0' {
			return "", rest, "invalid leading zero in pre-release identifier"
		}
		if c != '.' || i >= len(rest) {
			return rest[:i], rest[i:], ""
		}
		i++
		start = i
		digitsOnly = true
	}
}

// String returns the version in its only spelling, build metadata included.
func (v Version) String() string {
	b := make([]byte, 0, 32+len(v.Pre)+len(v.Build))
	b = v.appendKey(b)
	if v.Build != "" {
		b = append(b, '+')
		b = append(b, v.Build...)
	}
	return string(b)
}

// Key returns the version without build metadata. A crate may have only one
// version per Key: 1.0.7 and 1.0.7+extra must not both exist.
func (v Version) Key() string {
	return string(v.appendKey(make([]byte, 0, 32+len(v.Pre))))
}

func (v Version) appendKey(b []byte) []byte {
	b = strconv.AppendUint(b, v.Major, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, v.Minor, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, v.Patch, 10)
	if v.Pre != "" {
		b = append(b, '-')
		b = append(b, v.Pre...)
	}
	return b
}

// SortKey returns a string whose byte-wise order is semver precedence:
// numbers compare numerically, a pre-release sorts before its release,
// pre-release identifiers compare numerically when numeric, numeric before
// alphanumeric, and a shorter list of identifiers before a longer one with
// the same prefix. Build metadata does not take part (versions that differ
// only in it have equal precedence and cannot coexist in a crate), so a
// database can ORDER BY the key. It is printable ASCII without NUL.
//
// Layout: each number as n(digits), the pre-release marker, then either
// "~" for a release or "-" followed by the identifiers and "!":
//
//	n(d)      = len(len(d)) len(d) d       e.g. 7 -> "117", 42 -> "1242"
//	numeric   = "#" n(d)
//	alpha     = "$" ident "!"
//
// '!' (0x21) ends both an alphanumeric identifier and the list; it is lower
// than every identifier character ('-' is 0x2D) and than '#' and '$', which
// gives "shorter sorts first". '#' < '$' puts numeric before alphanumeric,
// and '-' < '~' puts a pre-release before the release.
func (v Version) SortKey() string {
	b := make([]byte, 0, 48+2*len(v.Pre))
	var num [20]byte
	b = appendOrderedNat(b, strconv.AppendUint(num[:0], v.Major, 10))
	b = appendOrderedNat(b, strconv.AppendUint(num[:0], v.Minor, 10))
	b = appendOrderedNat(b, strconv.AppendUint(num[:0], v.Patch, 10))
	if v.Pre == "" {
		return string(append(b, '~'))
	}
	b = append(b, '-')
	for id := range strings.SplitSeq(v.Pre, ".") {
		if isNumericIdent(id) {
			b = append(b, '#')
			b = appendOrderedNat(b, []byte(id))
		} else {
			b = append(b, '$')
			b = append(b, id...)
			b = append(b, '!')
		}
	}
	return string(append(b, '!'))
}

// appendOrderedNat appends a decimal number without leading zeros so that
// longer (larger) numbers sort after shorter ones: the count of digits of
// the length, the length, then the digits.
func appendOrderedNat(b, digits []byte) []byte {
	var l [20]byte
	ls := strconv.AppendInt(l[:0], int64(len(digits)), 10)
	b = append(b, byte('0'+len(ls)))
	b = append(b, ls...)
	return append(b, digits...)
}

func isNumericIdent(id string) bool {
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return id != ""
}

// Compare returns -1, 0 or +1 as v has lower, equal or higher semver
// precedence than w. Build metadata is ignored.
func (v Version) Compare(w Version) int {
	for _, p := range [3][2]uint64{{v.Major, w.Major}, {v.Minor, w.Minor}, {v.Patch, w.Patch}} {
		if p[0] != p[1] {
			if p[0] < p[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case v.Pre == w.Pre:
		return 0
	case v.Pre == "":
		return 1
	case w.Pre == "":
		return -1
	}
	a, b := strings.Split(v.Pre, "."), strings.Split(w.Pre, ".")
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := compareIdent(a[i], b[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

func compareIdent(a, b string) int {
	an, bn := isNumericIdent(a), isNumericIdent(b)
	switch {
	case an && bn:
		if len(a) != len(b) {
			if len(a) < len(b) {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	case an:
		return -1
	case bn:
		return 1
	}
	return strings.Compare(a, b)
}
