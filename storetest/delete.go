package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/crated/crated"
)

// The contract of DeleteVersion and DeleteCrate, an operator's removal of
// what yank does not cover (a leaked secret, a legal request):
//
//   - DeleteVersion removes the version for good: Version and Versions no
//     longer return it, MaxVersion moves to the next version, CountCrates
//     drops by one, and a delete_version audit entry records the actor and
//     the detail. It returns the version's Cksum when no remaining version
//     refers to it (the caller deletes that blob), "" otherwise.
//   - DeleteVersion of a crate's only version is EINVALID and changes
//     nothing: a crate always has a version, so the caller deletes the crate.
//   - DeleteCrate removes the crate, its versions and its owners:
//     CrateByName is ENOTFOUND, the owners' CratesOwnedBy no longer list it,
//     and the name can be published again as a new crate. It returns the
//     distinct keys of its versions that no remaining version refers to.
//   - Both are ENOTFOUND, changing nothing, for an unknown id; other crates
//     are left alone.

func init() {
	Codes["DeleteVersion"] = []string{crated.ENOTFOUND, crated.EINVALID}
	Codes["DeleteCrate"] = []string{crated.ENOTFOUND}
}

func (c *checkedStore) DeleteVersion(ctx context.Context, versionID, actorID int64, detail string) (string, error) {
	orphan, err := c.Store.DeleteVersion(ctx, versionID, actorID, detail)
	return orphan, c.check("DeleteVersion", err)
}

func (c *checkedStore) DeleteCrate(ctx context.Context, crateID, actorID int64, detail string) ([]string, error) {
	orphans, err := c.Store.DeleteCrate(ctx, crateID, actorID, detail)
	return orphans, c.check("DeleteCrate", err)
}

func testDeleteVersion(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	v1, _ := publishNew(t, s, "Leaky", "1.0.0", alice.ID)
	v2, c := publishNew(t, s, "Leaky", "1.1.0", alice.ID)
	other, _ := publishNew(t, s, "Other", "1.0.0", alice.ID)
	if c.MaxVersion != "1.1.0" {
		t.Fatalf("MaxVersion %q before the delete", c.MaxVersion)
	}

	orphan, err := s.DeleteVersion(ctx(t), v2.ID, crated.OperatorID, "operator root: leaked key")
	if err != nil {
		t.Fatalf("DeleteVersion: %v", err)
	}
	if orphan != v2.Cksum {
		t.Errorf("DeleteVersion returned orphan %q, want the deleted version's cksum %q", orphan, v2.Cksum)
	}
	_, err = s.Version(ctx(t), c.ID, "1.1.0")
	wantCode(t, "Version of the deleted version", err, crated.ENOTFOUND)
	if got := versStrings(mustVersions(t, s, c.ID)); !slices.Equal(got, []string{"1.0.0"}) {
		t.Errorf("Versions after the delete: %q, want [1.0.0]", got)
	}
	if c := mustCrate(t, s, c.CanonName); c.MaxVersion != "1.0.0" {
		t.Errorf("MaxVersion after deleting the highest version: %q, want 1.0.0", c.MaxVersion)
	}
	if _, n, err := s.CountCrates(ctx(t)); err != nil || n != 2 {
		t.Errorf("CountCrates versions = %d, %v; want 2", n, err)
	}
	a := mustAudit(t, s)
	if e := a[0]; e.Action != "delete_version" || e.UserID != crated.OperatorID || e.Crate != "Leaky" ||
		e.Version != "1.1.0" || e.Detail != "operator root: leaked key" {
		t.Errorf("newest audit entry %+v, want delete_version of Leaky 1.1.0 by the operator with the detail", *e)
	}

	// Unknown versions and the last version change nothing.
	_, err = s.DeleteVersion(ctx(t), v2.ID, crated.OperatorID, "")
	wantCode(t, "DeleteVersion of a deleted version", err, crated.ENOTFOUND)
	_, err = s.DeleteVersion(ctx(t), v1.ID, crated.OperatorID, "")
	wantCode(t, "DeleteVersion of the only version", err, crated.EINVALID)
	if got := versStrings(mustVersions(t, s, c.ID)); !slices.Equal(got, []string{"1.0.0"}) {
		t.Errorf("Versions after a refused delete: %q, want [1.0.0]", got)
	}
	if n := len(mustAudit(t, s)); n != len(a) {
		t.Errorf("a refused delete wrote an audit entry (%d entries, want %d)", n, len(a))
	}
	if _, err := s.Version(ctx(t), other.CrateID, "1.0.0"); err != nil {
		t.Errorf("another crate's version after the delete: %v", err)
	}
}

func testDeleteSharedBlob(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	// Two versions backed by the same bytes (content addressing makes
	// that possible): deleting one must not report the blob as orphaned.
	publishNew(t, s, "Twin", "1.0.0", alice.ID)
	nv := newVersion(mustCrate(t, s, "twin").ID, "Twin", "1.0.1", alice.ID)
	v0 := mustVersions(t, s, nv.CrateID)[0]
	nv.Version.Cksum = v0.Cksum
	v1, _ := mustPublish(t, s, nv)
	orphan, err := s.DeleteVersion(ctx(t), v1.ID, alice.ID, "")
	if err != nil {
		t.Fatalf("DeleteVersion: %v", err)
	}
	if orphan != "" {
		t.Errorf("DeleteVersion returned orphan %q although version 1.0.0 still refers to it", orphan)
	}
	nv = newVersion(0, "Copy", "2.0.0", alice.ID)
	nv.Version.Cksum = v0.Cksum
	_, copyCrate := mustPublish(t, s, nv)
	orphans, err := s.DeleteCrate(ctx(t), copyCrate.ID, alice.ID, "")
	if err != nil {
		t.Fatalf("DeleteCrate: %v", err)
	}
	if len(orphans) != 0 {
		t.Errorf("DeleteCrate returned orphans %q although crate Twin still refers to them", orphans)
	}
}

func testDeleteCrate(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	bob := mustUser(t, s, "bob")
	v1, c := publishNew(t, s, "Gone-Crate", "1.0.0", alice.ID)
	v2, _ := publishNew(t, s, "Gone-Crate", "2.0.0", alice.ID)
	if err := s.AddOwners(ctx(t), c.ID, []int64{bob.ID}, alice.ID); err != nil {
		t.Fatal(err)
	}
	kept, _ := publishNew(t, s, "Kept", "1.0.0", bob.ID)

	orphans, err := s.DeleteCrate(ctx(t), c.ID, crated.OperatorID, "legal request")
	if err != nil {
		t.Fatalf("DeleteCrate: %v", err)
	}
	slices.Sort(orphans)
	want := []string{v1.Cksum, v2.Cksum}
	slices.Sort(want)
	if !slices.Equal(orphans, want) {
		t.Errorf("DeleteCrate returned orphans %q, want %q", orphans, want)
	}
	_, err = s.CrateByName(ctx(t), c.CanonName)
	wantCode(t, "CrateByName of a deleted crate", err, crated.ENOTFOUND)
	_, err = s.Versions(ctx(t), c.ID)
	wantCode(t, "Versions of a deleted crate", err, crated.ENOTFOUND)
	owned, err := s.CratesOwnedBy(ctx(t), bob.ID)
	if err != nil || !slices.Equal(crateNames(owned), []string{"Kept"}) {
		t.Errorf("CratesOwnedBy(bob) after the delete = %q, %v; want [Kept]", crateNames(owned), err)
	}
	if n, vn, err := s.CountCrates(ctx(t)); err != nil || n != 1 || vn != 1 {
		t.Errorf("CountCrates = %d, %d, %v; want 1, 1", n, vn, err)
	}
	if e := mustAudit(t, s)[0]; e.Action != "delete_crate" || e.UserID != crated.OperatorID || e.Crate != "Gone-Crate" || e.Detail != "legal request" {
		t.Errorf("newest audit entry %+v, want delete_crate of Gone-Crate by the operator", *e)
	}
	if _, err := s.Version(ctx(t), kept.CrateID, "1.0.0"); err != nil {
		t.Errorf("another crate's version after the delete: %v", err)
	}
	_, err = s.DeleteCrate(ctx(t), c.ID, crated.OperatorID, "")
	wantCode(t, "DeleteCrate of a deleted crate", err, crated.ENOTFOUND)

	// The name is free again: a new crate, with a new first owner.
	_, again := publishNew(t, s, "gone_crate", "1.0.0", bob.ID)
	if again.ID == c.ID {
		t.Errorf("the re-published crate reuses the deleted crate's id %d", c.ID)
	}
	owners, err := s.Owners(ctx(t), again.ID)
	if err != nil || len(owners) != 1 || owners[0].ID != bob.ID {
		t.Errorf("owners of the re-published crate: %v, %v; want bob alone", userLogins(owners), err)
	}
}
