package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/crated/crated"
)

// MirrorIndexFile returns the cached upstream index file called name.
func (s *Store) MirrorIndexFile(ctx context.Context, name string) (_ *crated.MirrorIndexFile, err error) {
	defer crated.Wrap(&err, "sqlite.MirrorIndexFile(%q)", name)
	f := crated.MirrorIndexFile{Name: name}
	var missing, fetched int64
	err = s.read.QueryRowContext(ctx, `SELECT body, missing, etag, last_modified, fetched_at
		FROM mirror_index_files WHERE name = ?`, name).Scan(&f.Body, &missing, &f.ETag, &f.LastModified, &fetched)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crated.Errorf(crated.ENOTFOUND, "index file %q is not cached", name)
	} else if err != nil {
		return nil, err
	}
	f.Missing, f.FetchedAt = missing != 0, goTime(fetched)
	return &f, nil
}

// PutMirrorIndexFile stores f, replacing any cached file of the same name.
func (s *Store) PutMirrorIndexFile(ctx context.Context, f *crated.MirrorIndexFile) (err error) {
	defer crated.Wrap(&err, "sqlite.PutMirrorIndexFile(%q)", f.Name)
	_, err = s.write.ExecContext(ctx, `INSERT INTO mirror_index_files (name, body, missing, etag, last_modified, fetched_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET body = excluded.body, missing = excluded.missing,
			etag = excluded.etag, last_modified = excluded.last_modified, fetched_at = excluded.fetched_at`,
		f.Name, nonNil(f.Body), boolInt(f.Missing), f.ETag, f.LastModified, dbTime(f.FetchedAt))
	return err
}

// TouchMirrorIndexFile records that the upstream confirmed the cached file
// at fetchedAt (a 304). ENOTFOUND when the file is not cached.
func (s *Store) TouchMirrorIndexFile(ctx context.Context, name string, fetchedAt time.Time) (err error) {
	defer crated.Wrap(&err, "sqlite.TouchMirrorIndexFile(%q)", name)
	res, err := s.write.ExecContext(ctx, `UPDATE mirror_index_files SET fetched_at = ? WHERE name = ?`, dbTime(fetchedAt), name)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return crated.Errorf(crated.ENOTFOUND, "index file %q is not cached", name)
	}
	return nil
}
