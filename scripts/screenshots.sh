#!/usr/bin/env bash
# Screenshots of the browser pages, for a person to look at: starts crated
# on a free local port with a few crates published and downloaded by stock
# cargo, then has headless Chromium (Debian's `chromium` package) capture
# the home page, a crate page, a user page, the /me login form, the /me
# token page, a search and a 404, each in light and dark mode.
#
#   scripts/screenshots.sh [OUTDIR]    default: ./screenshots (not committed)
#
# Needs go, cargo, curl and chromium. Everything else lives in a temporary
# directory removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-screenshots}")
mkdir -p "$out"
for tool in go cargo curl chromium; do
	command -v "$tool" >/dev/null || { echo "screenshots.sh: $tool is not installed" >&2; exit 1; }
done

work=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/crated" ./cmd/crated
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
cat >"$work/crated.toml" <<EOF
[server_config]
address = "127.0.0.1"
port = $port
base_url = "$base"
registry_name = "acme"
[db_config]
db_dir_path = "$work/db"
[crate_files_config]
dl_dir_path = "$work/crates"
EOF
cfg="$work/crated.toml"

"$work/crated" serve -c "$cfg" >"$work/crated.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	curl -fsS "$base/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
alice=$(echo "alice-password-123" | "$work/crated" user add alice --password-stdin -c "$cfg")
bob=$("$work/crated" user add bob -c "$cfg" </dev/null)

export CARGO_HOME="$work/cargo"
mkdir -p "$CARGO_HOME"
cat >"$CARGO_HOME/config.toml" <<EOF
[registries.acme]
index = "sparse+$base/index/"
[net]
retry = 0
[term]
progress.when = "never"
EOF

# crate NAME VERSION DESCRIPTION [DEPENDENCY LINES] writes a package.
crate() {
	local dir="$work/src/$1-$2"
	mkdir -p "$dir/src"
	cat >"$dir/Cargo.toml" <<EOF
[package]
name = "$1"
version = "$2"
edition = "2021"
description = "$3"
license = "MIT OR Apache-2.0"
keywords = ["example", "$1"]
repository = "https://git.example.com/acme/$1"
readme = "README.md"

[dependencies]
${4:-}
EOF
	echo 'pub fn hello() -> u32 { 1 }' >"$dir/src/lib.rs"
	printf '# %s\n\n%s\n\n```rust\nlet n = %s::hello();\n```\n\n| Feature | Default |\n|---|---|\n| `std` | yes |\n' \
		"$1" "$3" "${1//-/_}" >"$dir/README.md"
	echo "$dir"
}
publish() { cargo publish -q --registry acme --allow-dirty --no-verify --token "$1" --manifest-path "$2/Cargo.toml"; }

publish "$alice" "$(crate tinyjson 0.1.0 'A small JSON parser for configuration files')"
publish "$alice" "$(crate tinyjson 0.2.0 'A small JSON parser for configuration files')"
publish "$bob" "$(crate acme-log 1.0.0 'Structured logging for acme services')"
publish "$alice" "$(crate acme-http 0.3.1 'HTTP client with retries and deadlines' \
	'tinyjson = { version = "0.2", registry = "acme" }
acme-log = { version = "1", registry = "acme" }')"
publish "$bob" "$(crate acme-log 1.1.0 'Structured logging for acme services')"

# Downloads: a consumer of acme-http fetches it, tinyjson 0.2 and acme-log;
# a second cargo home fetches tinyjson 0.1 twice over.
consumer() {
	local dir="$work/consumer-$1"
	mkdir -p "$dir/src"
	printf '[package]\nname = "consumer"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n[dependencies]\n%s\n' "$2" >"$dir/Cargo.toml"
	echo 'fn main() {}' >"$dir/src/main.rs"
	cargo fetch -q --manifest-path "$dir/Cargo.toml"
}
consumer a 'acme-http = { version = "0.3", registry = "acme" }'
for i in 1 2; do
	CARGO_HOME_SAVED=$CARGO_HOME
	export CARGO_HOME="$work/cargo-$i"
	mkdir -p "$CARGO_HOME" && cp "$CARGO_HOME_SAVED/config.toml" "$CARGO_HOME/"
	consumer "b$i" 'tinyjson = { version = "=0.1.0", registry = "acme" }'
	export CARGO_HOME=$CARGO_HOME_SAVED
done

# Download counts are flushed in batches: a restart writes them now.
kill "$pid"; wait "$pid" 2>/dev/null || true
"$work/crated" serve -c "$cfg" >>"$work/crated.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	curl -fsS "$base/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done

# The token page is the answer to a POST: fetch it with curl and show the
# saved page with a <base> so that it loads the server's stylesheet.
curl -fsS -X POST --data-urlencode name=alice --data-urlencode password=alice-password-123 "$base/me" |
	sed "s|<head>|<head><base href=\"$base/\">|" >"$work/token.html"

shot() { # NAME URL MODE
	local flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1400)
	if [ "$3" = dark ]; then
		flags+=(--force-dark-mode --blink-settings=preferredColorScheme=0)
	else
		flags+=(--blink-settings=preferredColorScheme=1)
	fi
	chromium "${flags[@]}" --user-data-dir="$work/chromium" --screenshot="$out/$1-$3.png" "$2" >/dev/null 2>&1
}
for mode in light dark; do
	shot home "$base/" "$mode"
	shot crate "$base/crates/acme-http" "$mode"
	shot crate-versions "$base/crates/tinyjson#tab-versions" "$mode"
	shot user "$base/users/alice" "$mode"
	shot search "$base/search?q=acme" "$mode"
	shot me "$base/me" "$mode"
	shot me-token "file://$work/token.html" "$mode"
	shot notfound "$base/no/such/page" "$mode"
done
echo "screenshots in $out:"
ls "$out"
