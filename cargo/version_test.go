package cargo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
		msg  string // "" = valid
	}{
		{in: "0.0.0", want: Version{}},
		{in: "1.2.3", want: Version{Major: 1, Minor: 2, Patch: 3}},
		{in: "10.20.30", want: Version{Major: 10, Minor: 20, Patch: 30}},
		{in: "1.0.0-alpha", want: Version{1, 0, 0, "alpha", ""}},
		{in: "1.0.0-alpha.1", want: Version{1, 0, 0, "alpha.1", ""}},
		{in: "1.0.0-0.3.7", want: Version{1, 0, 0, "0.3.7", ""}},
		{in: "1.0.0-x.7.z.92", want: Version{1, 0, 0, "x.7.z.92", ""}},
		{in: "1.0.0-x-y-z.--", want: Version{1, 0, 0, "x-y-z.--", ""}},
		{in: "1.0.0-0a", want: Version{1, 0, 0, "0a", ""}},
		{in: "1.0.0+20130313144700", want: Version{1, 0, 0, "", "20130313144700"}},
		{in: "1.0.0-beta+exp.sha.5114f85", want: Version{1, 0, 0, "beta", "exp.sha.5114f85"}},
		{in: "1.0.0+21AF26D3----117B344092BD", want: Version{1, 0, 0, "", "21AF26D3----117B344092BD"}},
		{in: "0.2.0+build.5", want: Version{0, 2, 0, "", "build.5"}},
		{in: "1.0.0+001", want: Version{1, 0, 0, "", "001"}}, // leading zeros allowed in build
		{in: "18446744073709551615.0.0", want: Version{Major: 1<<64 - 1}},
		{in: "", msg: "empty string"},
		{in: "1", msg: "unexpected end of input after major"},
		{in: "1.0", msg: "unexpected end of input after minor"},
		{in: "1.2.3.4", msg: "unexpected character `.`"},
		{in: "v1.2.3", msg: "unexpected character `v` while parsing major"},
		{in: " 1.2.3", msg: "unexpected character ` `"},
		{in: "1.2.3 ", msg: "unexpected character ` `"},
		{in: "01.2.3", msg: "leading zero in major"},
		{in: "1.02.3", msg: "leading zero in minor"},
		{in: "1.2.03", msg: "leading zero in patch"},
		{in: "1.2.3-01", msg: "leading zero in pre-release"},
		{in: "1.2.3-", msg: "empty identifier segment in pre-release"},
		{in: "1.2.3+", msg: "empty identifier segment in build metadata"},
		{in: "1.2.3-a..b", msg: "empty identifier segment"},
		{in: "1.2.3-a.", msg: "empty identifier segment"},
		{in: "1.2.3-a_b", msg: "unexpected character `_`"},
		{in: "1.2.3+a+b", msg: "unexpected character `+`"},
		{in: "1.2.3-é", msg: "empty identifier segment"},
		{in: "18446744073709551616.0.0", msg: "exceeds u64::MAX"},
		{in: "1.2.x", msg: "unexpected character `x` while parsing patch"},
		{in: "1..3", msg: "unexpected character `.` while parsing minor"},
	} {
		v, err := ParseVersion(tc.in)
		if tc.msg != "" {
			wantCode(t, fmt.Sprintf("ParseVersion(%q)", tc.in), err, invalid, tc.msg)
			continue
		}
		if err != nil {
			t.Errorf("ParseVersion(%q): %v", tc.in, err)
			continue
		}
		if v != tc.want {
			t.Errorf("ParseVersion(%q) = %#v, want %#v", tc.in, v, tc.want)
		}
		if v.String() != tc.in {
			t.Errorf("ParseVersion(%q).String() = %q", tc.in, v.String())
		}
		if key, _, _ := strings.Cut(tc.in, "+"); v.Key() != key {
			t.Errorf("ParseVersion(%q).Key() = %q, want %q", tc.in, v.Key(), key)
		}
	}
}

// semverOrder is in ascending precedence: the examples of the semver 2.0
// specification (section 11) and of cargo's semver crate tests, plus large
// and long numbers. Entries in one group are equal in precedence.
var semverOrder = [][]string{
	{"0.0.0-0"},
	{"0.0.0-alpha"},
	{"0.0.0"},
	{"0.0.1"},
	{"0.1.0"},
	{"0.9.0"},
	{"0.10.0"},
	{"1.0.0-0.3.7"},
	{"1.0.0-1"},
	{"1.0.0-2"},
	{"1.0.0-10"},
	{"1.0.0-99999999999999999999999"}, // longer number is larger
	{"1.0.0-1a"},                      // alphanumeric after numeric
	{"1.0.0-alpha"},
	{"1.0.0-alpha.1"},
	{"1.0.0-alpha.1.1"},
	{"1.0.0-alpha.beta"},
	{"1.0.0-alpha-1"}, // '-' (0x2D) > '.' boundary: "alpha-1" > "alpha" (longer)
	{"1.0.0-beta"},
	{"1.0.0-beta.2"},
	{"1.0.0-beta.11"},
	{"1.0.0-rc.1"},
	{"1.0.0-x.7.z.92"},
	{"1.0.0", "1.0.0+build", "1.0.0+zzz.1"},
	{"1.0.1-alpha"},
	{"1.0.1"},
	{"1.1.0"},
	{"1.9.9"},
	{"1.10.0"},
	{"2.0.0-0"},
	{"2.0.0"},
	{"10.0.0"},
	{"99.0.0"},
	{"100.0.0"},
	{"18446744073709551615.0.0"},
}

func TestSortKeyOrder(t *testing.T) {
	var prev []string
	for _, group := range semverOrder {
		for _, a := range group {
			va, err := ParseVersion(a)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range group {
				vb, _ := ParseVersion(b)
				if va.SortKey() != vb.SortKey() || va.Compare(vb) != 0 {
					t.Errorf("%s and %s should have equal precedence", a, b)
				}
			}
			for _, p := range prev {
				vp, _ := ParseVersion(p)
				if !(vp.SortKey() < va.SortKey()) {
					t.Errorf("SortKey(%s)=%q should sort before SortKey(%s)=%q", p, vp.SortKey(), a, va.SortKey())
				}
				if vp.Compare(va) != -1 || va.Compare(vp) != 1 {
					t.Errorf("Compare(%s, %s) wrong", p, a)
				}
			}
		}
		prev = append(prev, group...)
	}
}

// TestSortKeyRandom compares the order of SortKey with Compare and with
// Masterminds/semver (whose precedence follows the semver specification) on
// random versions built from a small alphabet, so that ties and prefixes
// are frequent.
func TestSortKeyRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	nums := []string{"0", "1", "2", "9", "10", "11", "100", "4294967296"}
	ids := []string{"0", "1", "2", "10", "a", "b", "alpha", "beta", "rc", "a-b", "-", "1a", "A", "Z"}
	gen := func() string {
		s := nums[rng.IntN(4)] + "." + nums[rng.IntN(len(nums))] + "." + nums[rng.IntN(len(nums))]
		if rng.IntN(3) > 0 {
			n := 1 + rng.IntN(3)
			parts := make([]string, n)
			for i := range parts {
				parts[i] = ids[rng.IntN(len(ids))]
			}
			s += "-" + strings.Join(parts, ".")
		}
		return s
	}
	vs := make([]Version, 2000)
	for i := range vs {
		v, err := ParseVersion(gen())
		if err != nil {
			t.Fatal(err)
		}
		vs[i] = v
	}
	for i := 0; i+1 < len(vs); i++ {
		a, b := vs[i], vs[i+1]
		want := a.Compare(b)
		if got := strings.Compare(a.SortKey(), b.SortKey()); got != want {
			t.Errorf("%s vs %s: SortKey order %d, Compare %d", a, b, got, want)
		}
		ma, mb := semver.MustParse(a.String()), semver.MustParse(b.String())
		if got := ma.Compare(mb); got != want {
			t.Errorf("%s vs %s: Masterminds %d, Compare %d", a, b, got, want)
		}
	}
	// Sorting by key gives a sequence that Compare agrees is ascending.
	slices.SortFunc(vs, func(a, b Version) int { return strings.Compare(a.SortKey(), b.SortKey()) })
	for i := 0; i+1 < len(vs); i++ {
		if vs[i].Compare(vs[i+1]) > 0 {
			t.Fatalf("sorted by SortKey but %s > %s", vs[i], vs[i+1])
		}
	}
}

func TestSortKeyPrintable(t *testing.T) {
	v, _ := ParseVersion("1.2.3-alpha.10.x-y")
	k := v.SortKey()
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			t.Fatalf("SortKey %q has a non-printable byte", k)
		}
	}
	if k != "111112113-$alpha!#1210$x-y!!" {
		t.Errorf("SortKey = %q", k)
	}
}
