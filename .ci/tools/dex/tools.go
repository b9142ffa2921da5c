//go:build tools

// Package tools records the Dex command as a dependency of this module, so
// that go.sum pins everything `go build github.com/dexidp/dex/cmd/dex` needs.
package tools

import _ "github.com/dexidp/dex/cmd/dex"
