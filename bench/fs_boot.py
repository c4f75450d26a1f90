#!/usr/bin/python3
"""glint-fs booting an image from a store a round trip away, on both data paths: rbd (a
throwaway Ceph cluster, tools/ceph-cluster.sh) and http (--http through glint-api).

The round trip. rbd: every reader of the store (python-rbd, rbd export, rbd-fuse and
glint-fs) is given a copy of the cluster's ceph.conf whose [client] section makes the
client's messenger hold every message from the OSD for a random 0..--delay-max-ms
(ms_inject_delay_type = osd, ms_inject_delay_max, ms_inject_delay_probability = 1; this
kernel has no netem qdisc). http: bench/delay_proxy.py, a TCP proxy delaying every byte by
--one-way-ms each way. Both are measured and printed first (median of a 4 KiB read, and of
GET /healthcheck, with the delay and without).

  seq      cold sequential read (dd bs=1M after drop_caches) through glint-fs with an empty
           host cache and without a cache; rbd also: librbd one stream of 4 MiB reads, `rbd
           export` (librbd's parallel reader) and rbd-fuse
  storm    --readers O_DIRECT readers (qemu cache=none) of the boot pattern at once on one
           host, fresh cache: time against one reader, what the store served (rbd: the
           OSD's op_r and op_r_out_bytes perf counters; http: the proxy's count) and
           glint-fs's peak RSS (VmHWM)
  learned  a new host's first VM: time to the boot pattern's end on an image whose boot set
           another host learned (reported through the API), against an identical image that
           no host has booted; each on a fresh mount with an empty cache
  nova     the baseline: download the whole image to a local file (http: GET .../file
           through the proxy, as Nova does; rbd: `rbd export`, parallel, faster than Nova's
           own download), then read the boot pattern from it: time to the first byte and to
           the pattern's end, against glint-fs (the learned image's time from `learned`)

The boot pattern is bench/fs_store.py's: the first --boot-mib MiB in 1 MiB reads, then 64
scattered 64 KiB reads, one read at a time (a guest waits for each).

    bench/fs_boot.py [--paths rbd,http] [--cases seq,storm,boot] [--size-mib 1024]
                     [--delay-max-ms 1] [--one-way-ms 0.3] [--readers 16] [--boot-mib 64]
Needs root (FUSE, drop_caches). Not part of the test suite.
"""
import argparse
import contextlib
import json
import mmap
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "support"))
sys.path.insert(0, here)
import glint_server  # noqa: E402
import requests  # noqa: E402
from delay_proxy import DelayProxy  # noqa: E402
from fs_store import CHUNK, added_rtt_ms, boot_pattern, load, rss_kib, storm  # noqa: E402
from fs_cache import drop_caches  # noqa: E402
from bench import curl_auth, ensure  # noqa: E402

TOOLS = os.path.join(here, "..", "tools")


def dd_cold(path, size):
    drop_caches()
    t = time.time()
    subprocess.run(["dd", "if=" + path, "of=/dev/null", "bs=1M"], check=True, capture_output=True)
    return size / 1e6 / (time.time() - t)


def run_reads(fd, reads, t0=None):
    """Reads `reads` one after another (O_DIRECT, as qemu cache=none); returns the seconds
    from t0 to the first read's end and to the last's."""
    buf = mmap.mmap(-1, 1 << 20)
    t0 = time.time() if t0 is None else t0
    first = None
    try:
        for off, n in reads:
            os.preadv(fd, [memoryview(buf)[:n]], off)
            if first is None:
                first = time.time() - t0
    finally:
        buf.close()
    return first, time.time() - t0


def open_and_run(path, reads):
    t0 = time.time()
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        return run_reads(fd, reads, t0)
    finally:
        os.close(fd)


def wait_file(path, timeout=30):
    deadline = time.time() + timeout
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.05)
    return path


def upload(server, payload):
    h = {"X-Auth-Token": server.token}
    image = requests.post(server.url + "/v2/images", headers=h,
                          json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
    with open(payload, "rb") as f:
        r = requests.put(server.url + "/v2/images/%s/file" % image, data=f,
                         headers=dict(h, **{"Content-Type": "application/octet-stream"}))
    assert r.status_code == 204, r.text
    return image


class FreshImages:
    """`with fresh() as image_id`: an image of the payload's bytes that no host has opened
    (so no boot set was learned for it), deleted afterwards. Every case reads its own: a
    mount reports what it read, and the next mount would prefetch that."""

    def __init__(self, server, payload):
        self.server, self.payload = server, payload

    @contextlib.contextmanager
    def __call__(self):
        image = upload(self.server, self.payload)
        try:
            yield image
        finally:
            requests.delete(self.server.url + "/v2/images/" + image, headers={"X-Auth-Token": self.server.token})


class RbdPath:
    """Glint on a throwaway Ceph cluster; readers use the delaying client config."""
    name = "rbd"

    def __init__(self, tmp, args):
        ensure(["rbd-fuse", "python3-rbd"])
        self.tmp, self.size = tmp, args.size_mib << 20
        self.cluster = os.path.join(tmp, "ceph")
        mem = str(3 * self.size + (1 << 30))  # at most 2 images at once, and deleted ones' space
        subprocess.run([os.path.join(TOOLS, "ceph-cluster.sh"), "start", self.cluster], check=True,
                       capture_output=True, env=dict(os.environ, GLINT_CEPH_MEMSTORE_BYTES=mem))
        self.conf, self.pool, self.user = os.path.join(self.cluster, "ceph.conf"), "images", "glance"
        self.delay_conf = os.path.join(self.cluster, "delay.conf")
        with open(self.conf) as src, open(self.delay_conf, "w") as dst:
            dst.write(src.read())  # its last section is [client]
            dst.write("ms inject delay type = osd\nms inject delay max = %g\nms inject delay probability = 1\n" %
                      (args.delay_max_ms / 1000))
        d = os.path.join(tmp, "api")
        os.makedirs(d)
        cfg = os.path.join(d, "glint.conf")
        with open(cfg, "w") as f:  # the API itself writes without the delay: uploads are not measured
            f.write("[glance_store]\nstores = rbd\ndefault_store = rbd\nrbd_store_pool = %s\nrbd_store_user = %s\n"
                    "rbd_store_ceph_conf = %s\n" % (self.pool, self.user, self.conf))
        self.server = glint_server.GlintServer(d, config=cfg)
        self.server.start()
        self.api = self.server

    def stop(self):
        self.server.stop()
        subprocess.run([os.path.join(TOOLS, "ceph-cluster.sh"), "stop", self.cluster], capture_output=True)

    def mount_args(self):
        return ["--rbd", "--rbd-pool", self.pool, "--rbd-user", self.user, "--ceph-conf", self.delay_conf]

    def osd_counters(self):
        out = subprocess.run(["ceph", "--admin-daemon", os.path.join(self.cluster, "run", "osd.0.asok"),
                              "perf", "dump"], check=True, capture_output=True, text=True).stdout
        osd = json.loads(out)["osd"]
        return osd["op_r"], osd["op_r_out_bytes"]

    def reset(self):
        self.base = self.osd_counters()

    def fetched(self):
        ops, out = self.osd_counters()
        return ops - self.base[0], out - self.base[1]

    def round_trip(self):
        import rados
        import rbd

        def median_read(conf, image):
            with rados.Rados(conffile=conf, rados_id=self.user) as c, c.open_ioctx(self.pool) as io, \
                    rbd.Image(io, image, snapshot="snap", read_only=True) as img:
                times = []
                for i in range(50):
                    t = time.perf_counter()
                    img.read(i * 65536, 4096)
                    times.append(time.perf_counter() - t)
                return statistics.median(times) * 1000
        return median_read(self.conf, self.probe), median_read(self.delay_conf, self.probe)

    def export(self, image, dest):
        """`rbd export` (librbd's parallel reader) of the image's snapshot, with the delay."""
        subprocess.run(["rbd", "--conf", self.delay_conf, "--id", self.user, "export",
                        "%s/%s@snap" % (self.pool, image), dest], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def local_copy(self, image, dest):
        self.export(image, dest)

    def extra_seq(self, image):
        import rados
        import rbd

        def stream():
            with rados.Rados(conffile=self.delay_conf, rados_id=self.user) as c, c.open_ioctx(self.pool) as io, \
                    rbd.Image(io, image, snapshot="snap", read_only=True) as img:
                t, off = time.time(), 0
                while off < self.size:
                    off += len(img.read(off, 4 << 20))
                return self.size / 1e6 / (time.time() - t)

        def export():
            t = time.time()
            self.export(image, "-")
            return self.size / 1e6 / (time.time() - t)

        rows = [("librbd, one stream of 4 MiB reads", stream()), ("rbd export (parallel)", export())]
        mnt = os.path.join(self.tmp, "rbd-fuse")
        os.makedirs(mnt, exist_ok=True)
        # rbd-fuse reads as client.admin (it takes no user option); the same delaying config.
        proc = subprocess.Popen(["rbd-fuse", "-c", self.delay_conf, "-p", self.pool, mnt, "-f"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            path = wait_file(os.path.join(mnt, image))
            rows.append(("rbd-fuse", dd_cold(path, self.size)))
        finally:
            subprocess.run(["fusermount3", "-u", mnt], capture_output=True)
            proc.wait(20)
        return rows


class HttpPath:
    """Glint with a file store; glint-fs --http reaches the API through the delay proxy."""
    name = "http"

    def __init__(self, tmp, args):
        self.tmp, self.size = tmp, args.size_mib << 20
        self.server = glint_server.GlintServer(os.path.join(tmp, "api"))
        os.makedirs(self.server.data_dir)
        self.server.start()
        self.proxy = DelayProxy(("127.0.0.1", self.server.port), args.one_way_ms).start()
        self.api = type("Api", (), {"url": self.proxy.url, "token": self.server.token})

    def stop(self):
        self.proxy.stop()
        self.server.stop()

    def mount_args(self):
        return ["--http"]

    def reset(self):
        self.proxy.reset()

    def fetched(self):
        return self.proxy.count(b"/file HTTP/1.1"), self.proxy.bytes_down

    def round_trip(self):
        return added_rtt_ms(self.server, self.proxy)

    def local_copy(self, image, dest):
        subprocess.run(["curl", "-sSf", "-o", dest] + curl_auth(self.server.token) +
                       ["%s/v2/images/%s/file" % (self.proxy.url, image)], check=True)

    def extra_seq(self, image):
        return []


class Mount:
    """A fresh glint-fs mount (and, with a cache, a fresh cache directory) for one case."""
    serial = 0

    def __init__(self, path, cached, boot_seconds=30):
        Mount.serial += 1
        self.mnt = os.path.join(path.tmp, "mnt%d" % Mount.serial)
        self.cache = self.mnt + "-cache"
        args = path.mount_args() + ["--threads", "32", "--boot-prefetch-seconds", str(boot_seconds)]
        if cached:
            args += ["--cache-dir", self.cache, "--cache-size", "%dM" % ((path.size >> 20) * 2 + 64)]
        self.fsm = glint_server.GlintFsMount(path.api, self.mnt, args=args)

    def __enter__(self):
        self.fsm.start()
        return self

    def file(self, image):
        return wait_file(os.path.join(self.mnt, "by-id", image))

    def __exit__(self, *exc):
        self.fsm.stop()
        shutil.rmtree(self.cache, ignore_errors=True)


def bench_seq(path, fresh):
    with fresh() as image:
        rows = path.extra_seq(image)
    for label, cached in (("glint-fs, empty host cache", True), ("glint-fs, no cache", False)):
        with fresh() as image, Mount(path, cached) as m:
            rows.append((label, dd_cold(m.file(image), path.size)))
    print("\n### %s: cold sequential read, %d MiB, load %s" % (path.name, path.size >> 20, load()))
    print("| reader | MB/s | vs the first |")
    print("|---|---|---|")
    for label, mbs in rows:
        print("| %s | %.0f | %.2fx |" % (label, mbs, mbs / rows[0][1]))


def bench_storm(path, fresh, readers, reads):
    needed = len({off // CHUNK for off, n in reads} | {(off + n - 1) // CHUNK for off, n in reads})
    rows = []
    for label, cached in (("cached", True), ("uncached", False)):
        for count in (1, readers):
            with fresh() as image, Mount(path, cached) as m:
                f = m.file(image)
                path.reset()
                took = storm(f, reads, count)
                peak = rss_kib(m.fsm.proc.pid, "VmHWM") / 1024
                rows.append((label, count, took) + path.fetched() + (peak,))
    print("\n### %s: boot storm, %d chunks needed (%d MiB), O_DIRECT, load %s" %
          (path.name, needed, needed * CHUNK >> 20, load()))
    print("| mount | readers | time s | vs one reader | aggregate MB/s | store reads | MiB from the store |"
          " glint-fs peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    single, pattern = {}, sum(n for _, n in reads)
    for label, count, took, ops, nbytes, peak in rows:
        single.setdefault(label, took)
        print("| %s | %d | %.2f | %.2fx | %.0f | %d | %.0f | %.0f |" % (
            label, count, took, took / single[label], count * pattern / 1e6 / took, ops, nbytes / 2**20, peak))


def report_boot_set(path, image, reads):
    """Host A boots `image` and reports what it read; returns once the API has merged it."""
    with Mount(path, True, boot_seconds=2) as a:
        f = a.file(image)
        fd = os.open(f, os.O_RDONLY | os.O_DIRECT)
        try:
            run_reads(fd, reads)
            time.sleep(2.5)  # past the window: the close below reports the set
        finally:
            os.close(fd)
        url = "%s/v2/images/%s/x-glint-boot-set" % (path.server.url, image)
        deadline = time.time() + 30
        while time.time() < deadline:
            got = requests.get(url, headers={"X-Auth-Token": path.server.token}).json()
            if got.get("reports"):
                return len(got["chunks"])
            time.sleep(0.2)
    raise RuntimeError("host A's boot set was not reported")


def bench_learned_and_nova(path, fresh, reads):
    with fresh() as learned, fresh() as control:
        return learned_and_nova(path, learned, control, reads)


def learned_and_nova(path, learned, control, reads):
    chunks = report_boot_set(path, learned, reads)
    rows = []
    for label, image in (("glint-fs, boot set learned on another host", learned),
                         ("glint-fs, no boot set (image never booted)", control)):
        with Mount(path, True) as m:
            f = m.file(image)
            drop_caches()
            path.reset()
            first, done = open_and_run(f, reads)
            rows.append((label, first, done) + path.fetched())
    local = os.path.join(path.tmp, "nova-local.img")
    drop_caches()
    path.reset()
    t = time.time()
    path.local_copy(control, local)
    copied = time.time() - t
    first, done = open_and_run(local, reads)
    rows.append(("Nova: whole download, then a local file", copied + first, copied + done) + path.fetched())
    os.unlink(local)
    print("\n### %s: a new host's first boot, %d MiB image, learned set %d chunks, load %s" %
          (path.name, path.size >> 20, chunks, load()))
    print("| how | first byte s | boot pattern done s | vs learned | store reads | MiB from the store |")
    print("|---|---|---|---|---|---|")
    for label, first, done, ops, nbytes in rows:
        print("| %s | %.3f | %.2f | %.2fx | %d | %.0f |" % (label, first, done, done / rows[0][2], ops,
                                                           nbytes / 2**20))


def run_path(cls, tmp, args):
    os.makedirs(os.path.join(tmp, cls.name))
    path = cls(os.path.join(tmp, cls.name), args)
    try:
        payload = os.path.join(tmp, "payload")
        with open(payload, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
        fresh = FreshImages(path.server, payload)
        with fresh() as probe:
            path.probe = probe
            direct, delayed = path.round_trip()
        what = "4 KiB rbd read" if cls is RbdPath else "GET /healthcheck"
        print("\n## %s: %s median %.2f ms without the delay, %.2f ms with it (%.2f ms added)" %
              (path.name, what, direct, delayed, delayed - direct), flush=True)
        reads = boot_pattern(path.size, args.boot_mib)
        if "seq" in args.cases:
            bench_seq(path, fresh)
        if "storm" in args.cases:
            bench_storm(path, fresh, args.readers, reads)
        if "boot" in args.cases:
            bench_learned_and_nova(path, fresh, reads)
        os.unlink(payload)
    finally:
        path.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--paths", default="rbd,http")
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--delay-max-ms", type=float, default=1.0, help="rbd: most the messenger holds an OSD reply")
    ap.add_argument("--one-way-ms", type=float, default=0.3, help="http: delay added in each direction")
    ap.add_argument("--readers", type=int, default=16)
    ap.add_argument("--boot-mib", type=int, default=64)
    ap.add_argument("--cases", default="seq,storm,boot", help="which of seq, storm, boot (learned and nova)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="glint-bench-boot-", dir="/var/tmp")
    try:
        for name in args.paths.split(","):
            run_path({"rbd": RbdPath, "http": HttpPath}[name], tmp, args)
    finally:
        if os.environ.get("GLINT_BENCH_KEEP"):  # the mounts' logs, for a look afterwards
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
