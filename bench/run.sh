#!/usr/bin/env bash
# crated's benchmarks against its targets, with nginx as the baseline that
# runs alongside on the same machine, the same files and the same client:
#
#   1. throughput: crated and nginx serving the SAME bytes (an index file,
#      every index file of 1000 crates at random, three .crate files of 2, 21 and 71 KB), under
#      wrk, alternating the servers BENCH_ROUNDS times; req/s, p99, ratio.
#      gostatic (Go's net/http serving the same files) runs alongside as a
#      second baseline: what any Go server can do here;
#   1b. static (BENCH_PARTS=static): the nginx that `crated nginx-config`
#      configures over crated's server_config.static_dir against a plain
#      nginx over the same tree (index file, .crate, 304 revalidation), with
#      crated alone and gostatic in the same alternating rounds;
#   2. publishes/s of real-sized crates on a fresh embedded crated
#      (SQLite + files), in rounds alternating with the same publishes with
#      the git index and the static tree on, and the ratio of the two;
#   3. scale: 100k crates x 10 versions: start time to /readyz, resident
#      memory after a warm-up, index latency for random crates (so that the
#      cache misses), with nginx over the same 100k files as the baseline.
#
#   bench/run.sh            everything (about 25 minutes; 6 more the first
#                           time, to seed the 1M versions and copy the 100k
#                           index files for nginx: 5.3 GB, kept in BENCH_CACHE)
#   BENCH_PARTS="throughput publish" bench/run.sh   only some parts
#
# Knobs (environment): BENCH_PARTS (throughput static publish scale), BENCH_WORK
# (scratch directory, default a new /tmp/crated-bench.*), BENCH_CACHE
# (seeded data sets, default /tmp/crated-bench-cache), BENCH_DURATION (15s),
# BENCH_CONNS (64), BENCH_ROUNDS (2), BENCH_NGINX_WORKERS (2),
# BENCH_PUBLISHES (3000), BENCH_PUBLISH_CONNS (8), BENCH_PUBLISH_ROUNDS (2: each
# a plain run and one with the git index and static tree on), BENCH_SCALE_CRATES
# (100000), BENCH_SCALE_VERSIONS (10), BENCH_SCALE_BLOBS (none: index only;
# write: a real .crate for every version), BENCH_SCALE_RATES ("500 2000":
# request rates of the open-loop latency runs), BENCH_PORT (first of three
# ports, 18781; the static part uses a fourth).
#
# Everything listens on 127.0.0.1 only and every run is bounded in time and
# count. The processes it starts are stopped by their ids when it exits.
# It installs nginx and wrk from Debian's packages when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PARTS=${BENCH_PARTS:-throughput static publish scale}
DURATION=${BENCH_DURATION:-15s}
CONNS=${BENCH_CONNS:-64}
ROUNDS=${BENCH_ROUNDS:-2}
NGINX_WORKERS=${BENCH_NGINX_WORKERS:-2}
PUBLISHES=${BENCH_PUBLISHES:-3000}
PUBLISH_CONNS=${BENCH_PUBLISH_CONNS:-8}
PUBLISH_ROUNDS=${BENCH_PUBLISH_ROUNDS:-2}
PUBLISH_WARMUP=100 # unmeasured publishes before each run
declare -A PUBLISH_RPS=([plain]="" [derived]="") PUBLISH_P99=([plain]="" [derived]="")
SCALE_CRATES=${BENCH_SCALE_CRATES:-100000}
SCALE_VERSIONS=${BENCH_SCALE_VERSIONS:-10}
SCALE_BLOBS=${BENCH_SCALE_BLOBS:-none}
SCALE_RATES=${BENCH_SCALE_RATES:-500 2000}
PORT=${BENCH_PORT:-18781}
CRATED_PORT=$PORT
NGINX_PORT=$((PORT + 1))
GOSTATIC_PORT=$((PORT + 2))
CACHE=${BENCH_CACHE:-/tmp/crated-bench-cache}
WORK=${BENCH_WORK:-$(mktemp -d /tmp/crated-bench.XXXXXX)}
mkdir -p "$WORK" "$CACHE"
# nginx's workers drop root privileges: they must be able to read the files.
chmod 755 "$WORK" "$CACHE"
SUMMARY=$WORK/summary.txt
: >"$SUMMARY"

log() { printf '== %s\n' "$*" >&2; }
say() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }
has_part() { [[ " $PARTS " == *" $1 "* ]]; }

# ---- processes we start, stopped by id on exit ----
PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
}
trap cleanup EXIT
forget_pid() {
	local keep=() p
	for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

port_free() { ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# ---- tools ----
ensure_tools() {
	local missing=()
	command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
	command -v wrk >/dev/null || missing+=(wrk)
	if ((${#missing[@]})); then
		log "installing ${missing[*]} from Debian's packages"
		apt-get update -q >/dev/null
		apt-get install -y -q "${missing[@]}" >/dev/null || apt-get install -y -q nginx wrk >/dev/null
	fi
	NGINX=$(command -v nginx || echo /usr/sbin/nginx)
	command -v curl >/dev/null || { apt-get install -y -q curl >/dev/null; }
}

build() {
	log "building crated, seed and load into $WORK/bin"
	mkdir -p "$WORK/bin"
	go build -o "$WORK/bin/crated" ./cmd/crated
	go build -o "$WORK/bin/seed" ./bench/seed
	go build -o "$WORK/bin/load" ./bench/load
	go build -o "$WORK/bin/gostatic" ./bench/gostatic
	CRATED=$WORK/bin/crated SEED=$WORK/bin/seed LOAD=$WORK/bin/load GOSTATIC=$WORK/bin/gostatic
}

# start_crated DATA_DIR PORT [CONFIG]: starts crated on DATA_DIR/{db,crates}
# (with CONFIG, a crated.toml, for the keys the flags do not set), sets
# CRATED_PID and STARTUP_MS (process start to the first 200 from /readyz).
start_crated() {
	local dir=$1 port=$2 t0 t1 conf=()
	[[ -n ${3:-} ]] && conf=(-c "$3")
	port_free "$port" || { log "port $port is taken: set BENCH_PORT"; exit 1; }
	t0=$(date +%s%N)
	# The publish benchmark sends ~1000 publishes/s from one address: far
	# over publish_rate_limit, which it turns off.
	CRATED_SERVER_CONFIG_PUBLISH_RATE_LIMIT=0 \
		"$CRATED" serve "${conf[@]}" --address 127.0.0.1 --port "$port" --db-dir-path "$dir/db" --dl-dir-path "$dir/crates" \
		--log-level warn >>"$WORK/crated.log" 2>&1 &
	CRATED_PID=$!
	PIDS+=("$CRATED_PID")
	for _ in $(seq 6000); do
		if curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$port/readyz"; then
			t1=$(date +%s%N)
			STARTUP_MS=$(((t1 - t0) / 1000000))
			return 0
		fi
		kill -0 "$CRATED_PID" 2>/dev/null || { log "crated exited; see $WORK/crated.log"; tail -20 "$WORK/crated.log" >&2; exit 1; }
		sleep 0.005
	done
	log "crated did not become ready in 60 s"
	exit 1
}

stop_pid() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	forget_pid "$1"
}

# start_nginx ROOT PORT [SERVER_FILE]: a private nginx serving ROOT the way
# crated serves the same paths (content types, ETag, Cache-Control), sets
# NGINX_PID. With SERVER_FILE (what `crated nginx-config` printed, listening
# on PORT) nginx runs that file instead of the plain root.
start_nginx() {
	local root=$1 port=$2 dir=$WORK/nginx-$2 server
	port_free "$port" || { log "port $port is taken: set BENCH_PORT"; exit 1; }
	mkdir -p "$dir/tmp"
	if [[ -n ${3:-} ]]; then
		server="include $3;"
	else
		server="server {
		listen 127.0.0.1:$port;
		root $root;
		location /index/ {
			default_type \"text/plain\";
			charset utf-8;
			add_header Cache-Control \"no-cache\";
		}
		location /api/ {
			default_type application/x-tar;
			add_header Cache-Control \"public, max-age=31536000, immutable\";
			add_header Content-Disposition \"attachment\";
		}
	}"
	fi
	cat >"$dir/nginx.conf" <<EOF
# One worker per core, as crated uses both cores (GOMAXPROCS=2).
worker_processes $NGINX_WORKERS;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	# Go's server keeps a connection for any number of requests; nginx's
	# default of 1000 would make wrk reconnect and penalize nginx.
	keepalive_requests 1000000;
	keepalive_timeout 120s;
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	$server
}
EOF
	"$NGINX" -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log" &
	NGINX_PID=$!
	PIDS+=("$NGINX_PID")
	for _ in $(seq 500); do
		curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" && return 0
		kill -0 "$NGINX_PID" 2>/dev/null || { log "nginx exited"; cat "$dir/error.log" >&2; exit 1; }
		sleep 0.01
	done
	log "nginx did not start"
	exit 1
}

# start_gostatic ROOT PORT: Go's net/http serving ROOT as nginx does, sets
# GOSTATIC_PID.
start_gostatic() {
	port_free "$2" || { log "port $2 is taken: set BENCH_PORT"; exit 1; }
	"$GOSTATIC" -addr "127.0.0.1:$2" -root "$1" 2>>"$WORK/gostatic.log" &
	GOSTATIC_PID=$!
	PIDS+=("$GOSTATIC_PID")
	for _ in $(seq 500); do
		curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$2/" && return 0
		sleep 0.01
	done
	log "gostatic did not start"
	exit 1
}

# wrk_run URL [LUA] [HEADER]: prints "req/s p99_ms errors requests" (errors:
# socket errors and answers other than 2xx or 3xx).
wrk_run() {
	local url=$1 script=${2:-} header=${3:-} out args=(-t2 -c"$CONNS" -d"$DURATION" --latency)
	[[ -n $script ]] && args+=(-s "$script")
	[[ -n $header ]] && args+=(-H "$header")
	out=$(wrk "${args[@]}" "$url")
	printf '%s\n' "$out" >>"$WORK/wrk.log"
	printf '%s\n' "$out" | awk '
		function toms(v) {
			if (v ~ /us$/) return substr(v, 1, length(v)-2) / 1000
			if (v ~ /ms$/) return substr(v, 1, length(v)-2) + 0
			if (v ~ /s$/) return substr(v, 1, length(v)-1) * 1000
			return v
		}
		$1 == "99%" { p99 = toms($2) }
		/^Requests\/sec:/ { rps = $2 }
		/ requests in / { n = $1 }
		/Non-2xx or 3xx responses:/ { errs += $NF }
		/Socket errors:/ { for (i = 4; i <= NF; i += 2) errs += $i + 0 }
		END { printf "%.0f %.2f %d %d\n", rps, p99, errs, n }'
}

# cpu_ticks PID: CPU time (user + system, clock ticks) of PID and its
# children (nginx's workers).
cpu_ticks() {
	local p t=0
	for p in "$1" $(ps -o pid= --ppid "$1"); do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}

# alternate NAME TARGET...: runs wrk against each TARGET in turn, ROUNDS
# times, so that the machine's load drifts over all of them alike. A TARGET
# is "LABEL|URL|LUA|HEADER|PID" (LUA, HEADER and PID may be empty). Sets
# RPS[LABEL] (mean req/s over the rounds), P99[LABEL] (the median round's
# p99, ms), ERRS (failed requests of all targets) and, for a target with a
# PID, CPU[LABEL]: the server's CPU time per request in µs over all rounds,
# which the other processes on a shared machine move far less than req/s.
declare -A RPS P99 CPU
ERRS=0
alternate() {
	local name=$1 t r label url lua header pid rps p99 e n c0 line
	shift
	local -A sum=() p99s=() ticks=() reqs=()
	local hz
	hz=$(getconf CLK_TCK)
	ERRS=0
	for r in $(seq "$ROUNDS"); do
		line="$name round $r:"
		for t in "$@"; do
			IFS='|' read -r label url lua header pid <<<"$t"
			[[ -n $pid ]] && c0=$(cpu_ticks "$pid")
			read -r rps p99 e n <<<"$(wrk_run "$url" "$lua" "$header")"
			if [[ -n $pid ]]; then
				ticks[$label]=$((${ticks[$label]:-0} + $(cpu_ticks "$pid") - c0))
				reqs[$label]=$((${reqs[$label]:-0} + n))
			fi
			sum[$label]=$((${sum[$label]:-0} + rps))
			p99s[$label]+=" $p99"
			ERRS=$((ERRS + e))
			line+=" $label $rps req/s p99 ${p99}ms |"
		done
		log "$line"
		echo "$line" >>"$WORK/rounds.txt"
	done
	for t in "$@"; do
		label=${t%%|*}
		RPS[$label]=$((sum[$label] / ROUNDS))
		# shellcheck disable=SC2086 # one number a word
		P99[$label]=$(median ${p99s[$label]})
		CPU[$label]=""
		if ((${reqs[$label]:-0} > 0)); then
			CPU[$label]=$(awk -v t="${ticks[$label]}" -v hz="$hz" -v n="${reqs[$label]}" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
		fi
	done
}

# compare NAME PATH GOAL [LUA]: alternates crated, nginx and gostatic on
# PATH, ROUNDS times, and adds a row to the table.
compare() {
	local name=$1 path=$2 goal=$3 script=${4:-}
	alternate "$name" "crated|http://127.0.0.1:$CRATED_PORT$path|$script|" "nginx|http://127.0.0.1:$NGINX_PORT$path|$script|" \
		"gostatic|http://127.0.0.1:$GOSTATIC_PORT$path|$script|"
	awk -v name="$name" -v c="${RPS[crated]}" -v n="${RPS[nginx]}" -v g="${RPS[gostatic]}" -v cp="${P99[crated]}" \
		-v np="${P99[nginx]}" -v gp="${P99[gostatic]}" -v goal="$goal" -v e="$ERRS" 'BEGIN {
		ratio = c / g
		printf "%-27s %8.0f %8.0f %8.0f %6.2f %6.2f %8.1f %8.1f %8.1f  >= %-4s %s%s\n", name, c, n, g, c / n, ratio, cp, np, gp, goal,
			(ratio >= goal ? "met" : "MISSED"), (e > 0 ? sprintf("  (%d failed requests)", e) : "")
	}' | tee -a "$SUMMARY"
}

# random_lua PATHS OUT: a wrk script that GETs a random path of the file
# PATHS (one a line) for every request.
random_lua() {
	cat >"$2" <<EOF
local paths = {}
for line in io.lines("$1") do paths[#paths + 1] = line end
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
request = function()
	return wrk.format("GET", paths[math.random(#paths)])
end
EOF
}

# median of numbers (the lower middle one for an even count).
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

# ---- 1. throughput vs nginx ----
throughput() {
	local data=$WORK/small paths=$WORK/small-paths root=$WORK/nginx-root
	log "seeding 1000 crates x 10 versions with real .crate files"
	"$SEED" -quiet -db-dir-path "$data/db" -dl-dir-path "$data/crates" -crates 1000 -versions 10 -paths "$paths" >&2
	# Seeded .crate files are small (~2 KB); add one of the typical real size.
	"$SEED" -quiet -db-dir-path "$data/db" -dl-dir-path "$data/crates" -first 1000 -crates 1 -versions 1 \
		-code-bytes 112640 -paths "$WORK/large-path" >&2
	# And a larger one (~71 KB), where the cost of sendfile against a write
	# from memory shows most.
	"$SEED" -quiet -db-dir-path "$data/db" -dl-dir-path "$data/crates" -first 1001 -crates 1 -versions 1 \
		-code-bytes 409600 -paths "$WORK/huge-path" >&2
	start_crated "$data" "$CRATED_PORT"
	local base=http://127.0.0.1:$CRATED_PORT nbase=http://127.0.0.1:$NGINX_PORT
	# One hot index file and one .crate, taken from crated itself so that
	# nginx serves byte for byte what crated serves.
	local index_path name dl_path large huge
	index_path=$(sed -n 500p "$paths")
	name=${index_path##*/}
	dl_path=/api/v1/crates/$name/0.1.0/download
	large=$(head -1 "$WORK/large-path")
	large=/api/v1/crates/${large##*/}/0.1.0/download
	huge=$(head -1 "$WORK/huge-path")
	huge=/api/v1/crates/${huge##*/}/0.1.0/download
	log "copying crated's answers into nginx's root"
	"$LOAD" mirror -base "$base" -out "$root" -urls "$paths" "$dl_path" "$large" "$huge" >&2
	start_nginx "$root" "$NGINX_PORT"
	start_gostatic "$root" "$GOSTATIC_PORT"
	local p
	for p in "$index_path" "$dl_path" "$large" "$huge"; do
		cmp <(curl -s "$base$p") <(curl -s "$nbase$p")
		cmp <(curl -s "$base$p") <(curl -s "http://127.0.0.1:$GOSTATIC_PORT$p")
	done
	# wrk picks a random index file of the 1000 for every request.
	random_lua "$paths" "$WORK/random.lua"
	# Warm them up (connections, page cache, crated's index cache).
	for p in "$CRATED_PORT" "$NGINX_PORT" "$GOSTATIC_PORT"; do
		wrk -t2 -c"$CONNS" -d3s -s "$WORK/random.lua" "http://127.0.0.1:$p" >/dev/null
	done

	say ""
	say "Throughput: wrk -t2 -c$CONNS -d$DURATION, $ROUNDS rounds alternating crated / nginx ($NGINX_WORKERS workers) / gostatic (Go net/http static files)"
	say "index file: $(curl -s "$base$index_path" | wc -c) bytes (10 versions); .crate files: $(curl -s "$base$dl_path" | wc -c), $(curl -s "$base$large" | wc -c) and $(curl -s "$base$huge" | wc -c) bytes"
	say "$(printf '%-27s %8s %8s %8s %6s %6s %8s %8s %8s  %s' 'req/s, p99 ms' crated nginx gostatic c/n c/g 'c p99' 'n p99' 'g p99' 'goal (c/g)')"
	compare "index file (one, hot)" "$index_path" 1.0
	compare "index files (1000, random)" "" 1.0 "$WORK/random.lua"
	compare ".crate download (2 KB)" "$dl_path" 1.0
	compare ".crate download (21 KB)" "$large" 1.0
	compare ".crate download (71 KB)" "$huge" 1.0
	say "(req/s are means over the rounds, ratios of the sums; p99 the median round's; c/n = crated/nginx, c/g = crated/gostatic)"
	stop_pid "$GOSTATIC_PID"
	stop_pid "$NGINX_PID"
	stop_pid "$CRATED_PID"
}

# ---- 1b. static files through `crated nginx-config` ----
# crated publishes its read side to server_config.static_dir; the nginx that
# `crated nginx-config` configures serves it. Four servers in every round:
# that nginx ("via"), a plain nginx with the same tree as its root, crated
# alone, gostatic over the same tree. Same bytes everywhere (checked).
# header_names URL: the sorted header names of a GET, minus the ones every
# answer differs in (Date).
header_names() {
	curl -s -D - -o /dev/null "$1" | tr -d '\r' | awk -F: 'NR > 1 && NF > 1 { print tolower($1) }' | grep -vx date | sort | tr '\n' ' '
}
etag_of() { curl -s -D - -o /dev/null "$1" | tr -d '\r' | awk 'tolower($1) == "etag:" { print $2 }'; }

static_files() {
	local data=$WORK/static tree=$WORK/static-tree paths=$WORK/static-paths conf=$WORK/static.toml
	local via_port=$((PORT + 3))
	log "seeding 1000 crates x 10 versions with real .crate files, and one of 21 KB"
	"$SEED" -quiet -db-dir-path "$data/db" -dl-dir-path "$data/crates" -crates 1000 -versions 10 -paths "$paths" >&2
	"$SEED" -quiet -db-dir-path "$data/db" -dl-dir-path "$data/crates" -first 1000 -crates 1 -versions 1 \
		-code-bytes 112640 -paths "$WORK/static-large-path" >&2
	mkdir -p "$tree"
	cat >"$conf" <<EOF
[server_config]
address = "127.0.0.1"
port = $CRATED_PORT
static_dir = "$tree"
EOF
	# crated brings the tree up to date with the store before /readyz.
	start_crated "$data" "$CRATED_PORT" "$conf"
	mkdir -p "$WORK/nginx-$via_port"
	"$CRATED" nginx-config -c "$conf" --listen "127.0.0.1:$via_port" \
		--access-log "$WORK/nginx-$via_port/downloads.log" >"$WORK/nginx-config.conf"
	start_nginx "$tree" "$via_port" "$WORK/nginx-config.conf"
	local via_pid=$NGINX_PID
	start_nginx "$tree" "$NGINX_PORT"
	local -A pid=([via]=$via_pid [nginx]=$NGINX_PID [crated]=$CRATED_PID)
	start_gostatic "$tree" "$GOSTATIC_PORT"
	pid[gostatic]=$GOSTATIC_PID
	local via=http://127.0.0.1:$via_port nginx=http://127.0.0.1:$NGINX_PORT crated=http://127.0.0.1:$CRATED_PORT
	local gostatic=http://127.0.0.1:$GOSTATIC_PORT
	local index_path name crate_path p b
	index_path=$(sed -n 500p "$paths")
	crate_path=$(head -1 "$WORK/static-large-path")
	crate_path=/api/v1/crates/${crate_path##*/}/0.1.0/download
	for p in "$index_path" "$crate_path"; do
		for b in "$via" "$nginx" "$gostatic"; do
			cmp <(curl -sf "$crated$p") <(curl -sf "$b$p") || { log "$b$p differs from crated's answer"; exit 1; }
		done
	done
	random_lua "$paths" "$WORK/static-random.lua"
	for p in "$via_port" "$NGINX_PORT" "$CRATED_PORT" "$GOSTATIC_PORT"; do
		wrk -t2 -c"$CONNS" -d3s -s "$WORK/static-random.lua" "http://127.0.0.1:$p" >/dev/null
	done
	# Revalidations: If-None-Match with the ETag each server gave.
	local -A inm=()
	for b in via nginx crated gostatic; do
		inm[$b]="If-None-Match: $(etag_of "${!b}$index_path")"
		[[ $(curl -s -o /dev/null -w '%{http_code}' -H "${inm[$b]}" "${!b}$index_path") == 304 ]] ||
			{ log "$b does not answer ${inm[$b]} with 304"; exit 1; }
	done

	say ""
	say "Static files: nginx configured by \`crated nginx-config\` (via) against a plain nginx root (nginx) over the same tree"
	say "(server_config.static_dir), crated alone and gostatic over that tree; wrk -t2 -c$CONNS -d$DURATION, $ROUNDS rounds alternating the four"
	say "index file: $(curl -s "$crated$index_path" | wc -c) bytes; .crate: $(curl -s "$crated$crate_path" | wc -c) bytes"
	for p in "$index_path" "$crate_path"; do
		for b in via nginx crated gostatic; do
			say "  headers $b ${p%%/[0-9]*}...: $(header_names "${!b}$p")"
		done
	done
	say "$(printf '%-26s %8s %8s %8s %8s %6s %6s %6s %7s %7s %7s %7s  %s' 'req/s, p99 ms' via nginx crated gostatic v/n c/n c/g 'v p99' 'n p99' 'c p99' 'g p99' 'goal (v/n)')"
	static_row() { # NAME LUA PATH [inm: revalidate]
		local name=$1 lua=$2 path=$3 hdr=$4 targets=() b h
		for b in via nginx crated gostatic; do
			h=""
			[[ -n $hdr ]] && h=${inm[$b]}
			targets+=("$b|${!b}$path|$lua|$h|${pid[$b]}")
		done
		alternate "$name" "${targets[@]}"
		awk -v name="$name" -v v="${RPS[via]}" -v n="${RPS[nginx]}" -v c="${RPS[crated]}" -v g="${RPS[gostatic]}" \
			-v vp="${P99[via]}" -v np="${P99[nginx]}" -v cp="${P99[crated]}" -v gp="${P99[gostatic]}" -v e="$ERRS" 'BEGIN {
			printf "%-26s %8.0f %8.0f %8.0f %8.0f %6.2f %6.2f %6.2f %7.1f %7.1f %7.1f %7.1f  >= 0.95 %s%s\n", name, v, n, c, g, v / n, c / n, c / g,
				vp, np, cp, gp, (v / n >= 0.95 ? "met" : "MISSED"), (e > 0 ? sprintf("  (%d failed requests)", e) : "")
		}' | tee -a "$SUMMARY"
		# Server CPU per request: nginx's are its workers'.
		awk -v v="${CPU[via]}" -v n="${CPU[nginx]}" -v c="${CPU[crated]}" -v g="${CPU[gostatic]}" 'BEGIN {
			printf "%-26s %8.1f %8.1f %8.1f %8.1f %6.2f %6.2f %6.2f  (ratios by CPU: the second server'"'"'s CPU / the first'"'"'s)\n", "  server CPU us/request", v, n, c, g, n / v, n / c, g / c
		}' | tee -a "$SUMMARY"
	}
	static_row "index file (one, hot)" "" "$index_path" ""
	static_row "index files (1000, random)" "$WORK/static-random.lua" "" ""
	static_row ".crate download (21 KB)" "" "$crate_path" ""
	static_row "index file 304" "" "$index_path" inm
	say "(req/s: means over the rounds; p99: the median round's; v/n = via/nginx, c/n = crated/nginx, c/g = crated/gostatic;"
	say " 304: If-None-Match with each server's own ETag, every answer a 304 without a body)"
	say "downloads logged by the via nginx: $(wc -l <"$WORK/nginx-$via_port/downloads.log") lines"
	stop_pid "$GOSTATIC_PID"
	stop_pid "$NGINX_PID"
	stop_pid "$via_pid"
	stop_pid "$CRATED_PID"
}

# ---- 2. publishes ----
publish() {
	# Alternating rounds: a run with every derived copy on (the git index,
	# a commit per batch of publishes, and the static tree,
	# server_config.static_dir) after each plain run, so that both see the
	# same disk and the same neighbours.
	local r mode
	for r in $(seq "$PUBLISH_ROUNDS"); do
		for mode in plain derived; do
			publish_run "$mode" "$r"
		done
	done
	# The runs' files go only now: on a file system without a journal (as
	# here), ext4 passes over the inodes freed in the last few seconds to
	# minutes when it allocates new ones, so deleting a run's 9000 files and
	# directories right before the next run made that run's mkdir and
	# create calls several times dearer (17 % of the server's CPU instead
	# of 7 %).
	rm -rf "$WORK"/publish-plain-* "$WORK"/publish-derived-*
	say ""
	for mode in plain derived; do
		awk -v mode="$mode" -v rps="${PUBLISH_RPS[$mode]}" -v p99="${PUBLISH_P99[$mode]}" 'BEGIN {
			n = split(rps, a, " "); split(p99, b, " ")
			for (i = 1; i <= n; i++) { s += a[i]; q += b[i] }
			printf "publish (%s), %d rounds: %.0f publishes/s (rounds:%s), p99 %.1f ms (mean of the rounds:%s)%s\n", mode, n, s / n, rps, q / n, p99,
				(mode == "plain" ? sprintf("; goal >= 1000/s with p99 < 20 ms: %s", (s / n >= 1000 && q / n < 20 ? "met" : "MISSED")) : "")
		}' | tee -a "$SUMMARY"
	done
	awk -v a="${PUBLISH_RPS[plain]}" -v b="${PUBLISH_RPS[derived]}" -v pa="${PUBLISH_P99[plain]}" -v pb="${PUBLISH_P99[derived]}" 'BEGIN {
		n = split(a, x, " "); split(b, y, " "); split(pa, u, " "); split(pb, v, " ")
		for (i = 1; i <= n; i++) { sa += x[i]; sb += y[i]; qa += u[i]; qb += v[i] }
		printf "with the git index and the static tree: %.2f x the publishes/s, %.2f x the p99 (goal: no worse than 1.5 x: %s)\n",
			sb / sa, qb / qa, (sa / sb <= 1.5 && qb / qa <= 1.5 ? "met" : "MISSED")
	}' | tee -a "$SUMMARY"
}

# publish_run plain|derived ROUND: one publish run on a fresh registry;
# appends to PUBLISH_RPS[mode] and PUBLISH_P99[mode].
publish_run() {
	local mode=$1 data=$WORK/publish-$1-$2 out conf=() kv
	log "publishing $PUBLISHES real-sized crates to a fresh crated ($mode, round $2)"
	if [[ $mode == derived ]]; then
		mkdir -p "$data"
		printf '[server_config]\nstatic_dir = "%s"\n\n[index_config]\nlocal_path = "%s"\n' "$data/static" "$data/index" >"$data/crated.toml"
		conf=("$data/crated.toml")
	fi
	# `crated user add` works on an existing registry only: the server
	# creates it.
	start_crated "$data" "$CRATED_PORT" "${conf[@]}"
	"$CRATED" user add --db-dir-path "$data/db" --dl-dir-path "$data/crates" bench >"$WORK/publish-token"
	local cpu0 cpu1
	cpu0=$(awk '{print $14, $15}' "/proc/$CRATED_PID/stat")
	out=$("$LOAD" publish -base "http://127.0.0.1:$CRATED_PORT" -token-file "$WORK/publish-token" \
		-n "$PUBLISHES" -warmup-n "$PUBLISH_WARMUP" -c "$PUBLISH_CONNS" -versions 3 -d 5m -format kv)
	cpu1=$(awk '{print $14, $15}' "/proc/$CRATED_PID/stat")
	stop_pid "$CRATED_PID"
	echo "$mode $out" >>"$WORK/publish.log"
	say ""
	say "Publish ($mode, round $2): $PUBLISHES crates of ~20 KB (.crate) over $((PUBLISHES / 3)) new crates x 3 versions, $PUBLISH_CONNS connections, fresh SQLite + files$([[ $mode == derived ]] && echo ", git index and static_dir on")"
	printf '%s\n' "$out" | awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "publishes/s %.1f, p99 %.1f ms; p50 %.1f ms, p90 %.1f ms; errors %d of %d\n",
			v["rps"], v["p99_ms"], v["p50_ms"], v["p90_ms"], v["errors"], v["requests"]
	}' | tee -a "$SUMMARY"
	# Where the CPU goes: the server's (clock ticks over the warm-up and the
	# run) and the client's own, per publish, and the rate at which they
	# would keep every core busy.
	printf '%s %s %s\n' "$cpu0" "$cpu1" "$out" | awk -v hz="$(getconf CLK_TCK)" -v n=$((PUBLISHES + PUBLISH_WARMUP)) -v cores="$(nproc)" '{
		for (i = 5; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		u = ($3 - $1) * 1000 / hz / n; s = ($4 - $2) * 1000 / hz / n
		printf "CPU per publish: server %.2f ms user + %.2f ms system, client %.2f ms; all %d cores busy with nothing else: at most %.0f publishes/s\n",
			u, s, v["client_cpu_ms"], cores, cores * 1000 / (u + s + v["client_cpu_ms"])
	}' | tee -a "$SUMMARY"
	for kv in $out; do
		case ${kv%%=*} in
		rps) PUBLISH_RPS[$mode]+=" ${kv#*=}" ;;
		p99_ms) PUBLISH_P99[$mode]+=" ${kv#*=}" ;;
		esac
	done
	say "data after the run: db $(du -sh "$data/db" | cut -f1), crates $(du -sh "$data/crates" | cut -f1)"
}

# ---- 3. scale ----
scale() {
	# The seeded set is reused while nothing that shapes it has changed.
	local key
	key=$(cat bench/seed/main.go bench/synth/synth.go sqlite/migration/*.sql | sha256sum | cut -c1-12)
	local data=$CACHE/${SCALE_CRATES}x${SCALE_VERSIONS}-$SCALE_BLOBS-$key
	if [[ ! -f $data/complete ]]; then
		log "seeding $SCALE_CRATES crates x $SCALE_VERSIONS versions into $data (cached for later runs)"
		rm -rf "$data"
		mkdir -p "$data"
		local t0=$SECONDS
		"$SEED" -db-dir-path "$data/db" -dl-dir-path "$data/crates" -crates "$SCALE_CRATES" \
			-versions "$SCALE_VERSIONS" -blobs "$SCALE_BLOBS" -paths "$data/paths" | tee "$data/seed.log" >&2
		echo "seconds=$((SECONDS - t0))" >>"$data/seed.log"
		touch "$data/complete"
	else
		log "reusing the seeded set in $data"
	fi
	chmod -R a+rX "$data" 2>/dev/null || true
	local base=http://127.0.0.1:$CRATED_PORT nbase=http://127.0.0.1:$NGINX_PORT
	say ""
	say "Scale: $SCALE_CRATES crates x $SCALE_VERSIONS versions ($(tail -2 "$data/seed.log" | head -1)); db $(du -sh "$data/db" | cut -f1)"

	# Start time, three times (the page cache is warm after the first).
	local starts=()
	for _ in 1 2 3; do
		start_crated "$data" "$CRATED_PORT"
		starts+=("$STARTUP_MS")
		stop_pid "$CRATED_PID"
	done
	local smax
	smax=$(printf '%s\n' "${starts[@]}" | sort -n | tail -1)
	say "start to /readyz 200: ${starts[*]} ms (goal < 2000: $( ((smax < 2000)) && echo met || echo MISSED))"

	start_crated "$data" "$CRATED_PORT"
	log "warming up: 200000 random index reads"
	"$LOAD" get -base "$base" -urls "$data/paths" -random -c 16 -n 200000 -d 3m -format kv >>"$WORK/scale.log"
	local rss hwm
	rss=$(awk '/^VmRSS:/ {print int($2 / 1024)}' "/proc/$CRATED_PID/status")
	hwm=$(awk '/^VmHWM:/ {print int($2 / 1024)}' "/proc/$CRATED_PID/status")
	say "resident memory after the warm-up: VmRSS $rss MB, peak VmHWM $hwm MB (goal < 300: $( ((hwm < 300)) && echo met || echo MISSED))"

	local cl rate ol=()
	cl=$("$LOAD" get -base "$base" -urls "$data/paths" -random -c 16 -d "$DURATION" -format kv)
	for rate in $SCALE_RATES; do
		ol+=("$("$LOAD" get -base "$base" -urls "$data/paths" -random -c 64 -rate "$rate" -d "$DURATION" -format kv)")
	done
	rss=$(awk '/^VmRSS:/ {print int($2 / 1024)}' "/proc/$CRATED_PID/status")
	hwm=$(awk '/^VmHWM:/ {print int($2 / 1024)}' "/proc/$CRATED_PID/status")
	stop_pid "$CRATED_PID"
	printf 'crated %s\n' "$cl" "${ol[@]}" >>"$WORK/scale.log"
	say "resident memory after the latency runs: VmRSS $rss MB, peak VmHWM $hwm MB"

	# Baseline: nginx serving the same 100k files, same client, same load.
	local ncl="" nol=()
	local nroot=$CACHE/nginx-root-${SCALE_CRATES}x${SCALE_VERSIONS}-$SCALE_BLOBS-$key
	if [[ ! -f $nroot.complete ]]; then
		log "copying the $SCALE_CRATES index files into nginx's root"
		start_crated "$data" "$CRATED_PORT"
		rm -rf "$nroot"
		"$LOAD" mirror -base "$base" -out "$nroot" -urls "$data/paths" -c 8 >&2
		stop_pid "$CRATED_PID"
		touch "$nroot.complete"
	fi
	chmod -R a+rX "$nroot"
	start_nginx "$nroot" "$NGINX_PORT"
	"$LOAD" get -base "$nbase" -urls "$data/paths" -random -c 16 -n 200000 -d 3m -format kv >/dev/null
	ncl=$("$LOAD" get -base "$nbase" -urls "$data/paths" -random -c 16 -d "$DURATION" -format kv)
	for rate in $SCALE_RATES; do
		nol+=("$("$LOAD" get -base "$nbase" -urls "$data/paths" -random -c 64 -rate "$rate" -d "$DURATION" -format kv)")
	done
	stop_pid "$NGINX_PID"
	printf 'nginx %s\n' "$ncl" "${nol[@]}" >>"$WORK/scale.log"

	say "index reads of random crates among $SCALE_CRATES (bench/load get -random):"
	say "$(printf '%-34s %12s %12s %7s %10s %10s' load 'crated req/s' 'nginx req/s' ratio 'crated p99' 'nginx p99')"
	row() {
		awk -v name="$1" -v c="$2" -v n="$3" 'BEGIN {
			split(c, a, " "); for (i in a) { split(a[i], kv, "="); C[kv[1]] = kv[2] }
			split(n, b, " "); for (i in b) { split(b[i], kv, "="); N[kv[1]] = kv[2] }
			printf "%-34s %12.0f %12.0f %7.2f %10.2f %10.2f   p99 goal < 5 ms: %s%s\n", name, C["rps"], N["rps"], C["rps"] / N["rps"], C["p99_ms"], N["p99_ms"],
				(C["p99_ms"] < 5 ? "met" : "MISSED"), (C["errors"] + N["errors"] > 0 ? sprintf("  (errors: crated %d, nginx %d)", C["errors"], N["errors"]) : "")
		}'
	}
	row "closed loop, 16 connections" "$cl" "$ncl" | tee -a "$SUMMARY"
	local i=0
	for rate in $SCALE_RATES; do
		row "open loop, $rate req/s" "${ol[$i]}" "${nol[$i]}" | tee -a "$SUMMARY"
		i=$((i + 1))
	done
}

ensure_tools
build
say "crated benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
say "machine: $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
say "$(go version | cut -d' ' -f3), $("$NGINX" -v 2>&1 | cut -d' ' -f3), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
has_part throughput && throughput
has_part static && static_files
has_part publish && publish
has_part scale && scale
say ""
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); logs and raw results in $WORK"
