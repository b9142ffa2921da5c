package crated

import "time"

// MirrorIndexFile is one index file of the upstream registry as the mirror
// cached it. The bytes are the upstream's, verbatim: filtering (min_age)
// happens when the file is served, so a change of configuration never needs
// a refetch.
type MirrorIndexFile struct {
	// Name is the file's name: the lowercased crate name, or "config.json"
	// for the upstream's configuration.
	Name string
	// Body is the upstream's response body; empty when Missing.
	Body []byte
	// Missing records that the upstream answered 404 (or 410/451): cargo
	// asks for every -/_ permutation of a name, and caching the answer keeps
	// those requests off the upstream.
	Missing bool
	// ETag and LastModified are the upstream's validators, sent back on
	// revalidation.
	ETag         string
	LastModified string
	// FetchedAt is when the upstream last confirmed this content (a 200 or
	// a 304); the file is fresh until FetchedAt + index_ttl.
	FetchedAt time.Time
}
