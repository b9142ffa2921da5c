package postgres

import (
	"strings"
	"testing"
)

// TestScrub checks that every spelling of a password leaves an error text,
// even for connection strings too broken to parse.
func TestScrub(t *testing.T) {
	tests := []struct {
		name, url string
		secrets   []string // spellings that must go
	}{
		{"URL", "postgres://crated:s3cret@db:5432/crated", []string{"s3cret"}},
		{"BrokenPort", "postgres://crated:s3cret@db:port/crated", []string{"s3cret"}},
		{"Escaped", "postgres://crated:p%40ss%2Fw@db/crated", []string{"p%40ss%2Fw", "p@ss/w"}},
		{"AtInPassword", "postgres://crated:p@ss@db/crated", []string{"p@ss"}},
		{"Query", "postgres://db/crated?user=crated&password=s3cret&sslmode=disable", []string{"s3cret"}},
		{"QueryEscaped", "postgres://db/crated?password=a%26b%20c", []string{"a&b c", "a%26b%20c"}},
		{"KeywordValue", "host=db password=s3cret user=crated", []string{"s3cret"}},
		{"Quoted", "host=db password='s3 cret' user=crated", []string{"s3 cret"}},
		{"KeywordAmpersand", "host=db password=a&bc user=crated", []string{"a&bc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "cannot parse `" + tt.url + "`: " + strings.Join(tt.secrets, " and ")
			got := scrub(tt.url, text)
			for _, s := range tt.secrets {
				if strings.Contains(got, s) {
					t.Errorf("scrub left %q in %q", s, got)
				}
			}
			if !strings.Contains(got, "cannot parse") {
				t.Errorf("scrub removed more than the password: %q", got)
			}
		})
	}
}
