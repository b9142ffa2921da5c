// Package storetest is the conformance suite of crated.Store. Every metadata
// store backend runs it unchanged from a short _test.go file:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) crated.Store { return openFresh(t) })
//	}
//
// A backend is done when Run passes on it. The suite pins down the behaviour
// that the doc comments of crated.Store leave open, so that every backend
// agrees:
//
//   - Single-row lookups (CrateByName, Version, UserByID, UserByLogin,
//     UserByIdentity, TokenByHash, UserToken, TakeLoginState) return ENOTFOUND
//     when nothing matches. CrateByName compares the canonical name exactly:
//     no prefix or pattern matching.
//   - Versions and Owners return ENOTFOUND for an unknown crate (a crate always
//     has at least one version and one owner). Lists keyed by something that
//     may legitimately have no rows (CratesOwnedBy, UsersByName, ListUsers,
//     Audit, SearchCrates) return an empty result and no error.
//   - Writes that name a missing row return ENOTFOUND and change nothing:
//     PublishVersion into an unknown CrateID or by an unknown user, SetYanked of
//     an unknown version, AddOwners/RemoveOwners on an unknown crate,
//     AddOwners of an unknown user, UpdateUser of an unknown id, ReplaceToken
//     for an unknown user. AddDownloads ignores unknown version ids (a batch
//     is never lost because of one of them). RevokeToken of a user without a
//     token succeeds.
//   - UserByIdentity never matches an empty subject: password users all have
//     an empty (Issuer, Subject).
//   - Every ordering "by name" or "by login" compares bytes, as SQLite's
//     BINARY collation and PostgreSQL's COLLATE "C" do, never a locale.
//     Crates are ordered by CanonName. SortKey is compared the same way.
//   - MaxVersion is the full Vers (build metadata included) of the version
//     with the highest SortKey among non-yanked versions, or among all
//     versions when every version is yanked.
//   - A second PublishVersion into an existing crate replaces its metadata
//     (description, keywords, ...) but keeps Name and CanonName, and does not
//     add OwnerID as an owner.
//   - SearchCrates: a crate matches when canonical(Text) is a substring of its
//     CanonName, or lower(Text) is a substring of its lowercased Description
//     or of one of its lowercased Keywords. canonical() is
//     cargo.CanonicalName: it lowercases ASCII and maps '-' to '_'. Text is literal: SQL LIKE wildcards ('%', '_') and '\' match
//     only themselves. Results are ranked: CanonName equal to
//     canonical(Text), then CanonName starting with canonical(Text), then the
//     rest, each group by CanonName. Offset skips results; Limit <= 0 means no
//     limit. The count is the number of matches regardless of the page.
//   - PublishedAt is kept as given, or set to the current time when zero.
//     Every time.Time a store returns is in UTC (Location() == time.UTC) and
//     equals the stored instant at least to the second.
//   - Entry, Manifest, Sealed and Readme round-trip byte for byte (so JSON
//     columns must not be normalized, as PostgreSQL's jsonb would).
//   - A login state is valid while now is before ExpiresAt. Putting a state
//     whose key exists is ECONFLICT.
//   - ReplaceToken with a hash that another user's active token has is
//     ECONFLICT and keeps the user's previous token.
//   - Audit: publish, yank, unyank, owner_add and owner_remove (one entry per
//     owner actually added or removed) and token_replace, with the acting user
//     in UserID and the crate's Name and the Vers where they apply. Audit
//     entries never contain token hashes. Every entry also holds the actor's
//     login at the time, and the authentication and client address that
//     crated.FillAuditEntry reads from the context of the write.
//   - API tokens (CreateAPIToken) are additional tokens of a user: the
//     login-token methods (ReplaceToken, UserToken, RevokeToken) never see
//     or touch them. Their scopes round-trip with nil (unrestricted) kept
//     apart from an empty list (nothing allowed). TokenByHash finds both
//     kinds; UserTokens lists both, oldest first; DeleteUserToken of
//     another user's token is ENOTFOUND. CreateAPIToken and
//     DeleteUserToken record token_create and token_revoke entries naming
//     the token by id and name (crated.TokenAuditDetail). CrateAudit selects
//     entries by exact crate name, newest first.
//   - Logins are unique ignoring ASCII case and '-' versus '_'
//     (cargo.CanonicalName): CreateUser and UpdateUser onto such a look-alike
//     are ECONFLICT. Lookups (UserByLogin, UsersByName) stay exact.
//   - ReserveLoginAttempt grants at most max attempts per key within window,
//     however many callers race (on one store or on several stores of one
//     database); a refusal names when the oldest attempt expires;
//     ClearLoginAttempts resets the key, and keys are independent.
//   - Errors: every method returns only the codes that Codes lists for it
//     (Run checks every call the suite makes), and every error with a code
//     other than EINTERNAL has a non-empty message.
//   - Concurrent writers are serialized by the store: distinct versions all
//     succeed, and of racing publishes of one version, or of one new crate,
//     exactly one wins and the others get ECONFLICT.
//
// newStore must return a new, empty store for each call; Run closes it when
// the subtest ends. newStore registers any further cleanup (dropping a
// database, removing files) with t.Cleanup.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

// Run runs the conformance suite against stores made by newStore, one fresh
// store per subtest.
func Run(t *testing.T, newStore func(t *testing.T) crated.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s crated.Store)
	}{
		{"Ping", testPing},
		{"NotFound", testNotFound},
		{"EmptyResults", testEmptyResults},
		{"PublishNewCrate", testPublishNewCrate},
		{"PublishExistingCrate", testPublishExistingCrate},
		{"PublishUnknownCrateOrUser", testPublishUnknown},
		{"DuplicateVersion", testDuplicateVersion},
		{"CrateNameCollision", testCrateNameCollision},
		{"PrefixNames", testPrefixNames},
		{"VersionsInPublishOrder", testVersionsOrder},
		{"IndexRows", testIndexRows},
		{"YankAndMaxVersion", testYankAndMaxVersion},
		{"MaxVersionComparesBytes", testMaxVersionBytes},
		{"Search", testSearch},
		{"SearchPagination", testSearchPagination},
		{"CountCrates", testCountCrates},
		{"RecentCrates", testRecentCrates},
		{"PopularCrates", testPopularCrates},
		{"AddDownloads", testAddDownloads},
		{"Owners", testOwners},
		{"RemoveLastOwner", testRemoveLastOwner},
		{"AddUnknownOwner", testAddUnknownOwner},
		{"CratesOwnedBy", testCratesOwnedBy},
		{"CreateUser", testCreateUser},
		{"UpdateUser", testUpdateUser},
		{"UsersByName", testUsersByName},
		{"Tokens", testTokens},
		{"TokenHashConflict", testTokenHashConflict},
		{"LoginStates", testLoginStates},
		{"Audit", testAudit},
		{"APITokens", testAPITokens},
		{"AuditAuthentication", testAuditAuthentication},
		{"Timestamps", testTimestamps},
		{"BytesRoundTrip", testBytesRoundTrip},
		{"ConcurrentDistinctVersions", testConcurrentDistinctVersions},
		{"ConcurrentSameVersion", testConcurrentSameVersion},
		{"ConcurrentNewCrate", testConcurrentNewCrate},
		{"LoginNamesIgnoreCase", testLoginNamesIgnoreCase},
		{"LoginAttempts", testLoginAttempts},
		{"ConcurrentLoginAttempts", testConcurrentLoginAttempts},
		{"DeleteVersion", testDeleteVersion},
		{"DeleteSharedBlob", testDeleteSharedBlob},
		{"DeleteCrate", testDeleteCrate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t, newStore)
			tt.fn(t, checked(t, s))
		})
	}
}

// sortKey is a SortKey good enough for the versions the suite uses:
// "MAJOR.MINOR.PATCH" with an optional "-pre" part. Each number is zero
// padded so that string order is numeric order, and a release sorts after
// its pre-releases because '~' is above every character of a pre-release.
func sortKey(versKey string) string {
	core, pre, hasPre := strings.Cut(versKey, "-")
	var b strings.Builder
	for i, part := range strings.Split(core, ".") {
		n, err := strconv.ParseUint(part, 10, 64)
		if err != nil {
			panic(fmt.Sprintf("storetest: bad version %q", versKey))
		}
		if i > 0 {
			b.WriteByte('.')
		}
		fmt.Fprintf(&b, "%020d", n)
	}
	if hasPre {
		b.WriteString("-" + pre)
	} else {
		b.WriteByte('~')
	}
	return b.String()
}

// newVersion returns a complete publish of name@vers by user, into crateID
// (0 to create the crate).
func newVersion(crateID int64, name, vers string, user int64) *crated.NewVersion {
	key, _, _ := strings.Cut(vers, "+")
	sum := sha256.Sum256([]byte(name + "@" + vers))
	entry := fmt.Sprintf(`{"name":%q,"vers":%q,"deps":[],"cksum":"%x","features":{},"yanked":false}`, name, vers, sum)
	return &crated.NewVersion{
		CrateID: crateID,
		Crate: crated.Crate{
			Name:          name,
			CanonName:     cargo.CanonicalName(name),
			Description:   "The " + name + " crate",
			Homepage:      "https://example.com/" + name,
			Documentation: "https://docs.example.com/" + name,
			Repository:    "https://git.example.com/" + name,
			Keywords:      []string{"kw-" + cargo.CanonicalName(name)},
			Categories:    []string{"development-tools::testing"},
		},
		Version: crated.Version{
			Vers:        vers,
			VersKey:     key,
			SortKey:     sortKey(key),
			Cksum:       hex.EncodeToString(sum[:]),
			Size:        int64(len(name)*1000 + len(vers)),
			Entry:       []byte(entry),
			PublishedBy: user,
			PublishedAt: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
			Readme:      "# " + name + "\n",
			Manifest:    []byte(`{"license":"MIT"}`),
		},
		OwnerID: user,
	}
}

// mustUser creates a password user named login.
func mustUser(t *testing.T, s crated.Store, login string) *crated.User {
	t.Helper()
	u := &crated.User{Login: login, Name: login, Email: login + "@example.com", PasswordHash: "$argon2id$fake$" + login}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", login, err)
	}
	return u
}

// mustPublish publishes nv and returns the version and its crate.
func mustPublish(t *testing.T, s crated.Store, nv *crated.NewVersion) (*crated.Version, *crated.Crate) {
	t.Helper()
	v, err := s.PublishVersion(t.Context(), nv)
	if err != nil {
		t.Fatalf("PublishVersion(%s@%s): %v", nv.Crate.Name, nv.Version.Vers, err)
	}
	return v, mustCrate(t, s, nv.Crate.CanonName)
}

// publishNew publishes name@vers by user, creating the crate if it does not
// exist yet.
func publishNew(t *testing.T, s crated.Store, name, vers string, user int64) (*crated.Version, *crated.Crate) {
	t.Helper()
	var crateID int64
	c, err := s.CrateByName(t.Context(), cargo.CanonicalName(name))
	switch {
	case err == nil:
		crateID = c.ID
	case crated.ErrorCode(err) != crated.ENOTFOUND:
		t.Fatalf("CrateByName(%q): %v", cargo.CanonicalName(name), err)
	}
	return mustPublish(t, s, newVersion(crateID, name, vers, user))
}

func mustCrate(t *testing.T, s crated.Store, canon string) *crated.Crate {
	t.Helper()
	c, err := s.CrateByName(t.Context(), canon)
	if err != nil {
		t.Fatalf("CrateByName(%q): %v", canon, err)
	}
	return c
}

func mustVersions(t *testing.T, s crated.Store, crateID int64) []*crated.Version {
	t.Helper()
	vs, err := s.Versions(t.Context(), crateID)
	if err != nil {
		t.Fatalf("Versions(%d): %v", crateID, err)
	}
	return vs
}

func mustAudit(t *testing.T, s crated.Store) []*crated.AuditEntry {
	t.Helper()
	a, err := s.Audit(t.Context(), 1000)
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	return a
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := crated.ErrorCode(err); got != code {
		t.Errorf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

// sameTime reports whether a store returned got for want: in UTC and equal at
// least to the second.
func sameTime(got, want time.Time) bool {
	d := got.Sub(want)
	return got.Location() == time.UTC && d > -time.Second && d < time.Second
}

func checkTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !sameTime(got, want) {
		t.Errorf("%s = %v (location %v), want %v in UTC", what, got, got.Location(), want)
	}
}

// checkStoreTime checks a time the store chose itself: set and in UTC.
func checkStoreTime(t *testing.T, what string, got time.Time) {
	t.Helper()
	if got.IsZero() || got.Location() != time.UTC {
		t.Errorf("%s = %v (location %v), want a time in UTC", what, got, got.Location())
	}
}

// sameStrings compares string lists, treating nil and empty as equal.
func sameStrings(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || slices.Equal(a, b))
}

// checkVersion compares a version read back with the one published.
func checkVersion(t *testing.T, what string, got, want *crated.Version) {
	t.Helper()
	if got.ID != want.ID || got.CrateID != want.CrateID {
		t.Errorf("%s: ID, CrateID = %d, %d, want %d, %d", what, got.ID, got.CrateID, want.ID, want.CrateID)
	}
	if got.Vers != want.Vers || got.VersKey != want.VersKey || got.SortKey != want.SortKey {
		t.Errorf("%s: Vers, VersKey, SortKey = %q, %q, %q, want %q, %q, %q", what,
			got.Vers, got.VersKey, got.SortKey, want.Vers, want.VersKey, want.SortKey)
	}
	if got.Cksum != want.Cksum || got.Size != want.Size {
		t.Errorf("%s: Cksum, Size = %q, %d, want %q, %d", what, got.Cksum, got.Size, want.Cksum, want.Size)
	}
	if !bytes.Equal(got.Entry, want.Entry) {
		t.Errorf("%s: Entry = %q, want %q", what, got.Entry, want.Entry)
	}
	if !bytes.Equal(got.Manifest, want.Manifest) {
		t.Errorf("%s: Manifest = %q, want %q", what, got.Manifest, want.Manifest)
	}
	if got.Readme != want.Readme {
		t.Errorf("%s: Readme = %q, want %q", what, got.Readme, want.Readme)
	}
	if got.Yanked != want.Yanked {
		t.Errorf("%s: Yanked = %v, want %v", what, got.Yanked, want.Yanked)
	}
	if got.PublishedBy != want.PublishedBy {
		t.Errorf("%s: PublishedBy = %d, want %d", what, got.PublishedBy, want.PublishedBy)
	}
	checkTime(t, what+": PublishedAt", got.PublishedAt, want.PublishedAt)
}

// checkMetadata compares the metadata of a crate with the one published.
func checkMetadata(t *testing.T, what string, got, want *crated.Crate) {
	t.Helper()
	if got.Name != want.Name || got.CanonName != want.CanonName {
		t.Errorf("%s: Name, CanonName = %q, %q, want %q, %q", what, got.Name, got.CanonName, want.Name, want.CanonName)
	}
	if got.Description != want.Description || got.Homepage != want.Homepage ||
		got.Documentation != want.Documentation || got.Repository != want.Repository {
		t.Errorf("%s: Description, Homepage, Documentation, Repository = %q, %q, %q, %q, want %q, %q, %q, %q", what,
			got.Description, got.Homepage, got.Documentation, got.Repository,
			want.Description, want.Homepage, want.Documentation, want.Repository)
	}
	if !sameStrings(got.Keywords, want.Keywords) || !sameStrings(got.Categories, want.Categories) {
		t.Errorf("%s: Keywords, Categories = %q, %q, want %q, %q", what, got.Keywords, got.Categories, want.Keywords, want.Categories)
	}
}

func checkUser(t *testing.T, what string, got, want *crated.User) {
	t.Helper()
	if got.ID != want.ID || got.Login != want.Login || got.Name != want.Name || got.Email != want.Email ||
		got.PasswordHash != want.PasswordHash || got.Issuer != want.Issuer || got.Subject != want.Subject ||
		got.Admin != want.Admin {
		t.Errorf("%s = %+v, want %+v", what, *got, *want)
	}
	checkTime(t, what+": CreatedAt", got.CreatedAt, want.CreatedAt)
}

func crateNames(cs []*crated.Crate) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names
}

func userLogins(us []*crated.User) []string {
	var logins []string
	for _, u := range us {
		logins = append(logins, u.Login)
	}
	return logins
}

func versStrings(vs []*crated.Version) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Vers)
	}
	return out
}

// ctx is a short name for the test's context.
func ctx(t *testing.T) context.Context { return t.Context() }

func testPing(t *testing.T, s crated.Store) {
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// fresh returns a new store from newStore, closed when the test ends.
func fresh(t *testing.T, newStore func(t *testing.T) crated.Store) crated.Store {
	s := newStore(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// capability returns s as the optional interface C that a suite is about,
// failing the test when the backend lacks it.
func capability[C any](t *testing.T, s crated.Store) C {
	t.Helper()
	c, ok := s.(C)
	if !ok {
		var zero C
		t.Fatalf("%T does not implement %T", s, &zero)
	}
	return c
}
