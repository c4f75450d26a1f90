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
# Built-in identity: an admin user in project "admin" (password kept in $DATA, mode 0600).
if [ ! -s "$DATA/admin-password" ]; then
  (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$DATA/admin-password")
fi
"$BIN/glint-manage" --data-dir "$DATA" bootstrap --bootstrap-password "$(cat "$DATA/admin-password")" >/dev/null
"$BIN/glint-api" --data-dir "$DATA" --bind-port "$PORT" --port-file "$DATA/port" &
API=$!
trap 'kill $API 2>/dev/null; wait $API 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do [ -s "$DATA/port" ] && break; sleep 0.1; done
TOKEN=$(cat "$DATA/admin-token")
# The data plane: active images as read-only files, next to the API.
MNT="$DATA/images"
FS_NOTE="glint-fs: not mounted (needs root and /dev/fuse)"
if [ "$(id -u)" = 0 ] && [ -e /dev/fuse ]; then
  mkdir -p "$MNT"
  mountpoint -q "$MNT" && fusermount3 -u "$MNT" || true
  "$BIN/../fs/glint-fs" "$MNT" --all --api "http://127.0.0.1:$PORT" --token-file "$DATA/admin-token" \
      --store-dir "$DATA/store" > "$DATA/glint-fs.log" 2>&1 &
  FS=$!
  trap 'kill $FS 2>/dev/null; wait $FS 2>/dev/null; kill $API 2>/dev/null; wait $API 2>/dev/null' EXIT INT TERM
  FS_NOTE="glint-fs: images mounted read-only at $MNT (by-id/, by-name/, by-project/)"
fi
cat <<MSG

Glint is running: http://127.0.0.1:$PORT   (catalog $DATA/glint.db, images in $DATA/store)
Admin token (bootstrap credential): $TOKEN
$FS_NOTE

Admin user: admin / $(cat "$DATA/admin-password") in project admin (Keystone v3 at http://127.0.0.1:$PORT/identity/v3)

Try it from another shell:
  export OS_IMAGE_URL=http://127.0.0.1:$PORT OS_AUTH_TOKEN=$TOKEN
  $BIN/glint image-create --name cirros --disk-format qcow2 --container-format bare --file IMAGE.qcow2 --progress
  $BIN/glint image-list
  ls -l $MNT/by-name/ && qemu-img info $MNT/by-name/cirros
  glance --os-image-url \$OS_IMAGE_URL --os-auth-token \$OS_AUTH_TOKEN image-list
  openstack --os-auth-type admin_token --os-endpoint \$OS_IMAGE_URL/v2 --os-token \$OS_AUTH_TOKEN image list
  openstack --os-auth-url http://127.0.0.1:$PORT/identity/v3 --os-username admin --os-password \$(cat $DATA/admin-password) \\
      --os-project-name admin --os-user-domain-name Default --os-project-domain-name Default image list
  $BIN/glint-manage --data-dir $DATA project-create demo   # then user-create / role-add

Ctrl-C stops it (in-flight requests are drained).
MSG
wait $API
