package crated

// Messages of the errors that every metadata store reports in the same
// situation. The stores share them so that a user reads the same words
// whatever the backend, and storetest can pin the codes without matching
// text.
const (
	// MsgStoreBusy: the database stayed locked or overloaded past the
	// store's wait (SQLite's busy timeout, PostgreSQL's serialization
	// failures and connection limits). EUNAVAILABLE.
	MsgStoreBusy = "the database is busy, please try again"
	// MsgStoreUnreachable: no answer from the database server (connection
	// refused or lost, or no answer within the query timeout). EUNAVAILABLE.
	MsgStoreUnreachable = "the database is unavailable, please try again later"
	// MsgStoreExists: a uniqueness constraint that the method does not
	// explain itself. ECONFLICT.
	MsgStoreExists = "this already exists"
	// MsgStoreMissingRef: a foreign key to a missing row. ENOTFOUND.
	MsgStoreMissingRef = "this refers to something that does not exist"
	// MsgStoreBadText: text the database cannot store (NUL, invalid
	// UTF-8). EINVALID.
	MsgStoreBadText = "text must be UTF-8 without NUL characters"
)

// LoginTaken is the ECONFLICT error of CreateUser and UpdateUser for a login
// whose canonical form (cargo.CanonicalName: ASCII case and '-' versus '_'
// ignored) belongs to another user.
func LoginTaken(login string) *Error {
	return Errorf(ECONFLICT, "the login `%s` is already taken, or differs from a taken one only in case or in '-' versus '_'", login)
}

// IdentityTaken is the ECONFLICT error of CreateUser for an OpenID identity
// linked to another user. The subject is an opaque identifier of the
// provider and stays out of the message.
func IdentityTaken(issuer string) *Error {
	return Errorf(ECONFLICT, "this %s account is already linked to another user", issuer)
}

// LoginClashes is the error of a store upgrade that finds logins that differ
// only in case or in '-' versus '_', which the unique canonical login
// forbids from then on. groups lists the clashing logins, one group per
// canonical login. The upgrade changes nothing: the operator decides which
// account keeps the name.
func LoginClashes(groups []string) *Error {
	return Errorf(EINVALID, "the database has user logins that differ only in case or in '-' versus '_': %s. "+
		"This version of crated keeps logins unique ignoring those differences, so that no user can pose as another. "+
		"Rename all but one login of each group (for example: UPDATE users SET login = 'alice-old', name = 'alice-old' WHERE login = 'Alice'), "+
		"then start crated again; nothing was changed", joinGroups(groups))
}

func joinGroups(groups []string) string {
	out := ""
	for i, g := range groups {
		if i > 0 {
			out += "; "
		}
		out += "(" + g + ")"
	}
	return out
}

// The errors below are the ones both stores report in the same situation,
// built here once so that their codes and wording cannot drift apart.

// CrateTaken is the ECONFLICT error for a new crate whose canonical name another crate has.
func CrateTaken(name string) *Error {
	return Errorf(ECONFLICT, "a crate named `%s` already exists", name)
}

// VersionTaken is the ECONFLICT error for a version whose VersKey the crate already has.
func VersionTaken(vers string) *Error {
	return Errorf(ECONFLICT, "crate version `%s` is already uploaded", vers)
}

// LoginStateTaken is the ECONFLICT error for a login state whose key exists.
func LoginStateTaken() *Error { return Errorf(ECONFLICT, "this login is already pending") }

// TokenTaken is the ECONFLICT error for a token hash another active token has.
func TokenTaken() *Error { return Errorf(ECONFLICT, "this token is already in use") }

// LastOwner is the EINVALID error for removing the last owners of a crate.
func LastOwner(crate string) *Error {
	return Errorf(EINVALID, "cannot remove every owner of crate `%s`: a crate must keep at least one owner", crate)
}

// BadAttemptLimits is the EINVALID error for ReserveLoginAttempt with a window or limit that is not positive.
func BadAttemptLimits() *Error {
	return Errorf(EINVALID, "the login attempt window and limit must be positive")
}

// CrateIDNotFound is the ENOTFOUND error for an unknown crate id.
func CrateIDNotFound(id int64) *Error { return Errorf(ENOTFOUND, "crate %d does not exist", id) }

// CrateNotFound is the ENOTFOUND error for an unknown crate name.
func CrateNotFound(canon string) *Error { return Errorf(ENOTFOUND, "crate `%s` does not exist", canon) }

// VersionNotFound is the ENOTFOUND error for an unknown version of a crate.
func VersionNotFound(vers string) *Error {
	return Errorf(ENOTFOUND, "crate version `%s` does not exist", vers)
}

// VersionIDNotFound is the ENOTFOUND error for an unknown version id.
func VersionIDNotFound(id int64) *Error { return Errorf(ENOTFOUND, "version %d does not exist", id) }

// TokenNotFound is the ENOTFOUND error for an unknown or revoked token hash.
func TokenNotFound() *Error { return Errorf(ENOTFOUND, "no such token") }

// IdentityNotFound is the ENOTFOUND error for an OpenID identity no user has; the subject, an opaque identifier of the provider, stays out of the message.
func IdentityNotFound(issuer string) *Error {
	return Errorf(ENOTFOUND, "no user is linked to this %s account", issuer)
}

// LoginStateNotFound is the ENOTFOUND error for a login state that is unknown, taken or expired.
func LoginStateNotFound() *Error {
	return Errorf(ENOTFOUND, "this login has expired or was already used, please start again")
}

// UserIDNotFound is the ENOTFOUND error for an unknown user id.
func UserIDNotFound(id int64) *Error { return Errorf(ENOTFOUND, "user %d does not exist", id) }

// NoToken is the ENOTFOUND error for a user without an active token.
func NoToken(userID int64) *Error { return Errorf(ENOTFOUND, "user %d has no token", userID) }

// UserNotFound is the ENOTFOUND error for an unknown login.
func UserNotFound(login string) *Error { return Errorf(ENOTFOUND, "user `%s` does not exist", login) }
