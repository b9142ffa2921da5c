-- The initial crated schema.
--
-- Conventions:
--   * Times are INTEGER microseconds since the Unix epoch (UTC), the precision
--     PostgreSQL keeps, so both backends round-trip the same instants.
--   * Text comparisons use SQLite's default BINARY collation: byte order, which
--     the conformance suite requires for sort keys, names and logins.
--   * Every uniqueness rule is a constraint, so that racing writers (other
--     processes on the same file) cannot both win.
--   * STRICT tables: a value of the wrong type is an error, not a conversion.

CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	login         TEXT    NOT NULL,
	name          TEXT    NOT NULL,
	email         TEXT    NOT NULL,
	password_hash TEXT    NOT NULL,
	issuer        TEXT    NOT NULL,
	subject       TEXT    NOT NULL,
	admin         INTEGER NOT NULL,
	created_at    INTEGER NOT NULL,
	CONSTRAINT users_login_key UNIQUE (login)
) STRICT;

-- Password users all have an empty (issuer, subject); only OpenID identities
-- are unique.
CREATE UNIQUE INDEX users_identity_key ON users (issuer, subject) WHERE subject <> '';
CREATE INDEX users_name_idx ON users (name);

CREATE TABLE crates (
	id            INTEGER PRIMARY KEY,
	name          TEXT    NOT NULL,
	canon_name    TEXT    NOT NULL,
	description   TEXT    NOT NULL,
	homepage      TEXT    NOT NULL,
	documentation TEXT    NOT NULL,
	repository    TEXT    NOT NULL,
	-- Keywords and categories as published, one per line (neither may
	-- contain a newline).
	keywords      TEXT    NOT NULL,
	categories    TEXT    NOT NULL,
	-- Lowercased (by Go, so beyond ASCII) copies for case-insensitive
	-- substring search with instr(), which has no wildcards to escape.
	search_description TEXT NOT NULL,
	search_keywords    TEXT NOT NULL,
	max_version   TEXT    NOT NULL,
	downloads     INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	CONSTRAINT crates_canon_name_key UNIQUE (canon_name)
) STRICT;

CREATE TABLE versions (
	id           INTEGER PRIMARY KEY,
	crate_id     INTEGER NOT NULL REFERENCES crates (id),
	vers         TEXT    NOT NULL,
	vers_key     TEXT    NOT NULL,
	sort_key     TEXT    NOT NULL,
	cksum        TEXT    NOT NULL,
	size         INTEGER NOT NULL,
	entry        BLOB    NOT NULL,
	yanked       INTEGER NOT NULL DEFAULT 0,
	published_by INTEGER NOT NULL REFERENCES users (id),
	published_at INTEGER NOT NULL,
	readme       TEXT    NOT NULL,
	manifest     BLOB    NOT NULL,
	downloads    INTEGER NOT NULL DEFAULT 0,
	CONSTRAINT versions_crate_vers_key UNIQUE (crate_id, vers_key)
) STRICT;

-- MaxVersion: the first row of (crate_id = ?) ORDER BY yanked, sort_key DESC
-- is one index probe, however many versions a crate has.
CREATE INDEX versions_max_idx ON versions (crate_id, yanked, sort_key DESC);

CREATE TABLE crate_owners (
	crate_id   INTEGER NOT NULL REFERENCES crates (id),
	user_id    INTEGER NOT NULL REFERENCES users (id),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (crate_id, user_id)
) WITHOUT ROWID, STRICT;

CREATE INDEX crate_owners_user_idx ON crate_owners (user_id, crate_id);

-- AUTOINCREMENT so that the id of a revoked token is never handed out again.
CREATE TABLE tokens (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id    INTEGER NOT NULL REFERENCES users (id),
	hash       TEXT    NOT NULL,
	sealed     BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	CONSTRAINT tokens_user_key UNIQUE (user_id),
	CONSTRAINT tokens_hash_key UNIQUE (hash)
) STRICT;

CREATE TABLE login_states (
	key           TEXT    NOT NULL PRIMARY KEY,
	nonce         TEXT    NOT NULL,
	pkce_verifier TEXT    NOT NULL,
	kind          TEXT    NOT NULL,
	expires_at    INTEGER NOT NULL
) WITHOUT ROWID, STRICT;

CREATE INDEX login_states_expires_idx ON login_states (expires_at);

-- History: no foreign keys, so that entries outlive what they describe.
CREATE TABLE audit_log (
	id      INTEGER PRIMARY KEY,
	time    INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	action  TEXT    NOT NULL,
	crate   TEXT    NOT NULL,
	version TEXT    NOT NULL,
	detail  TEXT    NOT NULL
) STRICT;
