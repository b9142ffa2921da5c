package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
)

func testNotFound(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	v, c := publishNew(t, s, "present", "1.0.0", alice.ID)
	const missing = 987654321

	tests := []struct {
		name string
		call func() error
	}{
		{"CrateByName", func() error { _, err := s.CrateByName(ctx(t), "absent"); return err }},
		{"CrateByName/prefix", func() error { _, err := s.CrateByName(ctx(t), "pres"); return err }},
		{"CrateByName/pattern", func() error { _, err := s.CrateByName(ctx(t), "pres%"); return err }},
		{"Versions", func() error { _, err := s.Versions(ctx(t), missing); return err }},
		{"Version/crate", func() error { _, err := s.Version(ctx(t), missing, "1.0.0"); return err }},
		{"Version/vers", func() error { _, err := s.Version(ctx(t), c.ID, "1.0.1"); return err }},
		{"Version/build", func() error { _, err := s.Version(ctx(t), c.ID, "1.0.0+build"); return err }},
		{"SetYanked", func() error { return s.SetYanked(ctx(t), missing, true, alice.ID) }},
		{"Owners", func() error { _, err := s.Owners(ctx(t), missing); return err }},
		{"AddOwners/crate", func() error { return s.AddOwners(ctx(t), missing, []int64{alice.ID}, alice.ID) }},
		{"AddOwners/user", func() error { return s.AddOwners(ctx(t), c.ID, []int64{missing}, alice.ID) }},
		{"RemoveOwners", func() error { return s.RemoveOwners(ctx(t), missing, []int64{alice.ID}, alice.ID) }},
		{"UserByID", func() error { _, err := s.UserByID(ctx(t), missing); return err }},
		{"UserByLogin", func() error { _, err := s.UserByLogin(ctx(t), "nobody"); return err }},
		{"UserByIdentity", func() error { _, err := s.UserByIdentity(ctx(t), "https://id.example.com", "nobody"); return err }},
		{"UserByIdentity/empty", func() error { _, err := s.UserByIdentity(ctx(t), "", ""); return err }},
		{"UpdateUser", func() error { return s.UpdateUser(ctx(t), &crated.User{ID: missing, Login: "ghost"}) }},
		{"TokenByHash", func() error { _, err := s.TokenByHash(ctx(t), strings.Repeat("ab", 32)); return err }},
		{"TokenUser", func() error { _, _, err := s.TokenUser(ctx(t), strings.Repeat("ab", 32)); return err }},
		{"UserToken", func() error { _, err := s.UserToken(ctx(t), alice.ID); return err }},
		{"ReplaceToken", func() error {
			_, err := s.ReplaceToken(ctx(t), &crated.Token{UserID: missing, Hash: strings.Repeat("cd", 32)})
			return err
		}},
		{"TakeLoginState", func() error { _, err := s.TakeLoginState(ctx(t), "nokey", time.Now()); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			wantCode(t, tt.name, err, crated.ENOTFOUND)
			if err != nil && crated.ErrorMessage(err) == "" {
				t.Errorf("%s: empty error message", tt.name)
			}
		})
	}

	// None of the failed writes changed anything.
	if got := mustVersions(t, s, c.ID); len(got) != 1 || got[0].Yanked {
		t.Errorf("Versions after failed writes = %v, want [%s] not yanked", versStrings(got), v.Vers)
	}
	owners, err := s.Owners(ctx(t), c.ID)
	if err != nil || len(owners) != 1 || owners[0].ID != alice.ID {
		t.Errorf("Owners after failed writes = %v, %v, want [alice]", userLogins(owners), err)
	}
	if _, err := s.UserByLogin(ctx(t), "ghost"); crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("UserByLogin(ghost) after failed UpdateUser: %v, want ENOTFOUND", err)
	}
}

func testEmptyResults(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	const missing = 987654321

	if cs, err := s.CratesOwnedBy(ctx(t), alice.ID); err != nil || len(cs) != 0 {
		t.Errorf("CratesOwnedBy(no crates) = %v, %v, want empty", crateNames(cs), err)
	}
	if cs, err := s.CratesOwnedBy(ctx(t), missing); err != nil || len(cs) != 0 {
		t.Errorf("CratesOwnedBy(unknown user) = %v, %v, want empty", crateNames(cs), err)
	}
	if us, err := s.UsersByName(ctx(t), "nobody"); err != nil || len(us) != 0 {
		t.Errorf("UsersByName(nobody) = %v, %v, want empty", userLogins(us), err)
	}
	if cs, n, err := s.SearchCrates(ctx(t), crated.SearchQuery{Limit: 10}); err != nil || len(cs) != 0 || n != 0 {
		t.Errorf("SearchCrates(empty store) = %v, %d, %v, want nothing", crateNames(cs), n, err)
	}
	if crates, versions, err := s.CountCrates(ctx(t)); err != nil || crates != 0 || versions != 0 {
		t.Errorf("CountCrates(empty store) = %d, %d, %v, want 0, 0", crates, versions, err)
	}
	if a, err := s.Audit(ctx(t), 10); err != nil || len(a) != 0 {
		t.Errorf("Audit(empty store) = %d entries, %v, want none", len(a), err)
	}
	if ok, err := s.IsOwner(ctx(t), missing, alice.ID); err != nil || ok {
		t.Errorf("IsOwner(unknown crate) = %v, %v, want false", ok, err)
	}
	if err := s.RevokeToken(ctx(t), alice.ID); err != nil {
		t.Errorf("RevokeToken(no token): %v", err)
	}
	if err := s.AddDownloads(ctx(t), map[int64]int64{missing: 3}); err != nil {
		t.Errorf("AddDownloads(unknown version): %v", err)
	}
	if err := s.AddDownloads(ctx(t), nil); err != nil {
		t.Errorf("AddDownloads(nil): %v", err)
	}
	if us, err := s.ListUsers(ctx(t)); err != nil || len(us) != 1 {
		t.Errorf("ListUsers = %v, %v, want [alice]", userLogins(us), err)
	}
}

func testPublishNewCrate(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	nv := newVersion(0, "Foo-Bar", "1.0.0", alice.ID)
	nv.Crate.Keywords = []string{"serialization", "JSON"}
	nv.Crate.Categories = []string{"encoding", "parser-implementations"}

	v, err := s.PublishVersion(ctx(t), nv)
	if err != nil {
		t.Fatalf("PublishVersion: %v", err)
	}
	if v.ID == 0 || v.CrateID == 0 {
		t.Fatalf("PublishVersion returned ID %d, CrateID %d: want both set", v.ID, v.CrateID)
	}
	want := nv.Version
	want.ID, want.CrateID = v.ID, v.CrateID
	checkVersion(t, "PublishVersion result", v, &want)

	c := mustCrate(t, s, "foo_bar")
	if c.ID != v.CrateID {
		t.Errorf("crate ID = %d, version's CrateID = %d", c.ID, v.CrateID)
	}
	checkMetadata(t, "CrateByName", c, &nv.Crate)
	if c.MaxVersion != "1.0.0" || c.Downloads != 0 {
		t.Errorf("MaxVersion, Downloads = %q, %d, want 1.0.0, 0", c.MaxVersion, c.Downloads)
	}
	checkStoreTime(t, "CreatedAt", c.CreatedAt)
	checkStoreTime(t, "UpdatedAt", c.UpdatedAt)

	got, err := s.Version(ctx(t), c.ID, "1.0.0")
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	checkVersion(t, "Version", got, &want)
	vs := mustVersions(t, s, c.ID)
	if len(vs) != 1 {
		t.Fatalf("Versions = %v, want [1.0.0]", versStrings(vs))
	}
	checkVersion(t, "Versions[0]", vs[0], &want)

	owners, err := s.Owners(ctx(t), c.ID)
	if err != nil || len(owners) != 1 {
		t.Fatalf("Owners = %v, %v, want [alice]", userLogins(owners), err)
	}
	checkUser(t, "Owners[0]", owners[0], alice)
	if ok, err := s.IsOwner(ctx(t), c.ID, alice.ID); err != nil || !ok {
		t.Errorf("IsOwner(alice) = %v, %v, want true", ok, err)
	}
}

func testPublishExistingCrate(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	bob := mustUser(t, s, "bob")
	v1, c := publishNew(t, s, "Foo-Bar", "1.0.0", alice.ID)

	nv := newVersion(c.ID, "Foo-Bar", "1.1.0", bob.ID)
	nv.Crate.Description = "A new description"
	nv.Crate.Homepage = ""
	nv.Crate.Keywords = []string{"new"}
	nv.Crate.Categories = nil
	v2, err := s.PublishVersion(ctx(t), nv)
	if err != nil {
		t.Fatalf("PublishVersion(1.1.0): %v", err)
	}
	if v2.CrateID != c.ID || v2.ID == v1.ID {
		t.Errorf("second version: CrateID %d, ID %d; want CrateID %d and an ID other than %d", v2.CrateID, v2.ID, c.ID, v1.ID)
	}
	got := mustCrate(t, s, "foo_bar")
	checkMetadata(t, "crate after second publish", got, &nv.Crate)
	if got.MaxVersion != "1.1.0" {
		t.Errorf("MaxVersion = %q, want 1.1.0", got.MaxVersion)
	}
	if !sameTime(got.CreatedAt, c.CreatedAt) {
		t.Errorf("CreatedAt changed from %v to %v", c.CreatedAt, got.CreatedAt)
	}
	if got.UpdatedAt.Before(c.UpdatedAt) {
		t.Errorf("UpdatedAt went back from %v to %v", c.UpdatedAt, got.UpdatedAt)
	}
	if vs := versStrings(mustVersions(t, s, c.ID)); !slices.Equal(vs, []string{"1.0.0", "1.1.0"}) {
		t.Errorf("Versions = %v, want [1.0.0 1.1.0]", vs)
	}
	// The publisher of a later version does not become an owner.
	owners, err := s.Owners(ctx(t), c.ID)
	if err != nil || !slices.Equal(userLogins(owners), []string{"alice"}) {
		t.Errorf("Owners = %v, %v, want [alice]", userLogins(owners), err)
	}

	// A later publish keeps the first spelling of the name.
	nv = newVersion(c.ID, "foo_bar", "1.2.0", alice.ID)
	if _, err := s.PublishVersion(ctx(t), nv); err != nil {
		t.Fatalf("PublishVersion(foo_bar 1.2.0): %v", err)
	}
	if got := mustCrate(t, s, "foo_bar"); got.Name != "Foo-Bar" {
		t.Errorf("Name after publish spelled foo_bar = %q, want Foo-Bar", got.Name)
	}
}

func testPublishUnknown(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	_, c := publishNew(t, s, "present", "1.0.0", alice.ID)
	const missing = 987654321

	tests := []struct {
		name string
		nv   *crated.NewVersion
	}{
		{"UnknownCrate", newVersion(missing, "present", "2.0.0", alice.ID)},
		{"UnknownPublisher", newVersion(c.ID, "present", "2.0.0", missing)},
		{"UnknownOwnerOfNewCrate", newVersion(0, "fresh", "1.0.0", missing)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.PublishVersion(ctx(t), tt.nv)
			wantCode(t, "PublishVersion", err, crated.ENOTFOUND)
		})
	}
	if crates, versions, err := s.CountCrates(ctx(t)); err != nil || crates != 1 || versions != 1 {
		t.Errorf("CountCrates = %d, %d, %v, want 1, 1", crates, versions, err)
	}
	if len(mustAudit(t, s)) != 1 {
		t.Errorf("failed publishes left audit entries")
	}
}

func testDuplicateVersion(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	_, c := publishNew(t, s, "dup", "1.0.7", alice.ID)

	tests := []struct{ name, vers string }{
		{"Same", "1.0.7"},
		{"BuildMetadata", "1.0.7+extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nv := newVersion(c.ID, "dup", tt.vers, alice.ID)
			nv.Crate.Description = "must not be applied"
			_, err := s.PublishVersion(ctx(t), nv)
			wantCode(t, "PublishVersion("+tt.vers+")", err, crated.ECONFLICT)
			if msg := crated.ErrorMessage(err); !strings.Contains(msg, "1.0.7") {
				t.Errorf("conflict message %q does not name the version", msg)
			}
		})
	}

	// Nothing of the failed publishes is visible.
	got := mustCrate(t, s, "dup")
	if got.Description != "The dup crate" {
		t.Errorf("Description = %q: a failed publish changed the crate", got.Description)
	}
	if vs := versStrings(mustVersions(t, s, c.ID)); !slices.Equal(vs, []string{"1.0.7"}) {
		t.Errorf("Versions = %v, want [1.0.7]", vs)
	}
	if a := mustAudit(t, s); len(a) != 1 {
		t.Errorf("Audit has %d entries, want only the first publish", len(a))
	}

	// Build metadata is kept and looked up by the exact Vers.
	publishNew(t, s, "dup", "1.0.8+build.5", alice.ID)
	v, err := s.Version(ctx(t), c.ID, "1.0.8+build.5")
	if err != nil || v.Vers != "1.0.8+build.5" || v.VersKey != "1.0.8" {
		t.Errorf("Version(1.0.8+build.5) = %+v, %v", v, err)
	}
	if _, err := s.Version(ctx(t), c.ID, "1.0.8"); crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("Version(1.0.8) = %v, want ENOTFOUND (lookup is by exact Vers)", err)
	}
	// Version keys are unique per crate only.
	publishNew(t, s, "other", "1.0.7+extra", alice.ID)
}

func testCrateNameCollision(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	bob := mustUser(t, s, "bob")
	publishNew(t, s, "foo-bar", "1.0.0", alice.ID)

	for _, name := range []string{"foo-bar", "foo_bar", "Foo_Bar", "FOO-BAR"} {
		t.Run(name, func(t *testing.T) {
			_, err := s.PublishVersion(ctx(t), newVersion(0, name, "2.0.0", bob.ID))
			wantCode(t, "PublishVersion(new "+name+")", err, crated.ECONFLICT)
			if crated.ErrorMessage(err) == "" {
				t.Errorf("empty conflict message")
			}
		})
	}
	if crates, versions, err := s.CountCrates(ctx(t)); err != nil || crates != 1 || versions != 1 {
		t.Errorf("CountCrates = %d, %d, %v, want 1, 1", crates, versions, err)
	}
	c := mustCrate(t, s, "foo_bar")
	if c.Name != "foo-bar" || c.MaxVersion != "1.0.0" {
		t.Errorf("crate = %q %q, want foo-bar 1.0.0", c.Name, c.MaxVersion)
	}
	if owners, err := s.Owners(ctx(t), c.ID); err != nil || !slices.Equal(userLogins(owners), []string{"alice"}) {
		t.Errorf("Owners = %v, %v, want [alice]", userLogins(owners), err)
	}
	if _, err := s.UserByID(ctx(t), bob.ID); err != nil {
		t.Errorf("UserByID(bob): %v", err)
	}
}

func testPrefixNames(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	bob := mustUser(t, s, "bob")
	_, serde := publishNew(t, s, "serde", "1.0.0", alice.ID)
	_, serdeJSON := publishNew(t, s, "serde_json", "0.9.0", bob.ID)
	publishNew(t, s, "serde", "1.0.1", alice.ID)

	tests := []struct {
		canon    string
		id       int64
		versions []string
		owner    string
	}{
		{"serde", serde.ID, []string{"1.0.0", "1.0.1"}, "alice"},
		{"serde_json", serdeJSON.ID, []string{"0.9.0"}, "bob"},
	}
	for _, tt := range tests {
		t.Run(tt.canon, func(t *testing.T) {
			c := mustCrate(t, s, tt.canon)
			if c.ID != tt.id || c.CanonName != tt.canon {
				t.Errorf("CrateByName(%q) = %d %q, want %d", tt.canon, c.ID, c.CanonName, tt.id)
			}
			if vs := versStrings(mustVersions(t, s, c.ID)); !slices.Equal(vs, tt.versions) {
				t.Errorf("Versions = %v, want %v", vs, tt.versions)
			}
			owners, err := s.Owners(ctx(t), c.ID)
			if err != nil || !slices.Equal(userLogins(owners), []string{tt.owner}) {
				t.Errorf("Owners = %v, %v, want [%s]", userLogins(owners), err, tt.owner)
			}
		})
	}
	for _, canon := range []string{"serde_", "serde_j", "serd", "serde_json_"} {
		if _, err := s.CrateByName(ctx(t), canon); crated.ErrorCode(err) != crated.ENOTFOUND {
			t.Errorf("CrateByName(%q) = %v, want ENOTFOUND", canon, err)
		}
	}
	if _, err := s.Version(ctx(t), serdeJSON.ID, "1.0.0"); crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("Version(serde_json, 1.0.0) = %v, want ENOTFOUND", err)
	}
}

func testVersionsOrder(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	order := []string{"1.0.0", "0.9.0", "2.0.0-alpha.1", "1.5.0", "0.1.0+old"}
	for _, v := range order {
		publishNew(t, s, "ordered", v, alice.ID)
	}
	c := mustCrate(t, s, "ordered")
	if got := versStrings(mustVersions(t, s, c.ID)); !slices.Equal(got, order) {
		t.Errorf("Versions = %v, want publish order %v", got, order)
	}
	if c.MaxVersion != "2.0.0-alpha.1" {
		t.Errorf("MaxVersion = %q, want 2.0.0-alpha.1", c.MaxVersion)
	}
}

func testYankAndMaxVersion(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	ids := map[string]int64{}
	var crateID int64
	for _, vers := range []string{"1.0.0", "2.0.0", "1.5.0"} {
		v, _ := publishNew(t, s, "yanky", vers, alice.ID)
		ids[vers], crateID = v.ID, v.CrateID
	}
	entry := map[string][]byte{}
	for _, v := range mustVersions(t, s, crateID) {
		entry[v.Vers] = v.Entry
	}

	steps := []struct {
		vers   string
		yanked bool
		max    string
	}{
		{"2.0.0", true, "1.5.0"},
		{"2.0.0", true, "1.5.0"}, // yanking twice is harmless
		{"1.5.0", true, "1.0.0"},
		{"1.0.0", true, "2.0.0"}, // all yanked: the highest overall
		{"1.0.0", false, "1.0.0"},
		{"2.0.0", false, "2.0.0"},
		{"1.5.0", false, "2.0.0"},
	}
	for i, st := range steps {
		if err := s.SetYanked(ctx(t), ids[st.vers], st.yanked, alice.ID); err != nil {
			t.Fatalf("step %d: SetYanked(%s, %v): %v", i, st.vers, st.yanked, err)
		}
		if c := mustCrate(t, s, "yanky"); c.MaxVersion != st.max {
			t.Errorf("step %d: after SetYanked(%s, %v) MaxVersion = %q, want %q", i, st.vers, st.yanked, c.MaxVersion, st.max)
		}
		v, err := s.Version(ctx(t), crateID, st.vers)
		if err != nil {
			t.Fatalf("step %d: Version(%s): %v", i, st.vers, err)
		}
		if v.Yanked != st.yanked {
			t.Errorf("step %d: Version(%s).Yanked = %v, want %v", i, st.vers, v.Yanked, st.yanked)
		}
		if string(v.Entry) != string(entry[st.vers]) {
			t.Errorf("step %d: Entry changed by SetYanked: %q", i, v.Entry)
		}
	}

	// A yanked version stays yanked while others are published.
	if err := s.SetYanked(ctx(t), ids["2.0.0"], true, alice.ID); err != nil {
		t.Fatal(err)
	}
	publishNew(t, s, "yanky", "1.6.0+meta", alice.ID)
	c := mustCrate(t, s, "yanky")
	if c.MaxVersion != "1.6.0+meta" {
		t.Errorf("MaxVersion = %q, want 1.6.0+meta (full Vers, build metadata included)", c.MaxVersion)
	}
	var yanked []string
	for _, v := range mustVersions(t, s, crateID) {
		if v.Yanked {
			yanked = append(yanked, v.Vers)
		}
	}
	if !slices.Equal(yanked, []string{"2.0.0"}) {
		t.Errorf("yanked versions = %v, want [2.0.0]", yanked)
	}
}

// testMaxVersionBytes makes sure SortKey is compared as bytes: under a
// natural-language collation "B" sorts after "a", in byte order before.
func testMaxVersionBytes(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	keys := []struct{ vers, sortKey string }{
		{"1.0.0", "a"},
		{"2.0.0", "B"},
		{"3.0.0", "a-b"},
		{"4.0.0", "a_"},
	}
	var crateID int64
	for _, k := range keys {
		nv := newVersion(crateID, "bytes", k.vers, alice.ID)
		nv.Version.SortKey = k.sortKey
		v, _ := mustPublish(t, s, nv)
		crateID = v.CrateID
	}
	// Byte order: "B" < "a" < "a-b" < "a_".
	if c := mustCrate(t, s, "bytes"); c.MaxVersion != "4.0.0" {
		t.Errorf("MaxVersion = %q, want 4.0.0 (sort key %q is the highest in byte order)", c.MaxVersion, "a_")
	}
	v, err := s.Version(ctx(t), crateID, "4.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetYanked(ctx(t), v.ID, true, alice.ID); err != nil {
		t.Fatal(err)
	}
	if c := mustCrate(t, s, "bytes"); c.MaxVersion != "3.0.0" {
		t.Errorf("MaxVersion = %q, want 3.0.0", c.MaxVersion)
	}
}

func testCountCrates(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	publishNew(t, s, "one", "1.0.0", alice.ID)
	publishNew(t, s, "one", "1.1.0", alice.ID)
	v, _ := publishNew(t, s, "two", "0.1.0", alice.ID)
	if err := s.SetYanked(ctx(t), v.ID, true, alice.ID); err != nil {
		t.Fatal(err)
	}
	crates, versions, err := s.CountCrates(ctx(t))
	if err != nil || crates != 2 || versions != 3 {
		t.Errorf("CountCrates = %d, %d, %v, want 2, 3 (yanked versions count)", crates, versions, err)
	}
}

func testAddDownloads(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	a1, _ := publishNew(t, s, "a", "1.0.0", alice.ID)
	a2, _ := publishNew(t, s, "a", "2.0.0", alice.ID)
	b1, _ := publishNew(t, s, "b", "1.0.0", alice.ID)

	steps := []struct {
		counts map[int64]int64
		a, b   int64
	}{
		{map[int64]int64{a1.ID: 3, a2.ID: 4, b1.ID: 1}, 7, 1},
		{map[int64]int64{a1.ID: 1}, 8, 1},
		{map[int64]int64{b1.ID: 10, 987654321: 5}, 8, 11},
		{map[int64]int64{}, 8, 11},
		{map[int64]int64{a2.ID: 0}, 8, 11},
	}
	for i, st := range steps {
		if err := s.AddDownloads(ctx(t), st.counts); err != nil {
			t.Fatalf("step %d: AddDownloads: %v", i, err)
		}
		if got := mustCrate(t, s, "a").Downloads; got != st.a {
			t.Errorf("step %d: a.Downloads = %d, want %d", i, got, st.a)
		}
		if got := mustCrate(t, s, "b").Downloads; got != st.b {
			t.Errorf("step %d: b.Downloads = %d, want %d", i, got, st.b)
		}
	}
}

func testTimestamps(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	got, err := s.UserByID(ctx(t), alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkStoreTime(t, "CreateUser: CreatedAt", alice.CreatedAt)
	checkTime(t, "UserByID: CreatedAt", got.CreatedAt, alice.CreatedAt)

	// A time with nanoseconds in another zone comes back as the same instant
	// in UTC.
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	at := time.Date(2023, 12, 31, 23, 59, 58, 123456789, zone)
	nv := newVersion(0, "timely", "1.0.0", alice.ID)
	nv.Version.PublishedAt = at
	v, c := mustPublish(t, s, nv)
	checkTime(t, "PublishVersion result: PublishedAt", v.PublishedAt, at)
	rv, err := s.Version(ctx(t), c.ID, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	checkTime(t, "Version: PublishedAt", rv.PublishedAt, at)
	checkStoreTime(t, "Crate.CreatedAt", c.CreatedAt)
	checkStoreTime(t, "Crate.UpdatedAt", c.UpdatedAt)

	// A zero PublishedAt becomes the time of the publish.
	nv = newVersion(c.ID, "timely", "1.1.0", alice.ID)
	nv.Version.PublishedAt = time.Time{}
	v, err = s.PublishVersion(ctx(t), nv)
	if err != nil {
		t.Fatal(err)
	}
	checkStoreTime(t, "PublishVersion(zero PublishedAt): PublishedAt", v.PublishedAt)
	rv, err = s.Version(ctx(t), c.ID, "1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	checkTime(t, "Version(zero PublishedAt): PublishedAt", rv.PublishedAt, v.PublishedAt)

	tok := &crated.Token{UserID: alice.ID, Hash: strings.Repeat("0f", 32)}
	if _, err := s.ReplaceToken(ctx(t), tok); err != nil {
		t.Fatal(err)
	}
	checkStoreTime(t, "ReplaceToken: CreatedAt", tok.CreatedAt)
	rt, err := s.TokenByHash(ctx(t), tok.Hash)
	if err != nil {
		t.Fatal(err)
	}
	checkTime(t, "TokenByHash: CreatedAt", rt.CreatedAt, tok.CreatedAt)

	exp := time.Date(2030, 1, 2, 3, 4, 5, 600000000, zone)
	if err := s.PutLoginState(ctx(t), &crated.LoginState{Key: "k", Kind: "me", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	ls, err := s.TakeLoginState(ctx(t), "k", exp.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	checkTime(t, "TakeLoginState: ExpiresAt", ls.ExpiresAt, exp)

	for i, e := range mustAudit(t, s) {
		checkStoreTime(t, fmt.Sprintf("Audit[%d].Time", i), e.Time)
	}
}

func testBytesRoundTrip(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	tests := []struct {
		name     string
		entry    []byte
		manifest []byte
		readme   string
	}{
		{"Plain", []byte(`{"name":"rt","vers":"1.0.0","yanked":false}`), []byte(`{"license":"MIT"}`), "plain"},
		// Key order, spacing and escapes that a JSON-normalizing column
		// would rewrite.
		{"NotNormalized",
			[]byte(`{"vers":"1.0.1" , "name":"rt","deps":[],"features":{"b":[],"a":[]},"x":"\u00e9\/","yanked":false}`),
			[]byte("{ \"z\": 1,\n  \"a\": [1.50, 1e2],\t\"dup\": 1, \"dup\": 2 }"),
			"# Ünïcödé\r\n\ttabs and trailing space \n"},
		{"EmptyManifest", []byte(`{"name":"rt","vers":"1.0.2"}`), nil, ""},
	}
	var crateID int64
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vers := fmt.Sprintf("1.0.%d", i)
			nv := newVersion(crateID, "rt", vers, alice.ID)
			nv.Version.Entry, nv.Version.Manifest, nv.Version.Readme = tt.entry, tt.manifest, tt.readme
			v, _ := mustPublish(t, s, nv)
			crateID = v.CrateID
			got, err := s.Version(ctx(t), crateID, vers)
			if err != nil {
				t.Fatal(err)
			}
			want := nv.Version
			want.ID, want.CrateID = v.ID, v.CrateID
			checkVersion(t, "Version", got, &want)
		})
	}
}
