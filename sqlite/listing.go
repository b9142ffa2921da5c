package sqlite

import (
	"context"

	"github.com/crated/crated"
)

// The home page's listings. Both are bounded by limit, so that a large
// registry never sends every crate to a page that shows ten.

// recentCratesSQL orders crates by their newest version's id: versions are
// numbered in publish order, which a yank does not change and an imported
// PublishedAt cannot fake.
const recentCratesSQL = `SELECT ` + crateColumnsC + ` FROM crates c
	JOIN (SELECT crate_id, max(id) AS last FROM versions GROUP BY crate_id) r ON r.crate_id = c.id
	ORDER BY r.last DESC LIMIT ?`

// RecentCrates lists the crates with the most recently published versions,
// newest first.
func (s *Store) RecentCrates(ctx context.Context, limit int) (_ []*crated.Crate, err error) {
	defer wrap(&err, "sqlite.RecentCrates(%d)", limit)
	if err := checkListLimit(limit); err != nil {
		return nil, err
	}
	return queryAll(ctx, s.read, scanCrate, recentCratesSQL, limit)
}

// PopularCrates lists the most downloaded crates, most first, ties by name.
func (s *Store) PopularCrates(ctx context.Context, limit int) (_ []*crated.Crate, err error) {
	defer wrap(&err, "sqlite.PopularCrates(%d)", limit)
	if err := checkListLimit(limit); err != nil {
		return nil, err
	}
	return queryAll(ctx, s.read, scanCrate, `SELECT `+crateColumns+` FROM crates
		ORDER BY downloads DESC, canon_name LIMIT ?`, limit)
}

// crateColumnsC is crateColumns qualified by the alias c, for joins.
const crateColumnsC = `c.id, c.name, c.canon_name, c.description, c.homepage, c.documentation, c.repository,
	c.keywords, c.categories, c.max_version, c.downloads, c.created_at, c.updated_at`

func checkListLimit(limit int) error {
	if limit < 1 {
		return crated.Errorf(crated.EINVALID, "a listing needs a limit of at least 1, not %d", limit)
	}
	return nil
}
