#!/usr/bin/python3
"""glint-fs reading from its host cache (--cache-dir) against a local file of the same size
on the same disk, side by side in one run: the cache with FUSE passthrough (the image kept
whole: the kernel reads its local file), the cache without passthrough (--no-passthrough:
every read spliced by glint-fs from the 4 MiB chunk files), and glint-fs without a cache
on the file store (the store's own image file as the passthrough backing file).

Uploads a random image to a glint-api with a file store, mounts glint-fs with a host cache
and reads the image once (filling the cache: one store read per 4 MiB chunk), then measures
sequential read MB/s with dd bs=1M, best of --runs, alternating the readers. What each
mode means, for the local file and for glint-fs:

  cold    drop_caches before each read: the local file from disk; glint-fs with an empty
          page cache, splicing the chunk files (or the store file) from disk
  warm    the file read once just before, so its pages are in the page cache: the local
          file's, and the mount's own (kept across opens: keep_cache) - a second boot of
          the same image on the host
  fuse    the local file page-cached against glint-fs with the mount's page cache dropped
          (fadvise DONTNEED) but the chunk files page-cached: every 1 MiB goes through a
          FUSE request and glint-fs, the cost of the FUSE path itself
  direct  O_DIRECT (qemu cache=none) after drop_caches: the local file from disk; glint-fs
          sends every read to the daemon, which splices from the chunk files (from disk
          the first time)

    bench/fs_cache.py [--size-mib 512] [--runs 3]
Needs root (FUSE, drop_caches). Prints the MB/s and the ratios, glint-fs / local file.
"""
import argparse
import resource
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


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def drop_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def warm_file(path):
    subprocess.run(["cat", path], check=True, stdout=subprocess.DEVNULL)


def proc_cpu(pid):
    """CPU seconds (user + system) a process has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dd(path, size, daemon, *flags):
    """(MB/s, CPU seconds per GiB of dd plus the glint-fs daemon serving it, if any)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0 = proc_cpu(daemon) if daemon else 0
    t = time.time()
    subprocess.run(["dd", "if=" + path, "of=/dev/null", "bs=1M"] + list(flags), check=True, capture_output=True)
    took = time.time() - t
    ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru2.ru_utime + ru2.ru_stime - ru.ru_utime - ru.ru_stime + (proc_cpu(daemon) - cpu0 if daemon else 0)
    return size / 1e6 / took, cpu / (size / 2**30)


def warm_both(path):
    warm_file(path)


def measure(paths, backing_files, size, runs, daemons):
    """Per mode: best MB/s of each path (the local file first), the load average (1 min)
    after it, and the least CPU seconds per GiB of each (dd, plus the glint-fs process for
    the mounts: `daemons` maps a path to its pid)."""
    local = paths[0]
    modes = {
        "cold": (lambda p: drop_caches(), ()),
        "warm": (warm_both, ()),
        "fuse": (lambda p: warm_file(p) if p == local else drop_file(p), ()),
        "direct": (lambda p: drop_caches(), ("iflag=direct",)),
    }
    out = {}
    for mode, (prepare, flags) in modes.items():
        best = dict((p, 0.0) for p in paths)
        cpu = dict((p, 1e9) for p in paths)
        for _ in range(runs):
            for path in paths:
                if mode == "fuse":
                    for f in backing_files:
                        warm_file(f)
                prepare(path)
                mbs, cpu_gib = dd(path, size, daemons.get(path), *flags)
                best[path] = max(best[path], mbs)
                cpu[path] = min(cpu[path], cpu_gib)
        out[mode] = (tuple(best[p] for p in paths) + (open("/proc/loadavg").read().split()[0],),
                     tuple(cpu[p] for p in paths))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--size-mib", type=int, default=512)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    size = args.size_mib << 20
    tmp = tempfile.mkdtemp(prefix="glint-bench-cache-", dir="/var/tmp")
    server = glint_server.GlintServer(os.path.join(tmp, "api"))
    os.makedirs(server.data_dir)
    server.start()
    mnt = os.path.join(tmp, "mnt")
    cache = os.path.join(tmp, "cache")
    fsm = chunked = plain = None
    try:
        data = os.urandom(size)
        local = os.path.join(tmp, "local.img")
        with open(local, "wb") as f:
            f.write(data)
        h = {"X-Auth-Token": server.token}
        image = requests.post(server.url + "/v2/images", headers=h,
                              json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
        r = requests.put(server.url + "/v2/images/%s/file" % image, data=data,
                         headers=dict(h, **{"Content-Type": "application/octet-stream"}))
        assert r.status_code == 204, r.text
        del data
        cache_args = ["--store-dir", server.store_dir, "--cache-size", "%dM" % (args.size_mib + 64),
                      "--cache-unverified"]
        fsm = glint_server.GlintFsMount(server, mnt, args=cache_args + ["--cache-dir", cache]).start()
        chunked = glint_server.GlintFsMount(server, mnt + "-chunks", args=cache_args + [
            "--cache-dir", cache + "-chunks", "--no-passthrough"]).start()
        plain = glint_server.GlintFsMount(server, mnt + "-plain", args=["--store-dir", server.store_dir]).start()
        mounted = os.path.join(mnt, "by-id", image)
        in_chunks = os.path.join(mnt + "-chunks", "by-id", image)
        uncached = os.path.join(mnt + "-plain", "by-id", image)
        deadline = time.time() + 10
        while not all(os.path.exists(p) for p in (mounted, in_chunks, uncached)) and time.time() < deadline:
            time.sleep(0.1)
        for path in (mounted, in_chunks):  # fills the caches
            subprocess.run(["dd", "if=" + path, "of=/dev/null", "bs=1M", "iflag=direct"], check=True,
                           capture_output=True)
        deadline = time.time() + 60
        while os.getxattr(mounted, "user.glint.cache.whole") != b"1" and time.time() < deadline:
            time.sleep(0.1)
        whole = os.getxattr(mounted, "user.glint.cache.whole").decode()
        chunks = os.getxattr(mounted, "user.glint.cache.chunks").decode()
        fetches = os.getxattr(mounted, "user.glint.cache.fetches").decode()
        chunk_dir = os.path.join(cache + "-chunks", "chunks", image)
        backing = [os.path.join(chunk_dir, f) for f in os.listdir(chunk_dir)]
        backing += [os.path.join(cache, "images", image), os.path.join(server.store_dir, image)]
        paths = (local, mounted, in_chunks, uncached)
        results = measure(paths, backing, size, args.runs,
                          {mounted: fsm.proc.pid, in_chunks: chunked.proc.pid, uncached: plain.proc.pid})
        after = os.getxattr(mounted, "user.glint.cache.fetches").decode()
        print("image %d MiB, cache %s chunks (kept whole: %s), %s store reads to fill it, %s after the runs" %
              (args.size_mib, chunks, whole, fetches, after))
        print("pipe-max-size %s" % open("/proc/sys/fs/pipe-max-size").read().strip())
        print("| mode | local file MB/s | cached, passthrough | ratio | cached, chunk files | ratio "
              "| store file, no cache | ratio | load avg |")
        print("|---|---|---|---|---|---|---|---|---|")
        for mode, ((lo, pt, ch, un, load), _) in results.items():
            print("| %s | %.0f | %.0f | %.2fx | %.0f | %.2fx | %.0f | %.2fx | %s |" %
                  (mode, lo, pt, pt / lo, ch, ch / lo, un, un / lo, load))
        print("\nCPU seconds per GiB read (dd, plus glint-fs for the mounts; least of the runs), and "
              "local / glint-fs: a ratio of throughput if the CPU were the only limit")
        print("| mode | local file | cached, passthrough | ratio | cached, chunk files | ratio "
              "| store file | ratio |")
        print("|---|---|---|---|---|---|---|---|")
        for mode, (_, (lo, pt, ch, un)) in results.items():
            print("| %s | %.3f | %.3f | %.2fx | %.3f | %.2fx | %.3f | %.2fx |" %
                  (mode, lo, pt, lo / pt, ch, lo / ch, un, lo / un))
    finally:
        for m in (fsm, chunked, plain):
            if m:
                m.stop()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
