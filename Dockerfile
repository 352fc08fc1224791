# Switchyard: the release server and its site in one image.
#
#   docker build -t switchyard .
#   docker run -p 3000:3000 -e SWITCHYARD_PUBLIC_URL=http://localhost:3000 switchyard
#
# The first build installs the pinned build tools (cargo-leptos alone takes
# about 20 minutes on 2 cores) in a layer of its own, which later builds
# reuse as long as .ci/lib.sh does not change. Running it: docs/deploy.md.

# ---- build ----------------------------------------------------------------
FROM rust:1.95-bookworm AS build

# npm installs wasm-opt (npm's binaryen), which runs on Node.js 20 or newer
# (README.md); Debian bookworm's own nodejs is 18, so Node.js comes from
# the official image, laid out as that image lays it out.
COPY --from=node:20-bookworm-slim /usr/local/bin/node /usr/local/bin/node
COPY --from=node:20-bookworm-slim /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version

# Known paths: the server binary lands in $CARGO_TARGET_DIR/release/server,
# the site in /src/target/site.
ENV CARGO_TARGET_DIR=/build/target
WORKDIR /src

# The tools first, with .ci/lib.sh's own install steps (wasm32 target,
# cargo-leptos, wasm-bindgen-cli, wasm-opt), so that a source change does
# not install them again. `cargo install` compiles in CARGO_TARGET_DIR:
# a throw-away one here, so the layer keeps only the tools.
COPY .ci/lib.sh .ci/lib.sh
RUN CARGO_TARGET_DIR=/tmp/tools-target bash -c 'source .ci/lib.sh && ensure_build_tools' \
 && rm -rf /tmp/tools-target

# Then the release build, with .ci/lib.sh's own build step
# (`cargo leptos build --release`).
COPY . .
RUN bash -c 'source .ci/lib.sh && ensure_build_tools && build_release' \
 && test -x /build/target/release/server \
 && test -d /src/target/site/pkg

# ---- runtime --------------------------------------------------------------
FROM debian:bookworm-slim

# ca-certificates: TLS to providers and Postgres; curl: the health check.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 switchyard \
 && useradd --system --uid 10001 --gid switchyard --home-dir /var/lib/switchyard \
      --no-create-home --shell /usr/sbin/nologin switchyard \
 && install -d -o switchyard -g switchyard -m 0700 /var/lib/switchyard

COPY --from=build /build/target/release/server /usr/local/bin/switchyard
COPY --from=build /src/target/site /srv/switchyard/site

ENV LEPTOS_SITE_ROOT=/srv/switchyard/site \
    SWITCHYARD_BIND=0.0.0.0:3000 \
    SWITCHYARD_DATA_DIR=/var/lib/switchyard

# The embedded SQLite database and the generated secret key live here
# unless DATABASE_URL and SWITCHYARD_SECRET_KEY are set.
VOLUME /var/lib/switchyard
WORKDIR /var/lib/switchyard
EXPOSE 3000

# 200 only while the database is reachable. The port is read from
# SWITCHYARD_BIND, so changing it keeps the check working.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${SWITCHYARD_BIND##*:}/health/ready" || exit 1

# SIGTERM: in-flight requests and steps get SWITCHYARD_SHUTDOWN_TIMEOUT
# seconds (default 30). Docker waits only 10 s by default before SIGKILL:
# give `docker stop -t 45` / `stop_grace_period: 45s`.
STOPSIGNAL SIGTERM
# Numeric, so that runtimes which insist on a non-root user (Kubernetes
# runAsNonRoot) can tell.
USER 10001:10001

# Arguments go to the server: `docker run … switchyard --help`,
# `docker run … switchyard rotate-key`.
ENTRYPOINT ["/usr/local/bin/switchyard"]
