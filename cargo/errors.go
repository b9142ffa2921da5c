package cargo

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/crated/crated"
)

// invalidf and tooLargef build the two kinds of error this package returns.
func invalidf(format string, args ...any) error {
	return crated.Errorf(crated.EINVALID, format, args...)
}

func tooLargef(format string, args ...any) error {
	return crated.Errorf(crated.ETOOLARGE, format, args...)
}

// maxShown is how much of a client-supplied string an error message repeats.
const maxShown = 80

// show renders a client-supplied string for an error message between
// backquotes, the way cargo and crates.io quote names. It is cut to maxShown
// bytes and control or invalid characters are escaped, so that a hostile
// value cannot flood a log or forge lines in cargo's output.
func show(s string) string {
	var b strings.Builder
	b.Grow(min(len(s), maxShown) + 8)
	b.WriteByte('`')
	for i, r := range s {
		if i >= maxShown {
			b.WriteString("...")
			break
		}
		switch {
		case r == utf8.RuneError:
			// An invalid byte or a literal U+FFFD: either way not something
			// to echo.
			b.WriteString(`\ufffd`)
		case r == '`':
			b.WriteString(`\x60`)
		case !unicode.IsGraphic(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('`')
	return b.String()
}

// showRune renders one character for an error message.
func showRune(r rune) string { return show(string(r)) }

// firstRune returns the first character of s (utf8.RuneError if invalid).
func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// withPrefix puts context in front of the message of an *crated.Error, so
// that the user sees it (crated.ErrorMessage shows only the Message of the
// first *crated.Error in a chain, so wrapping with fmt.Errorf would hide it).
func withPrefix(prefix string, err error) error {
	var e *crated.Error
	if errors.As(err, &e) {
		return &crated.Error{Code: e.Code, Message: prefix + e.Message}
	}
	return err
}

// CrateTooLarge is the ETOOLARGE error of a .crate file over lim.MaxCrate:
// it starts as crates.io's ("max upload size is: N"), then says, in
// readable units, what the limit is, how big the upload was when that is
// known (size > 0), and which setting raises it.
func CrateTooLarge(max, size int64) error {
	got := ""
	if size > 0 {
		got = "; this one is " + ReadableSize(size)
	}
	return tooLargef("max upload size is: %s%s. The limit is the registry's `max_crate_size` setting ([server_config]), which its operator can raise",
		ReadableSize(max), got)
}

// ReadableSize renders n bytes for a person: "1000 bytes", "10 MiB",
// "1.5 GiB (1610612736 bytes)". The exact count is kept when the unit rounds.
func ReadableSize(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " bytes"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n)/unit, 0
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0") + " " + units[i]
	if exact := int64(1) << (10 * (i + 1)); n%exact != 0 {
		s += " (" + strconv.FormatInt(n, 10) + " bytes)"
	}
	return s
}
