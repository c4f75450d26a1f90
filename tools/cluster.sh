#!/usr/bin/env bash
# The production shape on one machine, throwaway: a three-node MariaDB Galera cluster with
# HAProxy in front as the single writer (one active server, two backups), a Ceph cluster
# (tools/ceph-cluster.sh), three glint-api nodes sharing its RBD pool and the Galera catalog
# (through HAProxy), and HAProxy in front of the API nodes (health checks on /healthcheck,
# redispatch and retries on connection failures). Everything lives under DIR.
#
#   tools/cluster.sh start [DIR [BASE_PORT]]  start it all; prints the one URL to use
#   tools/cluster.sh stop [DIR]               stop everything it started, remove DIR
#   tools/cluster.sh status [DIR]             what runs, as HAProxy sees it
#   tools/cluster.sh api-start|api-stop|api-kill DIR N   one API node (1..3): start, SIGTERM
#                                             (graceful drain), SIGKILL
#   tools/cluster.sh db-start|db-stop DIR N   one Galera node (1..3): rejoin, clean shutdown
#
# DIR defaults to $GLINT_CLUSTER_DIR (else /tmp/glint-cluster). Ports: BASE (the URL), BASE+1..3
# the API nodes, BASE+10 the catalog HAProxy, BASE+11..13 MariaDB, BASE+21..53 Galera's
# replication, state and snapshot transfers, BASE+60 the Ceph monitor. BASE defaults to
# $GLINT_CLUSTER_PORT, else 9292. $GLINT_UPLOAD_LOCK_TTL sets the nodes' upload_lock_ttl;
# $GLINT_DRAIN_DELAY and $GLINT_DRAIN_TIMEOUT their graceful drain; $GLINT_DB_BUFFER_POOL the
# Galera nodes' innodb_buffer_pool_size (64M); $GLINT_LIST_CACHE_MIB the nodes' [glint]
# list_cache_mib (0: every listing read from the catalog); GLINT_API_BIN and
# GLINT_MANAGE_BIN the binaries (default build/control/). An API node inherits the
# environment of the command that starts it (e.g. LD_PRELOAD/FAKETIME for clock skew).
# DIR/env holds GLINT_URL, OS_AUTH_TOKEN (the bootstrap admin token), CEPH_CONF, GLINT_CEPH_*;
# DIR/admin-password the password of the built-in identity's user admin (project admin).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:-}
D=${2:-${GLINT_CLUSTER_DIR:-/tmp/glint-cluster}}
API_BIN=${GLINT_API_BIN:-$ROOT/build/control/glint-api}
MANAGE_BIN=${GLINT_MANAGE_BIN:-$ROOT/build/control/glint-manage}
DB_USER=glint
DB_PASSWORD=glint-cluster-pw
RUN_AS=$(id -un)
[ "$(id -u)" = 0 ] && RUN_AS=mysql  # the rsync SST daemon cannot write a root-owned datadir

die() { echo "cluster: $*" >&2; exit 1; }
base() { cat "$D/base-port"; }
sql() { mariadb --no-defaults -S "$D/db$1/sock" -uroot -N -B -e "$2"; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Stops the process whose pid is in file $1 (signal $2, default TERM), waiting up to $3 s.
stop_pid() {
  local f=$1 sig=${2:-TERM} wait=${3:-60} pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  kill "-$sig" "$pid" 2>/dev/null || true
  for _ in $(seq $((wait * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

db_conf() {  # db_conf N: node N's my.cnf
  local n=$1 p; p=$(base)
  mkdir -p "$D/db$n/data"
  cat > "$D/db$n/my.cnf" <<CNF
[mysqld]
user=$RUN_AS
datadir=$D/db$n/data
socket=$D/db$n/sock
pid-file=$D/db$n/pid
port=$((p + 10 + n))
bind-address=127.0.0.1
log-error=$D/db$n/err.log
skip-name-resolve
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
log_bin_trust_function_creators=1
innodb_buffer_pool_size=${GLINT_DB_BUFFER_POOL:-64M}
innodb_flush_log_at_trx_commit=2
character-set-server=utf8mb4
max_connections=500
wsrep_on=ON
wsrep_provider=/usr/lib/galera/libgalera_smm.so
wsrep_cluster_name=glint
wsrep_cluster_address=gcomm://127.0.0.1:$((p + 21)),127.0.0.1:$((p + 22)),127.0.0.1:$((p + 23))
wsrep_node_address=127.0.0.1:$((p + 20 + n))
wsrep_node_name=db$n
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:$((p + 20 + n));ist.recv_addr=127.0.0.1:$((p + 30 + n));gcache.size=32M"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:$((p + 40 + n))
CNF
}

db_start() {  # db_start N [--wsrep-new-cluster]
  local n=$1
  [ "$RUN_AS" = mysql ] && chown -R mysql:mysql "$D/db$n"
  /usr/sbin/mariadbd --defaults-file="$D/db$n/my.cnf" ${2:-} >/dev/null 2>&1 &
  echo $! > "$D/db$n/mariadbd.pid"
  for _ in $(seq 600); do
    if sql "$n" "SHOW STATUS LIKE 'wsrep_ready'" 2>/dev/null | grep -q ON; then return 0; fi
    alive "$D/db$n/mariadbd.pid" || { tail -20 "$D/db$n/err.log" >&2; die "db$n did not start"; }
    sleep 0.1
  done
  die "db$n did not become ready (see $D/db$n/err.log)"
}

haproxy_conf() {
  local p; p=$(base)
  cat > "$D/haproxy.cfg" <<CFG
global
  stats socket $D/haproxy.sock mode 600 level admin
  maxconn 4000
defaults
  timeout connect 2s
  timeout client 300s
  timeout server 300s
  timeout check 2s

# The catalog: one writer at a time (Galera certifies writes on commit, so writes spread
# over nodes conflict), the others as backups; sessions to a node marked down are cut so
# clients reconnect to the next one, and back again when the first returns.
listen galera
  bind 127.0.0.1:$((p + 10))
  mode tcp
  option tcpka
  option mysql-check user haproxy_check post-41
  default-server inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions
  server db1 127.0.0.1:$((p + 11)) check
  server db2 127.0.0.1:$((p + 12)) check backup
  server db3 127.0.0.1:$((p + 13)) check backup

# The API: active-active. A node that answers 503 on /healthcheck (draining) or does not
# answer is taken out within a second; a request that could not reach a node is sent to
# another one. No replay of a POST whose answer was lost (it may have been executed).
listen glint-api
  bind 127.0.0.1:$p
  mode http
  balance leastconn
  option httpchk GET /healthcheck
  http-check expect status 200
  option redispatch 1
  retries 3
  retry-on conn-failure empty-response
  http-request disable-l7-retry if METH_POST
  default-server inter 500ms fall 2 rise 2
  server api1 127.0.0.1:$((p + 1)) check
  server api2 127.0.0.1:$((p + 2)) check
  server api3 127.0.0.1:$((p + 3)) check
CFG
}

api_conf() {
  local p; p=$(base)
  # shellcheck disable=SC1091
  . "$D/ceph/env"
  cat > "$D/glint-api.conf" <<CONF
[DEFAULT]
bind_host = 127.0.0.1
show_image_direct_url = true
upload_lock_ttl = ${GLINT_UPLOAD_LOCK_TTL:-300}
drain_delay = ${GLINT_DRAIN_DELAY:-2}
drain_timeout = ${GLINT_DRAIN_TIMEOUT:-30}
[database]
connection = mysql+pymysql://$DB_USER:$DB_PASSWORD@127.0.0.1:$((p + 10))/glint?charset=utf8
[glance_store]
stores = rbd
default_store = rbd
rbd_store_pool = $GLINT_CEPH_POOL
rbd_store_user = $GLINT_CEPH_USER
rbd_store_ceph_conf = $CEPH_CONF
CONF
  if [ -n "${GLINT_LIST_CACHE_MIB:-}" ]; then
    printf '[glint]\nlist_cache_mib = %s\n' "$GLINT_LIST_CACHE_MIB" >> "$D/glint-api.conf"
  fi
}

api_start() {
  local n=$1 p; p=$(base)
  mkdir -p "$D/api$n"
  rm -f "$D/api$n/port"
  # The shared configuration plus this node's URL, where other nodes forward a glance-direct
  # import of data it staged.
  (umask 077; sed "s|^\[DEFAULT\]\$|[DEFAULT]\nworker_self_reference_url = http://127.0.0.1:$((p + n))|" \
      "$D/glint-api.conf" > "$D/api$n/glint-api.conf")
  "$API_BIN" --config-file "$D/api$n/glint-api.conf" --data-dir "$D/api$n" --bind-port $((p + n)) \
      --port-file "$D/api$n/port" --bootstrap-admin-token --admin-token-file "$D/admin-token" \
      >> "$D/api$n/api.log" 2>&1 &
  echo $! > "$D/api$n/pid"
  for _ in $(seq 300); do
    curl -fs -o /dev/null "http://127.0.0.1:$((p + n))/healthcheck" && return 0
    alive "$D/api$n/pid" || { tail -20 "$D/api$n/api.log" >&2; die "api$n did not start"; }
    sleep 0.1
  done
  die "api$n did not answer /healthcheck (see $D/api$n/api.log)"
}

# HAProxy's view: "NAME STATUS" per server of both proxies.
haproxy_servers() {
  echo "show stat" | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show stat\n")
out = b""
while True:
    b = s.recv(65536)
    if not b: break
    out += b
for line in out.decode().splitlines()[1:]:
    f = line.split(",")
    if len(f) > 17 and f[1] not in ("FRONTEND", "BACKEND"):
        print(f[0] + "/" + f[1], f[17])' "$D/haproxy.sock"
}

wait_up() {  # wait_up NAME...: until HAProxy sees them UP
  for _ in $(seq 200); do
    local ok=1
    for name in "$@"; do haproxy_servers | grep "^$name UP" >/dev/null || ok=0; done
    [ $ok = 1 ] && return 0
    sleep 0.1
  done
  haproxy_servers >&2
  die "HAProxy does not see $* up"
}

start() {
  [ -x "$API_BIN" ] || die "$API_BIN not found: build first (tools/build.sh)"
  for b in /usr/sbin/mariadbd /usr/lib/galera/libgalera_smm.so /usr/sbin/haproxy /usr/bin/rsync /usr/bin/ceph-mon; do
    [ -e "$b" ] || die "$b missing: tools/install-deps.sh --ha"
  done
  [ -e "$D/base-port" ] && die "$D holds a cluster already (tools/cluster.sh stop $D)"
  mkdir -p "$D"
  D=$(cd "$D" && pwd)
  chmod 755 "$D"
  echo "${3:-${GLINT_CLUSTER_PORT:-9292}}" > "$D/base-port"
  trap 'echo "cluster: start failed; logs under $D" >&2' ERR
  for n in 1 2 3; do db_conf "$n"; done
  [ "$RUN_AS" = mysql ] && chown -R mysql:mysql "$D/db1"
  mariadb-install-db --no-defaults --datadir="$D/db1/data" --user="$RUN_AS" \
      --auth-root-authentication-method=normal --skip-test-db > "$D/db1/install.log" 2>&1
  db_start 1 --wsrep-new-cluster  # the others join it and receive its data by state transfer
  sql 1 "CREATE DATABASE glint CHARACTER SET utf8mb4;
         CREATE USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
         GRANT ALL PRIVILEGES ON glint.* TO '$DB_USER'@'127.0.0.1';
         CREATE USER 'haproxy_check'@'127.0.0.1'"
  db_start 2
  db_start 3
  [ "$(sql 1 "SHOW STATUS LIKE 'wsrep_cluster_size'" | cut -f2)" = 3 ] || die "Galera cluster is not 3 nodes"
  haproxy_conf
  haproxy -f "$D/haproxy.cfg" -D -p "$D/haproxy.pid"
  wait_up galera/db1
  "$ROOT/tools/ceph-cluster.sh" start "$D/ceph" $(( $(base) + 60 )) > /dev/null
  (umask 077; api_conf)
  (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$D/admin-token")
  "$MANAGE_BIN" --config-file "$D/glint-api.conf" --data-dir "$D/api1" db-sync > "$D/db-sync.log" 2>&1
  (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$D/admin-password")
  "$MANAGE_BIN" --config-file "$D/glint-api.conf" --data-dir "$D/api1" bootstrap \
      --bootstrap-password-file "$D/admin-password" >> "$D/db-sync.log" 2>&1
  for n in 1 2 3; do api_start "$n"; done
  wait_up glint-api/api1 glint-api/api2 glint-api/api3
  cat > "$D/env" <<ENV
export GLINT_URL=http://127.0.0.1:$(base)
export OS_IMAGE_URL=http://127.0.0.1:$(base)
export OS_AUTH_TOKEN=$(cat "$D/admin-token")
$(cat "$D/ceph/env")
ENV
  echo "http://127.0.0.1:$(base)"
}

stop() {
  [ -d "$D" ] || return 0
  for n in 1 2 3; do stop_pid "$D/api$n/pid" KILL 5; done
  stop_pid "$D/haproxy.pid" TERM 5
  [ -d "$D/ceph" ] && "$ROOT/tools/ceph-cluster.sh" stop "$D/ceph" >/dev/null 2>&1
  for n in 3 2 1; do stop_pid "$D/db$n/mariadbd.pid" TERM 60; done
  rm -rf "$D"
}

status() {
  [ -f "$D/base-port" ] || die "no cluster in $D"
  echo "URL: http://127.0.0.1:$(base)   (environment: . $D/env)"
  alive "$D/haproxy.pid" && haproxy_servers || echo "haproxy: not running"
  for n in 1 2 3; do
    if alive "$D/db$n/mariadbd.pid"; then
      echo "db$n: $(sql "$n" "SHOW STATUS WHERE Variable_name IN ('wsrep_cluster_size','wsrep_local_state_comment')" | tr '\t\n' '= ')"
    else echo "db$n: stopped"; fi
  done
  for n in 1 2 3; do alive "$D/api$n/pid" && echo "api$n: running (pid $(cat "$D/api$n/pid"))" || echo "api$n: stopped"; done
}

node_arg() { [[ "${1:-}" =~ ^[123]$ ]] || die "node number 1..3 expected"; }

case "$cmd" in
  start) start "$@" ;;
  stop) stop ;;
  status) status ;;
  api-start) node_arg "${3:-}"; api_start "$3"; wait_up "glint-api/api$3" ;;
  api-stop) node_arg "${3:-}"; stop_pid "$D/api$3/pid" TERM 120 ;;
  api-kill) node_arg "${3:-}"; stop_pid "$D/api$3/pid" KILL 5 ;;
  db-start) node_arg "${3:-}"; db_start "$3"; wait_up "galera/db$3" ;;
  db-stop) node_arg "${3:-}"; stop_pid "$D/db$3/mariadbd.pid" TERM 60 ;;
  *) sed -n '2,24p' "$0" >&2; exit 2 ;;
esac
