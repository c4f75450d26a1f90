#!/usr/bin/env bash
# A throwaway single-node Ceph cluster on loopback for tests and trials: one monitor and
# one OSD (memstore: data in the OSD's memory; or bluestore on a file), cephx on, a pool `images` for RBD and a
# restricted client.glance user, as a real deployment gives Glance. Starts in seconds.
#
#   tools/ceph-cluster.sh start DIR [PORT]   # prints the environment to use it
#   tools/ceph-cluster.sh stop DIR           # stops the daemons it started, removes DIR
#   tools/ceph-cluster.sh halt DIR           # stops the daemons, keeps DIR
#   tools/ceph-cluster.sh resume DIR         # starts a halted cluster's daemons again
#                                            # (its data survives with bluestore only)
#
# After start, DIR/env holds: CEPH_CONF, GLINT_CEPH_FSID, GLINT_CEPH_POOL, GLINT_CEPH_USER.
set -euo pipefail

cmd=${1:-}; D=${2:-}
usage="usage: $0 start|stop|halt|resume DIR [PORT]"
[ -n "$cmd" ] && [ -n "$D" ] || { echo "$usage" >&2; exit 2; }

# Stops the daemons (SIGTERM, or $1, e.g. -9 for a cluster about to be removed).
halt() {
  # OSDs first, so they can report their shutdown to a monitor that is still up.
  for f in "$D"/run/osd.*.pid "$D"/run/mon.*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill ${1:-} "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
}

# Waits until the OSD serves I/O to the glance user.
wait_io() {
  for _ in $(seq 150); do
    timeout 10 rbd --id glance -p images ls >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  timeout 10 rbd --id glance -p images ls >/dev/null
}

case "$cmd" in
  stop) halt -9; rm -rf "$D"; exit 0 ;;  # its data goes anyway: no graceful shutdown
  halt) halt; exit 0 ;;
  resume)
    [ -f "$D/env" ] || { echo "no cluster in $D" >&2; exit 1; }
    D=$(cd "$D" && pwd)
    export CEPH_CONF=$D/ceph.conf
    halt  # daemons left by a run that was killed outright
    ceph-mon -i a 2>>"$D/log/start.log"
    ceph-osd -i 0 2>>"$D/log/start.log"
    wait_io
    cat "$D/env"
    exit 0 ;;
  start) ;;
  *) echo "$usage" >&2; exit 2 ;;
esac

PORT=${3:-$((3300 + RANDOM % 2000))}
MEM=${GLINT_CEPH_MEMSTORE_BYTES:-3221225472}
# memstore (default): fastest, data gone when the OSD stops. bluestore: a sparse file in
# DIR as the OSD's disk, so data survives an OSD restart (crash tests need that).
STORE=${GLINT_CEPH_OBJECTSTORE:-memstore}
case "$STORE" in
  memstore) STORE_CONF="osd objectstore = memstore
memstore device bytes = $MEM" ;;
  bluestore) STORE_CONF="osd objectstore = bluestore
bluestore block create = true
bluestore block size = ${GLINT_CEPH_BLUESTORE_BYTES:-4294967296}
bluestore fsck on mount = false
bluestore fsck on mkfs = false
osd memory target = 1073741824
bluestore cache autotune = false
bluestore cache size = 134217728" ;;
  *) echo "GLINT_CEPH_OBJECTSTORE must be memstore or bluestore" >&2; exit 2 ;;
esac
mkdir -p "$D/run" "$D/log"
D=$(cd "$D" && pwd)
FSID=$(uuidgen)
cat > "$D/ceph.conf" <<CONF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$PORT
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
$STORE_CONF
osd crush chooseleaf type = 0
run dir = $D/run
log file = $D/log/\$name.log
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
osd data = $D/osd\$id
mon data = $D/mon\$id
keyring = $D/\$name.keyring
ms bind ipv4 = true
CONF
# Clients (rbd CLI, glint-api, glint-fs) may run side by side under one name.
cat >> "$D/ceph.conf" <<CONF
[client]
admin socket = $D/run/\$name.\$pid.asok
CONF
export CEPH_CONF=$D/ceph.conf
trap 'echo "ceph-cluster: start failed; logs in $D/log" >&2' ERR
ceph-authtool --create-keyring "$D/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool --create-keyring "$D/client.admin.keyring" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
ceph-authtool "$D/mon.keyring" --import-keyring "$D/client.admin.keyring" >/dev/null
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$PORT]" "$D/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$D/monmap" --keyring "$D/mon.keyring" 2>>"$D/log/start.log"
ceph-mon -i a 2>>"$D/log/start.log"
UUID=$(uuidgen)
ID=$(ceph osd new "$UUID")
mkdir -p "$D/osd$ID"
ceph auth get-or-create "osd.$ID" mon 'allow profile osd' mgr 'allow profile osd' osd 'allow *' \
  -o "$D/osd.$ID.keyring"
ceph-osd -i "$ID" --mkfs --osd-uuid "$UUID" 2>>"$D/log/start.log"
ceph-osd -i "$ID" 2>>"$D/log/start.log"
ceph osd pool create images 8 >/dev/null 2>&1
ceph osd pool application enable images rbd >/dev/null 2>&1
ceph auth get-or-create client.glance mon 'profile rbd' osd 'profile rbd pool=images' \
  -o "$D/client.glance.keyring"
wait_io
cat > "$D/env" <<ENV
export CEPH_CONF=$D/ceph.conf
export GLINT_CEPH_FSID=$FSID
export GLINT_CEPH_POOL=images
export GLINT_CEPH_USER=glance
ENV
cat "$D/env"
