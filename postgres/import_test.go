package postgres_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/storetest"
)

func TestImport(t *testing.T) {
	serverURL(t)
	storetest.RunImport(t, func(t *testing.T) crated.Store { return open(t, freshDatabase(t)) })
}

// importItem is a minimal import of name@vers (release versions only).
func importItem(name, vers string, user int64) *crated.NewVersion {
	sum := sha256.Sum256([]byte(name + "@" + vers))
	cksum := hex.EncodeToString(sum[:])
	var key strings.Builder
	for _, n := range strings.Split(vers, ".") {
		fmt.Fprintf(&key, "%020s.", n)
	}
	return &crated.NewVersion{
		Crate: crated.Crate{Name: name, CanonName: name},
		Version: crated.Version{Vers: vers, VersKey: vers, SortKey: key.String() + "~", Cksum: cksum, Size: 1,
			Entry:       []byte(fmt.Sprintf(`{"name":%q,"vers":%q,"deps":[],"cksum":%q,"features":{},"yanked":false}`, name, vers, cksum)),
			PublishedBy: user},
		OwnerID: user,
	}
}

// TestImportNotifies: replicas hear of every crate an import changed, once
// per batch and with the batch visible, and of nothing when an import
// changes nothing; that is what keeps their index caches right while an
// import runs.
func TestImportNotifies(t *testing.T) {
	dbURL := freshDatabase(t)
	l := startListener(t, dbURL)
	s := open(t, dbURL)
	ctx := t.Context()
	u := &crated.User{Login: "alice", Name: "alice"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	batch := []*crated.NewVersion{importItem("foo", "1.0.0", u.ID), importItem("foo", "1.1.0", u.ID), importItem("bar", "2.0.0", u.ID)}
	if _, err := s.ImportVersions(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for range 2 {
		ch := l.next(t)
		got[ch.canon] = append(got[ch.canon], ch.max)
	}
	if fmt.Sprint(got["foo"]) != "[1.1.0]" || fmt.Sprint(got["bar"]) != "[2.0.0]" {
		t.Errorf("notifications = %v, want foo once (MaxVersion 1.1.0 visible) and bar once", got)
	}
	// Again: identical, nothing changes, nothing is notified before the
	// marker that follows.
	if _, err := s.ImportVersions(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportVersions(ctx, []*crated.NewVersion{importItem("marker", "1.0.0", u.ID)}); err != nil {
		t.Fatal(err)
	}
	if extra := l.until(t, "marker"); len(extra) != 0 {
		t.Errorf("an import that changed nothing notified %v", extra)
	}
}
