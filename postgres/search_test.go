package postgres_test

import (
	"slices"
	"testing"

	"github.com/crated/crated"
)

// TestSearchEscape covers the LIKE escape character of the store, which the
// conformance suite does not know about.
func TestSearchEscape(t *testing.T) {
	s := open(t, freshDatabase(t))
	alice := createUser(t, s, "alice")
	for _, c := range []struct{ name, description string }{
		{"bang", "Bang! 100%_ done"},
		{"plain", "Bang 100 done"},
	} {
		nv := newVersion(0, c.name, "1.0.0", alice.ID)
		nv.Crate.Description = c.description
		if _, err := s.PublishVersion(t.Context(), nv); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		text string
		want []string
	}{
		{"!", []string{"bang"}},
		{"g! 1", []string{"bang"}},
		{"!!", nil},
		{"%_", []string{"bang"}},
		{"!%", nil},
		{"g 1", []string{"plain"}},
	}
	for _, tt := range tests {
		cs, n, err := s.SearchCrates(t.Context(), crated.SearchQuery{Text: tt.text})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range cs {
			got = append(got, c.Name)
		}
		if !slices.Equal(got, tt.want) || n != len(tt.want) {
			t.Errorf("SearchCrates(%q) = %q, %d, want %q", tt.text, got, n, tt.want)
		}
	}
}
