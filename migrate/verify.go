package migrate

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/crated/crated"
)

// maxProblems is how many differences a VerifyError lists.
const maxProblems = 50

// VerifyError lists the differences Verify found between source and target.
type VerifyError struct {
	Problems []string
	// More counts the differences left out of Problems.
	More int
}

func (e *VerifyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "verification failed: %d difference(s) between source and target:", len(e.Problems)+e.More)
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more", e.More)
	}
	return b.String()
}

// problems gathers differences; safe for concurrent use.
type problems struct {
	mu sync.Mutex
	e  VerifyError
}

func (p *problems) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.e.Problems) < maxProblems {
		p.e.Problems = append(p.e.Problems, fmt.Sprintf(format, args...))
	} else {
		p.e.More++
	}
}

func (p *problems) err() error {
	if len(p.e.Problems) == 0 {
		return nil
	}
	return &p.e
}

// Verify checks that dst holds what Copy copies from src: the same numbers
// of crates, versions and users; per crate the same versions in the same
// order with the same checksum, size, index line, yanked flag and publish
// time, and the same owners; per user the same token. With blob stores in
// opt it also checks that every version's file is in the target and that
// every blob of the target hashes to its key. It returns a *VerifyError
// listing the differences, or another error when a store fails.
func Verify(ctx context.Context, src, dst crated.Store, opt Options) (err error) {
	defer crated.Wrap(&err, "migrate.Verify")
	var p problems

	sc, sv, err := src.CountCrates(ctx)
	if err != nil {
		return err
	}
	dc, dv, err := dst.CountCrates(ctx)
	if err != nil {
		return err
	}
	if sc != dc || sv != dv {
		p.add("the source has %d crates and %d versions, the target %d and %d", sc, sv, dc, dv)
	}
	// Creation times are only carried over where the target's clock can
	// be set.
	_, exact := clockOf(dst)
	if err := verifyUsers(ctx, src, dst, exact, &p); err != nil {
		return err
	}
	cksums, err := verifyCrates(ctx, src, dst, opt, exact, &p)
	if err != nil {
		return err
	}
	if opt.DstBlobs != nil {
		if err := verifyBlobs(ctx, opt, cksums, &p); err != nil {
			return err
		}
	}
	return p.err()
}

func verifyUsers(ctx context.Context, src, dst crated.Store, exact bool, p *problems) error {
	sus, err := src.ListUsers(ctx)
	if err != nil {
		return err
	}
	dus, err := dst.ListUsers(ctx)
	if err != nil {
		return err
	}
	if len(sus) != len(dus) {
		p.add("the source has %d users, the target %d", len(sus), len(dus))
	}
	for _, su := range sus {
		du, err := dst.UserByLogin(ctx, su.Login)
		if crated.IsCode(err, crated.ENOTFOUND) {
			p.add("user %s is missing", su.Login)
			continue
		} else if err != nil {
			return err
		}
		if du.PasswordHash != su.PasswordHash || du.Issuer != su.Issuer || du.Subject != su.Subject ||
			du.Name != su.Name || du.Email != su.Email || du.Admin != su.Admin || (exact && !du.CreatedAt.Equal(su.CreatedAt)) {
			p.add("user %s differs", su.Login)
		}
		st, serr := src.UserToken(ctx, su.ID)
		dt, derr := dst.UserToken(ctx, du.ID)
		for _, e := range []error{serr, derr} {
			if e != nil && !crated.IsCode(e, crated.ENOTFOUND) {
				return e
			}
		}
		switch {
		case (st == nil) != (dt == nil):
			p.add("user %s: the token is in only one of source and target", su.Login)
		case st != nil && (st.Hash != dt.Hash || !bytes.Equal(st.Sealed, dt.Sealed)):
			p.add("user %s: the token differs", su.Login)
		}
	}
	return nil
}

// verifyCrates compares every crate and returns the checksums of the
// source's versions.
func verifyCrates(ctx context.Context, src, dst crated.Store, opt Options, exact bool, p *problems) ([]string, error) {
	crates, err := allCrates(ctx, src)
	if err != nil {
		return nil, err
	}
	bar := opt.bar(len(crates), "verify")
	defer bar.Finish()
	var cksums []string
	for _, sc := range crates {
		bar.Add(1)
		svs, err := src.Versions(ctx, sc.ID)
		if err != nil {
			return nil, err
		}
		for _, v := range svs {
			cksums = append(cksums, v.Cksum)
		}
		dc, err := dst.CrateByName(ctx, sc.CanonName)
		if crated.IsCode(err, crated.ENOTFOUND) {
			p.add("crate %s is missing", sc.Name)
			continue
		} else if err != nil {
			return nil, err
		}
		if dc.Name != sc.Name || dc.Description != sc.Description || dc.Homepage != sc.Homepage ||
			dc.Documentation != sc.Documentation || dc.Repository != sc.Repository || dc.MaxVersion != sc.MaxVersion ||
			dc.Downloads != sc.Downloads || !slices.Equal(dc.Keywords, sc.Keywords) || !slices.Equal(dc.Categories, sc.Categories) {
			p.add("crate %s: its metadata, max version or download count differs", sc.Name)
		}
		if exact && !dc.CreatedAt.Equal(sc.CreatedAt) {
			p.add("crate %s: the creation time differs", sc.Name)
		}
		dvs, err := dst.Versions(ctx, dc.ID)
		if err != nil {
			return nil, err
		}
		if len(dvs) != len(svs) {
			p.add("crate %s has %d versions in the source, %d in the target", sc.Name, len(svs), len(dvs))
		}
		for i, s := range svs {
			if i >= len(dvs) {
				break
			}
			d := dvs[i]
			switch {
			case d.Vers != s.Vers:
				p.add("crate %s: version #%d is %s in the source, %s in the target", sc.Name, i+1, s.Vers, d.Vers)
			case d.Cksum != s.Cksum:
				p.add("crate %s %s: the checksum differs", sc.Name, s.Vers)
			case d.Size != s.Size || !bytes.Equal(d.Entry, s.Entry) || d.Yanked != s.Yanked ||
				!d.PublishedAt.Equal(s.PublishedAt) || d.Readme != s.Readme || !bytes.Equal(d.Manifest, s.Manifest):
				p.add("crate %s %s: the size, index line, yanked flag, publish time, README or manifest differs", sc.Name, s.Vers)
			}
		}
		if err := verifyOwners(ctx, src, dst, sc, dc, p); err != nil {
			return nil, err
		}
	}
	return cksums, nil
}

func verifyOwners(ctx context.Context, src, dst crated.Store, sc, dc *crated.Crate, p *problems) error {
	logins := func(st crated.Store, id int64) ([]string, error) {
		us, err := st.Owners(ctx, id)
		var out []string
		for _, u := range us {
			out = append(out, u.Login)
		}
		return out, err
	}
	so, err := logins(src, sc.ID)
	if err != nil {
		return err
	}
	do, err := logins(dst, dc.ID)
	if err != nil {
		return err
	}
	if !slices.Equal(so, do) {
		p.add("crate %s: owners %v in the source, %v in the target", sc.Name, so, do)
	}
	return nil
}

// verifyBlobs checks that every version's file is in the target blob store
// and that every blob there hashes to its key.
func verifyBlobs(ctx context.Context, opt Options, cksums []string, p *problems) error {
	for _, k := range cksums {
		if _, err := opt.DstBlobs.Stat(ctx, k); crated.IsCode(err, crated.ENOTFOUND) {
			p.add("the crate file %s is missing from the target", k)
		} else if err != nil {
			return err
		}
	}
	keys, err := blobKeys(ctx, opt.DstBlobs)
	if err != nil {
		return err
	}
	bar := opt.bar(len(keys), "hashing")
	defer bar.Finish()
	return forEach(ctx, opt.workers(), keys, func(ctx context.Context, key string) error {
		defer bar.Add(1)
		sum, sizeOK, err := hashBlob(ctx, opt.DstBlobs, key)
		if err != nil {
			return err
		}
		if sum != key || !sizeOK {
			p.add("the crate file %s in the target does not hash to its key", key)
		}
		return nil
	})
}
