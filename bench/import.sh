#!/usr/bin/env bash
# The `crated import` benchmark: a generated registry of BENCH_IMPORT_CRATES
# crates x BENCH_IMPORT_VERSIONS versions (default 10000 x 10 = 100k
# versions, real .crate files in the flat layout, one version in 50 yanked)
# imported into a fresh embedded crated (SQLite + files), then imported a
# second time (everything skipped as identical). Prints the rate of each run.
#
#   bench/import.sh
#
# Knobs (environment): BENCH_IMPORT_CRATES (10000), BENCH_IMPORT_VERSIONS
# (10), BENCH_IMPORT_LAYOUT (flat, ktra or static), BENCH_CACHE (where the
# generated source is kept between runs, default /tmp/crated-bench-cache;
# about 560 MB for 100k versions), BENCH_WORK (scratch directory, default a
# new /tmp/crated-import-bench.*, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

CRATES=${BENCH_IMPORT_CRATES:-10000}
VERSIONS=${BENCH_IMPORT_VERSIONS:-10}
LAYOUT=${BENCH_IMPORT_LAYOUT:-flat}
CACHE=${BENCH_CACHE:-/tmp/crated-bench-cache}
WORK=${BENCH_WORK:-$(mktemp -d /tmp/crated-import-bench.XXXXXX)}
trap 'rm -rf "$WORK"' EXIT

go build -o "$WORK/crated" ./cmd/crated
go build -o "$WORK/importgen" ./bench/importgen

SRC="$CACHE/import-$LAYOUT-$CRATES-$VERSIONS"
if [ ! -e "$SRC/done" ]; then
	rm -rf "$SRC"
	echo "generating $((CRATES * VERSIONS)) versions into $SRC (once)"
	"$WORK/importgen" -out "$SRC" -crates "$CRATES" -versions "$VERSIONS" -layout "$LAYOUT"
	touch "$SRC/done"
fi

flags=(--db-dir-path "$WORK/data/db" --dl-dir-path "$WORK/data/crates")
"$WORK/crated" user add "${flags[@]}" bench >/dev/null 2>&1
for run in first second; do
	echo "== $run import"
	"$WORK/crated" import "${flags[@]}" --quiet --index "$SRC/index" --crates "$SRC/crates" --owner bench |
		grep -E '^(imported|skipped|time)'
done
