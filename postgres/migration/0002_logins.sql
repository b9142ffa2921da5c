-- Logins are unique ignoring ASCII case and '-' versus '_': canon_login is
-- cargo.CanonicalName(login), written by the store on every insert and
-- update. translate() folds ASCII only, as CanonicalName does (lower()
-- would follow the locale). Migrate refuses, before this file runs, a
-- database whose logins already clash, naming them.
ALTER TABLE users ADD COLUMN canon_login text COLLATE "C" NOT NULL DEFAULT '';
UPDATE users SET canon_login = translate(login, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ-', 'abcdefghijklmnopqrstuvwxyz_');
ALTER TABLE users ALTER COLUMN canon_login DROP DEFAULT;
ALTER TABLE users ADD CONSTRAINT users_canon_login_key UNIQUE (canon_login);

-- Password attempts per user name, for the failed-login limit
-- (ReserveLoginAttempt). A row is an attempt that counts as a failure until
-- a success clears the name's rows; rows older than the window are deleted.
CREATE TABLE login_attempts (
	key text        COLLATE "C" NOT NULL,
	at  timestamptz NOT NULL
);

CREATE INDEX login_attempts_key_idx ON login_attempts (key, at);
CREATE INDEX login_attempts_at_idx ON login_attempts (at);
