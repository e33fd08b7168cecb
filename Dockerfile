# syntax=docker/dockerfile:1
# firecrawl-relay: build with `docker build -t firecrawl-relay .`

# --- build: dependencies and the TypeScript build ---
# No compiler: on Node 24 the queue loads better-sqlite3-napi (13), whose package carries
# prebuilt Node-API addons (src/queue/sqlite/driver.ts). better-sqlite3 12 is there for Node
# 20 only; its install script (prebuild-install, else node-gyp, which needs python3, make and
# g++) is skipped with --ignore-scripts, and the uncompiled package is dropped below.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# At run time only the Linux prebuilt addons of 13 are needed, not SQLite's sources.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/better-sqlite3-napi/deps node_modules/better-sqlite3-napi/src node_modules/better-sqlite3 \
 && find node_modules/better-sqlite3-napi/prebuilds -name '*.node' ! -name 'linux*' -delete

# --- runtime: production dependencies and the build only ---
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    RELAY_HOST=0.0.0.0 \
    RELAY_PORT=8080 \
    RELAY_DATA_DIR=/data \
    RELAY_LOG_FORMAT=json
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json relay.config.yaml tsconfig.plugins.json ./
COPY samples ./samples
COPY plugins ./plugins
# The operator console's static assets (served at /console when admin.token is set).
COPY console ./console
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# No curl in the image: Node's own fetch probes the relay.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.RELAY_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node runs as PID 1 and handles SIGTERM and SIGINT itself: it drains and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve", "--config", "/app/relay.config.yaml"]
