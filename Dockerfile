# idp-canary container image: Node.js 24 (the runtime the test suite also runs on), built
# from the package `npm pack` makes (compiled JavaScript only), with production
# dependencies only, non-root, and happy with a read-only root filesystem (the daemon
# writes nothing; /tmp is the only place a `state.file` may go, mount an emptyDir or
# tmpfs there).
#
#   docker build -t idp-canary:0.1.0 .
#   docker run --rm -p 9741:9741 --read-only --tmpfs /tmp \
#     -v "$PWD/config.yaml:/etc/idp-canary/config.yaml:ro" idp-canary:0.1.0
#
# Both stages use the same base, pinned by full version (bump both together).

# --- build: install everything, then npm pack (its prepare script compiles src/ to dist/) ---
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No scripts yet: `prepare` builds, and the sources are not here until the next COPY.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json README.md ./
COPY scripts/build.mjs scripts/pack-lockfile.mjs ./scripts/
COPY config ./config
COPY src ./src
RUN npm pack --pack-destination /pkg \
 && mv /pkg/idp-canary-*.tgz /pkg/idp-canary.tgz

# --- runtime: the package, and its production dependencies ---------------------------------
FROM node:24.21.0-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="idp-canary" \
      org.opencontainers.image.description="Synthetic monitor for what AWS STS AssumeRoleWithWebIdentity depends on: OIDC discovery, JWKS, TLS and role assumptions, as Prometheus metrics" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    IDP_CANARY_CONFIG=/etc/idp-canary/config.yaml
WORKDIR /app
COPY --from=build /pkg/idp-canary.tgz /tmp/idp-canary.tgz
# Unpacked and installed with `npm ci` from the npm-shrinkwrap.json the package carries:
# exactly the dependency versions the tests ran with (`npm install <tarball>` would ignore
# that file and take the newest versions in range). The default configuration (public
# IdPs, no STS probe) goes where the chart mounts its own; mount yours over it.
RUN tar -xzf /tmp/idp-canary.tgz --strip-components=1 --no-same-owner \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && mkdir -p /etc/idp-canary \
 && cp config/default.yaml /etc/idp-canary/config.yaml \
 && npm cache clean --force \
 && rm -rf /root/.npm /tmp/*
# Numeric, so Kubernetes' runAsNonRoot can verify it; no home directory is needed.
USER 10001:10001
EXPOSE 9741
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["run"]
