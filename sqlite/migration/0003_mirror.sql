-- The pull-through mirror's cache of upstream index files (mirror/). Shared
-- by every process using this database; the .crate files live in the blob
-- store. Rows are a cache: deleting them all only costs refetches.
CREATE TABLE mirror_index_files (
	name          TEXT    NOT NULL PRIMARY KEY,
	body          BLOB    NOT NULL,
	missing       INTEGER NOT NULL,
	etag          TEXT    NOT NULL,
	last_modified TEXT    NOT NULL,
	fetched_at    INTEGER NOT NULL
) STRICT;
