#!/usr/bin/env bash
# postgres.sh makes sure a PostgreSQL server is reachable for the tests and
# prints the line that tells them where:
#
#   eval "$(bash .ci/tools/postgres.sh start)"   -> export CRATED_TEST_POSTGRES_URL=...
#   bash .ci/tools/postgres.sh stop              stops a throwaway cluster it started
#
# Order: a server already answering on 127.0.0.1:5432 (this machine kind
# starts one); else the Debian cluster, started; else Debian's postgresql
# package is installed and a throwaway cluster runs on a free port.
set -euo pipefail

tools=${CRATED_TOOLS:-$HOME/.cache/crated-tools}
state=$tools/postgres
log() { echo "postgres.sh: $*" >&2; }

ready() { pg_isready -q -h 127.0.0.1 -p "$1" 2>/dev/null; }

start() {
	if command -v pg_isready >/dev/null && ready 5432; then
		echo "export CRATED_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
		return
	fi
	if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
		ver=$(ls /etc/postgresql | sort -n | tail -1)
		log "starting the Debian cluster $ver/main"
		pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || true
		for _ in $(seq 1 30); do ready 5432 && break; sleep 0.5; done
		if ready 5432; then
			echo "export CRATED_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
			return
		fi
	fi
	bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
	if [ -z "$bindir" ]; then
		log "installing PostgreSQL from Debian's packages"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >&2
		apt-get install -y -qq postgresql >&2
		bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
	fi
	port=55432
	if ready "$port"; then
		echo "export CRATED_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
		return
	fi
	log "starting a throwaway cluster on port $port"
	rm -rf "$state" && mkdir -p "$state"
	chown postgres "$state" 2>/dev/null || true
	as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
	as_pg "$bindir/initdb -D $state/data -A trust -U postgres" >&2
	as_pg "$bindir/pg_ctl -D $state/data -l $state/log -o '-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200' -w start" >&2
	echo "export CRATED_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
}

stop() {
	if [ -d "$state/data" ]; then
		bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
		su postgres -s /bin/sh -c "$bindir/pg_ctl -D $state/data -m fast stop" >&2 || true
	fi
}

case ${1:-start} in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
