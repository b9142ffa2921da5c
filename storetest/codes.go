package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/crated/crated"
)

// Codes lists, for each method of crated.Store, the error codes it may
// return besides the two that any method may return when the database
// fails: EUNAVAILABLE (busy past the store's wait, unreachable, no answer
// within the query timeout: the client should try again, HTTP 503) and
// EINTERNAL (anything else, HTTP 500). EINVALID appears wherever text is
// stored or looked up: a database may refuse text it cannot hold (a NUL
// byte, invalid UTF-8). A method missing here returns only those two.
var Codes = map[string][]string{
	"CrateByName":         {crated.ENOTFOUND, crated.EINVALID},
	"Versions":            {crated.ENOTFOUND},
	"IndexRows":           {crated.ENOTFOUND},
	"Version":             {crated.ENOTFOUND, crated.EINVALID},
	"PublishVersion":      {crated.ENOTFOUND, crated.ECONFLICT, crated.EINVALID},
	"SetYanked":           {crated.ENOTFOUND},
	"SearchCrates":        {crated.EINVALID},
	"RecentCrates":        {crated.EINVALID},
	"PopularCrates":       {crated.EINVALID},
	"Owners":              {crated.ENOTFOUND},
	"IsOwner":             {crated.ENOTFOUND},
	"AddOwners":           {crated.ENOTFOUND},
	"RemoveOwners":        {crated.ENOTFOUND, crated.EINVALID},
	"CreateUser":          {crated.ECONFLICT, crated.EINVALID},
	"UpdateUser":          {crated.ENOTFOUND, crated.ECONFLICT, crated.EINVALID},
	"UserByID":            {crated.ENOTFOUND},
	"UserByLogin":         {crated.ENOTFOUND, crated.EINVALID},
	"UserByIdentity":      {crated.ENOTFOUND, crated.EINVALID},
	"UsersByName":         {crated.EINVALID},
	"ReplaceToken":        {crated.ENOTFOUND, crated.ECONFLICT, crated.EINVALID},
	"TokenByHash":         {crated.ENOTFOUND, crated.EINVALID},
	"TokenUser":           {crated.ENOTFOUND, crated.EINVALID},
	"UserToken":           {crated.ENOTFOUND},
	"PutLoginState":       {crated.ECONFLICT, crated.EINVALID},
	"TakeLoginState":      {crated.ENOTFOUND, crated.EINVALID},
	"ReserveLoginAttempt": {crated.EINVALID},
	"ClearLoginAttempts":  {crated.EINVALID},
	"CreateAPIToken":      {crated.ENOTFOUND, crated.ECONFLICT, crated.EINVALID},
	"DeleteUserToken":     {crated.ENOTFOUND},
	"RecordAudit":         {crated.EINVALID},
	"CrateAudit":          {crated.EINVALID},
}

// CheckCode reports a test error when method returned an error whose code
// Codes does not allow, or a non-internal error without a message. Backend
// tests that provoke failures the suite cannot (a busy database, a lost
// connection) check their errors with it too.
func CheckCode(t testing.TB, method string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	code := crated.ErrorCode(err)
	if code == crated.EINTERNAL {
		return
	}
	if code != crated.EUNAVAILABLE && !slices.Contains(Codes[method], code) {
		t.Errorf("%s returned %q (%v): the contract allows %q, EUNAVAILABLE and EINTERNAL", method, code, err, Codes[method])
	}
	if crated.ErrorMessage(err) == "" {
		t.Errorf("%s returned %q with an empty message", method, code)
	}
}

// checkedStore checks the code of every error the store returns to the
// suite against Codes. Methods added to crated.Store later pass through
// unchecked until they are listed here.
type checkedStore struct {
	crated.Store
	t testing.TB
}

func checked(t testing.TB, s crated.Store) crated.Store { return &checkedStore{Store: s, t: t} }

func (c *checkedStore) check(method string, err error) error {
	c.t.Helper()
	CheckCode(c.t, method, err)
	return err
}

func (c *checkedStore) Ping(ctx context.Context) error {
	return c.check("Ping", c.Store.Ping(ctx))
}

func (c *checkedStore) CrateByName(ctx context.Context, canon string) (*crated.Crate, error) {
	v, err := c.Store.CrateByName(ctx, canon)
	return v, c.check("CrateByName", err)
}

func (c *checkedStore) Versions(ctx context.Context, crateID int64) ([]*crated.Version, error) {
	v, err := c.Store.Versions(ctx, crateID)
	return v, c.check("Versions", err)
}

func (c *checkedStore) Version(ctx context.Context, crateID int64, vers string) (*crated.Version, error) {
	v, err := c.Store.Version(ctx, crateID, vers)
	return v, c.check("Version", err)
}

func (c *checkedStore) PublishVersion(ctx context.Context, nv *crated.NewVersion) (*crated.Version, error) {
	v, err := c.Store.PublishVersion(ctx, nv)
	return v, c.check("PublishVersion", err)
}

func (c *checkedStore) SetYanked(ctx context.Context, versionID int64, yanked bool, actorID int64) error {
	return c.check("SetYanked", c.Store.SetYanked(ctx, versionID, yanked, actorID))
}

func (c *checkedStore) SearchCrates(ctx context.Context, q crated.SearchQuery) ([]*crated.Crate, int, error) {
	v, n, err := c.Store.SearchCrates(ctx, q)
	return v, n, c.check("SearchCrates", err)
}

func (c *checkedStore) CountCrates(ctx context.Context) (int64, int64, error) {
	a, b, err := c.Store.CountCrates(ctx)
	return a, b, c.check("CountCrates", err)
}

func (c *checkedStore) AddDownloads(ctx context.Context, counts map[int64]int64) error {
	return c.check("AddDownloads", c.Store.AddDownloads(ctx, counts))
}

func (c *checkedStore) Owners(ctx context.Context, crateID int64) ([]*crated.User, error) {
	v, err := c.Store.Owners(ctx, crateID)
	return v, c.check("Owners", err)
}

func (c *checkedStore) IsOwner(ctx context.Context, crateID, userID int64) (bool, error) {
	v, err := c.Store.IsOwner(ctx, crateID, userID)
	return v, c.check("IsOwner", err)
}

func (c *checkedStore) AddOwners(ctx context.Context, crateID int64, userIDs []int64, actorID int64) error {
	return c.check("AddOwners", c.Store.AddOwners(ctx, crateID, userIDs, actorID))
}

func (c *checkedStore) RemoveOwners(ctx context.Context, crateID int64, userIDs []int64, actorID int64) error {
	return c.check("RemoveOwners", c.Store.RemoveOwners(ctx, crateID, userIDs, actorID))
}

func (c *checkedStore) CratesOwnedBy(ctx context.Context, userID int64) ([]*crated.Crate, error) {
	v, err := c.Store.CratesOwnedBy(ctx, userID)
	return v, c.check("CratesOwnedBy", err)
}

func (c *checkedStore) CreateUser(ctx context.Context, u *crated.User) error {
	return c.check("CreateUser", c.Store.CreateUser(ctx, u))
}

func (c *checkedStore) UpdateUser(ctx context.Context, u *crated.User) error {
	return c.check("UpdateUser", c.Store.UpdateUser(ctx, u))
}

func (c *checkedStore) UserByID(ctx context.Context, id int64) (*crated.User, error) {
	v, err := c.Store.UserByID(ctx, id)
	return v, c.check("UserByID", err)
}

func (c *checkedStore) UserByLogin(ctx context.Context, login string) (*crated.User, error) {
	v, err := c.Store.UserByLogin(ctx, login)
	return v, c.check("UserByLogin", err)
}

func (c *checkedStore) UserByIdentity(ctx context.Context, issuer, subject string) (*crated.User, error) {
	v, err := c.Store.UserByIdentity(ctx, issuer, subject)
	return v, c.check("UserByIdentity", err)
}

func (c *checkedStore) UsersByName(ctx context.Context, name string) ([]*crated.User, error) {
	v, err := c.Store.UsersByName(ctx, name)
	return v, c.check("UsersByName", err)
}

func (c *checkedStore) ListUsers(ctx context.Context) ([]*crated.User, error) {
	v, err := c.Store.ListUsers(ctx)
	return v, c.check("ListUsers", err)
}

func (c *checkedStore) ReplaceToken(ctx context.Context, tok *crated.Token) (*crated.Token, error) {
	v, err := c.Store.ReplaceToken(ctx, tok)
	return v, c.check("ReplaceToken", err)
}

func (c *checkedStore) TokenByHash(ctx context.Context, hash string) (*crated.Token, error) {
	v, err := c.Store.TokenByHash(ctx, hash)
	return v, c.check("TokenByHash", err)
}

func (c *checkedStore) TokenUser(ctx context.Context, hash string) (*crated.Token, *crated.User, error) {
	t, u, err := c.Store.TokenUser(ctx, hash)
	return t, u, c.check("TokenUser", err)
}

func (c *checkedStore) UserToken(ctx context.Context, userID int64) (*crated.Token, error) {
	v, err := c.Store.UserToken(ctx, userID)
	return v, c.check("UserToken", err)
}

func (c *checkedStore) RevokeToken(ctx context.Context, userID int64) error {
	return c.check("RevokeToken", c.Store.RevokeToken(ctx, userID))
}

func (c *checkedStore) PutLoginState(ctx context.Context, st *crated.LoginState) error {
	return c.check("PutLoginState", c.Store.PutLoginState(ctx, st))
}

func (c *checkedStore) TakeLoginState(ctx context.Context, key string, now time.Time) (*crated.LoginState, error) {
	v, err := c.Store.TakeLoginState(ctx, key, now)
	return v, c.check("TakeLoginState", err)
}

func (c *checkedStore) Audit(ctx context.Context, limit int) ([]*crated.AuditEntry, error) {
	v, err := c.Store.Audit(ctx, limit)
	return v, c.check("Audit", err)
}

func (c *checkedStore) ReserveLoginAttempt(ctx context.Context, key string, now time.Time, window time.Duration, max int) (bool, time.Time, error) {
	ok, at, err := c.Store.ReserveLoginAttempt(ctx, key, now, window, max)
	return ok, at, c.check("ReserveLoginAttempt", err)
}

func (c *checkedStore) ClearLoginAttempts(ctx context.Context, key string) error {
	return c.check("ClearLoginAttempts", c.Store.ClearLoginAttempts(ctx, key))
}

func (c *checkedStore) CreateAPIToken(ctx context.Context, tok *crated.Token) error {
	return c.check("CreateAPIToken", c.Store.CreateAPIToken(ctx, tok))
}

func (c *checkedStore) UserTokens(ctx context.Context, userID int64) ([]*crated.Token, error) {
	v, err := c.Store.UserTokens(ctx, userID)
	return v, c.check("UserTokens", err)
}

func (c *checkedStore) DeleteUserToken(ctx context.Context, userID, id int64) error {
	return c.check("DeleteUserToken", c.Store.DeleteUserToken(ctx, userID, id))
}

func (c *checkedStore) TouchToken(ctx context.Context, id int64, at time.Time) error {
	return c.check("TouchToken", c.Store.TouchToken(ctx, id, at))
}

func (c *checkedStore) RecordAudit(ctx context.Context, e *crated.AuditEntry) error {
	return c.check("RecordAudit", c.Store.RecordAudit(ctx, e))
}

func (c *checkedStore) CrateAudit(ctx context.Context, crate string, limit int) ([]*crated.AuditEntry, error) {
	v, err := c.Store.CrateAudit(ctx, crate, limit)
	return v, c.check("CrateAudit", err)
}
