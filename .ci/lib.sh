# Shared by .ci/start, .ci/test and .ci/run: installs the pinned tools
# Switchyard builds with, each only when it is missing, and sets up PATH.
# Sourced, not run.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${SWITCHYARD_CACHE_DIR:-$HOME/.cache/switchyard}"
# One target directory outside the clone, so every clone and CI run on this
# machine reuses the same compiled dependencies.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE_DIR/target}"
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen crate in Cargo.lock
BINARYEN_VERSION=132.0.0       # npm package shipping a wasm-opt new enough for Rust 1.95

BINARYEN_DIR="$CACHE_DIR/tools/binaryen-$BINARYEN_VERSION"
export PATH="$BINARYEN_DIR/node_modules/.bin:$PATH"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf '\n\033[31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }

ensure_wasm_target() {
  if rustup target list --installed | grep -qx wasm32-unknown-unknown; then return; fi
  step "Adding the wasm32-unknown-unknown Rust target"
  rustup target add wasm32-unknown-unknown
}

ensure_cargo_leptos() {
  if cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION\$"; then return; fi
  step "Installing cargo-leptos $CARGO_LEPTOS_VERSION (about 20 minutes on 2 cores, once)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads --force
}

ensure_wasm_bindgen() {
  if wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then return; fi
  step "Installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: one dependency version in its lock file is gone from the registry.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
}

ensure_wasm_opt() {
  if [ -x "$BINARYEN_DIR/node_modules/.bin/wasm-opt" ]; then return; fi
  step "Installing wasm-opt (npm binaryen@$BINARYEN_VERSION)"
  mkdir -p "$BINARYEN_DIR"
  npm install --prefix "$BINARYEN_DIR" --no-audit --no-fund --loglevel=error "binaryen@$BINARYEN_VERSION"
}

ensure_build_tools() {
  command -v cargo >/dev/null || fail "cargo not found: install Rust 1.95 with rustup first"
  command -v npm >/dev/null || fail "npm not found: install Node.js 20 or newer first"
  ensure_wasm_target
  ensure_cargo_leptos
  ensure_wasm_bindgen
  ensure_wasm_opt
}

# Builds the server binary and the site (WASM, JS, CSS, assets) in release mode.
build_release() {
  step "Building Switchyard (release)"
  (cd "$REPO_ROOT" && cargo leptos build --release)
}

SERVER_BIN="$CARGO_TARGET_DIR/release/server"
SITE_ROOT="$REPO_ROOT/target/site"

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return; fi
  step "Installing Debian's chromium for the browser tests"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
}

ensure_node_modules() {
  local dir="$REPO_ROOT/end2end" stamp
  stamp="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$dir/node_modules/.switchyard-lock" ] && [ "$(cat "$dir/node_modules/.switchyard-lock")" = "$stamp" ]; then
    return
  fi
  step "Installing the browser-test packages (npm ci)"
  # Playwright must never fetch a browser: the tests use Debian's chromium.
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  echo "$stamp" >"$dir/node_modules/.switchyard-lock"
}

postgres_reachable() {
  (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
}

# Sets POSTGRES_TESTS to "run" or "skip". In CI Postgres is mandatory:
# start it if it is down, and fail if it still does not answer.
check_postgres() {
  if postgres_reachable; then POSTGRES_TESTS=run; return; fi
  if [ "${CI:-}" = "true" ]; then
    step "Postgres is down; starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
    for _ in $(seq 1 30); do
      if postgres_reachable; then POSTGRES_TESTS=run; return; fi
      sleep 1
    done
    fail "Postgres at 127.0.0.1:5432 is not reachable; the Postgres tests must run in CI"
  fi
  POSTGRES_TESTS=skip
  printf '\n\033[33mPostgres at 127.0.0.1:5432 is not reachable: the Postgres integration tests will be SKIPPED.\033[0m\n'
}
