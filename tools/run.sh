#!/usr/bin/env bash
# Runs Glint on its embedded defaults: SQLite catalog and file store under a data dir,
# the bootstrap admin token, glint-api on 127.0.0.1:9292. Installs and builds first.
#   GLINT_DATA_DIR (default /var/lib/glint)   GLINT_PORT (default 9292)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh
DATA=${GLINT_DATA_DIR:-/var/lib/glint}
PORT=${GLINT_PORT:-9292}
mkdir -p "$DATA"
BIN=$PWD/build/control
"$BIN/glint-api" --data-dir "$DATA" --bind-port "$PORT" --port-file "$DATA/port" &
API=$!
trap 'kill $API 2>/dev/null; wait $API 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do [ -s "$DATA/port" ] && break; sleep 0.1; done
TOKEN=$(cat "$DATA/admin-token")
cat <<MSG

Glint is running: http://127.0.0.1:$PORT   (catalog $DATA/glint.db, images in $DATA/images)
Admin token (bootstrap credential): $TOKEN

Try it from another shell:
  export OS_IMAGE_URL=http://127.0.0.1:$PORT OS_AUTH_TOKEN=$TOKEN
  $BIN/glint image-create --name cirros --disk-format qcow2 --container-format bare --file IMAGE.qcow2 --progress
  $BIN/glint image-list
  glance --os-image-url \$OS_IMAGE_URL --os-auth-token \$OS_AUTH_TOKEN image-list
  openstack --os-auth-type admin_token --os-endpoint \$OS_IMAGE_URL/v2 --os-token \$OS_AUTH_TOKEN image list

Ctrl-C stops it (in-flight requests are drained).
MSG
wait $API
