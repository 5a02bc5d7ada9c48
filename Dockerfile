# Socketship container image.
#
# Two stages: `deps` resolves the production dependencies from the lockfile, the final stage
# holds only node_modules, the sources and the static client. There is no compile step: Node 26
# runs src/main.ts directly by type stripping.
#
# Base image: the official Node 26 slim image, pinned to a minor release. Pass
#   --build-arg NODE_IMAGE=<image>
# to pin a digest (node:26.13-trixie-slim@sha256:...), use a mirror, or build from a local
# stand-in where no registry is reachable (see docs/docker.md).
ARG NODE_IMAGE=node:26.13-trixie-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# The cache mount keeps npm's download cache between builds without putting it in a layer.
# --ignore-scripts: no runtime dependency needs an install script, and none should get to run
# one at build time.
# Then type declarations and source maps go: Node never loads them at run time, and the
# telemetry packages alone carry about 100 MB of them.
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete

FROM ${NODE_IMAGE}
ARG APP_VERSION=0.1.0
ARG SOURCE_URL=https://github.com/socketship/socketship
LABEL org.opencontainers.image.title="socketship" \
      org.opencontainers.image.description="WebSocket service: ping/pong protocol, chat rooms, health and metrics" \
      org.opencontainers.image.version="${APP_VERSION}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="MIT"
ENV NODE_ENV=production
WORKDIR /app
# Everything stays owned by root: the service can read its code but not change it, which is
# also what lets the container run with a read-only root filesystem.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY public ./public
COPY client ./client
COPY src ./src
USER node
EXPOSE 8080
# Slim images have no curl; node itself asks /healthz. 127.0.0.1 works for the default
# HOST=0.0.0.0 and for HOST=:: (dual stack).
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself, not npm: SIGTERM from `docker stop` must reach the process that drains sockets.
CMD ["node", "src/main.ts"]
