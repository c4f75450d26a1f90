#!/bin/bash
# A throwaway MariaDB server (Debian's mariadb-server) on a private loopback port and data
# directory, for the tests that run Glint on MariaDB, and for trying it by hand.
#
#   tools/mariadb.sh start DIR    start a server in DIR; prints the URL
#   tools/mariadb.sh stop DIR     stop it (the data stays in DIR)
#   tools/mariadb.sh run CMD...   start one in a temporary dir, run CMD with
#                                 $GLINT_TEST_MARIADB set, stop and remove it; CMD's status.
#                                 With $GLINT_TEST_MARIADB already set (tools/test.sh starts
#                                 one server for the whole run), CMD runs on that one; without
#                                 mariadb-server (and not in CI), CMD runs without it and its
#                                 MariaDB tests skip.
#
# $GLINT_TEST_MARIADB is a connection URL without a database (mysql://glint:PW@127.0.0.1:PORT/)
# for a user that may create databases: each test creates its own. Without mariadbd the
# script exits 77 (skip), except under CI=true, where that is a failure (1).
set -euo pipefail

MARIADBD=/usr/sbin/mariadbd
USER_NAME=glint
PASSWORD=glint-test-pw

missing() {
  echo "mariadb.sh: $1" >&2
  case "${CI:-}" in 1|true|yes) exit 1 ;; *) exit 77 ;; esac
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

client() {  # client DIR SQL: as root over the private socket
  mariadb --no-defaults -S "$1/sock" -uroot -N -B -e "$2"
}

start() {
  local dir=$1
  [ -x "$MARIADBD" ] && command -v mariadb-install-db >/dev/null || missing "mariadb-server is not installed (tools/install-deps.sh --test)"
  mkdir -p "$dir"
  local port
  port=$(free_port)
  if [ ! -d "$dir/data" ]; then
    mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
      --skip-test-db --user="$(id -un)" >"$dir/install.log" 2>&1
  fi
  # Small and fast: a 64 MiB buffer pool, no binary log, no fsync per commit (throwaway
  # data); the session limits Glint sets itself.
  "$MARIADBD" --no-defaults --datadir="$dir/data" --socket="$dir/sock" --port="$port" \
    --bind-address=127.0.0.1 --user="$(id -un)" --log-error="$dir/error.log" --pid-file="$dir/pid" \
    --skip-log-bin --skip-name-resolve --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=2 \
    --innodb-log-file-size=48M --character-set-server=utf8mb4 --max-connections=500 \
    >/dev/null 2>&1 &
  echo $! >"$dir/mariadbd.pid"
  for _ in $(seq 300); do
    client "$dir" "SELECT 1" >/dev/null 2>&1 && break
    kill -0 "$(cat "$dir/mariadbd.pid")" 2>/dev/null || { cat "$dir/error.log" >&2; exit 1; }
    sleep 0.1
  done
  client "$dir" "CREATE USER IF NOT EXISTS '$USER_NAME'@'127.0.0.1' IDENTIFIED BY '$PASSWORD';
                 GRANT ALL PRIVILEGES ON *.* TO '$USER_NAME'@'127.0.0.1'"
  echo "mysql://$USER_NAME:$PASSWORD@127.0.0.1:$port/" >"$dir/url"
  cat "$dir/url"
}

stop() {
  local dir=$1 pid
  [ -f "$dir/mariadbd.pid" ] || return 0
  pid=$(cat "$dir/mariadbd.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/mariadbd.pid"
}

case "${1:-}" in
  start) start "$2" ;;
  stop) stop "$2" ;;
  run)
    shift
    [ -n "${GLINT_TEST_MARIADB:-}" ] && exec "$@"
    if ! [ -x "$MARIADBD" ]; then
      case "${CI:-}" in 1|true|yes) missing "mariadb-server is not installed" ;; esac
      echo "mariadb.sh: mariadb-server is not installed: MariaDB tests skip" >&2
      exec "$@"
    fi
    dir=$(mktemp -d /tmp/glint-mariadb-XXXXXX)
    trap 'stop "$dir"; rm -rf "$dir"' EXIT
    url=$(start "$dir")
    set +e
    GLINT_TEST_MARIADB=$url "$@"
    exit $?
    ;;
  *) echo "usage: $0 start DIR | stop DIR | run CMD..." >&2; exit 2 ;;
esac
