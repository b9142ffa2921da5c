// Package cargo implements the wire formats of the Cargo registry protocol:
// the publish frame, the publish metadata (NewCrate), the .crate tarball and
// its Cargo.toml, crate names, semver versions and version requirements,
// sparse-index entries and index file paths.
//
// Everything here is pure: it works on byte slices and readers and never
// touches a database, the network or the file system. Everything a client
// sends is parsed here with hard bounds (Limits), so the package is fuzzed.
// Errors are *crated.Error values with code crated.EINVALID (bad input) or
// crated.ETOOLARGE (over a size limit) and a message that a cargo user can
// act on; the registry service passes them through unchanged.
//
// The rules follow PROTOCOL.md sections 1, 4.2, 5 and 6: cargo 1.95 as the
// client and crates.io as the model for what a strict server accepts.
package cargo
