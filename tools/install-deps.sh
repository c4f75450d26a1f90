#!/usr/bin/env bash
# Installs the Debian 12 packages Glint needs to build, run and test. Idempotent: only
# missing packages are installed. Run as root (or with sudo).
set -euo pipefail

BUILD_PKGS=(
  build-essential cmake ninja-build ccache pkg-config
  libboost-dev libsqlite3-dev libssl-dev nlohmann-json3-dev libspdlog-dev libcli11-dev
  libgtest-dev libfuse3-dev librados-dev librbd-dev libyaml-cpp-dev libmariadb-dev
  libcurl4-openssl-dev librabbitmq-dev libre2-dev
)
RUN_PKGS=(fuse3 sqlite3 curl ca-certificates librados2 librbd1 libmariadb3 libcurl4 librabbitmq4 libre2-9
  libarchive-tools gzip  # image_decompression: bsdtar (zip, lha) and gzip
)
TEST_PKGS=(
  python3 python3-pytest python3-requests
  python3-glanceclient python3-openstackclient qemu-utils qemu-block-extra attr
  ceph-mon ceph-osd ceph-common uuid-runtime keystone glance-api mariadb-server-core mariadb-client-core python3-pymysql python3-rbd python3-rados
  clang-14 libclang-rt-14-dev rabbitmq-server python3-oslo.messaging tempest
  glance-common  # /usr/share/glance-common/metadefs: the metadefs suite loads them
  python3-pyflakes  # the structure suite checks the Python code with it
)

# What `tools/run.sh --rbd` needs to start its own throwaway Ceph cluster.
CEPH_PKGS=(ceph-mon ceph-osd ceph-common uuid-runtime)
# What tools/cluster.sh (`tools/run.sh --ha`, the `ha` test) needs for the production shape:
# a Galera cluster (its rsync state transfer), HAProxy, libfaketime for clock skew.
HA_PKGS=(mariadb-server mariadb-client galera-4 rsync haproxy faketime libfaketime "${CEPH_PKGS[@]}")

want=("${BUILD_PKGS[@]}" "${RUN_PKGS[@]}")
case "${1:-}" in
  --test) want+=("${TEST_PKGS[@]}" "${HA_PKGS[@]}") ;;
  --ceph) want+=("${CEPH_PKGS[@]}") ;;
  --ha) want+=("${HA_PKGS[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
