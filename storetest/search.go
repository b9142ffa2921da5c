package storetest

import (
	"slices"
	"testing"

	"github.com/crated/crated"
)

// searchCrates is the catalogue the search tests publish.
var searchCrates = []struct {
	name        string
	description string
	keywords    []string
}{
	{"serde", "A generic serialization/deserialization framework", []string{"serde", "serialization", "no_std"}},
	{"serde_json", "A JSON serialization file format", []string{"json", "serde"}},
	{"serde-yaml", "YAML data format for Serde", []string{"yaml"}},
	{"serdex", "Extra helpers", nil},
	{"my_serde_helper", "Helpers", nil},
	{"json5", "A Rust JSON5 serializer and deserializer which speaks Serde.", []string{"JSON5"}},
	{"tokio", "An event-driven, non-blocking I/O platform", []string{"io", "Async", "non-blocking", "futures"}},
	{"Percent", "100% pure Rust", nil},
	{"under_score", "Names with an underscore", nil},
	{"underXscore", "Names without one", nil},
	{"backslash", `Handles C:\paths`, nil},
}

func publishSearchCatalogue(t *testing.T, s crated.Store) {
	t.Helper()
	alice := mustUser(t, s, "alice")
	for _, sc := range searchCrates {
		nv := newVersion(0, sc.name, "1.0.0", alice.ID)
		nv.Crate.Description = sc.description
		nv.Crate.Keywords = sc.keywords
		mustPublish(t, s, nv)
	}
}

func testSearch(t *testing.T, s crated.Store) {
	publishSearchCatalogue(t, s)
	tests := []struct {
		name string
		text string
		want []string
	}{
		// Exact name, then name prefixes in byte order of CanonName
		// ("serde_json" < "serde_yaml" < "serdex"), then the rest.
		{"Ranking", "serde", []string{"serde", "serde_json", "serde-yaml", "serdex", "json5", "my_serde_helper"}},
		{"CaseInsensitive", "SeRdE", []string{"serde", "serde_json", "serde-yaml", "serdex", "json5", "my_serde_helper"}},
		{"CanonicalExact", "Serde-Json", []string{"serde_json"}},
		{"CanonicalPrefix", "serde-", []string{"serde_json", "serde-yaml", "my_serde_helper"}},
		{"NamePrefixBeforeRest", "json", []string{"json5", "serde_json"}},
		{"Description", "PLATFORM", []string{"tokio"}},
		{"DescriptionSubstring", "serializ", []string{"json5", "serde", "serde_json"}},
		{"KeywordCaseInsensitive", "async", []string{"tokio"}},
		{"KeywordSubstring", "utures", []string{"tokio"}},
		{"KeywordUnderscore", "no_std", []string{"serde"}},
		{"PercentIsLiteral", "%", []string{"Percent"}},
		{"PercentInside", "0% p", []string{"Percent"}},
		{"UnderscoreIsLiteral", "r_s", []string{"under_score"}},
		{"BackslashIsLiteral", `c:\`, []string{"backslash"}},
		{"NoMatch", "nothing-like-this", nil},
		{"Empty", "", []string{"backslash", "json5", "my_serde_helper", "Percent", "serde", "serde_json", "serde-yaml", "serdex", "tokio", "under_score", "underXscore"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, total, err := s.SearchCrates(ctx(t), crated.SearchQuery{Text: tt.text, Limit: 100})
			if err != nil {
				t.Fatalf("SearchCrates(%q): %v", tt.text, err)
			}
			if got := crateNames(cs); !slices.Equal(got, tt.want) {
				t.Errorf("SearchCrates(%q) = %q, want %q", tt.text, got, tt.want)
			}
			if total != len(tt.want) {
				t.Errorf("SearchCrates(%q) total = %d, want %d", tt.text, total, len(tt.want))
			}
		})
	}

	// Results are whole crates.
	cs, _, err := s.SearchCrates(ctx(t), crated.SearchQuery{Text: "tokio", Limit: 1})
	if err != nil || len(cs) != 1 {
		t.Fatalf("SearchCrates(tokio) = %v, %v", crateNames(cs), err)
	}
	want := newVersion(0, "tokio", "1.0.0", 0).Crate
	want.Description, want.Keywords = searchCrates[6].description, searchCrates[6].keywords
	checkMetadata(t, "search result", cs[0], &want)
	if cs[0].MaxVersion != "1.0.0" || cs[0].ID == 0 {
		t.Errorf("search result: ID %d, MaxVersion %q", cs[0].ID, cs[0].MaxVersion)
	}
}

func testSearchPagination(t *testing.T, s crated.Store) {
	publishSearchCatalogue(t, s)
	all := []string{"serde", "serde_json", "serde-yaml", "serdex", "json5", "my_serde_helper"}
	tests := []struct {
		name          string
		offset, limit int
		want          []string
	}{
		{"FirstPage", 0, 2, all[0:2]},
		{"SecondPage", 2, 2, all[2:4]},
		{"LastPage", 4, 2, all[4:6]},
		{"Partial", 5, 2, all[5:]},
		{"PastTheEnd", 6, 2, nil},
		{"FarPastTheEnd", 100, 2, nil},
		{"NoLimit", 0, 0, all},
		{"OffsetNoLimit", 3, 0, all[3:]},
		{"BigLimit", 1, 1000, all[1:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, total, err := s.SearchCrates(ctx(t), crated.SearchQuery{Text: "serde", Offset: tt.offset, Limit: tt.limit})
			if err != nil {
				t.Fatal(err)
			}
			if got := crateNames(cs); !slices.Equal(got, tt.want) {
				t.Errorf("page = %q, want %q", got, tt.want)
			}
			if total != len(all) {
				t.Errorf("total = %d, want %d", total, len(all))
			}
		})
	}
}
