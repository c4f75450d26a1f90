#!/usr/bin/env bash
# Runs a command with a throwaway Ceph cluster: starts it (tools/ceph-cluster.sh),
# exports its environment, runs "$@", stops it. The command's exit status is returned.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/glint-ceph-XXXXXX)
rmdir "$dir"
if ! out=$("$here/tools/ceph-cluster.sh" start "$dir" 2>&1); then
  echo "$out" >&2
  echo "with_ceph: could not start a Ceph cluster" >&2
  "$here/tools/ceph-cluster.sh" stop "$dir" >/dev/null 2>&1
  exit 1
fi
# shellcheck disable=SC1091
. "$dir/env"
"$@"
rc=$?
"$here/tools/ceph-cluster.sh" stop "$dir" >/dev/null 2>&1
exit $rc
