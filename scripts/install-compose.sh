#!/usr/bin/env bash
# Where a docker client exists without the compose plugin, build the plugin from the Go module
# proxy so that `docker compose config` can check docker-compose.yml. Idempotent.
set -euo pipefail
VERSION="${COMPOSE_VERSION:-v2.40.3}"
command -v docker >/dev/null 2>&1 || exit 0
docker compose version >/dev/null 2>&1 && exit 0
if ! command -v go >/dev/null 2>&1; then
  echo "docker compose is missing and Go is not installed to build it" >&2
  exit 0
fi
plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
mkdir -p "$plugins"
echo "building the docker compose plugin $VERSION (once) ..." >&2
module_dir=$(go mod download -json "github.com/docker/compose/v2@$VERSION" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$module_dir/." "$work"
chmod -R u+w "$work"
(cd "$work" && go build -trimpath -o "$plugins/docker-compose" ./cmd)
docker compose version
