#!/usr/bin/env bash
# Runs Glint on its embedded defaults: SQLite catalog and file store under a data dir,
# the bootstrap admin token, glint-api on 127.0.0.1:9292. Installs and builds first.
#   tools/run.sh          file store in $GLINT_DATA_DIR/store
#   tools/run.sh --rbd    RBD store on a throwaway single-node Ceph cluster (bluestore on a
#                         file in $GLINT_DATA_DIR/ceph; halted on exit, resumed next time)
#   tools/run.sh --ha     the production shape, throwaway (tools/cluster.sh): three glint-api
#                         nodes behind HAProxy on a 3-node Galera catalog and a Ceph RBD store;
#                         state in $GLINT_DATA_DIR (default /tmp/glint-ha), removed on exit
#   GLINT_DATA_DIR (default /var/lib/glint, with --rbd /var/lib/glint-rbd)   GLINT_PORT (9292)
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=file
case "${1:-}" in
  "") ;;
  --rbd) MODE=rbd ;;
  --ha) MODE=ha ;;
  *) echo "usage: $0 [--rbd|--ha]" >&2; exit 2 ;;
esac
case "$MODE" in
  rbd) tools/install-deps.sh --ceph ;;
  ha) tools/install-deps.sh --ha ;;
  *) tools/install-deps.sh ;;
esac
tools/build.sh
if [ "$MODE" = ha ]; then
  HA_DIR=${GLINT_DATA_DIR:-/tmp/glint-ha}
  tools/cluster.sh stop "$HA_DIR"  # what a killed run left
  trap 'tools/cluster.sh stop "$HA_DIR"' EXIT
  trap 'exit 130' INT TERM
  URL=$(tools/cluster.sh start "$HA_DIR" "${GLINT_PORT:-9292}")
  tools/cluster.sh status "$HA_DIR"
  cat <<MSG

Glint (3 nodes behind HAProxy, Galera catalog, Ceph RBD store) is running: $URL
Try it from another shell:
  . $HA_DIR/env     # GLINT_URL, OS_IMAGE_URL, OS_AUTH_TOKEN (bootstrap admin token), CEPH_CONF
  $PWD/build/control/glint image-list
  tools/cluster.sh status $HA_DIR         # api-stop/api-start/db-stop/db-start DIR N for faults

Ctrl-C stops and removes it all.
MSG
  while :; do sleep 3600 & wait $!; done
fi
DEFAULT_DATA=/var/lib/glint
[ "$MODE" = rbd ] && DEFAULT_DATA=/var/lib/glint-rbd
DATA=${GLINT_DATA_DIR:-$DEFAULT_DATA}
PORT=${GLINT_PORT:-9292}
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
BIN=$PWD/build/control
CLEANUP=()
cleanup() { for ((i=${#CLEANUP[@]}-1; i>=0; i--)); do eval "${CLEANUP[$i]}" || true; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM
API_ARGS=(--data-dir "$DATA")
FS_DATA=(--store-dir "$DATA/store")
STORE_NOTE="images in $DATA/store"
if [ "$MODE" = rbd ]; then
  CEPH="$DATA/ceph"
  CLEANUP+=("tools/ceph-cluster.sh halt '$CEPH'")  # also when starting fails half-way
  if [ -f "$CEPH/env" ]; then
    tools/ceph-cluster.sh resume "$CEPH" >/dev/null
  else
    rm -rf "$CEPH"
    GLINT_CEPH_OBJECTSTORE=bluestore tools/ceph-cluster.sh start "$CEPH" >/dev/null
  fi
  # shellcheck disable=SC1091
  . "$CEPH/env"
  cat > "$DATA/glint-api.conf" <<CONF
[DEFAULT]
show_image_direct_url = true
[glance_store]
stores = rbd
default_store = rbd
rbd_store_pool = $GLINT_CEPH_POOL
rbd_store_user = $GLINT_CEPH_USER
rbd_store_ceph_conf = $CEPH_CONF
CONF
  API_ARGS+=(--config-file "$DATA/glint-api.conf")
  FS_DATA=(--rbd --rbd-pool "$GLINT_CEPH_POOL" --rbd-user "$GLINT_CEPH_USER" --ceph-conf "$CEPH_CONF")
  STORE_NOTE="images in RBD pool $GLINT_CEPH_POOL of the cluster in $CEPH (CEPH_CONF=$CEPH_CONF; rbd --id glance ls)"
fi
# Built-in identity: an admin user in project "admin" (password kept in $DATA, mode 0600).
if [ ! -s "$DATA/admin-password" ]; then
  (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$DATA/admin-password")
fi
"$BIN/glint-manage" --data-dir "$DATA" bootstrap --bootstrap-password-file "$DATA/admin-password" >/dev/null
rm -f "$DATA/port"
# A try-it setup: the bootstrap admin token is enabled (production sites leave it off).
"$BIN/glint-api" "${API_ARGS[@]}" --bootstrap-admin-token --bind-port "$PORT" --port-file "$DATA/port" &
API=$!
CLEANUP+=("kill $API 2>/dev/null; wait $API 2>/dev/null")
for _ in $(seq 100); do [ -s "$DATA/port" ] && break; sleep 0.1; done
TOKEN=$(cat "$DATA/admin-token")
# The data plane: active images as read-only files, next to the API.
MNT="$DATA/images"
FS_NOTE="glint-fs: not mounted (needs root and /dev/fuse)"
if [ "$(id -u)" = 0 ] && [ -e /dev/fuse ]; then
  mkdir -p "$MNT"
  mountpoint -q "$MNT" && fusermount3 -u "$MNT" || true
  # The mount shows every image the admin token sees: readable by root only, or under sudo
  # by the user who ran sudo as well (owner), never by every account on the machine.
  FS_ACCESS=()
  FS_WHO="root"
  if [ -n "${SUDO_UID:-}" ] && [ "$SUDO_UID" != 0 ]; then
    FS_ACCESS=(--allow-other --uid "$SUDO_UID")
    FS_WHO="root and uid $SUDO_UID"
  fi
  "$BIN/../fs/glint-fs" "$MNT" --all --api "http://127.0.0.1:$PORT" --token-file "$DATA/admin-token" \
      "${FS_ACCESS[@]}" "${FS_DATA[@]}" > "$DATA/glint-fs.log" 2>&1 &
  FS=$!
  CLEANUP+=("kill $FS 2>/dev/null; wait $FS 2>/dev/null")
  FS_NOTE="glint-fs: images mounted read-only at $MNT (by-id/, by-name/, by-project/; readable by $FS_WHO)"
fi
cat <<MSG

Glint is running: http://127.0.0.1:$PORT   (catalog $DATA/glint.db, $STORE_NOTE)
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
