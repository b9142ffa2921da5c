-- Logins are unique ignoring ASCII case and '-' versus '_': canon_login is
-- cargo.CanonicalName(login), written by the store on every insert and
-- update (SQLite's lower() folds ASCII only, as CanonicalName does).
-- Open refuses, before this file runs, a database whose logins already
-- clash, naming them.
ALTER TABLE users ADD COLUMN canon_login TEXT NOT NULL DEFAULT '';
UPDATE users SET canon_login = replace(lower(login), '-', '_');
CREATE UNIQUE INDEX users_canon_login_key ON users (canon_login);

-- Password attempts per user name, for the failed-login limit
-- (ReserveLoginAttempt). A row is an attempt that counts as a failure until
-- a success clears the name's rows; rows older than the window are deleted.
CREATE TABLE login_attempts (
	key TEXT    NOT NULL,
	at  INTEGER NOT NULL
) STRICT;

CREATE INDEX login_attempts_key_idx ON login_attempts (key, at);
CREATE INDEX login_attempts_at_idx ON login_attempts (at);
