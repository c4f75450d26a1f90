#!/usr/bin/python3
"""glint-fs over RBD against direct librbd reads of the same snapshot, on a throwaway Ceph
cluster (tools/ceph-cluster.sh, memstore OSD on loopback).

Uploads a random image through glint-api into rbd, then measures sequential read MB/s
(best of 3) of:
  librbd 1 stream   python-rbd reads of 4 MiB, one after another (a direct store read)
  rbd export        the rbd CLI's parallel export to /dev/null (librbd's own ceiling)
  glint-fs          dd bs=1M of the mounted file, page cache dropped first, with the
                    default read-ahead and with --rbd-readahead 0

    bench/fs_rbd.py [--size-mib 512]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "support"))
import glint_server  # noqa: E402
import requests  # noqa: E402


def best_of(n, fn):
    return max(fn() for _ in range(n))


def librbd_stream(conf, pool, user, image, size):
    import rados
    import rbd
    with rados.Rados(conffile=conf, rados_id=user) as cluster, cluster.open_ioctx(pool) as io, \
            rbd.Image(io, image, snapshot="snap", read_only=True) as img:
        t = time.time()
        off = 0
        while off < size:
            off += len(img.read(off, 4 << 20))
        return size / 1e6 / (time.time() - t)


def rbd_export(conf, pool, user, image, size):
    t = time.time()
    subprocess.run(["rbd", "--conf", conf, "--id", user, "export", "%s/%s@snap" % (pool, image), "-"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return size / 1e6 / (time.time() - t)


def dd_cold(path, size):
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")
    t = time.time()
    subprocess.run(["dd", "if=" + path, "of=/dev/null", "bs=1M"], check=True, capture_output=True)
    return size / 1e6 / (time.time() - t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=512)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="glint-bench-rbd-")
    cluster = os.path.join(tmp, "ceph")
    subprocess.run([os.path.join(here, "..", "tools", "ceph-cluster.sh"), "start", cluster], check=True,
                   capture_output=True, env=dict(os.environ, GLINT_CEPH_MEMSTORE_BYTES=str((args.size_mib + 512) << 20)))
    conf, pool, user = os.path.join(cluster, "ceph.conf"), "images", "glance"
    try:
        d = os.path.join(tmp, "glint")
        os.makedirs(d)
        cfg = os.path.join(d, "glint.conf")
        with open(cfg, "w") as f:
            f.write("[glance_store]\nstores = rbd\ndefault_store = rbd\nrbd_store_pool = %s\nrbd_store_user = %s\n"
                    "rbd_store_ceph_conf = %s\n" % (pool, user, conf))
        s = glint_server.GlintServer(d, config=cfg)
        s.start()
        try:
            h = {"X-Auth-Token": s.token}
            image = requests.post(s.url + "/v2/images", headers=h,
                                  json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
            size = args.size_mib << 20
            payload = os.path.join(tmp, "payload")
            with open(payload, "wb") as f:
                for _ in range(args.size_mib):
                    f.write(os.urandom(1 << 20))
            with open(payload, "rb") as f:
                r = requests.put(s.url + "/v2/images/%s/file" % image, data=f,
                                 headers=dict(h, **{"Content-Type": "application/octet-stream"}))
            assert r.status_code == 204, r.text
            os.unlink(payload)
            rows = [("librbd 1 stream, 4 MiB", best_of(3, lambda: librbd_stream(conf, pool, user, image, size))),
                    ("rbd export (parallel)", best_of(3, lambda: rbd_export(conf, pool, user, image, size)))]
            rbd_args = ["--rbd", "--rbd-pool", pool, "--rbd-user", user, "--ceph-conf", conf]
            variants = [("glint-fs (defaults)", []),
                        ("glint-fs, kernel ra only", ["--rbd-readahead", "0"]),
                        ("glint-fs, glint ra only", ["--kernel-readahead-kb", "0"]),
                        ("glint-fs, no read-ahead", ["--rbd-readahead", "0", "--kernel-readahead-kb", "0"])]
            for spec in os.environ.get("GLINT_BENCH_RA_VARIANTS", "").split():
                depth, window = spec.split("x")  # e.g. 8x2: 8 windows of 2 MiB
                variants.append(("glint-fs ra %sx%s MiB" % (depth, window),
                                 ["--rbd-readahead", depth, "--rbd-readahead-window-mb", window]))
            for label, extra in variants:
                mnt = os.path.join(tmp, "mnt")
                fsm = glint_server.GlintFsMount(s, mnt, args=rbd_args + extra).start()
                try:
                    path = os.path.join(mnt, "by-id", image)
                    deadline = time.time() + 10
                    while not os.path.exists(path) and time.time() < deadline:
                        time.sleep(0.1)
                    st = os.stat(mnt)
                    bdi = "/sys/class/bdi/%d:%d/read_ahead_kb" % (os.major(st.st_dev), os.minor(st.st_dev))
                    if os.environ.get("GLINT_BENCH_BDI_RA_KB"):
                        open(bdi, "w").write(os.environ["GLINT_BENCH_BDI_RA_KB"])
                    rows.append((label, best_of(3, lambda: dd_cold(path, size))))
                    print("  %s: kernel read_ahead_kb %s" % (label, open(bdi).read().strip()), flush=True)
                finally:
                    fsm.stop()
        finally:
            s.stop()
        base = rows[0][1]
        print("\n%d MiB image on a memstore OSD; sequential read MB/s (best of 3)" % args.size_mib)
        print("%-26s %10s %14s" % ("reader", "MB/s", "vs 1 stream"))
        for label, v in rows:
            print("%-26s %10.0f %13.2fx" % (label, v, v / base))
    finally:
        subprocess.run([os.path.join(here, "..", "tools", "ceph-cluster.sh"), "stop", cluster], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
