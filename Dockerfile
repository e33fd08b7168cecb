# syntax=docker/dockerfile:1
# firecrawl-relay: build with `docker build -t firecrawl-relay .`

# --- build: dependencies (better-sqlite3 compiles here) and the TypeScript build ---
FROM node:24-bookworm-slim AS build
WORKDIR /app
# Build native addons against the image's own Node headers, not a download.
ENV npm_config_nodedir=/usr/local
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts \
 && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# better-sqlite3 needs only its compiled addon at run time, not SQLite's sources and objects.
# On Node 24 the queue loads better-sqlite3-napi (13, prebuilt Node-API addons for Linux kept);
# 12 stays for Node 20 (src/queue/sqlite/driver.ts).
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/better-sqlite3-napi/deps node_modules/better-sqlite3-napi/src \
 && find node_modules/better-sqlite3-napi/prebuilds -name '*.node' ! -name 'linux*' -delete \
 && cd node_modules/better-sqlite3 \
 && rm -rf deps src build/deps build/Release/obj build/Release/obj.target build/Release/.deps build/Release/test_extension.node

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
