-- The initial crated schema for PostgreSQL. It holds what
-- sqlite/migration/0001_init.sql holds; the conformance suite (storetest)
-- proves that the two stores behave alike.
--
-- Conventions:
--   * Times are timestamptz: microseconds, the precision the SQLite store
--     keeps too. The store reads them back in UTC.
--   * Names, logins and sort keys are COLLATE "C": byte order whatever the
--     locale of the database, as the conformance suite requires (SQLite's
--     BINARY collation). It also lets B-tree indexes serve prefix matches.
--   * Every uniqueness rule is a constraint or a unique index, so that
--     racing replicas cannot both win. Constraints are named explicitly: the
--     store tells them apart by the name PostgreSQL reports with SQLSTATE
--     23505 (unique) and 23503 (foreign key), never by message text.
--   * The index line and the manifest are bytea, not jsonb: they must come
--     back byte for byte, and jsonb would normalize them.
--   * Ids are identity columns; a sequence never hands a number out twice,
--     not even after a rollback or a delete.

CREATE TABLE users (
	id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	login         text        COLLATE "C" NOT NULL,
	name          text        COLLATE "C" NOT NULL,
	email         text        NOT NULL,
	password_hash text        NOT NULL,
	issuer        text        COLLATE "C" NOT NULL,
	subject       text        COLLATE "C" NOT NULL,
	admin         boolean     NOT NULL,
	created_at    timestamptz NOT NULL,
	CONSTRAINT users_login_key UNIQUE (login)
);

-- Password users all have an empty (issuer, subject); only OpenID identities
-- are unique.
CREATE UNIQUE INDEX users_identity_key ON users (issuer, subject) WHERE subject <> '';
CREATE INDEX users_name_idx ON users (name);

CREATE TABLE crates (
	id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name          text        COLLATE "C" NOT NULL,
	canon_name    text        COLLATE "C" NOT NULL,
	description   text        NOT NULL,
	homepage      text        NOT NULL,
	documentation text        NOT NULL,
	repository    text        NOT NULL,
	keywords      text[]      NOT NULL,
	categories    text[]      NOT NULL,
	-- Lowercased copies (by Go, so beyond ASCII whatever the database's
	-- LC_CTYPE) for case-insensitive substring search.
	search_description text   NOT NULL,
	search_keywords    text[] NOT NULL,
	max_version   text        NOT NULL,
	downloads     bigint      NOT NULL DEFAULT 0,
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL,
	CONSTRAINT crates_canon_name_key UNIQUE (canon_name)
);

CREATE TABLE versions (
	id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	crate_id     bigint      NOT NULL,
	vers         text        NOT NULL,
	vers_key     text        NOT NULL,
	sort_key     text        COLLATE "C" NOT NULL,
	cksum        text        NOT NULL,
	size         bigint      NOT NULL,
	entry        bytea       NOT NULL,
	yanked       boolean     NOT NULL DEFAULT false,
	published_by bigint      NOT NULL,
	published_at timestamptz NOT NULL,
	readme       text        NOT NULL,
	manifest     bytea       NOT NULL,
	downloads    bigint      NOT NULL DEFAULT 0,
	CONSTRAINT versions_crate_vers_key UNIQUE (crate_id, vers_key),
	CONSTRAINT versions_crate_fkey FOREIGN KEY (crate_id) REFERENCES crates (id),
	CONSTRAINT versions_published_by_fkey FOREIGN KEY (published_by) REFERENCES users (id)
);

-- MaxVersion: the first row of (crate_id = $1) ORDER BY yanked, sort_key DESC
-- is one index probe, however many versions a crate has.
CREATE INDEX versions_max_idx ON versions (crate_id, yanked, sort_key DESC);

CREATE TABLE crate_owners (
	crate_id   bigint      NOT NULL,
	user_id    bigint      NOT NULL,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (crate_id, user_id),
	CONSTRAINT crate_owners_crate_fkey FOREIGN KEY (crate_id) REFERENCES crates (id),
	CONSTRAINT crate_owners_user_fkey FOREIGN KEY (user_id) REFERENCES users (id)
);

CREATE INDEX crate_owners_user_idx ON crate_owners (user_id, crate_id);

CREATE TABLE tokens (
	id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id    bigint      NOT NULL,
	hash       text        NOT NULL,
	sealed     bytea       NOT NULL,
	created_at timestamptz NOT NULL,
	CONSTRAINT tokens_user_key UNIQUE (user_id),
	CONSTRAINT tokens_hash_key UNIQUE (hash),
	CONSTRAINT tokens_user_fkey FOREIGN KEY (user_id) REFERENCES users (id)
);

CREATE TABLE login_states (
	key           text        NOT NULL PRIMARY KEY,
	nonce         text        NOT NULL,
	pkce_verifier text        NOT NULL,
	kind          text        NOT NULL,
	expires_at    timestamptz NOT NULL
);

CREATE INDEX login_states_expires_idx ON login_states (expires_at);

-- History: no foreign keys, so that entries outlive what they describe.
CREATE TABLE audit_log (
	id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time    timestamptz NOT NULL,
	user_id bigint      NOT NULL,
	action  text        NOT NULL,
	crate   text        NOT NULL,
	version text        NOT NULL,
	detail  text        NOT NULL
);
