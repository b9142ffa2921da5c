package migrate

import (
	"context"
	"time"

	"github.com/crated/crated"
)

// auditKey names what an audit entry is about: the action and the crate,
// with the version (yank, unyank) or the login (owner_add, owner_remove).
type auditKey struct {
	action, crate, subject string
}

// readAudit indexes the newest source audit entry per action and subject,
// to give the target's publish, yank and owner entries the right user and
// time.
func (c *copier) readAudit(ctx context.Context) error {
	entries, err := c.src.Audit(ctx, 0)
	if err != nil {
		return err
	}
	c.latest = map[auditKey]*crated.AuditEntry{}
	// Newest first: keep the first entry seen per key.
	for _, e := range entries {
		k := auditKey{action: e.Action, crate: e.Crate}
		switch e.Action {
		case "publish", "yank", "unyank":
			k.subject = e.Version
		case "owner_add", "owner_remove":
			k.subject = e.Detail
		default:
			continue
		}
		if _, ok := c.latest[k]; !ok {
			c.latest[k] = e
		}
	}
	return nil
}

// copyUsers creates the source's users in the target, keeping password
// hashes and OpenID identities, and copies each user's token. A user whose
// login already exists in the target is the same user when the OpenID
// identity matches; its other fields are brought up to date.
func (c *copier) copyUsers(ctx context.Context) error {
	users, err := c.src.ListUsers(ctx)
	if err != nil {
		return err
	}
	c.users = make(map[int64]int64, len(users))
	bar := c.opt.bar(len(users), "users")
	defer bar.Finish()
	for _, su := range users {
		id, err := c.copyUser(ctx, su)
		if err != nil {
			return err
		}
		c.users[su.ID] = id
		if err := c.copyToken(ctx, su.ID, id); err != nil {
			return err
		}
		if err := c.copyAPITokens(ctx, su.ID, id); err != nil {
			return err
		}
		bar.Add(1)
	}
	return nil
}

func (c *copier) copyUser(ctx context.Context, su *crated.User) (int64, error) {
	du, err := c.dst.UserByLogin(ctx, su.Login)
	switch {
	case crated.IsCode(err, crated.ENOTFOUND):
		nu := &crated.User{
			Login: su.Login, Name: su.Name, Email: su.Email, PasswordHash: su.PasswordHash,
			Issuer: su.Issuer, Subject: su.Subject, Admin: su.Admin,
		}
		c.at(su.CreatedAt, time.Now())
		if err := c.dst.CreateUser(ctx, nu); err != nil {
			return 0, err
		}
		c.stats.UsersCreated++
		return nu.ID, nil
	case err != nil:
		return 0, err
	}
	if du.Issuer != su.Issuer || du.Subject != su.Subject {
		return 0, crated.Errorf(crated.ECONFLICT, "the target already has a user %q with another identity; migrate into an empty target", su.Login)
	}
	if du.Name != su.Name || du.Email != su.Email || du.PasswordHash != su.PasswordHash || du.Admin != su.Admin {
		du.Name, du.Email, du.PasswordHash, du.Admin = su.Name, su.Email, su.PasswordHash, su.Admin
		if err := c.dst.UpdateUser(ctx, du); err != nil {
			return 0, err
		}
		c.stats.UsersUpdated++
	} else {
		c.stats.UsersPresent++
	}
	return du.ID, nil
}

// copyToken makes the target user's token the source user's: same hash,
// same sealed copy. A user without a token in the source has none in the
// target either.
func (c *copier) copyToken(ctx context.Context, srcID, dstID int64) error {
	st, err := c.src.UserToken(ctx, srcID)
	if crated.IsCode(err, crated.ENOTFOUND) {
		st = nil
	} else if err != nil {
		return err
	}
	dt, err := c.dst.UserToken(ctx, dstID)
	if crated.IsCode(err, crated.ENOTFOUND) {
		dt = nil
	} else if err != nil {
		return err
	}
	switch {
	case st == nil && dt == nil:
		return nil
	case st == nil:
		c.stats.TokensRevoked++
		return c.dst.RevokeToken(ctx, dstID)
	case dt != nil && dt.Hash == st.Hash && string(dt.Sealed) == string(st.Sealed):
		c.stats.TokensPresent++
		return nil
	}
	c.at(st.CreatedAt, time.Now())
	if _, err := c.dst.ReplaceToken(ctx, &crated.Token{UserID: dstID, Hash: st.Hash, Sealed: st.Sealed}); err != nil {
		return err
	}
	c.stats.TokensCopied++
	return nil
}

// dstUser maps a source user ID to the target's.
func (c *copier) dstUser(srcID int64) (int64, error) {
	id, ok := c.users[srcID]
	if !ok {
		return 0, crated.Errorf(crated.ENOTFOUND, "the source refers to user %d, which it does not list", srcID)
	}
	return id, nil
}
