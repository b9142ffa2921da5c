-- Trusted publishing (package trustpub). A config names its crate by
-- canonical name rather than by id because the crate may not exist yet (a
-- pending publisher).
CREATE TABLE trustpub_configs (
	id           INTEGER PRIMARY KEY,
	provider     TEXT    NOT NULL,
	issuer       TEXT    NOT NULL,
	crate        TEXT    NOT NULL,
	crate_canon  TEXT    NOT NULL,
	owner        TEXT    NOT NULL,
	project      TEXT    NOT NULL,
	repo_key     TEXT    NOT NULL,
	owner_id     TEXT    NOT NULL,
	workflow     TEXT    NOT NULL,
	environment  TEXT    NOT NULL,
	created_by   INTEGER NOT NULL REFERENCES users (id),
	created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX trustpub_configs_crate_idx ON trustpub_configs (crate_canon);
CREATE INDEX trustpub_configs_repo_idx ON trustpub_configs (provider, issuer, repo_key);

-- Used ID-token ids (jti, prefixed by the issuer), kept until the ID token
-- expires: each may be exchanged once.
CREATE TABLE trustpub_jtis (
	jti        TEXT    NOT NULL PRIMARY KEY,
	expires_at INTEGER NOT NULL
) STRICT;

-- Issued tokens, by hash. config_ids is a JSON array of trustpub_configs ids.
CREATE TABLE trustpub_tokens (
	hash       TEXT    NOT NULL PRIMARY KEY,
	config_ids TEXT    NOT NULL,
	publisher  TEXT    NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;

-- Crates that refuse ordinary API tokens on publish.
CREATE TABLE trustpub_only_crates (
	crate_id INTEGER NOT NULL PRIMARY KEY REFERENCES crates (id) ON DELETE CASCADE
) STRICT;
