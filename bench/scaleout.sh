#!/usr/bin/env bash
# crated's scale-out benchmark: the same registry, the same load generator
# (bench/load) and the same concurrency on
#
#   embedded   SQLite + crate files on disk, one process (the default);
#   s3x1       PostgreSQL + S3 (versitygw), one replica;
#   s3x2       PostgreSQL + S3, two replicas, the load generator's URL list
#              alternating between them (SCALEOUT_REPLICAS2=0 leaves it out);
#
# The servers of every setup run side by side (each on its own port and,
# for the scale-out ones, on the same database and bucket), and each
# measurement alternates between the setups, SCALEOUT_ROUNDS times, the
# order reversed every other round: runs that are compared are seconds
# apart, which spreads the noise of a shared machine evenly. Idle servers
# cost nothing measurable. It measures
#
#   - publishes/s of real-sized crates (~20 KB .crate, bench/load publish);
#   - index-file reads, random over the seeded crates, with the cache warm,
#     and each file once right after start (cache cold: the store renders);
#   - .crate downloads, random over every seeded version: sendfile from
#     disk vs streamed from S3 through crated; on s3x1 also with
#     s3_redirect_downloads = true, where the 307 answers alone are timed;
#   - on s3x1, a diagnostic: publishes with PostgreSQL's synchronous_commit
#     off for crated's connections, to show what the WAL fsync per commit
#     costs;
#
# and prints a table with the embedded setup as the baseline and the
# scale-out numbers as ratios, plus the server CPU time per request by
# process (crated, versitygw, PostgreSQL).
#
# The data: SCALEOUT_CRATES crates x SCALEOUT_VERSIONS versions with real
# ~20 KB .crate files, seeded once with bench/seed into SQLite + files
# (cached in SCALEOUT_CACHE), copied for the embedded setup and copied with
# `crated migrate-store` into a fresh PostgreSQL database and a fresh
# bucket for the scale-out setups, so that every setup serves the same
# bytes (checked).
#
#   bench/scaleout.sh       about 8 minutes (1 more the first time, to seed)
#
# Knobs (environment): SCALEOUT_ROUNDS (3), SCALEOUT_DURATION (10s: each
# timed read run), SCALEOUT_WARMUP (2s, unmeasured, before each read run),
# SCALEOUT_CONNS (64: read concurrency), SCALEOUT_PUBLISHES (2000),
# SCALEOUT_PUBLISH_CONNS (8), SCALEOUT_CRATES (1000), SCALEOUT_VERSIONS
# (10), SCALEOUT_REPLICAS2 (1), SCALEOUT_PORT (18901, first of six ports),
# SCALEOUT_WORK (scratch directory, default a new /tmp/crated-scaleout.*),
# SCALEOUT_CACHE (/tmp/crated-bench-cache), SCALEOUT_PG_URL (an admin URL
# of a PostgreSQL server on this machine; default: the one
# .ci/tools/postgres.sh finds or starts), SCALEOUT_S3_KEEPALIVE (true:
# versitygw keeps connections open, as every production S3 does; false is
# versitygw's own default).
#
# Everything listens on and talks to 127.0.0.1 only, and every run is
# bounded in time and count. On exit it stops the processes it started (by
# their ids), drops its database, removes its bucket, stops its versitygw
# and deletes the copies of the data; the logs and raw results stay in
# SCALEOUT_WORK. The PostgreSQL server itself is shared and left running.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${SCALEOUT_ROUNDS:-3}
DURATION=${SCALEOUT_DURATION:-10s}
WARMUP=${SCALEOUT_WARMUP:-2s}
CONNS=${SCALEOUT_CONNS:-64}
PUBLISHES=${SCALEOUT_PUBLISHES:-2000}
PUBLISH_CONNS=${SCALEOUT_PUBLISH_CONNS:-8}
CRATES=${SCALEOUT_CRATES:-1000}
VERSIONS=${SCALEOUT_VERSIONS:-10}
REPLICAS2=${SCALEOUT_REPLICAS2:-1}
PORT=${SCALEOUT_PORT:-18901}
S3_KEEPALIVE=${SCALEOUT_S3_KEEPALIVE:-true}
CACHE=${SCALEOUT_CACHE:-/tmp/crated-bench-cache}
WORK=${SCALEOUT_WORK:-$(mktemp -d /tmp/crated-scaleout.XXXXXX)}
# The .crate size of a typical real crate (bench/synth: ~20 KB).
CODE_BYTES=112640
PUBLISH_WARMUP=100
# Ports: the embedded server; the one replica of s3x1; the two of s3x2
# (their own, so that s3x1's reads do not warm s3x2's caches); s3x1's
# configuration with s3_redirect_downloads, and with synchronous_commit off.
EMB_PORT=$PORT
R1_PORT=$((PORT + 1))
R2A_PORT=$((PORT + 2))
R2B_PORT=$((PORT + 3))
REDIRECT_PORT=$((PORT + 4))
NOSYNC_PORT=$((PORT + 5))

for v in ROUNDS CONNS PUBLISHES PUBLISH_CONNS CRATES VERSIONS PORT; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "scaleout.sh: SCALEOUT_$v must be a positive integer" >&2; exit 2; }
done
((ROUNDS <= 10 && CONNS <= 1024 && PUBLISHES <= 100000 && CRATES <= 100000 && VERSIONS <= 64)) ||
	{ echo "scaleout.sh: a knob is out of its bounds (rounds <= 10, conns <= 1024, publishes <= 100000, crates <= 100000, versions <= 64)" >&2; exit 2; }
((PUBLISH_CONNS % 2 == 0 && PUBLISHES % 2 == 0)) ||
	{ echo "scaleout.sh: SCALEOUT_PUBLISHES and SCALEOUT_PUBLISH_CONNS must be even (two replicas share them)" >&2; exit 2; }

mkdir -p "$WORK" "$CACHE"
SUMMARY=$WORK/summary.txt
RESULTS=$WORK/results.txt
: >"$SUMMARY"
: >"$RESULTS"

log() { printf '== %s\n' "$*" >&2; }
say() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }
die() { log "$*"; exit 1; }
randhex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# ---- cleanup: everything we started or created, in dependency order ----
PIDS=()
DB_NAME="" PG_ADMIN="" BUCKET="" VGW_DIR=""
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [[ -n $BUCKET && -n $VGW_DIR ]]; then
		"$SCALEOUT" bucket-remove -endpoint "$S3_ENDPOINT" -bucket "$BUCKET" \
			-access-key-file "$WORK/secrets/s3-access" -secret-key-file "$WORK/secrets/s3-secret" ||
			log "could not remove bucket $BUCKET"
	fi
	if [[ -n $VGW_DIR ]]; then
		bash .ci/tools/versitygw.sh stop "$VGW_DIR" || log "could not stop versitygw in $VGW_DIR"
	fi
	if [[ -n $DB_NAME ]]; then
		psql "$PG_ADMIN" -v ON_ERROR_STOP=1 -qAtc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null ||
			log "could not drop database $DB_NAME"
	fi
	rm -rf "$WORK/embedded" "$WORK/secrets"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget_pid() {
	local keep=() p
	for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}
port_free() { ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# ---- tools ----
ensure_tools() {
	local missing=()
	command -v jq >/dev/null || missing+=(jq)
	command -v curl >/dev/null || missing+=(curl)
	command -v psql >/dev/null || missing+=(postgresql-client)
	[[ -x /usr/bin/time ]] || missing+=(time)
	if ((${#missing[@]})); then
		log "installing ${missing[*]} from Debian's packages"
		apt-get update -q >/dev/null
		apt-get install -y -q "${missing[@]}" >/dev/null
	fi
}

build() {
	log "building crated, seed, load and scaleout into $WORK/bin"
	mkdir -p "$WORK/bin"
	go build -o "$WORK/bin/crated" ./cmd/crated
	go build -o "$WORK/bin/seed" ./bench/seed
	go build -o "$WORK/bin/load" ./bench/load
	go build -o "$WORK/bin/scaleout" ./bench/scaleout
	CRATED=$WORK/bin/crated SEED=$WORK/bin/seed LOAD=$WORK/bin/load SCALEOUT=$WORK/bin/scaleout
}

# ---- the data ----
seed_data() {
	local key
	key=$(cat bench/seed/main.go bench/synth/synth.go sqlite/migration/*.sql | sha256sum | cut -c1-12)
	SEEDED=$CACHE/scaleout-${CRATES}x$VERSIONS-$CODE_BYTES-$key
	if [[ ! -f $SEEDED/complete ]]; then
		log "seeding $CRATES crates x $VERSIONS versions with ~20 KB .crate files into $SEEDED (cached for later runs)"
		rm -rf "$SEEDED"
		mkdir -p "$SEEDED"
		"$SEED" -quiet -db-dir-path "$SEEDED/db" -dl-dir-path "$SEEDED/crates" -crates "$CRATES" -versions "$VERSIONS" \
			-blobs write -code-bytes "$CODE_BYTES" -paths "$SEEDED/paths" | tee "$SEEDED/seed.log" >&2
		touch "$SEEDED/complete"
	else
		log "reusing the seeded set in $SEEDED"
	fi
	log "copying it for the embedded setup"
	cp -a "$SEEDED" "$WORK/embedded"
	mkdir -p "$WORK/secrets"
	chmod 700 "$WORK/secrets"
	TOKEN_FILE=$WORK/secrets/publish-token
	"$CRATED" user add --db-dir-path "$WORK/embedded/db" --dl-dir-path "$WORK/embedded/crates" publisher \
		>"$TOKEN_FILE" 2>>"$WORK/crated.log"
	[[ -s $TOKEN_FILE ]] || die "crated user add printed no token; see $WORK/crated.log"
	PATHS=$WORK/embedded/paths
	# Every seeded version's download path (bench/synth's version numbering:
	# 0.1.0 0.1.1 0.1.2 0.1.3 0.2.0 ...).
	awk -v n="$VERSIONS" -F/ '{
		for (j = 0; j < n; j++)
			printf "/api/v1/crates/%s/%d.%d.%d/download\n", $NF, int(j / 16), 1 + int(j / 4) % 4, j % 4
	}' "$PATHS" >"$WORK/dl-paths"
}

# ---- PostgreSQL: a fresh database for this run ----
start_postgres() {
	PG_ADMIN=${SCALEOUT_PG_URL:-}
	if [[ -z $PG_ADMIN ]]; then
		eval "$(bash .ci/tools/postgres.sh start)"
		PG_ADMIN=$CRATED_TEST_POSTGRES_URL
	fi
	# Only a server on this machine, named by a URL with a database path.
	local re='^postgres(ql)?://([^@/]*@)?(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?/[^?]*(\?.*)?$'
	[[ $PG_ADMIN =~ $re ]] || die "the PostgreSQL URL must name a server on 127.0.0.1/localhost and a database: postgres://user@127.0.0.1:5432/postgres"
	DB_NAME=crated_bench_$(randhex 6)
	psql "$PG_ADMIN" -v ON_ERROR_STOP=1 -qAtc "CREATE DATABASE $DB_NAME" >/dev/null
	local base=${PG_ADMIN%%\?*} query=${PG_ADMIN#"${PG_ADMIN%%\?*}"}
	DB_URL=${base%/*}/$DB_NAME$query
	PG_VERSION=$(psql "$DB_URL" -qAtc "SHOW server_version")
	PG_SETTINGS=$(psql "$DB_URL" -qAtc "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'full_page_writes')")
	log "PostgreSQL $PG_VERSION, database $DB_NAME ($PG_SETTINGS)"
}

# ---- versitygw: a private S3 server and a fresh bucket ----
start_s3() {
	eval "$(VGW_KEEP_ALIVE=$S3_KEEPALIVE bash .ci/tools/versitygw.sh start)"
	VGW_DIR=$CRATED_VERSITYGW_DIR
	S3_ENDPOINT=$CRATED_TEST_S3_ENDPOINT
	VGW_PID=$(cat "$VGW_DIR/versitygw.pid")
	(umask 077 && printf '%s' "$CRATED_TEST_S3_ACCESS_KEY" >"$WORK/secrets/s3-access" &&
		printf '%s' "$CRATED_TEST_S3_SECRET_KEY" >"$WORK/secrets/s3-secret" &&
		printf '%s' "$DB_URL" >"$WORK/secrets/pg-url" &&
		printf '%s' "$DB_URL$([[ $DB_URL == *\?* ]] && echo '&' || echo '?')synchronous_commit=off" >"$WORK/secrets/pg-url-nosync")
	unset CRATED_TEST_S3_ACCESS_KEY CRATED_TEST_S3_SECRET_KEY
	BUCKET=crated-bench-$(randhex 6)
	"$SCALEOUT" bucket-create -endpoint "$S3_ENDPOINT" -bucket "$BUCKET" \
		-access-key-file "$WORK/secrets/s3-access" -secret-key-file "$WORK/secrets/s3-secret"
	log "versitygw on $S3_ENDPOINT (keep-alive $S3_KEEPALIVE), bucket $BUCKET"
}

migrate_data() {
	log "copying the seeded registry into PostgreSQL and the bucket (crated migrate-store)"
	local t0=$SECONDS
	"$CRATED" migrate-store --quiet --from "sqlite:$WORK/embedded/db" --to "postgres:$DB_URL" \
		--from-blobs "$WORK/embedded/crates" --to-s3-bucket "$BUCKET" --to-s3-endpoint "$S3_ENDPOINT" \
		--to-s3-path-style true --to-s3-access-key-file "$WORK/secrets/s3-access" \
		--to-s3-secret-key-file "$WORK/secrets/s3-secret" >"$WORK/migrate.log" 2>&1 ||
		{ tail -20 "$WORK/migrate.log" >&2; die "migrate-store failed"; }
	MIGRATE_SECONDS=$((SECONDS - t0))
}

# ---- configurations ----
write_configs() {
	mkdir -p "$WORK/conf"
	cat >"$WORK/conf/embedded.toml" <<EOF
[server_config]
address = "127.0.0.1"
port = $EMB_PORT
# Benchmarks publish far faster than any team: no publish limit.
publish_rate_limit = 0

[db_config]
db_dir_path = "$WORK/embedded/db"

[crate_files_config]
dl_dir_path = "$WORK/embedded/crates"
EOF
	# scaleout_conf NAME PORT PG_URL_FILE REDIRECT
	scaleout_conf() {
		cat >"$WORK/conf/$1.toml" <<EOF
[server_config]
address = "127.0.0.1"
port = $2
publish_rate_limit = 0
# The load balancer's URL in a real deployment; the first replica here.
base_url = "http://127.0.0.1:$R1_PORT"

[db_config]
postgres_url_file = "$3"

[crate_files_config]
s3_bucket = "$BUCKET"
s3_endpoint = "$S3_ENDPOINT"
s3_path_style = true
s3_access_key_file = "$WORK/secrets/s3-access"
s3_secret_key_file = "$WORK/secrets/s3-secret"
s3_redirect_downloads = $4
EOF
	}
	scaleout_conf s3x1 "$R1_PORT" "$WORK/secrets/pg-url" false
	scaleout_conf s3x2a "$R2A_PORT" "$WORK/secrets/pg-url" false
	scaleout_conf s3x2b "$R2B_PORT" "$WORK/secrets/pg-url" false
	scaleout_conf s3x1-redirect "$REDIRECT_PORT" "$WORK/secrets/pg-url" true
	scaleout_conf s3x1-nosync "$NOSYNC_PORT" "$WORK/secrets/pg-url-nosync" false
	# URL lists: one server, or both replicas alternating.
	local list src
	for list in paths dl-paths; do
		src=$PATHS
		[[ $list == dl-paths ]] && src=$WORK/dl-paths
		sed "s|^|http://127.0.0.1:$EMB_PORT|" "$src" >"$WORK/$list.embedded"
		sed "s|^|http://127.0.0.1:$R1_PORT|" "$src" >"$WORK/$list.s3x1"
		sed "s|^|http://127.0.0.1:$REDIRECT_PORT|" "$src" >"$WORK/$list.s3x1-redirect"
		awk -v a="http://127.0.0.1:$R2A_PORT" -v b="http://127.0.0.1:$R2B_PORT" '{print a $0; print b $0}' "$src" >"$WORK/$list.s3x2"
	done
}

# ---- servers ----
# Each setup's server processes, by setup: their CPU time is the setup's.
declare -A SETUP_PIDS=()
# start_crated SETUP CONFIG PORT: starts crated (working directory $WORK)
# and waits for /readyz.
start_crated() {
	local setup=$1 conf=$2 port=$3 pid
	port_free "$port" || die "port $port is taken: set SCALEOUT_PORT"
	(cd "$WORK" && exec "$CRATED" serve -c "$conf" --log-level warn >>"$WORK/crated.log" 2>&1) &
	pid=$!
	PIDS+=("$pid")
	SETUP_PIDS[$setup]="${SETUP_PIDS[$setup]:-} $pid"
	for _ in $(seq 3000); do
		curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$port/readyz" && return 0
		kill -0 "$pid" 2>/dev/null || { tail -20 "$WORK/crated.log" >&2; die "crated ($conf) exited; see $WORK/crated.log"; }
		sleep 0.01
	done
	die "crated ($conf) did not become ready in 30 s"
}
start_servers() {
	start_crated embedded "$WORK/conf/embedded.toml" "$EMB_PORT"
	start_crated s3x1 "$WORK/conf/s3x1.toml" "$R1_PORT"
	if ((REPLICAS2)); then
		start_crated s3x2 "$WORK/conf/s3x2a.toml" "$R2A_PORT"
		start_crated s3x2 "$WORK/conf/s3x2b.toml" "$R2B_PORT"
	fi
	start_crated s3x1-redirect "$WORK/conf/s3x1-redirect.toml" "$REDIRECT_PORT"
	start_crated s3x1-nosync "$WORK/conf/s3x1-nosync.toml" "$NOSYNC_PORT"
}
stop_servers() {
	local pid setup
	for setup in "${!SETUP_PIDS[@]}"; do
		for pid in ${SETUP_PIDS[$setup]}; do kill -TERM "$pid" 2>/dev/null || true; done
	done
	for setup in "${!SETUP_PIDS[@]}"; do
		for pid in ${SETUP_PIDS[$setup]}; do
			wait "$pid" 2>/dev/null || true
			forget_pid "$pid"
		done
	done
	SETUP_PIDS=()
}

# ---- measuring ----
# CPU time (clock ticks) of processes: crated's (this setup's servers),
# versitygw's, and every PostgreSQL process's (the server is shared: other
# sessions' work, if any, counts too).
ticks_of() {
	local p t=0 v
	for p in "$@"; do
		v=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null) || continue
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
cpu_snapshot() {
	# shellcheck disable=SC2046,SC2086
	echo "$(ticks_of ${SETUP_PIDS[$1]}) $(ticks_of "$VGW_PID") $(ticks_of $(pgrep -x postgres || true))"
}
# record SETUP METRIC JSON... CPU_BEFORE CPU_AFTER [EXPECT]: appends one line of key=value pairs to $RESULTS. Results of
# several load processes (two replicas publishing) are combined: requests
# and errors add up, the wall time is the longest, p99 the worst.
# EXPECT=307 counts answers with that status as successes (bench/load
# counts every answer but 200 as an error).
record() {
	local setup=$1 metric=$2 jsons=$3 cb=$4 ca=$5 expect=${6:-}
	local line c0 v0 p0 c1 v1 p1
	line=$(jq -rs --arg expect "$expect" '
		(map(.requests) | add) as $req |
		(map(.errors) | add) as $err |
		(map(.seconds) | max) as $sec |
		(map(.first_errors // []) | add) as $fe |
		(if $expect != "" and $err == $req and ($fe | all(test(" " + $expect + " "))) then 0 else $err end) as $bad |
		"requests=\($req) errors=\($bad) seconds=\($sec) rps=\($req / $sec) p50_ms=\(map(.p50_ms) | max) p99_ms=\(map(.p99_ms) | max)" +
		(if $bad > 0 then " first_error=\($fe[0] | gsub(" "; "_") | .[0:120])" else "" end)' <<<"$jsons")
	read -r c0 v0 p0 <<<"$cb"
	read -r c1 v1 p1 <<<"$ca"
	echo "setup=$setup metric=$metric round=$ROUND $line cpu_crated=$((c1 - c0)) cpu_vgw=$((v1 - v0)) cpu_pg=$((p1 - p0))" >>"$RESULTS"
	log "$setup $metric round $ROUND: $(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^(rps|p99_ms|errors)=/) printf "%s ", $i}' <<<"$(tail -1 "$RESULTS")")"
}

# label SETUP: the column a server setup's results go to: the redirect
# and synchronous_commit=off servers are variants of s3x1.
label() { echo "${1%%-*}"; }

# get SETUP METRIC LIST MODE [EXPECT]: a bench/load get run over the URLs
# in $WORK/LIST.SETUP. MODE warm: random URLs, CONNS connections for
# DURATION, after an unmeasured warm-up of WARMUP; MODE cold: each URL
# once, in turn, with 8 connections.
get() {
	local setup=$1 metric=$2 list=$WORK/$3.$1 mode=$4 expect=${5:-}
	local args cb ca out
	if [[ $mode == warm ]]; then
		"$LOAD" get -urls "$list" -random -c "$CONNS" -d "$WARMUP" -format kv >/dev/null 2>>"$WORK/load.log" || true
		args=(-random -c "$CONNS" -d "$DURATION")
	else
		args=(-n "$(wc -l <"$list")" -c 8 -d 2m)
	fi
	cb=$(cpu_snapshot "$setup")
	out=$("$LOAD" get -urls "$list" "${args[@]}" -format json 2>>"$WORK/load.log") || die "load get failed; see $WORK/load.log"
	ca=$(cpu_snapshot "$setup")
	printf '%s %s round=%s %s\n' "$setup" "$metric" "$ROUND" "$out" >>"$WORK/raw.log"
	record "$(label "$setup")" "$metric" "$out" "$cb" "$ca" "$expect"
}

# bases SETUP: the URLs of the setup's servers.
bases() {
	case $1 in
	embedded) echo "http://127.0.0.1:$EMB_PORT" ;;
	s3x1) echo "http://127.0.0.1:$R1_PORT" ;;
	s3x2) echo "http://127.0.0.1:$R2A_PORT http://127.0.0.1:$R2B_PORT" ;;
	s3x1-nosync) echo "http://127.0.0.1:$NOSYNC_PORT" ;;
	esac
}

# publish SETUP METRIC: PUBLISHES real-sized crates over PUBLISHES/3 new
# crates x 3 versions, PUBLISH_CONNS connections in all, split evenly over
# the setup's servers (one load process each), after PUBLISH_WARMUP
# unmeasured publishes.
publish() {
	local setup=$1 metric=$2 base i pids=() cb ca out
	local servers
	read -r -a servers <<<"$(bases "$setup")"
	local k=${#servers[@]}
	# Warm-up: its own crates, through the same servers.
	for base in "${servers[@]}"; do
		"$LOAD" publish -base "$base" -token-file "$TOKEN_FILE" -prefix "w$(randhex 5)" \
			-n $((PUBLISH_WARMUP / k)) -c $((PUBLISH_CONNS / k)) -versions 3 -d 2m -format kv \
			>/dev/null 2>>"$WORK/load.log" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || die "load publish (warm-up) failed; see $WORK/load.log"; done
	pids=()
	cb=$(cpu_snapshot "$setup")
	i=0
	for base in "${servers[@]}"; do
		"$LOAD" publish -base "$base" -token-file "$TOKEN_FILE" -prefix "b$(randhex 5)" \
			-n $((PUBLISHES / k)) -c $((PUBLISH_CONNS / k)) -versions 3 -d 5m -format json \
			>"$WORK/publish-$i.json" 2>>"$WORK/load.log" &
		pids+=($!)
		i=$((i + 1))
	done
	for i in "${pids[@]}"; do wait "$i" || die "load publish failed; see $WORK/load.log"; done
	ca=$(cpu_snapshot "$setup")
	out=$(cat "$WORK"/publish-*.json)
	rm -f "$WORK"/publish-*.json
	printf '%s %s round=%s %s\n' "$setup" "$metric" "$ROUND" "$out" >>"$WORK/raw.log"
	record "$(label "$setup")" "$metric" "$out" "$cb" "$ca"
}

# run_round: every measurement, each alternating over the setups in the
# order given, on servers started fresh (so that the index caches are cold
# at first).
run_round() {
	local s
	log "round $ROUND: $*"
	start_servers
	# First: each index file once, while the caches are cold.
	for s in "$@"; do get "$s" index-cold paths cold; done
	for s in "$@"; do get "$s" index-hot paths warm; done
	# The s3x1 variants run next to s3x1.
	for s in "$@"; do
		get "$s" download dl-paths warm
		[[ $s == s3x1 ]] && get s3x1-redirect download-307 dl-paths warm 307
	done
	for s in "$@"; do
		publish "$s" publish
		[[ $s == s3x1 ]] && publish s3x1-nosync publish-nosync
	done
	stop_servers
}

# check_same: every setup serves the same index file and .crate bytes,
# and a presigned redirect leads to the same file.
check_same() {
	local ip dp want got base code others
	ip=$(sed -n "$(((CRATES + 1) / 2))p" "$PATHS") dp=$(sed -n "$(((CRATES * VERSIONS + 1) / 2))p" "$WORK/dl-paths")
	# hashes BASE [-L]: the sha256 of the sample index file and .crate.
	hashes() { curl -sf "$1$ip" | sha256sum && curl -sf ${2:+"$2"} "$1$dp" | sha256sum; }
	start_servers
	base=http://127.0.0.1:$EMB_PORT
	want=$(hashes "$base") || die "$base does not serve the sample files"
	others="$(bases s3x1) $(bases s3x1-nosync)"
	((REPLICAS2)) && others="$others $(bases s3x2)"
	for base in $others; do
		got=$(hashes "$base") || die "$base does not serve the sample files"
		[[ $got == "$want" ]] || die "$base does not serve the same bytes as the embedded setup"
	done
	base=http://127.0.0.1:$REDIRECT_PORT
	code=$(curl -s -o /dev/null -w '%{http_code}' "$base$dp")
	[[ $code == 307 ]] || die "s3_redirect_downloads: expected 307, got $code"
	got=$(hashes "$base" -L) || die "$base (redirecting) does not serve the sample files"
	[[ $got == "$want" ]] || die "the presigned redirect does not lead to the same .crate"
	SAMPLE_SIZES="index file $(curl -s "$base$ip" | wc -c) bytes, .crate $(curl -sL "$base$dp" | wc -c) bytes"
	stop_servers
}

# ---- the table ----
report() {
	local setups="embedded s3x1"
	((REPLICAS2)) && setups="$setups s3x2"
	say ""
	say "Medians of $ROUNDS rounds (req/s and p99 alike); ratio = scale-out / embedded (req/s: above 1 is faster; p99: above 1 is slower)."
	awk -v setups="$setups" -v tck="$(getconf CLK_TCK)" -v pubs="$PUBLISHES" -v pconns="$PUBLISH_CONNS" \
		-v conns="$CONNS" -v crates="$CRATES" -v nv="$((CRATES * VERSIONS))" '
	{
		delete kv
		for (i = 1; i <= NF; i++) { split($i, a, "="); kv[a[1]] = a[2] }
		k = kv["setup"] SUBSEP kv["metric"]
		n[k]++; rps[k, n[k]] = kv["rps"]; p99[k, n[k]] = kv["p99_ms"]; err[k] += kv["errors"]; req[k] += kv["requests"]
		cc[k] += kv["cpu_crated"]; cv[k] += kv["cpu_vgw"]; cp[k] += kv["cpu_pg"]
		rounds[k] = rounds[k] sprintf("%8.0f", kv["rps"])
	}
	BEGIN {
		nm = split("publish publish-nosync index-hot index-cold download download-307", ml, " ")
		nsl = split(setups, sl, " ")
	}
	# median of the rounds: the middle one, or the mean of the middle two
	function median(arr, k, cnt,    i, j, t, v) {
		for (i = 1; i <= cnt; i++) v[i] = arr[k, i] + 0
		for (i = 2; i <= cnt; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
		return cnt % 2 ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2
	}
	function val(s, m, what,    k) {
		k = s SUBSEP m
		if (!(k in n)) return ""
		return what == "rps" ? median(rps, k, n[k]) : median(p99, k, n[k])
	}
	function row(label, m, what, base_m,    s, ns, list, b, v, out) {
		b = val("embedded", base_m, what)
		out = sprintf("%-52s", label)
		ns = split(setups, list, " ")
		for (i = 1; i <= ns; i++) {
			s = list[i]
			v = val(s, (s == "embedded" ? base_m : m), what)
			if (v == "") { out = out sprintf(" %20s", "-"); continue }
			if (s == "embedded" && m != base_m) out = out sprintf(" %20s", "-")
			else if (s == "embedded") out = out sprintf(" %20s", sprintf(what == "rps" ? "%.0f" : "%.1f", v))
			else out = out sprintf(" %20s", sprintf(what == "rps" ? "%.0f  x%.2f" : "%.1f  x%.2f", v, (b > 0 ? v / b : 0)))
		}
		print out
	}
	function cpu(label, m,    s, ns, list, k, out) {
		out = sprintf("%-52s", label)
		ns = split(setups, list, " ")
		for (i = 1; i <= ns; i++) {
			s = list[i]; k = s SUBSEP m
			if (!(k in n) || req[k] == 0) { out = out sprintf(" %20s", "-"); continue }
			# ms of CPU per request: ticks * 1000 / CLK_TCK / requests
			if (s == "embedded") out = out sprintf(" %20s", sprintf("%.3f", cc[k] * 1000 / tck / req[k]))
			else out = out sprintf(" %20s", sprintf("%.3f/%.3f/%.3f", cc[k] * 1000 / tck / req[k], cv[k] * 1000 / tck / req[k], cp[k] * 1000 / tck / req[k]))
		}
		print out
	}
	END {
		hdr = sprintf("%-52s %20s %20s", "", "embedded", "PG+S3, 1 replica")
		if (split(setups, l, " ") > 2) hdr = hdr sprintf(" %20s", "PG+S3, 2 replicas")
		print hdr
		row(sprintf("publishes/s (%d x ~20 KB, %d connections)", pubs, pconns), "publish", "rps", "publish")
		row("  p99 ms", "publish", "p99", "publish")
		row(sprintf("index reads/s (%d files, random, warm, c=%d)", crates, conns), "index-hot", "rps", "index-hot")
		row("  p99 ms", "index-hot", "p99", "index-hot")
		row("index reads/s (each file once after start, c=8)", "index-cold", "rps", "index-cold")
		row("  p99 ms", "index-cold", "p99", "index-cold")
		row(sprintf(".crate downloads/s (%d files, ~21 KB, c=%d)", nv, conns), "download", "rps", "download")
		row("  p99 ms", "download", "p99", "download")
		row("  ... as 307 to S3 (s3_redirect_downloads)/s", "download-307", "rps", "download")
		row("  p99 ms", "download-307", "p99", "download")
		row("publishes/s, synchronous_commit=off (diagnostic)", "publish-nosync", "rps", "publish")
		row("  p99 ms", "publish-nosync", "p99", "publish")
		print ""
		print "Server CPU per request, ms (embedded: crated; PG+S3: crated/versitygw/PostgreSQL):"
		cpu("publish", "publish")
		cpu("index read, warm", "index-hot")
		cpu("index read, cold", "index-cold")
		cpu(".crate download", "download")
		cpu(".crate download, 307", "download-307")
		cpu("publish, synchronous_commit=off", "publish-nosync")
		print ""
		print "req/s of each round (noise):"
		for (mi = 1; mi <= nm; mi++) for (si = 1; si <= nsl; si++) {
			k = sl[si] SUBSEP ml[mi]
			if (k in rounds) printf "  %-16s %-9s %s\n", ml[mi], sl[si], rounds[k]
		}
		for (k in err) if (err[k] > 0) { split(k, p, SUBSEP); printf "ERRORS: %s %s: %d failed requests (see raw.log)\n", p[1], p[2], err[k] }
	}' "$RESULTS" | tee -a "$SUMMARY"
}

ensure_tools
build
say "crated scale-out benchmark, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
# The binaries are built from the working tree: name any Go file that
# differs from the commit, so that a result is never credited to the wrong
# code.
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | awk '$NF ~ /\.go$/ {print $NF}' | tr '\n' ' ')
[[ -z $dirty ]] || say "built with uncommitted changes to: $dirty"
say "machine: $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
seed_data
start_postgres
start_s3
migrate_data
write_configs
# What one WAL flush costs on this disk (the awk's exit ends pg_test_fsync
# after its first section).
PG_TEST_FSYNC=$(printf '%s\n' /usr/lib/postgresql/*/bin/pg_test_fsync | sort -V | tail -1)
FSYNC_US=unknown
if [[ -x $PG_TEST_FSYNC ]]; then
	FSYNC_US=$(timeout 60 "$PG_TEST_FSYNC" -s 1 -f "$WORK/fsync.test" 2>/dev/null |
		awk '/^Compare file sync methods using one/ {on = 1} on && $1 == "fdatasync" {print $(NF - 1); exit}') || true
fi
rm -f "$WORK/fsync.test"
say "$(go version | cut -d' ' -f3); PostgreSQL $PG_VERSION ($PG_SETTINGS); fdatasync of 8 kB on this disk: ${FSYNC_US:-unknown} us (pg_test_fsync)"
say "S3: versitygw $(grep -m1 -o 'version=v[0-9.]*' .ci/tools/versitygw.sh | cut -d= -f2) (posix backend, on the same disk), keep-alive $S3_KEEPALIVE"
ROUND=0
check_same
say "data: $CRATES crates x $VERSIONS versions ($SAMPLE_SIZES), the same bytes in every setup; migrate-store copied it into PostgreSQL + S3 in ${MIGRATE_SECONDS}s"
order=(embedded s3x1)
((REPLICAS2)) && order+=(s3x2)
for ROUND in $(seq "$ROUNDS"); do
	if ((ROUND % 2 == 1)); then
		run_round "${order[@]}"
	else
		reversed=()
		for ((i = ${#order[@]} - 1; i >= 0; i--)); do reversed+=("${order[$i]}"); done
		run_round "${reversed[@]}"
	fi
done
report
# A failed request shows in the tables; a server-side error that still
# produced a countable answer (a 500 among the 307s) shows here.
server_errors=$(grep -c 'level=ERROR' "$WORK/crated.log" || true)
((server_errors == 0)) || say "ERRORS: crated logged $server_errors errors, see $WORK/crated.log"
say ""
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); logs and raw results in $WORK"
