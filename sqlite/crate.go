package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

const crateColumns = `id, name, canon_name, description, homepage, documentation, repository,
	keywords, categories, max_version, downloads, created_at, updated_at`

func scanCrate(r scanner) (*crated.Crate, error) {
	var c crated.Crate
	var keywords, categories string
	var created, updated int64
	err := r.Scan(&c.ID, &c.Name, &c.CanonName, &c.Description, &c.Homepage, &c.Documentation, &c.Repository,
		&keywords, &categories, &c.MaxVersion, &c.Downloads, &created, &updated)
	c.Keywords, c.Categories = splitList(keywords), splitList(categories)
	c.CreatedAt, c.UpdatedAt = goTime(created), goTime(updated)
	return &c, err
}

const versionColumns = `id, crate_id, vers, vers_key, sort_key, cksum, size, entry, yanked,
	published_by, published_at, readme, manifest, downloads`

func scanVersion(r scanner) (*crated.Version, error) {
	var v crated.Version
	var published int64
	err := r.Scan(&v.ID, &v.CrateID, &v.Vers, &v.VersKey, &v.SortKey, &v.Cksum, &v.Size, &v.Entry, &v.Yanked,
		&v.PublishedBy, &published, &v.Readme, &v.Manifest, &v.Downloads)
	v.PublishedAt = goTime(published)
	return &v, err
}

// joinList is the stored form of keywords or categories: one per line. It
// refuses what it could not give back unchanged.
func joinList(what string, list []string) (string, error) {
	for _, s := range list {
		if s == "" || strings.ContainsAny(s, "\n\r") {
			return "", crated.Errorf(crated.EINVALID, "%s %q is empty or contains a line break", what, s)
		}
	}
	return strings.Join(list, "\n"), nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// CrateByName finds a crate by its canonical name.
func (s *Store) CrateByName(ctx context.Context, canon string) (_ *crated.Crate, err error) {
	defer wrap(&err, "sqlite.CrateByName(%q)", canon)
	c, err := scanCrate(s.read.QueryRowContext(ctx, `SELECT `+crateColumns+` FROM crates WHERE canon_name = ?`, canon))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crated.CrateNotFound(canon)
	}
	return c, err
}

// crateExists reports an unknown crate as ENOTFOUND.
func crateExists(ctx context.Context, q queryer, crateID int64) error {
	ok, err := exists(ctx, q, `SELECT 1 FROM crates WHERE id = ?`, crateID)
	if err == nil && !ok {
		err = crated.CrateIDNotFound(crateID)
	}
	return err
}

// Versions lists a crate's versions in publish order.
func (s *Store) Versions(ctx context.Context, crateID int64) (_ []*crated.Version, err error) {
	defer wrap(&err, "sqlite.Versions(%d)", crateID)
	vs, err := queryAll(ctx, s.read, scanVersion,
		`SELECT `+versionColumns+` FROM versions WHERE crate_id = ? ORDER BY id`, crateID)
	if err == nil && len(vs) == 0 {
		// A crate is created with its first version: no versions means no
		// crate, but say so only after checking.
		err = crateExists(ctx, s.read, crateID)
	}
	return vs, err
}

// Version finds one version by its exact Vers.
func (s *Store) Version(ctx context.Context, crateID int64, vers string) (_ *crated.Version, err error) {
	defer wrap(&err, "sqlite.Version(%d, %q)", crateID, vers)
	v, err := scanVersion(s.read.QueryRowContext(ctx,
		`SELECT `+versionColumns+` FROM versions WHERE crate_id = ? AND vers = ?`, crateID, vers))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crated.VersionNotFound(vers)
	}
	return v, err
}

// crateRow is the stored form of a crate's metadata.
type crateRow struct {
	keywords, categories, searchDescription, searchKeywords string
}

func newCrateRow(c *crated.Crate) (crateRow, error) {
	kw, err := joinList("keyword", c.Keywords)
	if err != nil {
		return crateRow{}, err
	}
	cats, err := joinList("category", c.Categories)
	if err != nil {
		return crateRow{}, err
	}
	return crateRow{
		keywords:          kw,
		categories:        cats,
		searchDescription: strings.ToLower(c.Description),
		searchKeywords:    strings.ToLower(kw),
	}, nil
}

// PublishVersion creates the crate if nv.CrateID is 0, inserts the version,
// replaces the crate's metadata, updates MaxVersion and records the audit
// entry: one transaction of three statements (four for a new crate), all
// prepared in Open.
func (s *Store) PublishVersion(ctx context.Context, nv *crated.NewVersion) (_ *crated.Version, err error) {
	defer wrap(&err, "sqlite.PublishVersion(%q, %q)", nv.Crate.CanonName, nv.Version.Vers)
	row, err := newCrateRow(&nv.Crate)
	if err != nil {
		return nil, err
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	v := nv.Version
	if v.PublishedAt.IsZero() {
		v.PublishedAt = tx.now
	} else {
		v.PublishedAt = normTime(v.PublishedAt)
	}
	var name string
	if nv.CrateID == 0 {
		// The only version is the highest one.
		if v.CrateID, err = insertCrate(ctx, tx, &nv.Crate, row, v.Vers); err != nil {
			return nil, err
		}
		if err := insertOwner(ctx, tx, v.CrateID, nv.OwnerID); err != nil {
			return nil, err
		}
		name = nv.Crate.Name
	} else {
		v.CrateID = nv.CrateID
	}
	if v.ID, err = insertVersion(ctx, tx, &v); err != nil {
		return nil, err
	}
	if nv.CrateID != 0 {
		// After the insert, so that MaxVersion sees the new version.
		if name, err = updateCrate(ctx, tx, v.CrateID, &nv.Crate, row); err != nil {
			return nil, err
		}
	}
	if err := insertAudit(ctx, tx, v.PublishedBy, "publish", name, v.Vers, ""); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return &v, nil
}

const insertCrateSQL = `INSERT INTO crates (name, canon_name, description, homepage, documentation, repository,
		keywords, categories, search_description, search_keywords, max_version, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// insertCrate creates a crate whose only version is maxVersion. A taken
// canonical name is ECONFLICT.
func insertCrate(ctx context.Context, tx *writeTx, c *crated.Crate, row crateRow, maxVersion string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, insertCrateSQL,
		c.Name, c.CanonName, c.Description, c.Homepage, c.Documentation, c.Repository,
		row.keywords, row.categories, row.searchDescription, row.searchKeywords, maxVersion,
		dbTime(tx.now), dbTime(tx.now),
	).Scan(&id)
	if isUnique(err) {
		existing := c.CanonName
		// Name the crate as its owners spell it. Only the statement
		// failed: the transaction is still usable.
		_ = tx.QueryRowContext(ctx, `SELECT name FROM crates WHERE canon_name = ?`, c.CanonName).Scan(&existing)
		return 0, crated.CrateTaken(existing)
	}
	return id, err
}

const insertVersionSQL = `INSERT INTO versions (crate_id, vers, vers_key, sort_key, cksum, size, entry,
		yanked, published_by, published_at, readme, manifest)
	VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?) RETURNING id`

// insertVersion inserts v and returns its id. A taken version key is
// ECONFLICT; an unknown crate or publisher is ENOTFOUND.
func insertVersion(ctx context.Context, tx *writeTx, v *crated.Version) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, insertVersionSQL,
		v.CrateID, v.Vers, v.VersKey, v.SortKey, v.Cksum, v.Size, nonNil(v.Entry),
		v.PublishedBy, dbTime(v.PublishedAt), v.Readme, nonNil(v.Manifest),
	).Scan(&id)
	switch {
	case isUnique(err):
		existing := v.VersKey
		_ = tx.QueryRowContext(ctx, `SELECT vers FROM versions WHERE crate_id = ? AND vers_key = ?`,
			v.CrateID, v.VersKey).Scan(&existing)
		return 0, crated.VersionTaken(existing)
	case isForeignKey(err):
		// Which reference failed is a question for the data, not for
		// the driver's message.
		if err := crateExists(ctx, tx, v.CrateID); err != nil {
			return 0, err
		}
		return 0, crated.UserIDNotFound(v.PublishedBy)
	}
	return id, err
}

// maxVersionSQL computes MaxVersion in an UPDATE of crates: the version with
// the highest sort key among the non-yanked ones, or among all of them when
// every version is yanked. versions_max_idx answers it with one probe.
const maxVersionSQL = `(SELECT vers FROM versions WHERE crate_id = crates.id ORDER BY yanked, sort_key DESC LIMIT 1)`

const updateCrateSQL = `UPDATE crates SET description = ?, homepage = ?, documentation = ?, repository = ?,
		keywords = ?, categories = ?, search_description = ?, search_keywords = ?,
		max_version = ` + maxVersionSQL + `, updated_at = ?
	WHERE id = ? RETURNING name`

// updateCrate replaces the metadata of an existing crate, recomputes its
// MaxVersion and returns its name. Name and canonical name never change.
func updateCrate(ctx context.Context, tx *writeTx, crateID int64, c *crated.Crate, row crateRow) (string, error) {
	var name string
	err := tx.QueryRowContext(ctx, updateCrateSQL,
		c.Description, c.Homepage, c.Documentation, c.Repository, row.keywords, row.categories,
		row.searchDescription, row.searchKeywords, dbTime(tx.now), crateID,
	).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", crated.CrateIDNotFound(crateID)
	}
	return name, err
}

const (
	yankSQL             = `UPDATE versions SET yanked = ? WHERE id = ? RETURNING crate_id, vers`
	updateMaxVersionSQL = `UPDATE crates SET max_version = ` + maxVersionSQL + `, updated_at = ? WHERE id = ? RETURNING name`
)

// SetYanked sets a version's yanked flag, recomputes MaxVersion and records
// the audit entry.
func (s *Store) SetYanked(ctx context.Context, versionID int64, yanked bool, actorID int64) (err error) {
	defer wrap(&err, "sqlite.SetYanked(%d, %v)", versionID, yanked)
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var crateID int64
	var vers string
	err = tx.QueryRowContext(ctx, yankSQL, boolInt(yanked), versionID).Scan(&crateID, &vers)
	if errors.Is(err, sql.ErrNoRows) {
		return crated.VersionIDNotFound(versionID)
	} else if err != nil {
		return err
	}
	var name string
	if err := tx.QueryRowContext(ctx, updateMaxVersionSQL, dbTime(tx.now), crateID).Scan(&name); err != nil {
		return err
	}
	action := "yank"
	if !yanked {
		action = "unyank"
	}
	if err := insertAudit(ctx, tx, actorID, action, name, vers, ""); err != nil {
		return err
	}
	return tx.Commit()
}

// SearchCrates returns one page of the crates matching q.Text and the number
// of matches. The canonical text is looked for in the canonical name, the
// lowercased text in the lowercased description and keywords, with instr():
// a plain substring test, so '%', '_' and '\' need no escaping.
func (s *Store) SearchCrates(ctx context.Context, q crated.SearchQuery) (_ []*crated.Crate, _ int, err error) {
	defer wrap(&err, "sqlite.SearchCrates(%q)", q.Text)
	canon, lower := cargo.CanonicalName(q.Text), strings.ToLower(q.Text)
	limit, offset := q.Limit, max(q.Offset, 0)
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	const where = `WHERE instr(canon_name, ?1) > 0 OR instr(search_description, ?2) > 0 OR instr(search_keywords, ?2) > 0`

	// One read transaction: the page and the count see the same snapshot.
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM crates `+where, canon, lower).Scan(&total); err != nil {
		return nil, 0, err
	}
	if total == 0 || offset >= total {
		return nil, total, nil
	}
	cs, err := queryAll(ctx, tx, scanCrate, `SELECT `+crateColumns+` FROM crates `+where+`
		ORDER BY CASE WHEN canon_name = ?1 THEN 0 WHEN substr(canon_name, 1, length(?1)) = ?1 THEN 1 ELSE 2 END,
			canon_name
		LIMIT ?3 OFFSET ?4`, canon, lower, limit, offset)
	return cs, total, err
}

// CountCrates returns the number of crates and of versions.
func (s *Store) CountCrates(ctx context.Context) (crates, versions int64, err error) {
	defer wrap(&err, "sqlite.CountCrates")
	err = s.read.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM crates), (SELECT count(*) FROM versions)`).
		Scan(&crates, &versions)
	return crates, versions, err
}

const (
	versionDownloadsSQL = `UPDATE versions SET downloads = downloads + ? WHERE id = ? RETURNING crate_id`
	crateDownloadsSQL   = `UPDATE crates SET downloads = downloads + ? WHERE id = ?`
)

// AddDownloads adds download counts to versions and their crates. Unknown
// version ids are skipped, so that one of them cannot lose a whole batch.
func (s *Store) AddDownloads(ctx context.Context, counts map[int64]int64) (err error) {
	defer wrap(&err, "sqlite.AddDownloads(%d versions)", len(counts))
	if len(counts) == 0 {
		return nil
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for id, n := range counts {
		if n == 0 {
			continue
		}
		var crateID int64
		err := tx.QueryRowContext(ctx, versionDownloadsSQL, n, id).Scan(&crateID)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, crateDownloadsSQL, n, crateID); err != nil {
			return err
		}
	}
	return tx.Commit()
}
