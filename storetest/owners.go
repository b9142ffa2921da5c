package storetest

import (
	"slices"
	"testing"

	"github.com/crated/crated"
)

func mustOwners(t *testing.T, s crated.Store, crateID int64) []string {
	t.Helper()
	owners, err := s.Owners(ctx(t), crateID)
	if err != nil {
		t.Fatalf("Owners(%d): %v", crateID, err)
	}
	return userLogins(owners)
}

func testOwners(t *testing.T, s crated.Store) {
	// Byte order of logins: "Bob" < "alice" < "carol".
	alice := mustUser(t, s, "alice")
	bob := mustUser(t, s, "Bob")
	carol := mustUser(t, s, "carol")
	dave := mustUser(t, s, "dave")
	_, c := publishNew(t, s, "owned", "1.0.0", alice.ID)

	steps := []struct {
		name   string
		op     func() error
		owners []string
	}{
		{"AddTwo", func() error { return s.AddOwners(ctx(t), c.ID, []int64{carol.ID, bob.ID}, alice.ID) },
			[]string{"Bob", "alice", "carol"}},
		{"AddExistingIsIdempotent", func() error { return s.AddOwners(ctx(t), c.ID, []int64{bob.ID, alice.ID}, alice.ID) },
			[]string{"Bob", "alice", "carol"}},
		{"AddNone", func() error { return s.AddOwners(ctx(t), c.ID, nil, alice.ID) },
			[]string{"Bob", "alice", "carol"}},
		{"RemoveOne", func() error { return s.RemoveOwners(ctx(t), c.ID, []int64{bob.ID}, alice.ID) },
			[]string{"alice", "carol"}},
		{"RemoveNonOwner", func() error { return s.RemoveOwners(ctx(t), c.ID, []int64{dave.ID}, alice.ID) },
			[]string{"alice", "carol"}},
		{"RemoveSelf", func() error { return s.RemoveOwners(ctx(t), c.ID, []int64{alice.ID}, alice.ID) },
			[]string{"carol"}},
		{"AddBack", func() error { return s.AddOwners(ctx(t), c.ID, []int64{alice.ID}, carol.ID) },
			[]string{"alice", "carol"}},
	}
	for _, st := range steps {
		if err := st.op(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := mustOwners(t, s, c.ID); !slices.Equal(got, st.owners) {
			t.Errorf("%s: Owners = %q, want %q", st.name, got, st.owners)
		}
	}

	isOwner := map[*crated.User]bool{alice: true, bob: false, carol: true, dave: false}
	for u, want := range isOwner {
		if got, err := s.IsOwner(ctx(t), c.ID, u.ID); err != nil || got != want {
			t.Errorf("IsOwner(%s) = %v, %v, want %v", u.Login, got, err, want)
		}
	}

	// One audit entry per owner actually added or removed.
	var got []string
	for _, e := range mustAudit(t, s) {
		if e.Action == "owner_add" || e.Action == "owner_remove" {
			if e.Crate != "owned" {
				t.Errorf("audit %s: Crate = %q, want owned", e.Action, e.Crate)
			}
			got = append(got, e.Action)
		}
	}
	want := []string{"owner_add", "owner_remove", "owner_remove", "owner_add", "owner_add"}
	if !slices.Equal(got, want) {
		t.Errorf("owner audit entries (newest first) = %q, want %q", got, want)
	}
}

func testRemoveLastOwner(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	bob := mustUser(t, s, "bob")
	carol := mustUser(t, s, "carol")
	_, c := publishNew(t, s, "owned", "1.0.0", alice.ID)
	if err := s.AddOwners(ctx(t), c.ID, []int64{bob.ID}, alice.ID); err != nil {
		t.Fatal(err)
	}
	before := len(mustAudit(t, s))

	tests := []struct {
		name  string
		users []int64
	}{
		{"All", []int64{alice.ID, bob.ID}},
		{"AllAndANonOwner", []int64{carol.ID, bob.ID, alice.ID}},
		{"AllTwice", []int64{alice.ID, alice.ID, bob.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.RemoveOwners(ctx(t), c.ID, tt.users, alice.ID)
			wantCode(t, "RemoveOwners", err, crated.EINVALID)
			if crated.ErrorMessage(err) == "" {
				t.Errorf("empty error message")
			}
			if got := mustOwners(t, s, c.ID); !slices.Equal(got, []string{"alice", "bob"}) {
				t.Errorf("Owners after failed removal = %q, want [alice bob]", got)
			}
		})
	}
	if after := len(mustAudit(t, s)); after != before {
		t.Errorf("failed removals added %d audit entries", after-before)
	}
	// Removing all but one works.
	if err := s.RemoveOwners(ctx(t), c.ID, []int64{alice.ID}, alice.ID); err != nil {
		t.Fatal(err)
	}
	if got := mustOwners(t, s, c.ID); !slices.Equal(got, []string{"bob"}) {
		t.Errorf("Owners = %q, want [bob]", got)
	}
}

func testAddUnknownOwner(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	bob := mustUser(t, s, "bob")
	_, c := publishNew(t, s, "owned", "1.0.0", alice.ID)
	err := s.AddOwners(ctx(t), c.ID, []int64{bob.ID, 987654321}, alice.ID)
	wantCode(t, "AddOwners(bob, unknown)", err, crated.ENOTFOUND)
	if got := mustOwners(t, s, c.ID); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("Owners after failed AddOwners = %q, want [alice]: the call must be atomic", got)
	}
}

func testCratesOwnedBy(t *testing.T, s crated.Store) {
	alice := mustUser(t, s, "alice")
	bob := mustUser(t, s, "bob")
	// By CanonName: "alpha" < "mid_dle" < "zeta"; by Name "Zeta" would come first.
	publishNew(t, s, "Zeta", "1.0.0", alice.ID)
	publishNew(t, s, "alpha", "1.0.0", alice.ID)
	_, mid := publishNew(t, s, "mid-dle", "1.0.0", bob.ID)
	publishNew(t, s, "zeta", "1.1.0", alice.ID)
	if err := s.AddOwners(ctx(t), mid.ID, []int64{alice.ID}, bob.ID); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		user *crated.User
		want []string
	}{
		{alice, []string{"alpha", "mid-dle", "Zeta"}},
		{bob, []string{"mid-dle"}},
	}
	for _, tt := range tests {
		t.Run(tt.user.Login, func(t *testing.T) {
			cs, err := s.CratesOwnedBy(ctx(t), tt.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := crateNames(cs); !slices.Equal(got, tt.want) {
				t.Errorf("CratesOwnedBy(%s) = %q, want %q", tt.user.Login, got, tt.want)
			}
			for _, c := range cs {
				if c.Name == "Zeta" && c.MaxVersion != "1.1.0" {
					t.Errorf("Zeta: MaxVersion %q, want 1.1.0", c.MaxVersion)
				}
			}
		})
	}
}
