-- API tokens (kind 'api') beside the one login token per user: the unique
-- user_id becomes a partial unique index on login tokens. SQLite cannot drop
-- a constraint, so the table is rebuilt, keeping ids and the AUTOINCREMENT
-- counter (a revoked token's id is never handed out again).
CREATE TABLE tokens_new (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id         INTEGER NOT NULL REFERENCES users (id),
	hash            TEXT    NOT NULL,
	sealed          BLOB    NOT NULL,
	created_at      INTEGER NOT NULL,
	kind            TEXT    NOT NULL DEFAULT 'login',
	name            TEXT    NOT NULL DEFAULT '',
	-- JSON arrays of strings; NULL: unrestricted.
	crate_scopes    TEXT,
	endpoint_scopes TEXT,
	-- NULL: never.
	expires_at      INTEGER,
	last_used_at    INTEGER,
	CONSTRAINT tokens_hash_key UNIQUE (hash)
) STRICT;
INSERT INTO tokens_new (id, user_id, hash, sealed, created_at)
	SELECT id, user_id, hash, sealed, created_at FROM tokens;
DELETE FROM sqlite_sequence WHERE name = 'tokens_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'tokens_new', seq FROM sqlite_sequence WHERE name = 'tokens';
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;
CREATE UNIQUE INDEX tokens_login_key ON tokens (user_id) WHERE kind = 'login';
CREATE INDEX tokens_user ON tokens (user_id);

-- The audit log says how the actor authenticated and from where.
ALTER TABLE audit_log ADD COLUMN actor       TEXT    NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN auth        TEXT    NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN token_id    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN token_name  TEXT    NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN auth_detail TEXT    NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN client      TEXT    NOT NULL DEFAULT '';
CREATE INDEX audit_log_crate ON audit_log (crate, id);
