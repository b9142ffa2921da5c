package cargo

import (
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name, code, msg string
	}{
		{"foo", "", ""},
		{"Foo-Bar_9", "", ""},
		{"a", "", ""},
		{strings.Repeat("a", 64), "", ""},
		{"serde_json", "", ""},
		{"stdx", "", ""},
		{"com10", "", ""},
		{"lpt", "", ""},
		{"", invalid, "crate name cannot be empty"},
		{strings.Repeat("a", 65), invalid, "longer than 64 characters"},
		{"1foo", invalid, "invalid crate name `1foo`: the first character must be an ASCII letter"},
		{"_foo", invalid, "the first character must be an ASCII letter"},
		{"-foo", invalid, "the first character must be an ASCII letter"},
		{"京", invalid, "the first character must be an ASCII letter"},
		{"foo+plus", invalid, "invalid character `+`"},
		{"foo.bar", invalid, "invalid character `.`"},
		{"foo bar", invalid, "invalid character ` `"},
		{"fooé", invalid, "invalid character `é`"},
		{"foo\nbar", invalid, `invalid character ` + "`\\n`"},
		// Reserved names are a publish policy (TestReservedNames), not a
		// shape: a crate so named may be looked up.
		{"std", "", ""},
		{"nul", "", ""},
	} {
		wantCode(t, "ValidateName("+tc.name+")", ValidateName(tc.name), tc.code, tc.msg)
	}
}

func TestReservedNames(t *testing.T) {
	def := DefaultLimits()
	for _, tc := range []struct {
		name     string
		reserved bool
	}{
		{"nul", true}, {"CON", true}, {"aux", true}, {"prn", true}, {"com0", true}, {"COM9", true}, {"lpt1", true},
		{"com10", false}, {"lpt", false}, {"nullable", false},
		// Published crates (compiler_builtins, std...) or names cargo
		// handles: crates.io's toolchain list is not reserved by default.
		{"std", false}, {"core", false}, {"alloc", false}, {"compiler_builtins", false},
		{"compiler-builtins", false}, {"proc_macro", false}, {"test", false}, {"rustc", false},
	} {
		if got := def.IsReserved(tc.name); got != tc.reserved {
			t.Errorf("default IsReserved(%q) = %v, want %v", tc.name, got, tc.reserved)
		}
	}
	own := Limits{ReservedNames: []string{"Secret-Project"}}
	if !own.IsReserved("secret_project") || own.IsReserved("nul") {
		t.Errorf("a configured list replaces the default and compares canonically")
	}
	if (Limits{ReservedNames: []string{}}).IsReserved("nul") {
		t.Errorf("an empty configured list reserves nothing")
	}
	if (Limits{}).WithDefaults().IsReserved("nul") != true {
		t.Errorf("a nil list means the default")
	}
}

func TestDependencyNames(t *testing.T) {
	for _, tc := range []struct {
		name          string
		real, aliasOK bool
	}{
		{"foo", true, true},
		{"std", true, true}, // reserved names exist as dependencies
		{"_foo", false, true},
		{"-foo", false, false},
		{"1foo", false, false},
		{"foo+x", false, false},
		{"", false, false},
		{strings.Repeat("x", 65), false, false},
	} {
		if err := validateDependencyName(tc.name); (err == nil) != tc.real {
			t.Errorf("validateDependencyName(%q) = %v", tc.name, err)
		}
		if err := validateDependencyAlias(tc.name); (err == nil) != tc.aliasOK {
			t.Errorf("validateDependencyAlias(%q) = %v", tc.name, err)
		}
	}
}

func TestCanonicalName(t *testing.T) {
	for in, want := range map[string]string{
		"foo":     "foo",
		"Foo-Bar": "foo_bar",
		"FOO_BAR": "foo_bar",
		"foo_bar": "foo_bar",
		"a-b-C":   "a_b_c",
		"":        "",
	} {
		if got := CanonicalName(in); got != want {
			t.Errorf("CanonicalName(%q) = %q, want %q", in, got, want)
		}
	}
}

// The cases of crates.io's test_validate_feature_names, plus Unicode ones.
func TestValidateFeature(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"foo", true},
		{"1foo", true},
		{"_foo", true},
		{"_foo-_+.1", true},
		{"", false},
		{"/", false},
		{"%/%", false},
		{"a/a", true},
		{"32-column-tables", true},
		{"c++20", true},
		{"krate/c++20", true},
		{"c++20/wow", false},
		{"foo?/bar", true},
		{"_foo?/bar", true},
		{"dep:foo", true},
		{"dep:_foo", true},
		{"dep:foo?/bar", false},
		{"foo/?bar", false},
		{"foo?bar", false},
		{"bar.web", true},
		{"foo/bar.web", true},
		{"dep:0foo", false},
		{"0foo?/bar.web", false},
		{"dep:", false},
		{"foo/", false},
		{"-foo", false},
		{"+foo", false},
		{".foo", false},
		{"foo bar", false},
		{"föö", true},     // XID letters
		{"日本語", true},     // XID_Start ideographs
		{"a\u0301", true}, // combining mark continues
		{"\u0301a", false},
		{"a\u00b7b", true}, // MIDDLE DOT is XID_Continue
		{"\u037a", false},  // GREEK YPOGEGRAMMENI: ID_Start but not XID_Start
		{"a\u037a", false}, // nor XID_Continue
		{"\u0e33", false},  // THAI SARA AM: not XID_Start ...
		{"a\u0e33", true},  // ... but XID_Continue
		{"a\ufe70", false}, // Arabic isolated forms: not XID
		{"\u2160x", true},  // ROMAN NUMERAL ONE: Nl is XID_Start
		{"x\u2e2f", false}, // VERTICAL TILDE: Pattern_Syntax
		{"😀", false},
		{"a\x00", false},
	} {
		if err := ValidateFeature(tc.value); (err == nil) != tc.ok {
			t.Errorf("ValidateFeature(%q) = %v, want ok=%v", tc.value, err, tc.ok)
		}
	}
	wantCode(t, "feature start", ValidateFeatureName("-x"), invalid, "invalid character `-` in feature `-x`")
	wantCode(t, "feature char", ValidateFeatureName("x y"), invalid, "invalid character ` ` in feature `x y`")
}

func TestValidateKeyword(t *testing.T) {
	for _, tc := range []struct {
		kw string
		ok bool
	}{
		{"cli", true},
		{"c++", true},
		{"no_std", true},
		{"web-dev", true},
		{"3d", true},
		{strings.Repeat("k", 20), true},
		{strings.Repeat("k", 21), false},
		{"", false},
		{"a\nb", false},
		{"a\x7f", false},
		// Published on crates.io before its character rule (cargo#4300).
		{"shared memory", true},
		{"nl80211.h", true},
		{"Router Os API", true},
		{"-x", true},
		{"ünï", true},
	} {
		if err := validateKeyword(tc.kw, 20); (err == nil) != tc.ok {
			t.Errorf("validateKeyword(%q) = %v, want ok=%v", tc.kw, err, tc.ok)
		}
	}
}

func TestShow(t *testing.T) {
	for in, want := range map[string]string{
		"foo":                    "`foo`",
		"a`b":                    "`a\\x60b`",
		"a\nb":                   "`a\\nb`",
		"\xff":                   "`\\ufffd`",
		strings.Repeat("x", 100): "`" + strings.Repeat("x", 80) + "...`",
	} {
		if got := show(in); got != want {
			t.Errorf("show(%q) = %q, want %q", in, got, want)
		}
	}
}
