-- API tokens (kind 'api') beside the one login token per user: the unique
-- user_id becomes a partial unique index on login tokens.
ALTER TABLE tokens
	DROP CONSTRAINT tokens_user_key,
	ADD COLUMN kind            text NOT NULL DEFAULT 'login',
	ADD COLUMN name            text NOT NULL DEFAULT '',
	-- NULL: unrestricted.
	ADD COLUMN crate_scopes    text[],
	ADD COLUMN endpoint_scopes text[],
	-- NULL: never.
	ADD COLUMN expires_at      timestamptz,
	ADD COLUMN last_used_at    timestamptz;
CREATE UNIQUE INDEX tokens_login_key ON tokens (user_id) WHERE kind = 'login';
CREATE INDEX tokens_user ON tokens (user_id);

-- The audit log says how the actor authenticated and from where.
ALTER TABLE audit_log
	ADD COLUMN actor       text   NOT NULL DEFAULT '',
	ADD COLUMN auth        text   NOT NULL DEFAULT '',
	ADD COLUMN token_id    bigint NOT NULL DEFAULT 0,
	ADD COLUMN token_name  text   NOT NULL DEFAULT '',
	ADD COLUMN auth_detail text   NOT NULL DEFAULT '',
	ADD COLUMN client      text   NOT NULL DEFAULT '';
CREATE INDEX audit_log_crate ON audit_log (crate, id);
