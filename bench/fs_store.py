#!/usr/bin/python3
"""glint-fs against a store a round trip away: what a cache miss costs, a boot storm of
concurrent readers on one host, and bounded memory (issue 13's store-path benchmarks).

A glint-api with a file store is started; glint-fs mounts it with --http (data read with
Range requests through the API) behind bench/delay_proxy.py, a TCP proxy adding
--one-way-ms to every byte in each direction (this kernel has no netem qdisc). The proxy
counts the image's data requests and the bytes it carried back; the added round trip is
measured and printed (GET /healthcheck through the proxy against directly).

  miss   one reader, dd bs=1M (buffered, kernel read-ahead), fresh host cache: data
         requests per 4 MiB chunk (target 1) and MB/s; the same read on a mount without a
         cache (one request per kernel request) for contrast
  storm  --readers readers (default 16) of one image, each its own open with O_DIRECT
         (qemu cache=none: no sharing through the page cache), each reading a boot-like
         pattern (the first --boot-mib MiB in 1 MiB reads, then 64 scattered 64 KiB reads,
         the same for every reader); fresh cache: time until all have finished against one
         reader alone, store fetches per chunk needed and bytes from the store against the
         bytes needed; a mount without a cache for contrast
  rss    (--rss-gib > 0) a --rss-gib GiB image (zeros, sent with curl from a sparse file):
         glint-api's RSS growth during the upload and a download; glint-fs's peak RSS
         (VmHWM) reading it whole through a cache of 256 MiB (so it evicts) and without

    bench/fs_store.py [--size-mib 256] [--one-way-ms 0.5] [--readers 16] [--rss-gib 0]
Needs root (FUSE). Not part of the test suite.
"""
import argparse
import mmap
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "support"))
sys.path.insert(0, here)
import glint_server  # noqa: E402
import requests  # noqa: E402
from delay_proxy import DelayProxy  # noqa: E402
from bench import curl_auth  # noqa: E402

CHUNK = 4 << 20


def load():
    return open("/proc/loadavg").read().split()[0]


def added_rtt_ms(server, proxy):
    def median(url):
        s = requests.Session()
        s.get(url + "/healthcheck")
        times = []
        for _ in range(30):
            t = time.perf_counter()
            s.get(url + "/healthcheck")
            times.append(time.perf_counter() - t)
        return statistics.median(times) * 1000
    direct, proxied = median(server.url), median(proxy.url)
    return direct, proxied


def upload(server, data):
    h = {"X-Auth-Token": server.token}
    image = requests.post(server.url + "/v2/images", headers=h,
                          json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
    r = requests.put(server.url + "/v2/images/%s/file" % image, data=data,
                     headers=dict(h, **{"Content-Type": "application/octet-stream"}))
    assert r.status_code == 204, r.text
    return image


class Mount:
    """glint-fs --http through the proxy, with a fresh cache directory or none."""

    def __init__(self, server, proxy, tmp, name, cache_mib=None):
        self.path = os.path.join(tmp, name)
        self.cache = os.path.join(tmp, name + "-cache")
        fake = type("Api", (), {"url": proxy.url, "token": server.token})
        args = ["--http", "--threads", "32"]
        if cache_mib:
            args += ["--cache-dir", self.cache, "--cache-size", "%dM" % cache_mib, "--cache-unverified"]
        self.fsm = glint_server.GlintFsMount(fake, self.path, args=args)

    def __enter__(self):
        self.fsm.start()
        return self

    def file(self, image):
        path = os.path.join(self.path, "by-id", image)
        deadline = time.time() + 20
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.05)
        return path

    def __exit__(self, *exc):
        self.fsm.stop()
        shutil.rmtree(self.cache, ignore_errors=True)


def boot_pattern(size, boot_mib):
    rng = random.Random(13)
    reads = [(off, 1 << 20) for off in range(0, min(size, boot_mib << 20), 1 << 20)]
    reads += [(rng.randrange(0, size >> 16) << 16, 64 << 10) for _ in range(64)]
    return reads


def read_pattern(path, reads):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, 1 << 20)
    try:
        for off, n in reads:
            os.preadv(fd, [memoryview(buf)[:n]], off)
    finally:
        os.close(fd)
        buf.close()


def storm(path, reads, readers):
    threads = [threading.Thread(target=read_pattern, args=(path, reads)) for _ in range(readers)]
    t = time.time()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.time() - t


def bench_miss(server, proxy, tmp, image, size, marker):
    rows = []
    for name, cache in (("cached", size // (1 << 20) + 64), ("uncached", None)):
        with Mount(server, proxy, tmp, "miss-" + name, cache) as m:
            path = m.file(image)
            proxy.reset()
            t = time.time()
            subprocess.run(["dd", "if=" + path, "of=/dev/null", "bs=1M"], check=True, capture_output=True)
            took = time.time() - t
            rows.append((name, proxy.count(marker), size / 1e6 / took, proxy.bytes_down))
    chunks = (size + CHUNK - 1) // CHUNK
    print("\n### cache miss: one sequential reader (dd bs=1M), %d chunks, load %s" % (chunks, load()))
    print("| mount | data requests | per chunk | MB/s | MiB from the store |")
    print("|---|---|---|---|---|")
    for name, n, mbs, down in rows:
        print("| %s | %d | %.2f | %.0f | %.0f |" % (name, n, n / chunks, mbs, down / 2**20))


def bench_storm(server, proxy, tmp, image, size, marker, readers, boot_mib):
    reads = boot_pattern(size, boot_mib)
    needed = len({off // CHUNK for off, _ in reads} | {(off + n - 1) // CHUNK for off, n in reads})
    rows = []
    for name, cache, count in (("cached", size // (1 << 20) + 64, 1), ("cached", size // (1 << 20) + 64, readers),
                               ("uncached", None, 1), ("uncached", None, readers)):
        with Mount(server, proxy, tmp, "storm-%s-%d" % (name, count), cache) as m:
            path = m.file(image)
            proxy.reset()
            took = storm(path, reads, count)
            rows.append((name, count, took, proxy.count(marker), proxy.bytes_down))
    print("\n### boot storm: %d MiB sequential + 64 x 64 KiB scattered, O_DIRECT, %d chunks needed, load %s" %
          (boot_mib, needed, load()))
    print("| mount | readers | time s | vs one reader | data requests | per chunk needed | MiB from the store |")
    print("|---|---|---|---|---|---|---|")
    single = {}
    for name, count, took, n, down in rows:
        single.setdefault(name, took)
        print("| %s | %d | %.2f | %.2fx | %d | %.2f | %.0f |" % (name, count, took, took / single[name], n,
                                                                 n / needed, down / 2**20))


def rss_kib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def sample_peak(pid, fn):
    """Runs fn() while sampling pid's VmRSS every 20 ms; returns (before, peak) in MiB."""
    before = rss_kib(pid)
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.02)
    th = threading.Thread(target=sample)
    th.start()
    try:
        fn()
    finally:
        done.set()
        th.join()
    return before / 1024, peak[0] / 1024


def bench_rss(server, tmp, gib):
    size = gib << 30
    sparse = os.path.join(tmp, "zeros.img")
    with open(sparse, "wb") as f:
        f.truncate(size)
    h = curl_auth(server.token)
    image = requests.post(server.url + "/v2/images", headers={"X-Auth-Token": server.token},
                          json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
    url = server.url + "/v2/images/%s/file" % image
    up = sample_peak(server.proc.pid, lambda: subprocess.run(
        ["curl", "-sf", "-T", sparse, "-H", "Content-Type: application/octet-stream"] + h + [url], check=True))
    down = sample_peak(server.proc.pid, lambda: subprocess.run(["curl", "-sf", "-o", "/dev/null"] + h + [url],
                                                               check=True))
    os.unlink(sparse)
    print("\n### memory: a %d GiB image, load %s" % (gib, load()))
    print("| process | what | RSS before MiB | peak MiB |")
    print("|---|---|---|---|")
    print("| glint-api | upload | %.0f | %.0f |" % up)
    print("| glint-api | download | %.0f | %.0f |" % down)
    for name, args in (("cached (256 MiB cache)", ["--cache-dir", os.path.join(tmp, "rss-cache"),
                                                    "--cache-size", "256M", "--cache-unverified"]),
                       ("store file, no cache", [])):
        mnt = os.path.join(tmp, "rss-mnt")
        fsm = glint_server.GlintFsMount(server, mnt, args=["--store-dir", server.store_dir] + args).start()
        try:
            path = os.path.join(mnt, "by-id", image)
            deadline = time.time() + 20
            while not os.path.exists(path) and time.time() < deadline:
                time.sleep(0.05)
            before = rss_kib(fsm.proc.pid)
            subprocess.run(["dd", "if=" + path, "of=/dev/null", "bs=1M"], check=True, capture_output=True)
            print("| glint-fs | read whole, %s | %.0f | %.0f (VmHWM) |" %
                  (name, before / 1024, rss_kib(fsm.proc.pid, "VmHWM") / 1024))
        finally:
            fsm.stop()
            shutil.rmtree(os.path.join(tmp, "rss-cache"), ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--size-mib", type=int, default=256, help="image size for miss and storm")
    ap.add_argument("--one-way-ms", type=float, default=0.5, help="delay added in each direction")
    ap.add_argument("--readers", type=int, default=16)
    ap.add_argument("--boot-mib", type=int, default=64)
    ap.add_argument("--rss-gib", type=int, default=0, help="image size for the memory run (0: skip)")
    args = ap.parse_args()
    size = args.size_mib << 20
    tmp = tempfile.mkdtemp(prefix="glint-bench-store-", dir="/var/tmp")
    server = glint_server.GlintServer(os.path.join(tmp, "api"))
    os.makedirs(server.data_dir)
    server.start()
    proxy = DelayProxy(("127.0.0.1", server.port), args.one_way_ms).start()
    try:
        image = upload(server, os.urandom(size))
        marker = b"GET /v2/images/%s/file" % image.encode()
        direct, proxied = added_rtt_ms(server, proxy)
        print("store round trip: GET /healthcheck median %.2f ms direct, %.2f ms through the proxy "
              "(%.2f ms added; %.2f ms asked for)" % (direct, proxied, proxied - direct, 2 * args.one_way_ms))
        bench_miss(server, proxy, tmp, image, size, marker)
        bench_storm(server, proxy, tmp, image, size, marker, args.readers, args.boot_mib)
        if args.rss_gib > 0:
            bench_rss(server, tmp, args.rss_gib)
    finally:
        proxy.stop()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
