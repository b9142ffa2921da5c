package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

const crateColumns = `id, name, canon_name, description, homepage, documentation, repository,
	keywords, categories, max_version, downloads, created_at, updated_at`

func scanCrate(r scanner) (*crated.Crate, error) {
	var c crated.Crate
	err := r.Scan(&c.ID, &c.Name, &c.CanonName, &c.Description, &c.Homepage, &c.Documentation, &c.Repository,
		&c.Keywords, &c.Categories, &c.MaxVersion, &c.Downloads, &c.CreatedAt, &c.UpdatedAt)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, err
}

const versionColumns = `id, crate_id, vers, vers_key, sort_key, cksum, size, entry, yanked,
	published_by, published_at, readme, manifest, downloads`

func scanVersion(r scanner) (*crated.Version, error) {
	var v crated.Version
	err := r.Scan(&v.ID, &v.CrateID, &v.Vers, &v.VersKey, &v.SortKey, &v.Cksum, &v.Size, &v.Entry, &v.Yanked,
		&v.PublishedBy, &v.PublishedAt, &v.Readme, &v.Manifest, &v.Downloads)
	v.PublishedAt = v.PublishedAt.UTC()
	return &v, err
}

// lowerAll lowercases keywords for search.
func lowerAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.ToLower(s)
	}
	return out
}

// CrateByName finds a crate by its canonical name.
func (s *Store) CrateByName(ctx context.Context, canon string) (_ *crated.Crate, err error) {
	defer wrap(&err, "postgres.CrateByName(%q)", canon)
	ctx, done := s.op(ctx)
	defer done(&err)
	c, err := scanCrate(s.pool.QueryRow(ctx, `SELECT `+crateColumns+` FROM crates WHERE canon_name = $1`, canon))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, crated.CrateNotFound(canon)
	}
	return c, err
}

func crateNotFound(crateID int64) error {
	return crated.CrateIDNotFound(crateID)
}

// crateExists reports an unknown crate as ENOTFOUND.
func crateExists(ctx context.Context, q queryer, crateID int64) error {
	ok, err := exists(ctx, q, `SELECT 1 FROM crates WHERE id = $1`, crateID)
	if err == nil && !ok {
		err = crateNotFound(crateID)
	}
	return err
}

// Versions lists a crate's versions in publish order.
func (s *Store) Versions(ctx context.Context, crateID int64) (_ []*crated.Version, err error) {
	defer wrap(&err, "postgres.Versions(%d)", crateID)
	ctx, done := s.op(ctx)
	defer done(&err)
	vs, err := queryAll(ctx, s.pool, scanVersion,
		`SELECT `+versionColumns+` FROM versions WHERE crate_id = $1 ORDER BY id`, crateID)
	if err == nil && len(vs) == 0 {
		// A crate is created with its first version: no versions means no
		// crate, but say so only after checking.
		err = crateExists(ctx, s.pool, crateID)
	}
	return vs, err
}

// Version finds one version by its exact Vers.
func (s *Store) Version(ctx context.Context, crateID int64, vers string) (_ *crated.Version, err error) {
	defer wrap(&err, "postgres.Version(%d, %q)", crateID, vers)
	ctx, done := s.op(ctx)
	defer done(&err)
	v, err := scanVersion(s.pool.QueryRow(ctx,
		`SELECT `+versionColumns+` FROM versions WHERE crate_id = $1 AND vers = $2`, crateID, vers))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, crated.VersionNotFound(vers)
	}
	return v, err
}

// lockCrate locks a crate's row until the end of tx and returns its name and
// canonical name; an unknown crate is ENOTFOUND. The statements of tx after
// it see every change to the crate that was committed before, so values
// derived from other rows (MaxVersion, the owner count) are computed from
// current data. FOR NO KEY UPDATE does not block the foreign-key checks of
// inserts that refer to the crate.
func lockCrate(ctx context.Context, tx *tx, crateID int64) (name, canon string, err error) {
	err = tx.QueryRow(ctx, `SELECT name, canon_name FROM crates WHERE id = $1 FOR NO KEY UPDATE`, crateID).
		Scan(&name, &canon)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", crateNotFound(crateID)
	}
	return name, canon, err
}

// PublishVersion creates the crate if nv.CrateID is 0, inserts the version,
// replaces the crate's metadata, updates MaxVersion, records the audit entry
// and notifies the other replicas, in one transaction.
func (s *Store) PublishVersion(ctx context.Context, nv *crated.NewVersion) (_ *crated.Version, err error) {
	defer wrap(&err, "postgres.PublishVersion(%q, %q)", nv.Crate.CanonName, nv.Version.Vers)
	ctx, done := s.op(ctx)
	defer done(&err)
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	v := nv.Version
	v.Yanked = false
	if v.PublishedAt.IsZero() {
		v.PublishedAt = tx.now
	} else {
		v.PublishedAt = normTime(v.PublishedAt)
	}

	var name, canon string
	if nv.CrateID == 0 {
		name, canon = nv.Crate.Name, nv.Crate.CanonName
		// The only version is the highest one.
		v.CrateID, err = insertCrate(ctx, tx, &nv.Crate, v.Vers)
		if violates(err, uniqueViolation, "crates_canon_name_key") {
			// The transaction is aborted: end it now, so that the
			// message's query does not hold two connections at once.
			tx.Rollback(ctx)
			return nil, s.crateTaken(ctx, canon)
		} else if err != nil {
			return nil, err
		}
		_, err = tx.Exec(ctx, `INSERT INTO crate_owners (crate_id, user_id, created_at) VALUES ($1, $2, $3)`,
			v.CrateID, nv.OwnerID, tx.now)
		if violates(err, foreignKeyViolation, "crate_owners_user_fkey") {
			return nil, userNotFound(nv.OwnerID)
		} else if err != nil {
			return nil, err
		}
	} else {
		v.CrateID = nv.CrateID
		if name, canon, err = lockCrate(ctx, tx, v.CrateID); err != nil {
			return nil, err
		}
	}

	err = tx.QueryRow(ctx, `INSERT INTO versions (crate_id, vers, vers_key, sort_key, cksum, size, entry,
			yanked, published_by, published_at, readme, manifest)
		VALUES ($1, $2, $3, $4, $5, $6, $7, false, $8, $9, $10, $11) RETURNING id`,
		v.CrateID, v.Vers, v.VersKey, v.SortKey, v.Cksum, v.Size, nonNil(v.Entry),
		v.PublishedBy, v.PublishedAt, v.Readme, nonNil(v.Manifest),
	).Scan(&v.ID)
	switch {
	case violates(err, uniqueViolation, "versions_crate_vers_key"):
		tx.Rollback(ctx)
		return nil, s.versionTaken(ctx, v.CrateID, v.VersKey)
	case violates(err, foreignKeyViolation, "versions_published_by_fkey"):
		return nil, userNotFound(v.PublishedBy)
	case err != nil:
		return nil, err
	}

	if nv.CrateID != 0 {
		if err := updateCrate(ctx, tx, v.CrateID, &nv.Crate); err != nil {
			return nil, err
		}
	}
	if err := insertAudit(ctx, tx, v.PublishedBy, "publish", name, v.Vers, ""); err != nil {
		return nil, err
	}
	if err := notify(ctx, tx, canon); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	return &v, nil
}

// insertCrate creates a crate whose only version is maxVersion and returns
// its id.
func insertCrate(ctx context.Context, tx *tx, c *crated.Crate, maxVersion string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO crates (name, canon_name, description, homepage, documentation,
			repository, keywords, categories, search_description, search_keywords, max_version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id`,
		c.Name, c.CanonName, c.Description, c.Homepage, c.Documentation, c.Repository,
		nonNil(c.Keywords), nonNil(c.Categories), strings.ToLower(c.Description), lowerAll(c.Keywords),
		maxVersion, tx.now,
	).Scan(&id)
	return id, err
}

// crateTaken is the conflict error for a new crate whose canonical name is
// taken, naming the crate as its owners spell it. The transaction that failed
// is over: the name is read on another connection, where the winning crate is
// visible, since PostgreSQL reports the violation only once it is committed.
func (s *Store) crateTaken(ctx context.Context, canon string) error {
	existing := canon
	_ = s.pool.QueryRow(ctx, `SELECT name FROM crates WHERE canon_name = $1`, canon).Scan(&existing)
	return crated.CrateTaken(existing)
}

// versionTaken is the conflict error for a version whose key is taken, naming
// the version as it was published (build metadata included).
func (s *Store) versionTaken(ctx context.Context, crateID int64, versKey string) error {
	existing := versKey
	_ = s.pool.QueryRow(ctx, `SELECT vers FROM versions WHERE crate_id = $1 AND vers_key = $2`,
		crateID, versKey).Scan(&existing)
	return crated.VersionTaken(existing)
}

// maxVersionSQL computes MaxVersion in an UPDATE of crates: the version with
// the highest sort key among the non-yanked ones, or among all of them when
// every version is yanked (false sorts before true). versions_max_idx
// answers it with one probe.
const maxVersionSQL = `(SELECT vers FROM versions WHERE crate_id = crates.id ORDER BY yanked, sort_key DESC LIMIT 1)`

// updateCrate replaces the metadata of an existing crate, locked by tx, and
// recomputes its MaxVersion. Name and canonical name never change.
func updateCrate(ctx context.Context, tx *tx, crateID int64, c *crated.Crate) error {
	_, err := tx.Exec(ctx, `UPDATE crates SET description = $1, homepage = $2, documentation = $3,
			repository = $4, keywords = $5, categories = $6, search_description = $7, search_keywords = $8,
			max_version = `+maxVersionSQL+`, updated_at = $9
		WHERE id = $10`,
		c.Description, c.Homepage, c.Documentation, c.Repository, nonNil(c.Keywords), nonNil(c.Categories),
		strings.ToLower(c.Description), lowerAll(c.Keywords), tx.now, crateID)
	return err
}

// SetYanked sets a version's yanked flag, recomputes MaxVersion, records the
// audit entry and notifies the other replicas.
func (s *Store) SetYanked(ctx context.Context, versionID int64, yanked bool, actorID int64) (err error) {
	defer wrap(&err, "postgres.SetYanked(%d, %v)", versionID, yanked)
	ctx, done := s.op(ctx)
	defer done(&err)
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)

	// The crate first, as everywhere: see lockCrate.
	var crateID int64
	var name, canon string
	err = tx.QueryRow(ctx, `SELECT c.id, c.name, c.canon_name FROM crates c JOIN versions v ON v.crate_id = c.id
		WHERE v.id = $1 FOR NO KEY UPDATE OF c`, versionID).Scan(&crateID, &name, &canon)
	if errors.Is(err, pgx.ErrNoRows) {
		return crated.VersionIDNotFound(versionID)
	} else if err != nil {
		return err
	}
	var vers string
	if err := tx.QueryRow(ctx, `UPDATE versions SET yanked = $1 WHERE id = $2 RETURNING vers`,
		yanked, versionID).Scan(&vers); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE crates SET max_version = `+maxVersionSQL+`, updated_at = $1 WHERE id = $2`,
		tx.now, crateID); err != nil {
		return err
	}
	action := "yank"
	if !yanked {
		action = "unyank"
	}
	if err := insertAudit(ctx, tx, actorID, action, name, vers, ""); err != nil {
		return err
	}
	if err := notify(ctx, tx, canon); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// likeEscape is the escape character of the LIKE patterns. Not a backslash,
// whose meaning in a string literal depends on standard_conforming_strings.
const likeEscape = "!"

// containsPattern is the LIKE pattern that matches any text containing s
// literally.
func containsPattern(s string) string {
	r := strings.NewReplacer(likeEscape, likeEscape+likeEscape, "%", likeEscape+"%", "_", likeEscape+"_")
	return "%" + r.Replace(s) + "%"
}

// SearchCrates returns one page of the crates matching q.Text and the number
// of matches. The canonical text is looked for in the canonical name, the
// lowercased text in the lowercased description and keywords (lowercased by
// Go when stored, as for the SQLite store, so both agree beyond ASCII).
func (s *Store) SearchCrates(ctx context.Context, q crated.SearchQuery) (_ []*crated.Crate, _ int, err error) {
	defer wrap(&err, "postgres.SearchCrates(%q)", q.Text)
	ctx, done := s.op(ctx)
	defer done(&err)
	canon, lower := cargo.CanonicalName(q.Text), strings.ToLower(q.Text)
	where := `WHERE canon_name LIKE $1 ESCAPE '` + likeEscape + `'
		OR search_description LIKE $2 ESCAPE '` + likeEscape + `'
		OR EXISTS (SELECT 1 FROM unnest(search_keywords) AS k WHERE k LIKE $2 ESCAPE '` + likeEscape + `')`
	args := []any{containsPattern(canon), containsPattern(lower)}

	// The window count is taken before LIMIT and OFFSET: one query gives the
	// page and the number of matches.
	var total int
	cs, err := queryAll(ctx, s.pool, func(r scanner) (*crated.Crate, error) {
		var c crated.Crate
		err := r.Scan(&total, &c.ID, &c.Name, &c.CanonName, &c.Description, &c.Homepage, &c.Documentation,
			&c.Repository, &c.Keywords, &c.Categories, &c.MaxVersion, &c.Downloads, &c.CreatedAt, &c.UpdatedAt)
		c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
		return &c, err
	}, `SELECT count(*) OVER (), `+crateColumns+` FROM crates `+where+`
		ORDER BY CASE WHEN canon_name = $3 THEN 0 WHEN starts_with(canon_name, $3) THEN 1 ELSE 2 END, canon_name
		LIMIT $4 OFFSET $5`, append(args, canon, limitArg(q.Limit), max(q.Offset, 0))...)
	if err != nil {
		return nil, 0, err
	}
	if len(cs) == 0 && q.Offset > 0 {
		// A page past the end has no row to carry the count.
		err = s.pool.QueryRow(ctx, `SELECT count(*) FROM crates `+where, args...).Scan(&total)
	}
	return cs, total, err
}

// CountCrates returns the number of crates and of versions.
func (s *Store) CountCrates(ctx context.Context) (crates, versions int64, err error) {
	defer wrap(&err, "postgres.CountCrates")
	ctx, done := s.op(ctx)
	defer done(&err)
	err = s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM crates), (SELECT count(*) FROM versions)`).
		Scan(&crates, &versions)
	return crates, versions, err
}

// AddDownloads adds download counts to versions and their crates. Unknown
// version ids are skipped, so that one of them cannot lose a whole batch.
func (s *Store) AddDownloads(ctx context.Context, counts map[int64]int64) (err error) {
	defer wrap(&err, "postgres.AddDownloads(%d versions)", len(counts))
	ctx, done := s.op(ctx)
	defer done(&err)
	ids := make([]int64, 0, len(counts))
	for id, n := range counts {
		if n != 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	ns := make([]int64, len(ids))
	for i, id := range ids {
		ns[i] = counts[id]
	}

	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	// Lock the crates first and in id order, as every transaction that
	// changes versions does, so that replicas flushing their counts at the
	// same time never wait on each other in a circle.
	if _, err := tx.Exec(ctx, `SELECT id FROM crates WHERE id IN (SELECT crate_id FROM versions WHERE id = ANY($1))
		ORDER BY id FOR NO KEY UPDATE`, ids); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `WITH v AS (
			UPDATE versions SET downloads = versions.downloads + d.n
			FROM unnest($1::bigint[], $2::bigint[]) AS d (id, n)
			WHERE versions.id = d.id
			RETURNING versions.crate_id, d.n
		)
		UPDATE crates SET downloads = crates.downloads + s.n
		FROM (SELECT crate_id, sum(n)::bigint AS n FROM v GROUP BY crate_id) AS s
		WHERE crates.id = s.crate_id`, ids, ns); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
