package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crated/crated"
)

// MirrorIndexFile returns the cached upstream index file called name.
func (s *Store) MirrorIndexFile(ctx context.Context, name string) (_ *crated.MirrorIndexFile, err error) {
	defer wrap(&err, "postgres.MirrorIndexFile(%q)", name)
	f := crated.MirrorIndexFile{Name: name}
	err = s.pool.QueryRow(ctx, `SELECT body, missing, etag, last_modified, fetched_at
		FROM mirror_index_files WHERE name = $1`, name).Scan(&f.Body, &f.Missing, &f.ETag, &f.LastModified, &f.FetchedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, crated.Errorf(crated.ENOTFOUND, "index file %q is not cached", name)
	} else if err != nil {
		return nil, err
	}
	f.FetchedAt = f.FetchedAt.UTC()
	return &f, nil
}

// PutMirrorIndexFile stores f, replacing any cached file of the same name.
// Replicas racing on one file both succeed; the last write wins, and both
// wrote what the upstream answered.
func (s *Store) PutMirrorIndexFile(ctx context.Context, f *crated.MirrorIndexFile) (err error) {
	defer wrap(&err, "postgres.PutMirrorIndexFile(%q)", f.Name)
	_, err = s.pool.Exec(ctx, `INSERT INTO mirror_index_files (name, body, missing, etag, last_modified, fetched_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (name) DO UPDATE SET body = excluded.body, missing = excluded.missing,
			etag = excluded.etag, last_modified = excluded.last_modified, fetched_at = excluded.fetched_at`,
		f.Name, nonNil(f.Body), f.Missing, f.ETag, f.LastModified, normTime(f.FetchedAt))
	return err
}

// TouchMirrorIndexFile records that the upstream confirmed the cached file
// at fetchedAt (a 304). ENOTFOUND when the file is not cached.
func (s *Store) TouchMirrorIndexFile(ctx context.Context, name string, fetchedAt time.Time) (err error) {
	defer wrap(&err, "postgres.TouchMirrorIndexFile(%q)", name)
	tag, err := s.pool.Exec(ctx, `UPDATE mirror_index_files SET fetched_at = $1 WHERE name = $2`, normTime(fetchedAt), name)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return crated.Errorf(crated.ENOTFOUND, "index file %q is not cached", name)
	}
	return nil
}
