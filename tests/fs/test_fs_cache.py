"""glint-fs's host cache (--cache-dir) on a real FUSE mount against a real glint-api with a
file store: second reads come from the cache, one store read per 4 MiB chunk, a damaged
cache file is found and fetched again, the cache survives a restart.

Chunk manifests: the tests named *_with_manifest need the API's
GET /v2/images/{id}/x-glint-manifest and skip (saying so) while the API answers 404 for
every image; the others mount with --cache-unverified, which verifies every image that
has a manifest and caches the others unverified.
"""
import glob
import os
import sqlite3
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402
from test_fs import Api, by_id, require_fuse, wait_for  # noqa: E402

CHUNK = 4 << 20


@pytest.fixture(scope="module")
def server():
    require_fuse()
    s = glint_server.GlintServer.start_default()
    yield s
    s.stop()


class CacheMount:
    """A glint-fs mount with a host cache; restartable on the same cache directory."""

    def __init__(self, server, args=("--store-dir",), unverified=True):
        self.server = server
        self.mnt = tempfile.mkdtemp(prefix="glint-mnt-cache-")
        self.cache = tempfile.mkdtemp(prefix="glint-cache-")
        args = ["--store-dir", server.store_dir] if list(args) == ["--store-dir"] else list(args)
        extra = ["--cache-dir", self.cache, "--cache-size", "64M"] + (["--cache-unverified"] if unverified else [])
        self.fsm = glint_server.GlintFsMount(server, self.mnt, args=args + extra)

    def __enter__(self):
        self.fsm.start()
        return self

    def restart(self):
        self.fsm.stop()
        self.fsm.start()

    def log(self):
        with open(self.mnt.rstrip("/") + ".log", "rb") as f:
            return f.read().decode(errors="replace")

    def __exit__(self, *exc):
        self.fsm.stop()
        glint_server.remove_mountpoint(self.mnt)
        shutil.rmtree(self.cache, ignore_errors=True)


def dd_direct(path, *args):
    """Reads through glint-fs with O_DIRECT (never from the kernel's page cache)."""
    return subprocess.run(["dd", "if=" + path, "iflag=direct", "bs=1M", "status=none"] + list(args),
                          capture_output=True)


def read_direct(path):
    p = dd_direct(path)
    assert p.returncode == 0, p.stderr
    return p.stdout


def xattr(path, name):
    return os.getxattr(path, name).decode()


def chunks_of(size):
    return (size + CHUNK - 1) // CHUNK


def api_log(server):
    with open(os.path.join(server.data_dir, "api.log"), "rb") as f:
        return f.read().decode(errors="replace")


def has_manifest(server, image_id):
    r = requests.get(server.url + "/v2/images/%s/x-glint-manifest" % image_id,
                     headers={"X-Auth-Token": server.token})
    return r.status_code == 200


def test_second_read_comes_from_the_cache(server):
    api = Api(server)
    data = os.urandom(10 * CHUNK + 12345)
    img = api.active(data, name="cached")
    with CacheMount(server) as m:
        path = by_id(m.mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path))
        assert xattr(path, "user.glint.cache.chunks") == "0/11"
        assert read_direct(path) == data
        assert xattr(path, "user.glint.cache.fetches") == "11"  # one store read per chunk
        assert xattr(path, "user.glint.cache.chunks") == "11/11"
        # With the store file gone, the cache alone serves every byte.
        store_file = os.path.join(server.store_dir, img["id"])
        os.rename(store_file, store_file + ".away")
        try:
            assert read_direct(path) == data
            with open(path, "rb") as f:
                f.seek(3 * CHUNK - 100)
                assert f.read(300) == data[3 * CHUNK - 100:3 * CHUNK + 200]  # across two chunks
        finally:
            os.rename(store_file + ".away", store_file)
        assert xattr(path, "user.glint.cache.fetches") == "11"
        assert "user.glint.cache.chunks" in os.listxattr(path)
        # The cache is the mounting user's alone.
        for d in [m.cache] + glob.glob(os.path.join(m.cache, "chunks", "*")):
            assert os.stat(d).st_mode & 0o7777 == 0o700
        for f in glob.glob(os.path.join(m.cache, "chunks", img["id"], "*")):
            assert os.stat(f).st_mode & 0o7777 == 0o600


def test_http_cache_miss_is_one_range_request_per_chunk(server):
    """Counted in the API's access log: each missing 4 MiB chunk costs one Range request,
    whatever the kernel's request size; a cached image costs none."""
    api = Api(server)
    data = os.urandom(3 * CHUNK + 1000)
    img = api.active(data, name="cached-http")
    target = '"GET /v2/images/%s/file"' % img["id"]
    with CacheMount(server, args=["--http"]) as m:
        path = by_id(m.mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path))
        with open(path, "rb", buffering=0) as f:
            got = b"".join(iter(lambda: f.read(64 << 10), b""))
        assert got == data
        assert wait_for(lambda: api_log(server).count(target) >= 4)
        before = api_log(server).count(target)
        assert before == 4
        assert read_direct(path) == data
        with open(os.path.join(server.data_dir, "api.log"), "rb") as f:
            assert f.read().decode(errors="replace").count(target) == before


def test_damaged_cache_file_is_refetched_and_restart_keeps_the_cache(server):
    api = Api(server)
    data = os.urandom(3 * CHUNK)
    img = api.active(data, name="cached-restart")
    # Chunk files (a fully cached image moves into one file for passthrough: damage there is
    # test_fs_passthrough.py's).
    with CacheMount(server, args=["--store-dir", server.store_dir, "--no-passthrough"]) as m:
        path = by_id(m.mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path))
        assert read_direct(path) == data
        m.fsm.stop()
        files = sorted(glob.glob(os.path.join(m.cache, "chunks", img["id"], "1.*")))
        assert len(files) == 1
        with open(files[0], "r+b") as f:
            f.seek(12345)
            byte = f.read(1)
            f.seek(12345)
            f.write(bytes([byte[0] ^ 0xFF]))
        m.fsm.start()
        assert wait_for(lambda: os.path.exists(path))
        assert xattr(path, "user.glint.cache.chunks") == "3/3"  # the index, rebuilt from disk
        assert read_direct(path) == data
        assert xattr(path, "user.glint.cache.fetches") == "1"  # only the damaged chunk
        assert "damaged on disk" in m.log()
        m.restart()
        assert wait_for(lambda: os.path.exists(path))
        assert read_direct(path) == data
        assert xattr(path, "user.glint.cache.fetches") == "0"


def test_without_manifest_and_unverified_not_allowed_reads_uncached(server):
    api = Api(server)
    data = os.urandom(CHUNK + 10)
    img = api.active(data, name="no-manifest")
    # An image from before manifests (or adopted from Glance, not yet backfilled): its
    # manifest rows removed, as such an image never had them.
    with sqlite3.connect(os.path.join(server.data_dir, "glint.db")) as c:
        for table in ("image_manifest_chunks", "image_manifests"):
            c.execute("DELETE FROM %s WHERE image_id = ?" % table, (img["id"],))
    assert not has_manifest(server, img["id"])
    with CacheMount(server, unverified=False) as m:
        path = by_id(m.mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path))
        assert read_direct(path) == data
        assert xattr(path, "user.glint.cache.chunks") == "0/2"
        assert xattr(path, "user.glint.cache.verified") == "0"


def test_verified_reads_with_manifest(server):
    """The manifest from GET /v2/images/{id}/x-glint-manifest: a tampered store chunk is
    refused with EIO, the others read; the kept manifest verifies after a restart."""
    api = Api(server)
    data = os.urandom(3 * CHUNK + 77)
    img = api.active(data, name="verified")
    assert has_manifest(server, img["id"])
    # Without prefetching (no boot sets, no read-ahead): only the chunks read are fetched.
    no_prefetch = ["--store-dir", server.store_dir, "--boot-prefetch-seconds", "0"]
    with CacheMount(server, args=no_prefetch, unverified=False) as m:
        path = by_id(m.mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path))
        assert dd_direct(path, "count=1").stdout == data[:1 << 20]
        assert xattr(path, "user.glint.cache.verified") == "1"
        store_file = os.path.join(server.store_dir, img["id"])
        with open(store_file, "r+b") as f:  # the store now serves one wrong byte in chunk 1
            f.seek(CHUNK + 5)
            f.write(bytes([data[CHUNK + 5] ^ 1]))
        try:
            p = dd_direct(path, "skip=4", "count=1")
            assert p.returncode != 0 and b"Input/output error" in p.stderr  # EIO, never the wrong bytes
            assert "does not match its manifest" in m.log()
            assert xattr(path, "user.glint.cache.chunks") == "1/4"
        finally:
            with open(store_file, "r+b") as f:
                f.seek(CHUNK + 5)
                f.write(data[CHUNK + 5:CHUNK + 6])
        assert read_direct(path) == data
        m.restart()
        assert wait_for(lambda: os.path.exists(path))
        assert read_direct(path) == data
        assert xattr(path, "user.glint.cache.verified") == "1"
        assert xattr(path, "user.glint.cache.fetches") == "0"


def test_full_cache_evicts_and_keeps_serving_but_never_pinned_chunks(server):
    api = Api(server)
    pinned = os.urandom(3 * CHUNK)
    big = os.urandom(18 * CHUNK + 5)  # more than the whole cache (64 MiB = 16 chunks)
    a = api.active(pinned, name="pin-me")
    b = api.active(big, name="too-big")
    with CacheMount(server) as m:
        pa, pb = by_id(m.mnt, a["id"]), by_id(m.mnt, b["id"])
        assert wait_for(lambda: os.path.exists(pa) and os.path.exists(pb))
        assert xattr(pa, "user.glint.pin") == "0"
        os.setxattr(pa, "user.glint.pin", b"1")
        assert xattr(pa, "user.glint.pin") == "1"
        assert wait_for(lambda: xattr(pa, "user.glint.cache.chunks") == "3/3", timeout=30)
        assert read_direct(pb) == big
        assert xattr(pa, "user.glint.cache.chunks") == "3/3"
        cached_b = int(xattr(pb, "user.glint.cache.chunks").split("/")[0])
        assert 0 < cached_b <= 13  # what is left of 16 chunks beside the pinned 3
        on_disk = sum(os.path.getsize(f) for f in glob.glob(os.path.join(m.cache, "chunks", "*", "*")) +
                      glob.glob(os.path.join(m.cache, "images", "*")))
        assert on_disk <= 64 << 20
        # Still read-only in every other way.
        for bad, err in ((b"2", 22), (b"yes", 22)):
            with pytest.raises(OSError) as e:
                os.setxattr(pa, "user.glint.pin", bad)
            assert e.value.errno == err
        with pytest.raises(OSError) as e:
            os.setxattr(pa, "user.glint.other", b"1")
        assert e.value.errno == 30  # EROFS
        with pytest.raises(OSError) as e:
            os.open(pa, os.O_WRONLY)
        assert e.value.errno == 30
        os.removexattr(pa, "user.glint.pin")
        assert xattr(pa, "user.glint.pin") == "0"


def test_pinned_image_reads_and_lists_with_the_api_and_the_store_down():
    require_fuse()
    server = glint_server.GlintServer.start_default()
    try:
        api = Api(server)
        data = os.urandom(2 * CHUNK + 99)
        img = api.active(data, name="offline")
        other = api.active(os.urandom(1000), name="not-pinned")
        with CacheMount(server) as m:
            path = by_id(m.mnt, img["id"])
            assert wait_for(lambda: os.path.exists(path))
            p = subprocess.run([glint_server.binary("glint"), "cache-pin", path], capture_output=True, text=True)
            assert p.returncode == 0, p.stderr
            assert wait_for(lambda: xattr(path, "user.glint.cache.chunks") == "3/3", timeout=30)
            p = subprocess.run([glint_server.binary("glint"), "cache-status", path], capture_output=True, text=True)
            assert p.returncode == 0 and "pinned: yes" in p.stdout and "cached chunks: 3/3" in p.stdout, p
            m.fsm.stop()
            server.kill()  # the API is down
            store_file = os.path.join(server.store_dir, img["id"])
            os.rename(store_file, store_file + ".away")  # and so is the store
            m.fsm.start()
            assert img["id"] in os.listdir(os.path.join(m.mnt, "by-id"))
            assert other["id"] not in os.listdir(os.path.join(m.mnt, "by-id"))
            assert "offline" in os.listdir(os.path.join(m.mnt, "by-name"))
            assert read_direct(path) == data
            assert xattr(path, "user.glint.cache.fetches") == "0"
            assert "API unreachable" in m.log()
    finally:
        server.stop()


def test_learned_boot_set_is_prefetched_on_the_next_open(server):
    """Local first step of the learned boot prefetch: the chunks an open reads in its first
    seconds are kept as the image's boot set and fetched ahead of the next open's reader."""
    api = Api(server)
    data = os.urandom(6 * CHUNK)
    img = api.active(data, name="boots")
    with CacheMount(server) as m:
        path = by_id(m.mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path))
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
            assert os.pread(fd, 4096, 0) == data[:4096]  # the "boot": chunks 0 and 4
            assert os.pread(fd, 4096, 4 * CHUNK + 10) == data[4 * CHUNK + 10:4 * CHUNK + 4106]
        finally:
            os.close(fd)
        assert wait_for(lambda: os.path.exists(os.path.join(m.cache, "meta", img["id"] + ".boot")))
        with open(os.path.join(m.cache, "meta", img["id"] + ".boot")) as f:
            learned = f.read()
        assert learned.startswith("[0,") and "4" in learned
        m.fsm.stop()
        shutil.rmtree(os.path.join(m.cache, "chunks", img["id"]))  # a host that has only the boot set
        m.fsm.start()
        assert wait_for(lambda: os.path.exists(path))
        assert xattr(path, "user.glint.cache.chunks") == "0/6"
        fd = os.open(path, os.O_RDONLY)  # opened, nothing read yet
        try:
            want = len(learned.strip("[]").split(","))
            assert wait_for(lambda: xattr(path, "user.glint.cache.chunks") == "%d/6" % want, timeout=20)
            assert os.path.exists(os.path.join(m.cache, "chunks", img["id"]))
            assert glob.glob(os.path.join(m.cache, "chunks", img["id"], "4.*"))
        finally:
            os.close(fd)


def test_sixteen_concurrent_readers_of_one_chunk_cause_one_store_read(server):
    """16 readers (as 16 VMs booting one image) of the same missing chunk: one fetch from
    the store, counted in the API's access log over --http."""
    api = Api(server)
    data = os.urandom(2 * CHUNK)
    img = api.active(data, name="storm")
    target = '"GET /v2/images/%s/file"' % img["id"]
    with CacheMount(server, args=["--http"]) as m:
        path = by_id(m.mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path))
        readers = [subprocess.Popen(["dd", "if=" + path, "iflag=direct", "bs=1M", "skip=5", "count=1",
                                     "status=none"], stdout=subprocess.PIPE) for _ in range(16)]
        outs = [p.communicate()[0] for p in readers]
        assert all(p.returncode == 0 for p in readers)
        assert all(o == data[5 << 20:6 << 20] for o in outs)
        assert xattr(path, "user.glint.cache.fetches") == "1"
        assert xattr(path, "user.glint.cache.chunks") == "1/2"
        # The line is written when the response is complete; a loaded machine (the
        # sanitizer pass runs suites side by side) may take longer than the default wait.
        # Counted over the whole log (read_log() is its tail, which later lines push it out of).
        assert wait_for(lambda: api_log(server).count(target) >= 1, timeout=30)
        assert api_log(server).count(target) == 1


def test_sequential_reader_fetches_the_next_chunks_ahead(server):
    """An open moving from chunk 0 to chunk 1 queues chunks 2 to 5 on the prefetch pool: a
    sequential reader's store round trips overlap. Reading chunk 0 alone fetches nothing
    more (a probe of the header)."""
    api = Api(server)
    data = os.urandom(8 * CHUNK)
    img = api.active(data, name="ahead")
    with CacheMount(server) as m:
        path = by_id(m.mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path))
        assert dd_direct(path, "count=1").stdout == data[:1 << 20]
        assert xattr(path, "user.glint.cache.chunks") == "1/8"
        # One open reading on from chunk 0 into chunk 1.
        assert dd_direct(path, "count=5").stdout == data[:CHUNK + (1 << 20)]
        assert wait_for(lambda: xattr(path, "user.glint.cache.chunks") == "6/8")
        time.sleep(0.5)
        assert xattr(path, "user.glint.cache.chunks") == "6/8"  # the window ends at chunk 5
        assert read_direct(path) == data
        assert xattr(path, "user.glint.cache.fetches") == "8"  # never a chunk twice


def test_mount_raises_pipe_max_size_so_cached_reads_are_spliced(server):
    """libfuse splices a 1 MiB reply into /dev/fuse only through a pipe that holds it whole
    (2 MiB); with the kernel's default pipe-max-size (1 MiB) it copies every read through a
    userspace buffer instead. glint-fs (root) raises the limit when it mounts."""
    if os.geteuid() != 0:
        pytest.skip("needs root to change /proc/sys/fs/pipe-max-size")
    knob = "/proc/sys/fs/pipe-max-size"
    before = open(knob).read().strip()
    with open(knob, "w") as f:
        f.write("1048576\n")
    try:
        api = Api(server)
        data = os.urandom(2 * CHUNK)
        img = api.active(data, name="spliced")
        with CacheMount(server) as m:
            path = by_id(m.mnt, img["id"])
            assert wait_for(lambda: os.path.exists(path))
            assert int(open(knob).read()) >= 2 << 20
            assert read_direct(path) == data
            assert read_direct(path) == data  # the second read from the chunk files
            # The knob is global: a glint-fs of another suite running at the same time (ctest
            # -j2) may have raised it between our lowering it and this mount.
            others = [p for p in subprocess.run(["pgrep", "-x", "glint-fs"], capture_output=True,
                                                text=True).stdout.split() if int(p) != m.fsm.proc.pid]
            assert "pipe-max-size raised" in m.log() or others, m.log()[-2000:]
    finally:
        with open(knob, "w") as f:
            f.write(max(before, "2097152", key=int) + "\n")
