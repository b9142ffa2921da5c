package registry

import (
	"strings"
	"testing"
)

// Only the whole shape of a trusted-publishing token makes a token one: an
// ordinary token that happens to begin with the prefix stays ordinary.
func TestTrustedToken(t *testing.T) {
	tp := TrustedTokenPrefix + strings.Repeat("aZ9", 10) + "xy"
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{tp, true},
		{"Bearer " + tp, true},
		{"bearer  " + tp + " ", true},
		{TrustedTokenPrefix + "tp_" + strings.Repeat("A", 40), false}, // an ordinary token's length
		{tp + "a", false},
		{tp[:len(tp)-1] + "_", false},
		{newToken(), false},
		{"", false},
	} {
		if _, got := TrustedToken(tc.header); got != tc.want {
			t.Errorf("TrustedToken(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
	// An ordinary token built to start with the prefix.
	ordinary := "crated_tp_" + strings.Repeat("A", 40)
	if len(ordinary) != len(newToken()) {
		t.Fatalf("test token length %d, ordinary tokens are %d", len(ordinary), len(newToken()))
	}
	if _, got := TrustedToken(ordinary); got {
		t.Errorf("an ordinary token beginning with %q is taken for a trusted-publishing token", TrustedTokenPrefix)
	}
}
