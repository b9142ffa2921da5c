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
