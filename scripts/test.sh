#!/usr/bin/env bash
# The test command: starts (or builds, once) the real servers the tests use
# — PostgreSQL, the S3-compatible versitygw, the Dex OpenID provider — then
# runs every test. Plain `go test ./...` works too; tests whose server is
# missing then skip with a message (and fail when CI=true).
#
#   scripts/test.sh [go test flags and packages]   default: ./...
set -euo pipefail
cd "$(dirname "$0")/.."

# Each server is started only when the caller has not provided one.
if [ -z "${CRATED_TEST_POSTGRES_URL:-}" ]; then
	eval "$(bash .ci/tools/postgres.sh start)"
fi
if [ -z "${CRATED_TEST_S3_ENDPOINT:-}" ]; then
	eval "$(bash .ci/tools/versitygw.sh start)"
	trap 'bash .ci/tools/versitygw.sh stop >/dev/null 2>&1 || true' EXIT
fi
if [ -z "${CRATED_TEST_DEX_BIN:-}" ]; then
	eval "$(bash .ci/tools/dex.sh build)"
fi

if [ $# -eq 0 ]; then set -- ./...; fi
go test "$@"
