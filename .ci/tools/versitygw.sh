#!/usr/bin/env bash
# versitygw.sh runs the S3-compatible server that crated's S3 tests use
# (blob/s3/s3_test.go): versitygw (Apache-2.0) with its posix backend.
#
#   eval "$(bash .ci/tools/versitygw.sh start)"
#       build versitygw once into $CRATED_TOOLS/bin (skipped when the binary is
#       already there), start it on a free loopback port with a fresh temporary
#       root directory and fresh random credentials, wait until it answers, and
#       print the export lines for CRATED_TEST_S3_ENDPOINT,
#       CRATED_TEST_S3_ACCESS_KEY, CRATED_TEST_S3_SECRET_KEY and
#       CRATED_VERSITYGW_DIR (the temporary directory, for stop).
#   bash .ci/tools/versitygw.sh stop [DIR]
#       stop the server started in DIR (default $CRATED_VERSITYGW_DIR) and
#       remove DIR.
#   bash .ci/tools/versitygw.sh build
#       only build (or find) the binary and print its path.
#
# CRATED_TOOLS defaults to $HOME/.cache/crated-tools, outside the repository.
# The first build takes about two minutes; later runs reuse the binary.
# Everything but the export lines goes to stderr, so that eval sees only them.
set -euo pipefail

version=v1.8.0
tools=${CRATED_TOOLS:-$HOME/.cache/crated-tools}
bin=$tools/bin/versitygw

log() { echo "versitygw.sh: $*" >&2; }

build() {
	if [ -x "$bin" ]; then
		return
	fi
	mkdir -p "$tools/bin"
	# One build at a time: two CI jobs sharing the cache must not both
	# write the binary.
	exec 9>"$tools/.versitygw.lock"
	flock 9
	if [ ! -x "$bin" ]; then
		log "building versitygw $version into $bin (about two minutes the first time)"
		# Install into a private directory, then rename: an interrupted
		# build must not leave a half-written binary that later runs would
		# take as done.
		local tmp
		tmp=$(mktemp -d "$tools/bin/.build.XXXXXX")
		if ! (cd "$tools" && GOFLAGS= GOBIN="$tmp" go install "github.com/versity/versitygw/cmd/versitygw@$version") >&2; then
			rm -rf "$tmp"
			log "build failed"
			exit 1
		fi
		mv "$tmp/versitygw" "$bin"
		rm -rf "$tmp"
	fi
	exec 9>&-
}

# listening reports whether something accepts connections on 127.0.0.1:$1.
listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# answers reports whether an HTTP server answers on 127.0.0.1:$1. An
# anonymous request gets 403 from versitygw; any status will do.
answers() {
	local code
	code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1/" 2>/dev/null) || true
	[ -n "$code" ] && [ "$code" != 000 ]
}

randhex() {
	od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

start() {
	build
	local dir access secret port pid tries waited
	dir=$(mktemp -d "${TMPDIR:-/tmp}/crated-versitygw.XXXXXX")
	mkdir "$dir/root"
	access=crated$(randhex 8)
	secret=$(randhex 20)
	# Pick a port nobody listens on, start, and retry with another port if
	# the server died anyway (someone took the port in between).
	for tries in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 40000))
		if listening "$port"; then
			continue
		fi
		# Credentials go through the environment, not argv, so they do not
		# show in ps. setsid detaches the server from the caller's job
		# control; its output goes to a log file so that the caller's
		# $(...) does not wait for it.
		ROOT_ACCESS_KEY=$access ROOT_SECRET_KEY=$secret \
			setsid "$bin" --quiet --port "127.0.0.1:$port" posix "$dir/root" \
			</dev/null >>"$dir/versitygw.log" 2>&1 &
		pid=$!
		echo "$pid" >"$dir/versitygw.pid"
		waited=0
		while kill -0 "$pid" 2>/dev/null; do
			if answers "$port"; then
				log "versitygw $version (pid $pid) answers on 127.0.0.1:$port, root $dir/root"
				echo "export CRATED_TEST_S3_ENDPOINT=http://127.0.0.1:$port"
				echo "export CRATED_TEST_S3_ACCESS_KEY=$access"
				echo "export CRATED_TEST_S3_SECRET_KEY=$secret"
				echo "export CRATED_VERSITYGW_DIR=$dir"
				return
			fi
			waited=$((waited + 1))
			if [ "$waited" -gt 150 ]; then
				log "versitygw did not answer on port $port within 30s; log:"
				tail -20 "$dir/versitygw.log" >&2 || true
				kill "$pid" 2>/dev/null || true
				exit 1
			fi
			sleep 0.2
		done
		log "versitygw exited on port $port (try $tries); log:"
		tail -5 "$dir/versitygw.log" >&2 || true
	done
	log "could not start versitygw"
	rm -rf "$dir"
	exit 1
}

stop() {
	local dir=${1:-${CRATED_VERSITYGW_DIR:-}}
	if [ -z "$dir" ]; then
		log "stop: no directory given and CRATED_VERSITYGW_DIR is not set"
		exit 1
	fi
	if [ -f "$dir/versitygw.pid" ]; then
		local pid i
		pid=$(cat "$dir/versitygw.pid")
		if kill "$pid" 2>/dev/null; then
			for i in $(seq 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			if kill -0 "$pid" 2>/dev/null; then
				log "versitygw (pid $pid) ignored SIGTERM; killing it"
				kill -9 "$pid" 2>/dev/null || true
			fi
		fi
	fi
	case $dir in
	*/crated-versitygw.*) rm -rf "$dir" ;;
	*) log "stop: not removing $dir, it was not made by start" ;;
	esac
}

case ${1:-} in
start) start ;;
stop) stop "${2:-}" ;;
build)
	build
	echo "$bin"
	;;
*)
	echo "usage: $0 start | stop [DIR] | build" >&2
	exit 2
	;;
esac
