package storetest

import (
	"slices"
	"testing"

	"github.com/crated/crated"
)

const (
	gitlab = "https://gitlab.example.com"
	github = "https://github.example.com"
)

func testCreateUser(t *testing.T, s crated.Store) {
	users := []*crated.User{
		{Login: "ktra_alice", Name: "alice", Email: "alice@example.com", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"},
		{Login: "ktra_bob", Name: "bob", PasswordHash: "$argon2id$bob", Admin: true},
		{Login: "gitlab.example.com:alice", Name: "alice", Email: "alice@gitlab.example.com", Issuer: gitlab, Subject: "1001"},
		// The same subject at another issuer is another identity.
		{Login: "github.example.com:alice", Name: "alice", Issuer: github, Subject: "1001"},
	}
	for _, u := range users {
		if err := s.CreateUser(ctx(t), u); err != nil {
			t.Fatalf("CreateUser(%s): %v", u.Login, err)
		}
		if u.ID == 0 {
			t.Errorf("CreateUser(%s) left ID 0", u.Login)
		}
		checkStoreTime(t, "CreateUser("+u.Login+"): CreatedAt", u.CreatedAt)
	}
	for _, u := range users {
		got, err := s.UserByID(ctx(t), u.ID)
		if err != nil {
			t.Fatalf("UserByID(%d): %v", u.ID, err)
		}
		checkUser(t, "UserByID", got, u)
		if got, err = s.UserByLogin(ctx(t), u.Login); err != nil {
			t.Fatalf("UserByLogin(%s): %v", u.Login, err)
		}
		checkUser(t, "UserByLogin", got, u)
		if u.Subject != "" {
			if got, err = s.UserByIdentity(ctx(t), u.Issuer, u.Subject); err != nil {
				t.Fatalf("UserByIdentity(%s, %s): %v", u.Issuer, u.Subject, err)
			}
			checkUser(t, "UserByIdentity", got, u)
		}
	}
	if _, err := s.UserByLogin(ctx(t), "KTRA_ALICE"); crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("UserByLogin(KTRA_ALICE) = %v, want ENOTFOUND: logins are case-sensitive", err)
	}

	conflicts := []struct {
		name string
		u    *crated.User
	}{
		{"Login", &crated.User{Login: "ktra_alice", Name: "other"}},
		{"OpenIDLogin", &crated.User{Login: "gitlab.example.com:alice", Issuer: gitlab, Subject: "2002"}},
		{"Identity", &crated.User{Login: "gitlab.example.com:alice2", Name: "alice2", Issuer: gitlab, Subject: "1001"}},
	}
	for _, tt := range conflicts {
		t.Run(tt.name, func(t *testing.T) {
			err := s.CreateUser(ctx(t), tt.u)
			wantCode(t, "CreateUser", err, crated.ECONFLICT)
			if crated.ErrorMessage(err) == "" {
				t.Errorf("empty conflict message")
			}
		})
	}
	all, err := s.ListUsers(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	// By login, in byte order.
	want := []string{"github.example.com:alice", "gitlab.example.com:alice", "ktra_alice", "ktra_bob"}
	if got := userLogins(all); !slices.Equal(got, want) {
		t.Errorf("ListUsers = %q, want %q", got, want)
	}
}

func testUpdateUser(t *testing.T, s crated.Store) {
	alice := &crated.User{Login: "gitlab.example.com:alice", Name: "alice", Email: "a@example.com", Issuer: gitlab, Subject: "1001"}
	if err := s.CreateUser(ctx(t), alice); err != nil {
		t.Fatal(err)
	}
	mustUser(t, s, "taken")

	upd := *alice
	upd.Login = "gitlab.example.com:alice.renamed"
	upd.Name = "alice.renamed"
	upd.Email = "new@example.com"
	upd.PasswordHash = "$argon2id$new"
	upd.Admin = true
	// Issuer and Subject are not written by UpdateUser.
	upd.Issuer, upd.Subject = github, "9999"
	if err := s.UpdateUser(ctx(t), &upd); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	want := upd
	want.Issuer, want.Subject = alice.Issuer, alice.Subject

	got, err := s.UserByLogin(ctx(t), upd.Login)
	if err != nil {
		t.Fatalf("UserByLogin(renamed): %v", err)
	}
	checkUser(t, "after UpdateUser", got, &want)
	if _, err := s.UserByLogin(ctx(t), alice.Login); crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("UserByLogin(old login) = %v, want ENOTFOUND", err)
	}
	if got, err := s.UserByIdentity(ctx(t), gitlab, "1001"); err != nil || got.ID != alice.ID {
		t.Errorf("UserByIdentity(gitlab, 1001) = %v, %v, want alice", got, err)
	}
	if _, err := s.UserByIdentity(ctx(t), github, "9999"); crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("UserByIdentity(github, 9999) = %v, want ENOTFOUND", err)
	}

	// Renaming onto a taken login fails and changes nothing.
	bad := want
	bad.Login = "taken"
	bad.Email = "changed@example.com"
	wantCode(t, "UpdateUser(login taken)", s.UpdateUser(ctx(t), &bad), crated.ECONFLICT)
	got, err = s.UserByID(ctx(t), alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkUser(t, "after failed UpdateUser", got, &want)

	// Keeping the same login is not a conflict with oneself.
	want.Admin = false
	if err := s.UpdateUser(ctx(t), &want); err != nil {
		t.Fatalf("UpdateUser(same login): %v", err)
	}
	if got, err := s.UserByID(ctx(t), alice.ID); err != nil || got.Admin {
		t.Errorf("Admin after update = %v, %v, want false", got.Admin, err)
	}
}

func testUsersByName(t *testing.T, s crated.Store) {
	mk := func(login, name, issuer, subject string) {
		u := &crated.User{Login: login, Name: name, Issuer: issuer, Subject: subject}
		if err := s.CreateUser(ctx(t), u); err != nil {
			t.Fatalf("CreateUser(%s): %v", login, err)
		}
	}
	mk("alice", "alice", "", "")
	mk("gitlab.example.com:alice", "alice", gitlab, "1")
	mk("github.example.com:alice", "alice", github, "1")
	mk("gitlab.example.com:alice2", "alice2", gitlab, "2")
	mk("bob", "bob", "", "")
	mk("ktra:Alice", "Alice", "", "")

	tests := []struct {
		name string
		want []string
	}{
		{"alice", []string{"alice", "github.example.com:alice", "gitlab.example.com:alice"}},
		{"gitlab.example.com:alice", []string{"gitlab.example.com:alice"}},
		{"alice2", []string{"gitlab.example.com:alice2"}},
		{"Alice", []string{"ktra:Alice"}},
		{"ali", nil},
		{"ALICE", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			us, err := s.UsersByName(ctx(t), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if got := userLogins(us); !slices.Equal(got, tt.want) {
				t.Errorf("UsersByName(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

// testLoginNamesIgnoreCase: logins that differ only in ASCII case or in '-'
// versus '_' are one login, so that nobody can pose as an owner with a
// look-alike name.
func testLoginNamesIgnoreCase(t *testing.T, s crated.Store) {
	mustUser(t, s, "alice")
	mustUser(t, s, "bob-builder")
	for _, login := range []string{"Alice", "ALICE", "bob_builder", "Bob-Builder"} {
		err := s.CreateUser(ctx(t), &crated.User{Login: login, Name: login})
		wantCode(t, "CreateUser("+login+")", err, crated.ECONFLICT)
	}
	carol := mustUser(t, s, "carol")
	for _, login := range []string{"ALICE", "Bob_Builder"} {
		upd := *carol
		upd.Login, upd.Name = login, login
		wantCode(t, "UpdateUser(carol -> "+login+")", s.UpdateUser(ctx(t), &upd), crated.ECONFLICT)
	}
	// A user may change the case of its own login.
	upd := *carol
	upd.Login = "Carol"
	if err := s.UpdateUser(ctx(t), &upd); err != nil {
		t.Errorf("UpdateUser(carol -> Carol): %v", err)
	}
	// Lookups stay exact: the stored spelling is the login.
	if _, err := s.UserByLogin(ctx(t), "ALICE"); crated.ErrorCode(err) != crated.ENOTFOUND {
		t.Errorf("UserByLogin(ALICE) = %v, want ENOTFOUND", err)
	}
	// Non-ASCII letters are not folded, as in cargo.CanonicalName: the
	// Kelvin sign is not a 'k'.
	mustUser(t, s, "kim")
	mustUser(t, s, "\u212aim")
	all, err := s.ListUsers(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Carol", "alice", "bob-builder", "kim", "\u212aim"}; !slices.Equal(userLogins(all), want) {
		t.Errorf("ListUsers = %q, want %q", userLogins(all), want)
	}
}
