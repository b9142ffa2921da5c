// Package e2e holds end-to-end tests: crated runs in-process on port 0 and
// stock cargo, with a temp CARGO_HOME, is the client.
package e2e
