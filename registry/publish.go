package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

// PublishWarnings is the optional body of a successful publish; cargo prints
// each list.
type PublishWarnings struct {
	InvalidCategories []string `json:"invalid_categories"`
	InvalidBadges     []string `json:"invalid_badges"`
	Other             []string `json:"other"`
}

// PublishResult is what a publish returns to cargo.
type PublishResult struct {
	Warnings PublishWarnings `json:"warnings"`
	Crate    string          `json:"-"`
	Version  string          `json:"-"`
}

// Publish runs cargo's publish: everything is validated in memory first,
// then the blob is stored (content-addressed, so a crash leaves at most a
// harmless orphan), then one store transaction writes the version, its index
// line and the audit record.
func (s *Service) Publish(ctx context.Context, u *crated.User, body io.Reader) (*PublishResult, error) {
	lim := s.cfg.Limits
	rawMeta, tarball, err := cargo.ReadFrame(body, lim)
	if err != nil {
		return nil, err
	}
	meta, err := cargo.ParseMetadata(rawMeta)
	if err != nil {
		return nil, err
	}
	if err := meta.Validate(lim); err != nil {
		return nil, err
	}
	if err := checkText(meta); err != nil {
		return nil, err
	}
	version, err := cargo.ParseVersion(meta.Vers)
	if err != nil {
		return nil, err
	}
	pkg, err := cargo.InspectCrate(tarball, meta.Name, meta.Vers, lim)
	if err != nil {
		return nil, err
	}
	// The index is built from the metadata: refuse metadata that says
	// something other than the crate's own Cargo.toml.
	if err := cargo.CheckManifest(meta, &pkg.Manifest, s.cfg.IndexURLs); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(tarball)
	cksum := hex.EncodeToString(sum[:])

	canon := cargo.CanonicalName(meta.Name)
	existing, err := s.store.CrateByName(ctx, canon)
	switch {
	case crated.IsCode(err, crated.ENOTFOUND):
		existing = nil
		// Token scopes (apitoken.go): a new crate needs publish-new.
		if err := requireScope(ctx, crated.ScopePublishNew, meta.Name); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		if existing.Name != meta.Name {
			return nil, renamed(existing.Name, meta.Name)
		}
		if err := requireScope(ctx, crated.ScopePublishUpdate, existing.Name); err != nil {
			return nil, err
		}
	}
	// Ownership, or a trusted-publishing grant (trustpub.go), decides; u
	// becomes the user the version is recorded as published by.
	if u, err = s.authorizePublish(ctx, u, meta.Name, existing); err != nil {
		return nil, err
	}

	res := &PublishResult{Crate: meta.Name, Version: version.String()}
	res.Warnings.Other, err = s.missingDeps(ctx, meta)
	if err != nil {
		return nil, err
	}
	res.Warnings.InvalidCategories = []string{}
	res.Warnings.InvalidBadges = []string{}

	if err := s.blobs.Put(ctx, cksum, bytes.NewReader(tarball), int64(len(tarball))); err != nil {
		return nil, err
	}

	now := s.cfg.Now().UTC()
	entry := cargo.NewIndexEntry(meta, cksum, now, s.cfg.IndexURLs)
	nv := &crated.NewVersion{
		Crate: crated.Crate{
			Name:          meta.Name,
			CanonName:     canon,
			Description:   deref(meta.Description),
			Homepage:      deref(meta.Homepage),
			Documentation: deref(meta.Documentation),
			Repository:    deref(meta.Repository),
			Keywords:      meta.Keywords,
			Categories:    meta.Categories,
		},
		Version: crated.Version{
			Vers:        meta.Vers,
			VersKey:     version.Key(),
			SortKey:     version.SortKey(),
			Cksum:       cksum,
			Size:        int64(len(tarball)),
			Entry:       entry.Line(),
			PublishedBy: u.ID,
			PublishedAt: now,
			Readme:      deref(meta.Readme),
			Manifest:    manifestJSON(meta),
		},
		OwnerID: u.ID,
	}
	if existing != nil {
		nv.CrateID = existing.ID
	}
	_, err = s.store.PublishVersion(ctx, nv)
	if crated.IsCode(err, crated.ECONFLICT) && existing == nil {
		// Another publish created the crate meanwhile (two versions of a new
		// crate at once, or two replicas): if it is the same crate and this
		// user owns it, publish into it.
		if existing, err = s.store.CrateByName(ctx, canon); err != nil {
			return nil, err
		}
		if existing.Name != meta.Name {
			return nil, renamed(existing.Name, meta.Name)
		}
		if _, err := s.authorizePublish(ctx, u, meta.Name, existing); err != nil {
			return nil, err
		}
		if err := requireScope(ctx, crated.ScopePublishUpdate, existing.Name); err != nil {
			return nil, err
		}
		nv.CrateID = existing.ID
		_, err = s.store.PublishVersion(ctx, nv)
	}
	if err != nil {
		if crated.IsCode(err, crated.ECONFLICT) && existing != nil {
			return nil, crated.Errorf(crated.ECONFLICT, "crate version `%s` of `%s` is already uploaded", version.Key(), meta.Name)
		}
		return nil, err
	}
	s.notify(canon)
	s.trustedPublished(ctx, meta.Name, version.String())
	return res, nil
}

// renamed refuses a publish whose name differs from the crate's first
// spelling only by case or `-`/`_`.
func renamed(existing, name string) error {
	return crated.Errorf(crated.ECONFLICT, "a crate named `%s` already exists, and names that differ only in case or `-`/`_` are the same crate: "+
		"publish `%s` under the name `%s`, or choose another name", existing, name, existing)
}

// missingDeps lists dependencies on this registry that it does not hold.
// They are accepted with a warning because teams migrate crates in any
// order.
func (s *Service) missingDeps(ctx context.Context, meta *cargo.NewCrate) ([]string, error) {
	warnings := []string{}
	seen := map[string]bool{}
	for _, d := range meta.Deps {
		if d.Registry != nil && !cargo.IsOwnIndexURL(*d.Registry, s.cfg.IndexURLs) {
			continue
		}
		canon := cargo.CanonicalName(d.Name)
		if seen[canon] {
			continue
		}
		seen[canon] = true
		_, err := s.store.CrateByName(ctx, canon)
		if crated.IsCode(err, crated.ENOTFOUND) {
			warnings = append(warnings, fmt.Sprintf("dependency `%s` is not in this registry yet; publish it here before building this crate from the registry", d.Name))
		} else if err != nil {
			return nil, err
		}
	}
	sort.Strings(warnings)
	return warnings, nil
}

// manifestJSON keeps the metadata the index does not carry, for the web UI
// and the API.
func manifestJSON(m *cargo.NewCrate) []byte {
	b, err := json.Marshal(struct {
		Authors     []string `json:"authors,omitempty"`
		License     *string  `json:"license,omitempty"`
		LicenseFile *string  `json:"license_file,omitempty"`
		Links       *string  `json:"links,omitempty"`
		RustVersion *string  `json:"rust_version,omitempty"`
		ReadmeFile  *string  `json:"readme_file,omitempty"`
	}{m.Authors, m.License, m.LicenseFile, m.Links, m.RustVersion, m.ReadmeFile})
	if err != nil {
		return nil
	}
	return b
}

// checkText refuses NUL characters in the metadata the stores keep as text:
// JSON can carry them (\u0000) but PostgreSQL text cannot, and no real
// description or README needs one.
func checkText(m *cargo.NewCrate) error {
	fields := append([]string{deref(m.Description), deref(m.Homepage), deref(m.Documentation), deref(m.Repository), deref(m.Readme)}, m.Keywords...)
	fields = append(fields, m.Categories...)
	for _, f := range fields {
		if strings.IndexByte(f, 0) >= 0 {
			return crated.Errorf(crated.EINVALID, "the upload metadata contains a NUL character")
		}
	}
	return nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
