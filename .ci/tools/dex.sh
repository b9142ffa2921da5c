#!/bin/sh
# dex.sh builds the Dex OpenID provider used by crated's OpenID integration
# tests (oidc/dex_test.go, internal/testenv/dex.go).
#
#   .ci/tools/dex.sh build   build Dex once into $CRATED_TOOLS/bin/dex (skipped
#                            when the binary is already there) and print the
#                            line to export CRATED_TEST_DEX_BIN
#   .ci/tools/dex.sh path    print the binary's path
#
# CRATED_TOOLS defaults to $HOME/.cache/crated-tools, outside the repository.
# Dex cannot be installed with `go install` (its go.mod has replace
# directives), so the nested module in .ci/tools/dex pins it and its go.sum.
# The first build takes about four minutes; later runs reuse the binary.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
tools=${CRATED_TOOLS:-$HOME/.cache/crated-tools}
bin=$tools/bin/dex

case ${1:-build} in
build)
	if [ ! -x "$bin" ]; then
		mkdir -p "$tools/bin"
		echo "dex.sh: building Dex into $bin (takes a few minutes the first time)" >&2
		# Build to a temporary name so an interrupted build leaves no
		# half-written binary that a later run would take as done.
		(cd "$here/dex" && go build -mod=readonly -trimpath -o "$bin.tmp" github.com/dexidp/dex/cmd/dex)
		mv "$bin.tmp" "$bin"
	fi
	echo "export CRATED_TEST_DEX_BIN=$bin"
	;;
path)
	echo "$bin"
	;;
*)
	echo "usage: $0 [build|path]" >&2
	exit 2
	;;
esac
