"""glint-fs --rbd through the host cache on the throwaway Ceph cluster: a cold read costs
one RADOS read per 4 MiB chunk (counted by the OSD itself), and a second read comes from
the cache alone, with the RBD image gone from the pool. Runs under tests/with_ceph.sh.
"""
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402
from test_rbd import CONF, POOL, USER, active, rbd, rbd_conf  # noqa: E402

CHUNK = 4 << 20


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CONF:
        if glint_server.in_ci():
            pytest.fail("CI=true but no Ceph cluster: run under tests/with_ceph.sh")
        pytest.skip("no Ceph cluster: run under tests/with_ceph.sh")
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        pytest.fail("needs FUSE") if glint_server.in_ci() else pytest.skip("needs FUSE")
    d = tmp_path_factory.mktemp("glint-rbd-cache")
    conf = d / "glint.conf"
    conf.write_text(rbd_conf("rbd_store_chunk_size = 4\n"))
    s = glint_server.GlintServer(str(d), config=str(conf))
    s.start()
    yield s
    s.stop()


def osd_reads():
    """Read operations the OSD has served (its own perf counter, every client)."""
    asok = os.path.join(os.path.dirname(CONF), "run", "osd.0.asok")
    p = subprocess.run(["ceph", "--admin-daemon", asok, "perf", "dump"], capture_output=True, text=True, check=True)
    return json.loads(p.stdout)["osd"]["op_r"]


def xattr(path, name):
    return os.getxattr(path, name).decode()


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


@contextlib.contextmanager
def cached_mount(server, image_id, extra=()):
    """glint-fs --rbd with a fresh host cache and no boot prefetch; yields the image's path."""
    mnt = tempfile.mkdtemp(prefix="glint-mnt-rbd-cache-")
    cache = tempfile.mkdtemp(prefix="glint-cache-rbd-")
    fsm = glint_server.GlintFsMount(server, mnt, args=[
        "--rbd", "--rbd-pool", POOL, "--rbd-user", USER, "--ceph-conf", CONF, *extra,
        "--cache-dir", cache, "--cache-size", "256M", "--boot-prefetch-seconds", "0"]).start()
    try:
        assert wait_for(lambda: image_id in os.listdir(os.path.join(mnt, "by-id")))
        yield os.path.join(mnt, "by-id", image_id)
    finally:
        fsm.stop()
        glint_server.remove_mountpoint(mnt)
        shutil.rmtree(cache, ignore_errors=True)


def test_rbd_through_the_cache_one_read_per_chunk_then_the_cache_alone(server):
    data = os.urandom(10 * CHUNK)
    img = active(server, data, name="rbd-cached")
    with cached_mount(server, img["id"], ["--rbd-readahead", "0"]) as path:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
            assert os.pread(fd, 4096, 0) == data[:4096]  # opens the RBD image, fetches chunk 0
            before = osd_reads()
            for c in range(1, 10):  # every kernel request of a chunk after its first: no RADOS read
                for off in range(0, CHUNK, 1 << 20):
                    at = c * CHUNK + off
                    assert os.pread(fd, 1 << 20, at) == data[at:at + (1 << 20)]
            assert osd_reads() - before == 9  # one RADOS read per 4 MiB chunk
        finally:
            os.close(fd)
        assert xattr(path, "user.glint.cache.fetches") == "10"
        assert xattr(path, "user.glint.cache.chunks") == "10/10"
        # The RBD image leaves the pool: the cache alone serves every byte.
        rbd("snap", "unprotect", "%s@snap" % img["id"])
        rbd("snap", "purge", img["id"])
        rbd("rm", img["id"])
        assert img["id"] not in rbd("ls").stdout.split()
        p = subprocess.run(["dd", "if=" + path, "iflag=direct", "bs=1M", "status=none"], capture_output=True)
        assert p.returncode == 0, p.stderr
        assert p.stdout == data
        assert xattr(path, "user.glint.cache.fetches") == "10"  # no store read was needed


def test_the_cache_fetches_chunks_without_rbd_read_ahead(server):
    """The cache reads whole 4 MiB chunks and reads ahead in chunks itself: the rbd source's
    own read-ahead windows (on by default for uncached reads) would fetch the same bytes
    again, so cached reads open the image without them."""
    data = os.urandom(12 * CHUNK)
    img = active(server, data, name="rbd-cached-no-ra")
    with cached_mount(server, img["id"]) as path:  # the default rbd read-ahead
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
            assert os.pread(fd, 4096, 0) == data[:4096]  # opens the image, fetches chunk 0
            time.sleep(1)  # whatever that started has finished
            before = osd_reads()
            for c in (2, 4, 6):  # close enough together to look sequential to an rbd read-ahead
                assert os.pread(fd, 1 << 20, c * CHUNK) == data[c * CHUNK:c * CHUNK + (1 << 20)]
            time.sleep(1)  # a read-ahead would have been sent by now
            assert osd_reads() - before == 3  # the three chunks, nothing around them
        finally:
            os.close(fd)
        assert xattr(path, "user.glint.cache.fetches") == "4"
