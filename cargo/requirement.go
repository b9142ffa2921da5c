package cargo

import (
	"strconv"
	"strings"
)

// Comparator operators of a version requirement.
const (
	OpExact     = "="
	OpGreater   = ">"
	OpGreaterEq = ">="
	OpLess      = "<"
	OpLessEq    = "<="
	OpTilde     = "~"
	OpCaret     = "^"
	// OpWildcard is "1.*" or "1.2.*" written without an operator.
	OpWildcard = "*"
)

// maxComparators is the most comparators one requirement may have, as in
// cargo's semver crate.
const maxComparators = 32

// Comparator is one comma-separated part of a version requirement.
type Comparator struct {
	Op    string
	Major uint64
	// Minor and Patch are valid only when HasMinor / HasPatch: "^1" and
	// "1.*" have no minor, "~1.2" has no patch.
	Minor, Patch       uint64
	HasMinor, HasPatch bool
	// Pre is the pre-release, possible only with a patch ("=1.0.0-rc.1").
	Pre string
}

// Requirement is a parsed version requirement in cargo's syntax: comparators
// separated by commas. An empty Requirement is "*", any version.
type Requirement []Comparator

// ParseRequirement parses a version requirement the way cargo's semver crate
// does: comma-separated comparators, each an optional operator (= > >= < <=
// ~ ^) and a version with 1 to 3 parts, "*", "x" or "X" allowed in place of
// the minor or patch part (1.*, 1.2.x), a pre-release and build metadata only
// after a patch; spaces around operators and commas. A lone "*" (or "x")
// parses to the empty Requirement and may not be combined with others. The
// default operator is ^. At most 32 comparators.
func ParseRequirement(s string) (Requirement, error) {
	text := strings.TrimLeft(s, " ")
	if rest, ok := cutWildcard(text); ok {
		rest = strings.TrimLeft(rest, " ")
		switch {
		case rest == "":
			return Requirement{}, nil
		case rest[0] == ',':
			return nil, reqErrorf(s, "a wildcard (`*`) must be the only comparator")
		default:
			return nil, reqErrorf(s, "unexpected character %s after wildcard", showRune(firstRune(rest)))
		}
	}
	var req Requirement
	for {
		c, rest, err := parseComparator(s, text)
		if err != nil {
			if r, ok := cutWildcard(text); ok {
				if r = strings.TrimLeft(r, " "); r == "" || r[0] == ',' {
					return nil, reqErrorf(s, "a wildcard (`*`) must be the only comparator")
				}
			}
			return nil, err
		}
		req = append(req, c)
		if rest == "" {
			return req, nil
		}
		if rest[0] != ',' {
			return nil, reqErrorf(s, "unexpected character %s, expected a comma between comparators", showRune(firstRune(rest)))
		}
		if len(req) == maxComparators {
			return nil, reqErrorf(s, "too many comparators, at most %d are allowed", maxComparators)
		}
		text = strings.TrimLeft(rest[1:], " ")
	}
}

// ValidateRequirement checks a dependency's version requirement: it must
// parse (ParseRequirement) and must not be the bare wildcard "*", which
// crates.io refuses because a library cannot work with every version of a
// dependency.
func ValidateRequirement(req string) error {
	r, err := ParseRequirement(req)
	if err != nil {
		return err
	}
	if len(r) == 0 {
		return invalidf("wildcard (`*`) dependency constraints are not allowed: use a version requirement such as `1.0` instead of %s", show(req))
	}
	return nil
}

func reqErrorf(req, format string, args ...any) error {
	return invalidf("invalid version requirement %s: "+format, append([]any{show(req)}, args...)...)
}

func cutWildcard(s string) (string, bool) {
	if s != "" && (s[0] == '*' || s[0] == 'x' || s[0] == 'X') {
		return s[1:], true
	}
	return s, false
}

func parseComparator(req, input string) (Comparator, string, error) {
	var c Comparator
	text := input
	switch {
	case strings.HasPrefix(text, ">="):
		c.Op, text = OpGreaterEq, text[2:]
	case strings.HasPrefix(text, "<="):
		c.Op, text = OpLessEq, text[2:]
	case strings.HasPrefix(text, "="):
		c.Op, text = OpExact, text[1:]
	case strings.HasPrefix(text, ">"):
		c.Op, text = OpGreater, text[1:]
	case strings.HasPrefix(text, "<"):
		c.Op, text = OpLess, text[1:]
	case strings.HasPrefix(text, "~"):
		c.Op, text = OpTilde, text[1:]
	case strings.HasPrefix(text, "^"):
		c.Op, text = OpCaret, text[1:]
	}
	defaultOp := c.Op == ""
	if defaultOp {
		c.Op = OpCaret
	}
	text = strings.TrimLeft(text, " ")

	var err error
	if c.Major, text, err = reqNumber(req, text, "major"); err != nil {
		return c, text, err
	}
	wildcard := false
	if r, ok := strings.CutPrefix(text, "."); ok {
		text = r
		if r, ok := cutWildcard(text); ok {
			text, wildcard = r, true
			if defaultOp {
				c.Op = OpWildcard
			}
		} else {
			if c.Minor, text, err = reqNumber(req, text, "minor"); err != nil {
				return c, text, err
			}
			c.HasMinor = true
		}
	}
	if r, ok := strings.CutPrefix(text, "."); ok {
		text = r
		if r, ok := cutWildcard(text); ok {
			text = r
			if defaultOp {
				c.Op = OpWildcard
			}
		} else if wildcard {
			return c, text, reqErrorf(req, "unexpected character after wildcard, only `*` may follow `*`")
		} else {
			if c.Patch, text, err = reqNumber(req, text, "patch"); err != nil {
				return c, text, err
			}
			c.HasPatch = true
		}
	}
	if c.HasPatch {
		if r, ok := strings.CutPrefix(text, "-"); ok {
			if c.Pre, text, err = reqIdentifiers(req, r, "pre-release"); err != nil {
				return c, text, err
			}
		}
		if r, ok := strings.CutPrefix(text, "+"); ok {
			// Build metadata is allowed and ignored, as in cargo.
			if _, text, err = reqIdentifiers(req, r, "build metadata"); err != nil {
				return c, text, err
			}
		}
	}
	return c, strings.TrimLeft(text, " "), nil
}

func reqNumber(req, text, part string) (uint64, string, error) {
	n := 0
	for n < len(text) && '0' <= text[n] && text[n] <= '9' {
		n++
	}
	switch {
	case n == 0 && text == "":
		return 0, text, reqErrorf(req, "unexpected end of input while parsing %s version number", part)
	case n == 0:
		return 0, text, reqErrorf(req, "unexpected character %s while parsing %s version number", showRune(firstRune(text)), part)
	case n > 1 && text[0] == '0':
		return 0, text, reqErrorf(req, "invalid leading zero in %s version number", part)
	}
	x, err := strconv.ParseUint(text[:n], 10, 64)
	if err != nil {
		return 0, text, reqErrorf(req, "value of %s version number exceeds u64::MAX", part)
	}
	return x, text[n:], nil
}

func reqIdentifiers(req, text, part string) (string, string, error) {
	ids, rest, reason := parseIdentifiers(text, part)
	if reason != "" {
		return "", rest, reqErrorf(req, "%s", reason)
	}
	return ids, rest, nil
}

// String returns the requirement the way cargo writes it into the publish
// metadata: "0.1" becomes "^0.1", comparators are joined by ", ", build
// metadata is dropped, and the empty requirement is "*". Two requirements
// with equal String are equal.
func (r Requirement) String() string {
	if len(r) == 0 {
		return "*"
	}
	var b []byte
	for i, c := range r {
		if i > 0 {
			b = append(b, ", "...)
		}
		if c.Op != OpWildcard {
			b = append(b, c.Op...)
		}
		b = strconv.AppendUint(b, c.Major, 10)
		if c.HasMinor {
			b = append(b, '.')
			b = strconv.AppendUint(b, c.Minor, 10)
			if c.HasPatch {
				b = append(b, '.')
				b = strconv.AppendUint(b, c.Patch, 10)
				if c.Pre != "" {
					b = append(b, '-')
					b = append(b, c.Pre...)
				}
			} else if c.Op == OpWildcard {
				b = append(b, ".*"...)
			}
		} else if c.Op == OpWildcard {
			b = append(b, ".*"...)
		}
	}
	return string(b)
}
