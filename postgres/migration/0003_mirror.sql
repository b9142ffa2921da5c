-- The pull-through mirror's cache of upstream index files (mirror/), shared
-- by every replica; the .crate files live in the blob store. Rows are a
-- cache: deleting them all only costs refetches. The body is bytea: the
-- upstream's bytes are served back verbatim.
CREATE TABLE mirror_index_files (
	name          text        COLLATE "C" NOT NULL PRIMARY KEY,
	body          bytea       NOT NULL,
	missing       boolean     NOT NULL,
	etag          text        NOT NULL,
	last_modified text        NOT NULL,
	fetched_at    timestamptz NOT NULL
);
