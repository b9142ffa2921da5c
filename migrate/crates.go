package migrate

import (
	"context"
	"slices"
	"time"

	"github.com/crated/crated"
)

// listPage is the page size used to list every crate.
const listPage = 500

// allCrates lists every crate of st. The Store interface has no listing as
// such: a search for the empty text matches every crate, ordered by name.
func allCrates(ctx context.Context, st crated.Store) ([]*crated.Crate, error) {
	var out []*crated.Crate
	for {
		page, total, err := st.SearchCrates(ctx, crated.SearchQuery{Offset: len(out), Limit: listPage})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) == 0 || len(out) >= total {
			return out, nil
		}
	}
}

// copyCrates copies every crate, one at a time.
func (c *copier) copyCrates(ctx context.Context) error {
	crates, err := allCrates(ctx, c.src)
	if err != nil {
		return err
	}
	bar := c.opt.bar(len(crates), "crates")
	defer bar.Finish()
	for _, sc := range crates {
		if err := c.copyCrate(ctx, sc); err != nil {
			return err
		}
		bar.Add(1)
	}
	return nil
}

// copyCrate brings one crate of the target up to the source's: the versions
// it lacks, in publish order, then yanked flags, owners and the download
// count.
func (c *copier) copyCrate(ctx context.Context, sc *crated.Crate) (err error) {
	defer crated.Wrap(&err, "crate %s", sc.Name)
	defer c.setClock(time.Time{})
	svs, err := c.src.Versions(ctx, sc.ID)
	if err != nil {
		return err
	}
	if len(svs) == 0 {
		c.log.Warn("crate has no versions in the source; not copied", "crate", sc.Name)
		return nil
	}
	dc, err := c.dst.CrateByName(ctx, sc.CanonName)
	if crated.IsCode(err, crated.ENOTFOUND) {
		dc = nil
	} else if err != nil {
		return err
	}
	if dc != nil && dc.Name != sc.Name {
		return crated.Errorf(crated.ECONFLICT, "the target has a crate named %q instead; migrate into an empty target", dc.Name)
	}

	have := map[string]*crated.Version{}
	if dc != nil {
		dvs, err := c.dst.Versions(ctx, dc.ID)
		if err != nil {
			return err
		}
		for _, v := range dvs {
			have[v.Vers] = v
		}
	}
	meta := crated.Crate{
		Name: sc.Name, CanonName: sc.CanonName, Description: sc.Description,
		Homepage: sc.Homepage, Documentation: sc.Documentation, Repository: sc.Repository,
		Keywords: sc.Keywords, Categories: sc.Categories,
	}
	for _, sv := range svs {
		if dv, ok := have[sv.Vers]; ok {
			if dv.Cksum != sv.Cksum {
				return crated.Errorf(crated.ECONFLICT, "version %s in the target has another checksum than in the source", sv.Vers)
			}
			c.stats.VersionsPresent++
			continue
		}
		publisher, err := c.dstUser(sv.PublishedBy)
		if err != nil {
			return err
		}
		nv := &crated.NewVersion{
			Crate: meta,
			Version: crated.Version{
				Vers: sv.Vers, VersKey: sv.VersKey, SortKey: sv.SortKey, Cksum: sv.Cksum, Size: sv.Size,
				Entry: sv.Entry, PublishedBy: publisher, PublishedAt: sv.PublishedAt,
				Readme: sv.Readme, Manifest: sv.Manifest,
			},
			// The first publisher is the first owner; owners are made
			// equal to the source's below.
			OwnerID: publisher,
		}
		if dc != nil {
			nv.CrateID = dc.ID
			// The time of the source's publish transaction, which the
			// audit entry and the crate's UpdatedAt carry; PublishedAt
			// is the registry's clock, a moment earlier.
			when := sv.PublishedAt
			if e, ok := c.latest[auditKey{"publish", sc.Name, sv.Vers}]; ok {
				when = e.Time
			}
			c.at(when, time.Now())
		} else {
			// The version that creates the crate carries the crate's
			// creation time.
			c.at(sc.CreatedAt, sv.PublishedAt)
		}
		dv, err := c.dst.PublishVersion(ctx, nv)
		if err != nil {
			return err
		}
		if dc == nil {
			if dc, err = c.dst.CrateByName(ctx, sc.CanonName); err != nil {
				return err
			}
			c.stats.CratesCreated++
		}
		have[sv.Vers] = dv
		c.stats.VersionsCopied++
	}
	if err := c.copyYanks(ctx, sc, svs, have); err != nil {
		return err
	}
	if err := c.copyOwners(ctx, sc, dc, svs[0]); err != nil {
		return err
	}
	return c.copyDownloads(ctx, sc, have[svs[len(svs)-1].Vers])
}

// actor returns the target user and the time of the newest source audit
// entry for k, or fallback (a source user ID) and the zero time when the
// source has none.
func (c *copier) actor(k auditKey, fallback int64) (int64, time.Time, error) {
	if e, ok := c.latest[k]; ok {
		if id, ok := c.users[e.UserID]; ok {
			return id, e.Time, nil
		}
	}
	id, err := c.dstUser(fallback)
	return id, time.Time{}, err
}

// copyYanks sets the yanked flags the target lacks, in the order the source
// set them.
func (c *copier) copyYanks(ctx context.Context, sc *crated.Crate, svs []*crated.Version, have map[string]*crated.Version) error {
	type op struct {
		id     int64
		yanked bool
		actor  int64
		at     time.Time
	}
	var ops []op
	for _, sv := range svs {
		dv := have[sv.Vers]
		if dv.Yanked == sv.Yanked {
			continue
		}
		action := "unyank"
		if sv.Yanked {
			action = "yank"
		}
		actor, at, err := c.actor(auditKey{action, sc.Name, sv.Vers}, sv.PublishedBy)
		if err != nil {
			return err
		}
		if at.IsZero() {
			at = sc.UpdatedAt
		}
		ops = append(ops, op{dv.ID, sv.Yanked, actor, at})
	}
	slices.SortStableFunc(ops, func(a, b op) int { return a.at.Compare(b.at) })
	for _, o := range ops {
		c.at(o.at, time.Now())
		if err := c.dst.SetYanked(ctx, o.id, o.yanked, o.actor); err != nil {
			return err
		}
		c.stats.YanksChanged++
	}
	return nil
}

// copyOwners makes the target crate's owners the source's: additions first,
// so that the crate never has no owner.
func (c *copier) copyOwners(ctx context.Context, sc, dc *crated.Crate, first *crated.Version) error {
	sos, err := c.src.Owners(ctx, sc.ID)
	if err != nil {
		return err
	}
	dos, err := c.dst.Owners(ctx, dc.ID)
	if err != nil {
		return err
	}
	want := map[int64]bool{}
	for _, o := range sos {
		id, err := c.dstUser(o.ID)
		if err != nil {
			return err
		}
		want[id] = true
		if slices.ContainsFunc(dos, func(d *crated.User) bool { return d.ID == id }) {
			continue
		}
		actor, at, err := c.actor(auditKey{"owner_add", sc.Name, o.Login}, first.PublishedBy)
		if err != nil {
			return err
		}
		c.at(at, sc.UpdatedAt)
		if err := c.dst.AddOwners(ctx, dc.ID, []int64{id}, actor); err != nil {
			return err
		}
		c.stats.OwnersAdded++
	}
	for _, d := range dos {
		if want[d.ID] {
			continue
		}
		fallback := first.PublishedBy
		if len(sos) > 0 {
			fallback = sos[0].ID
		}
		actor, at, err := c.actor(auditKey{"owner_remove", sc.Name, d.Login}, fallback)
		if err != nil {
			return err
		}
		c.at(at, sc.UpdatedAt)
		if err := c.dst.RemoveOwners(ctx, dc.ID, []int64{d.ID}, actor); err != nil {
			return err
		}
		c.stats.OwnersRemoved++
	}
	return nil
}

// copyDownloads adds what the target's download count lacks to the crate's
// latest version: per-version counts cannot be read from the source.
func (c *copier) copyDownloads(ctx context.Context, sc *crated.Crate, latest *crated.Version) error {
	dc, err := c.dst.CrateByName(ctx, sc.CanonName)
	if err != nil {
		return err
	}
	switch diff := sc.Downloads - dc.Downloads; {
	case diff > 0:
		if err := c.dst.AddDownloads(ctx, map[int64]int64{latest.ID: diff}); err != nil {
			return err
		}
		c.stats.Downloads += diff
	case diff < 0:
		c.log.Warn("the target counts more downloads than the source; left as is", "crate", sc.Name,
			"source", sc.Downloads, "target", dc.Downloads)
	}
	return nil
}
