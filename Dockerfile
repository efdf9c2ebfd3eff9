# idp-canary container image: Node.js 24 (the runtime the test suite also runs on),
# compiled JavaScript only, production dependencies only, non-root, and happy with a
# read-only root filesystem (the daemon writes nothing; /tmp is the only place a
# `state.file` may go, mount an emptyDir or tmpfs there).
#
#   docker build -t idp-canary:0.1.0 .
#   docker run --rm -p 9741:9741 --read-only --tmpfs /tmp \
#     -v "$PWD/config.yaml:/etc/idp-canary/config.yaml:ro" idp-canary:0.1.0
#
# Both stages use the same base, pinned by full version (bump both together).

# --- build: install everything, compile TypeScript to dist/ ---------------------------
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- runtime: production dependencies and the compiled daemon -------------------------
FROM node:24.21.0-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="idp-canary" \
      org.opencontainers.image.description="Synthetic monitor for what AWS STS AssumeRoleWithWebIdentity depends on: OIDC discovery, JWKS, TLS and role assumptions, as Prometheus metrics" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    IDP_CANARY_CONFIG=/etc/idp-canary/config.yaml
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && rm -rf /root/.npm /tmp/*
COPY --from=build /src/dist ./dist
COPY config ./config
# The default configuration (public IdPs, no STS probe); mount your own over it.
COPY config/default.yaml /etc/idp-canary/config.yaml
# Numeric, so Kubernetes' runAsNonRoot can verify it; no home directory is needed.
USER 10001:10001
EXPOSE 9741
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["run"]
