package cargo

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseRequirement(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // normalized String(); "" when invalid
		msg  string
	}{
		// Bare versions default to caret, as cargo writes them.
		{in: "1", want: "^1"},
		{in: "0.1", want: "^0.1"},
		{in: "0.1.0", want: "^0.1.0"},
		{in: "1.2.3-rc.1", want: "^1.2.3-rc.1"},
		{in: "1.2.3+build.7", want: "^1.2.3"},
		{in: "1.2.3-rc.1+build", want: "^1.2.3-rc.1"},
		// Operators.
		{in: "^1.2", want: "^1.2"},
		{in: "~1.2.3", want: "~1.2.3"},
		{in: "=1.0.0", want: "=1.0.0"},
		{in: ">1", want: ">1"},
		{in: ">=1.2", want: ">=1.2"},
		{in: "<2", want: "<2"},
		{in: "<=2.0.0", want: "<=2.0.0"},
		{in: "= 1.0.0", want: "=1.0.0"},
		{in: ">= 1.2, < 1.5", want: ">=1.2, <1.5"},
		{in: ">=1.2,<1.5", want: ">=1.2, <1.5"},
		{in: "  ^1.0  ", want: "^1.0"},
		{in: "^1.0 , <1.5 ", want: "^1.0, <1.5"},
		// Wildcards in minor and patch.
		{in: "1.*", want: "1.*"},
		{in: "1.x", want: "1.*"},
		{in: "1.X", want: "1.*"},
		{in: "1.2.*", want: "1.2.*"},
		{in: "1.*.*", want: "1.*"},
		{in: ">=1.*", want: ">=1"},
		{in: "~1.2.*", want: "~1.2"},
		{in: "1.*, <1.5", want: "1.*, <1.5"},
		// The bare wildcard parses (cargo accepts it), ValidateRequirement refuses it.
		{in: "*", want: "*"},
		{in: " * ", want: "*"},
		{in: "x", want: "*"},
		{in: "X", want: "*"},
		// Invalid.
		{in: "", msg: "unexpected end of input while parsing major"},
		{in: "   ", msg: "unexpected end of input"},
		{in: "v1", msg: "unexpected character `v`"},
		{in: "^", msg: "unexpected end of input"},
		{in: "==1", msg: "unexpected character `=`"},
		{in: "=>1", msg: "unexpected character `>`"},
		{in: "~>1.2", msg: "unexpected character `>`"},
		{in: ">= 1.2 < 1.5", msg: "expected a comma"},
		{in: "1.0,", msg: "unexpected end of input"},
		{in: ",1.0", msg: "unexpected character `,`"},
		{in: "1.0,,2", msg: "unexpected character `,`"},
		{in: "*, 1.0", msg: "must be the only comparator"},
		{in: "1.0, *", msg: "must be the only comparator"},
		{in: "*.1", msg: "unexpected character `.` after wildcard"},
		{in: "xyz", msg: "after wildcard"},
		{in: "1.*.3", msg: "only `*` may follow `*`"},
		{in: "1.2-alpha", msg: "unexpected character `-`"},
		{in: "1.*-alpha", msg: "unexpected character `-`"},
		{in: "1.2.3-", msg: "empty identifier segment"},
		{in: "1.2.3-01", msg: "leading zero in pre-release"},
		{in: "01.2", msg: "leading zero in major"},
		{in: "1.02", msg: "leading zero in minor"},
		{in: "1.2.3.4", msg: "unexpected character `.`"},
		{in: "1 .2", msg: "unexpected character `.`"},
		{in: "\t1.0", msg: "unexpected character `\\t`"},
		{in: "1.0 || 2.0", msg: "unexpected character `|`"},
		{in: "1.0 - 2.0", msg: "unexpected character `-`"},
		{in: "18446744073709551616", msg: "exceeds u64::MAX"},
		{in: strings.Repeat("1,", 32) + "1", msg: "too many comparators"},
	} {
		r, err := ParseRequirement(tc.in)
		if tc.msg != "" {
			wantCode(t, fmt.Sprintf("ParseRequirement(%q)", tc.in), err, invalid, tc.msg)
			continue
		}
		if err != nil {
			t.Errorf("ParseRequirement(%q): %v", tc.in, err)
			continue
		}
		if got := r.String(); got != tc.want {
			t.Errorf("ParseRequirement(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
		// The normal form is a fixed point.
		r2, err := ParseRequirement(r.String())
		if err != nil || r2.String() != r.String() {
			t.Errorf("normal form %q of %q does not reparse to itself: %v", r.String(), tc.in, err)
		}
	}
	if _, err := ParseRequirement(strings.Repeat("1,", 31) + "1"); err != nil {
		t.Errorf("32 comparators should be allowed: %v", err)
	}
}

func TestValidateRequirement(t *testing.T) {
	for _, tc := range []struct{ in, code, msg string }{
		{"^1.0", "", ""},
		{"1.*", "", ""},
		{">=0", "", ""},
		{"*", invalid, "wildcard (`*`) dependency constraints are not allowed"},
		{"x", invalid, "wildcard (`*`) dependency constraints are not allowed"},
		{" * ", invalid, "wildcard (`*`) dependency constraints are not allowed"},
		{"1.0.0.0", invalid, "invalid version requirement `1.0.0.0`"},
	} {
		wantCode(t, "ValidateRequirement("+tc.in+")", ValidateRequirement(tc.in), tc.code, tc.msg)
	}
}
