package cargo_test

import (
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

// TestIndexFile pins the one rendering that the sparse and the git index
// share: publish order kept, one newline per line, yanked applied to the
// stored line and nothing else touched.
func TestIndexFile(t *testing.T) {
	vs := []crated.IndexRow{
		{Entry: []byte(`{"name":"a","vers":"0.2.0","yanked":false}`)},
		{Entry: []byte(`{"name":"a","vers":"0.1.0","features":{},"yanked":false,"v":2}`), Yanked: true},
		{Entry: []byte(`{"name":"a","vers":"0.3.0","yanked":false}`)},
	}
	got, err := cargo.IndexFile(vs)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"a","vers":"0.2.0","yanked":false}
{"name":"a","vers":"0.1.0","features":{},"yanked":true,"v":2}
{"name":"a","vers":"0.3.0","yanked":false}
`
	if string(got) != want {
		t.Errorf("IndexFile:\n%s\nwant:\n%s", got, want)
	}
	if string(vs[1].Entry) != `{"name":"a","vers":"0.1.0","features":{},"yanked":false,"v":2}` {
		t.Errorf("IndexFile changed the stored line: %s", vs[1].Entry)
	}
	if got, err := cargo.IndexFile(nil); err != nil || len(got) != 0 {
		t.Errorf("IndexFile(nil) = %q, %v", got, err)
	}
	if _, err := cargo.IndexFile([]crated.IndexRow{{Entry: []byte(`[1]`), Yanked: true}}); err == nil {
		t.Error("a stored line that is not an object was rendered")
	}
}
