-- Trusted publishing (package trustpub). A config names its crate by
-- canonical name rather than by id because the crate may not exist yet (a
-- pending publisher).
CREATE TABLE trustpub_configs (
	id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	provider     text        NOT NULL,
	issuer       text        NOT NULL,
	crate        text        COLLATE "C" NOT NULL,
	crate_canon  text        COLLATE "C" NOT NULL,
	owner        text        NOT NULL,
	project      text        NOT NULL,
	repo_key     text        COLLATE "C" NOT NULL,
	owner_id     text        NOT NULL,
	workflow     text        NOT NULL,
	environment  text        NOT NULL,
	created_by   bigint      NOT NULL REFERENCES users (id),
	created_at   timestamptz NOT NULL
);
CREATE INDEX trustpub_configs_crate_idx ON trustpub_configs (crate_canon);
CREATE INDEX trustpub_configs_repo_idx ON trustpub_configs (provider, issuer, repo_key);

-- Used ID-token ids (jti, prefixed by the issuer), kept until the ID token
-- expires: each may be exchanged once.
CREATE TABLE trustpub_jtis (
	jti        text        NOT NULL PRIMARY KEY,
	expires_at timestamptz NOT NULL
);

-- Issued tokens, by hash. config_ids is a JSON array of trustpub_configs ids.
CREATE TABLE trustpub_tokens (
	hash       text        NOT NULL PRIMARY KEY,
	config_ids text        NOT NULL,
	publisher  text        NOT NULL,
	expires_at timestamptz NOT NULL
);

-- Crates that refuse ordinary API tokens on publish.
CREATE TABLE trustpub_only_crates (
	crate_id bigint NOT NULL PRIMARY KEY REFERENCES crates (id) ON DELETE CASCADE
);
