-- A crate's index rows packed into a few values, so that a sparse-index
-- cache miss reads a few neighbouring rows instead of one table row per
-- version. A version's row is about a page long (the README and the
-- manifest are stored inline), and a crate's versions are published months
-- apart, so without this a crate of 10 versions costs about 30 page reads:
-- at 100k crates, where random reads miss every cache, those reads were
-- most of the server's time.
--
-- Triggers keep the copy, so that no write path can forget it. Reading it is
-- sqlite/indexrows.go; a crate whose copy is missing or does not parse is
-- read from versions instead.

-- index_lines is the packed form of one version: six tab-ended fields (the
-- last is the entry's length in bytes), the entry, a newline. The length
-- prefix makes parsing independent of what the entry holds.
CREATE VIEW index_lines AS
	SELECT crate_id, id,
		id || char(9) || vers || char(9) || cksum || char(9) || yanked || char(9) ||
		published_at || char(9) || length(entry) || char(9) || CAST(entry AS TEXT) || char(10) AS line
	FROM versions;

-- A crate's lines in id (publish) order, cut into chunks of about 16 KiB:
-- most crates are one chunk, read by one lookup, and a publish, which
-- appends to the last chunk, rewrites at most about 16 KiB however many
-- versions the crate has. The key is the crate's id times 2^32 plus the
-- chunk's number, so that a crate's chunks are neighbours in the table,
-- read by one range scan.
CREATE TABLE index_chunks (
	key      INTEGER PRIMARY KEY,
	-- The id of the chunk's first version when it was made.
	first_id INTEGER NOT NULL,
	lines    BLOB    NOT NULL
) STRICT;

-- index_chunking numbers each version's chunk: the bytes of the crate's
-- earlier lines, in 16 KiB units.
CREATE VIEW index_chunking AS
	SELECT crate_id, id, line,
		(sum(length(line)) OVER (PARTITION BY crate_id ORDER BY id) - length(line)) / 16384 AS chunk
	FROM index_lines;

-- While it has a row, inserted versions are not appended: a bulk insert
-- (ImportVersions) rebuilds each crate once at its end instead. It is only
-- ever set inside the transaction that clears it.
CREATE TABLE index_files_paused (
	one INTEGER PRIMARY KEY CHECK (one = 1)
) STRICT;

-- A new version has the largest id so far (versions.id is the rowid), so it
-- goes last: it starts a new chunk when the last is full (or there is
-- none), or else is appended to it.
CREATE TRIGGER index_chunks_insert AFTER INSERT ON versions
WHEN NOT EXISTS (SELECT 1 FROM index_files_paused)
BEGIN
	INSERT INTO index_chunks (key, first_id, lines)
		SELECT coalesce(last.key + 1, NEW.crate_id * 4294967296), NEW.id, CAST(l.line AS BLOB)
		FROM index_lines l LEFT JOIN (SELECT key, length(lines) AS size FROM index_chunks
			WHERE key BETWEEN NEW.crate_id * 4294967296 AND NEW.crate_id * 4294967296 + 4294967295
			ORDER BY key DESC LIMIT 1) last ON 1
		WHERE l.id = NEW.id AND coalesce(last.size, 16384) >= 16384;
	UPDATE index_chunks SET lines = CAST(lines || (SELECT line FROM index_lines WHERE id = NEW.id) AS BLOB)
		WHERE key = (SELECT max(key) FROM index_chunks
			WHERE key BETWEEN NEW.crate_id * 4294967296 AND NEW.crate_id * 4294967296 + 4294967295)
		AND first_id <> NEW.id;
END;

-- Naming a crate here rebuilds its chunks from its versions, at once: the
-- one place that packs a crate whole, for the triggers below and for
-- ImportVersions (which pauses the appends).
CREATE TABLE index_chunks_stale (
	crate_id INTEGER PRIMARY KEY
) STRICT;

CREATE TRIGGER index_chunks_rebuild AFTER INSERT ON index_chunks_stale
BEGIN
	DELETE FROM index_chunks
		WHERE key BETWEEN NEW.crate_id * 4294967296 AND NEW.crate_id * 4294967296 + 4294967295;
	INSERT INTO index_chunks (key, first_id, lines)
		SELECT crate_id * 4294967296 + chunk, min(id), CAST(group_concat(line, '' ORDER BY id) AS BLOB)
		FROM index_chunking WHERE crate_id = NEW.crate_id GROUP BY crate_id, chunk;
	DELETE FROM index_chunks_stale WHERE crate_id = NEW.crate_id;
END;

-- Yanks, unyanks and deletions rebuild the crate's chunks (downloads, the
-- frequent update, touch none of these columns). A crate without chunks (one
-- being deleted whole) is left without.
CREATE TRIGGER index_chunks_update AFTER UPDATE OF vers, cksum, entry, yanked, published_at ON versions
WHEN EXISTS (SELECT 1 FROM index_chunks
	WHERE key BETWEEN OLD.crate_id * 4294967296 AND OLD.crate_id * 4294967296 + 4294967295)
BEGIN
	INSERT INTO index_chunks_stale (crate_id) VALUES (OLD.crate_id);
END;

CREATE TRIGGER index_chunks_delete AFTER DELETE ON versions
WHEN EXISTS (SELECT 1 FROM index_chunks
	WHERE key BETWEEN OLD.crate_id * 4294967296 AND OLD.crate_id * 4294967296 + 4294967295)
BEGIN
	INSERT INTO index_chunks_stale (crate_id) VALUES (OLD.crate_id);
END;

-- The versions already here, in one pass rather than a rebuild per crate.
INSERT INTO index_chunks (key, first_id, lines)
	SELECT crate_id * 4294967296 + chunk, min(id), CAST(group_concat(line, '' ORDER BY id) AS BLOB)
	FROM index_chunking GROUP BY crate_id, chunk;
