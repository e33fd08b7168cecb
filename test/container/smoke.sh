#!/usr/bin/env bash
# Container smoke test: builds the image from the real Dockerfile with podman (no Docker
# engine needed), runs it with a mounted config and data volume, sends a signed event with
# the image's own CLI, checks the file sink wrote the page into the volume and that the
# HEALTHCHECK passes, then stops it with SIGTERM and expects exit code 0.
# Needs root and Debian's podman, buildah, runc and debootstrap (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc debootstrap >/dev/null
fi

IMAGE=localhost/firecrawl-relay:smoke
NAME=relay-smoke-$$
SECRET=smoke-secret-$$
PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
work=$(mktemp -d)
cleanup() {
  podman rm -f "$NAME" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "SMOKE FAILED: $*" >&2
  podman logs "$NAME" 2>&1 | tail -30 >&2 || true
  exit 1
}

echo "== base image"
bash test/container/base-image.sh

echo "== build"
start=$(date +%s)
podman build --isolation=chroot --format docker -t "$IMAGE" . >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; fail "image build"; }
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
echo "built in $(( $(date +%s) - start )) s, image size $(( size / 1024 / 1024 )) MiB"

# The config is mounted over the image's; loopback only (host network, 127.0.0.1).
mkdir -p "$work/data"
chown 1000:1000 "$work/data"
cat >"$work/relay.config.yaml" <<YAML
server: { host: 127.0.0.1, port: $PORT }
sources:
  firecrawl: { path: /webhooks/firecrawl, secrets: ["\${FIRECRAWL_WEBHOOK_SECRET}"] }
queue: { dir: /data/queue }
admin: { token: smoke-admin-token-0123456789 }
sinks:
  archive: { type: file, dir: /data/out }
routes: [{ name: all, to: [archive] }]
YAML

echo "== run"
podman run -d --name "$NAME" --runtime runc --cgroup-manager=cgroupfs \
  --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
  --network host -e RELAY_PORT="$PORT" -e FIRECRAWL_WEBHOOK_SECRET="$SECRET" \
  -v "$work/relay.config.yaml:/app/relay.config.yaml:ro" -v "$work/data:/data" \
  "$IMAGE" >/dev/null
for _ in $(seq 1 60); do
  if node -e "fetch('http://127.0.0.1:$PORT/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then break; fi
  sleep 0.5
done
podman healthcheck run "$NAME" || fail "HEALTHCHECK did not pass"
echo "health check passed"
[ "$(podman exec "$NAME" id -u)" = 1000 ] || fail "the relay does not run as the node user"

echo "== the console's assets ship in the image"
podman exec "$NAME" node -e "fetch('http://127.0.0.1:$PORT/console/').then(async (r) => { const t = await r.text(); process.exit(r.ok && t.includes('<html') ? 0 : 1) }, () => process.exit(1))" \
  || fail "GET /console/ did not serve the console page"
echo "console served"

echo "== send a signed event with the image's CLI"
answer=$(podman exec -e FIRECRAWL_WEBHOOK_SECRET="$SECRET" "$NAME" node dist/cli/main.js send \
  --url "http://127.0.0.1:$PORT/webhooks/firecrawl" --sample crawl.page --job-id smoke-job)
echo "$answer"
case "$answer" in "200 "*'"ok":true'*) ;; *) fail "the relay did not accept the event" ;; esac
page="$work/data/out/pages/crawl/smoke-job/550e8400-e29b-41d4-a716-446655440001.md"
for _ in $(seq 1 20); do [ -f "$page" ] && break; sleep 0.25; done
[ -f "$page" ] || fail "no page file in the data volume"
grep -q '^job_id: smoke-job$' "$page" || fail "the page file lacks its front matter"
echo "page written to the volume: ${page#"$work/"}"

echo "== stop with SIGTERM"
podman stop -t 20 "$NAME" >/dev/null
code=$(podman inspect --format '{{.State.ExitCode}}' "$NAME")
podman logs "$NAME" 2>&1 | grep -q '"relay stopped"' || fail "no clean shutdown in the logs"
[ "$code" = 0 ] || fail "exit code $code after SIGTERM"
echo "stopped cleanly, exit code 0"
echo "container smoke: 1 passed, 0 failed"
