package registry

import (
	"context"
	"fmt"

	"github.com/crated/crated"
)

// Deletion is what an operator's delete removes (or, before it is
// confirmed, would remove).
type Deletion struct {
	Crate *crated.Crate
	// Versions are the versions removed: one, or every version of the crate.
	Versions []*crated.Version
	// Owners are the crate's owners, removed with a whole crate.
	Owners []*crated.User
	// Whole is true when the crate itself goes.
	Whole bool
	// Blobs are the .crate files deleted because no remaining version
	// refers to them; filled in by Delete.
	Blobs []string
}

// PlanDelete looks up what Delete(name, vers) would remove, changing
// nothing. vers "" means the whole crate. A crate's only version can only go
// with the crate: asking for it plans the whole crate.
func (s *Service) PlanDelete(ctx context.Context, name, vers string) (*Deletion, error) {
	c, err := s.findCrate(ctx, name)
	if err != nil {
		return nil, err
	}
	d := &Deletion{Crate: c}
	all, err := s.store.Versions(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	if vers != "" {
		v, err := s.findVersion(ctx, c, vers)
		if err != nil {
			return nil, err
		}
		if len(all) > 1 {
			d.Versions = []*crated.Version{v}
			return d, nil
		}
	}
	d.Whole, d.Versions = true, all
	if d.Owners, err = s.store.Owners(ctx, c.ID); err != nil {
		return nil, err
	}
	return d, nil
}

// Delete carries out a plan from PlanDelete: an operator's removal of what a
// yank does not cover (a leaked secret, a legal request). It is no user's
// action, so there is no authorization here: whoever runs it holds the
// database. operator names who did it and reason why, for the audit entry.
//
// The store removes the rows and records the audit entry in one
// transaction; then the .crate files that no remaining version refers to
// are deleted, and the change hooks (sparse cache, git index, static files)
// run. Other processes learn of it from the store (see crated.ChangeNotifier).
// A blob that cannot be deleted is reported in the error, after the rest is
// done: the version is gone from the index and the downloads either way.
func (s *Service) Delete(ctx context.Context, d *Deletion, operator, reason string) error {
	detail := "by " + operator + " at the command line"
	if reason != "" {
		detail += ": " + reason
	}
	var orphans []string
	if d.Whole {
		var err error
		if orphans, err = s.store.DeleteCrate(ctx, d.Crate.ID, crated.OperatorID, detail); err != nil {
			return err
		}
	} else {
		orphan, err := s.store.DeleteVersion(ctx, d.Versions[0].ID, crated.OperatorID, detail)
		if err != nil {
			return err
		}
		if orphan != "" {
			orphans = append(orphans, orphan)
		}
	}
	s.notify(d.Crate.CanonName)
	var failed []string
	for _, key := range orphans {
		if err := s.blobs.Delete(ctx, key); err != nil {
			s.cfg.Logger.ErrorContext(ctx, "deleting a crate file", "key", key, "err", err)
			failed = append(failed, key)
			continue
		}
		d.Blobs = append(d.Blobs, key)
	}
	if len(failed) > 0 {
		return fmt.Errorf("the versions are deleted, but %d crate files could not be (first: %s); "+
			"remove them with `crated gc --delete` (crate files directory) or the bucket's tools (S3)", len(failed), failed[0])
	}
	return nil
}

// Changed runs the change hooks (OnChange) for a crate that changed
// elsewhere: another replica, or another process on the same database
// (crated crate delete), as reported by crated.ChangeNotifier. "" means
// that changes may have been missed: every hook drops everything.
func (s *Service) Changed(canon string) { s.notify(canon) }
