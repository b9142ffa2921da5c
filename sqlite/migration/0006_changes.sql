-- Crates changed by another process than the server on the same file
-- (`crated crate delete` beside a running `crated serve`). The server's
-- Listen polls this table to drop the index files it has cached, which it
-- could not otherwise know about: SQLite has no notifications between
-- processes. Rows are pruned an hour after they are written.
CREATE TABLE changes (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	canon_name TEXT    NOT NULL,
	time       INTEGER NOT NULL
) STRICT;
