package crated

import "time"

// IndexRows is what a crate's index file is rendered from, and no more: the
// store reads only these columns (not READMEs or manifests), in one query,
// because every cache miss of the sparse index and every commit of the git
// index pays for it.
type IndexRows struct {
	// Name is the crate's name as first published.
	Name string
	// Versions are in publish order.
	Versions []IndexRow
}

// IndexRow is one version's part of an index file.
type IndexRow struct {
	ID    int64
	Vers  string
	Cksum string
	// Entry is the version's index line as published (yanked false).
	Entry  []byte
	Yanked bool
	// PublishedAt dates the git index's commits.
	PublishedAt time.Time
}
