"""FUSE passthrough on a real mount, of whole cached images and (without a cache) of a file
store's own files. Once every chunk of an image is
cached and verified, glint-fs keeps the image as one local file and answers its opens with
FOPEN_PASSTHROUGH, so the kernel reads that file itself and no read request reaches
glint-fs (shown by stopping glint-fs with SIGSTOP while reading). Kept across restarts,
verified again first; a damaged file is dropped and its data fetched again. With
--cache-fill-whole an image read only in part is completed in the background.

Needs Linux 6.9+ (passthrough) and root (registering a backing file needs CAP_SYS_ADMIN).
"""
import errno
import glob
import mmap
import os
import platform
import signal
import sys
import tempfile
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402
from test_fs import Api, by_id, require_fuse, wait_for  # noqa: E402
from test_fs_cache import CHUNK, CacheMount, dd_direct, read_direct, xattr  # noqa: E402


def require_passthrough():
    require_fuse()
    major, minor = (int(x) for x in platform.release().split(".")[:2])
    if (major, minor) < (6, 9):
        problem = "FUSE passthrough needs Linux 6.9 or later (this is %s)" % platform.release()
        if glint_server.in_ci():
            pytest.fail(problem)
        pytest.skip(problem)


@pytest.fixture(scope="module")
def server():
    require_passthrough()
    s = glint_server.GlintServer.start_default()
    yield s
    s.stop()


def read_all(fd, direct):
    """The whole file from an open descriptor, 1 MiB at a time (aligned buffer for O_DIRECT)."""
    buf = mmap.mmap(-1, 1 << 20)
    out, off = bytearray(), 0
    while True:
        if direct:
            n = os.preadv(fd, [buf], off)
            piece = buf[:n]
        else:
            piece = os.pread(fd, 1 << 20, off)
        if not piece:
            return bytes(out)
        out += piece
        off += len(piece)


def read_while_stopped(pid, files, timeout=20):
    """Opens each file (path, O_DIRECT or not) while glint-fs runs, then reads them all with
    glint-fs stopped: {name: bytes}, or None when a read waited for glint-fs."""
    fds = {}
    try:
        for name, (path, direct) in files.items():
            fds[name] = (os.open(path, os.O_RDONLY | (os.O_DIRECT if direct else 0)), direct)
        results = {}

        def work():
            for name, (fd, direct) in fds.items():
                results[name] = read_all(fd, direct)

        t = threading.Thread(target=work, daemon=True)
        os.kill(pid, signal.SIGSTOP)
        try:
            t.start()
            t.join(timeout)
            hung = t.is_alive()
        finally:
            os.kill(pid, signal.SIGCONT)
        t.join(60)  # glint-fs answers the waiting read now
        return None if hung else results
    finally:
        for fd, _ in fds.values():
            os.close(fd)


def boot_set_requests(server, image_id):
    """The API's access log: how often glint-fs asked for the image's merged boot set."""
    with open(os.path.join(server.data_dir, "api.log"), "rb") as f:
        return f.read().decode(errors="replace").count('"GET /v2/images/%s/x-glint-boot-set"' % image_id)


def test_whole_cached_image_is_read_by_the_kernel_without_glint_fs(server):
    api = Api(server)
    data = os.urandom(5 * CHUNK + 999)
    img = api.active(data, name="whole")
    with CacheMount(server, unverified=False) as m:
        path = by_id(m.mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path))
        assert xattr(path, "user.glint.cache.whole") == "0"
        assert read_direct(path) == data  # fills the cache; the close lets glint-fs keep it whole
        assert wait_for(lambda: xattr(path, "user.glint.cache.whole") == "1", timeout=30), m.log()
        assert "passthrough on" in m.log()
        whole = os.path.join(m.cache, "images", img["id"])
        with open(whole, "rb") as f:
            assert f.read() == data
        assert os.stat(whole).st_mode & 0o7777 == 0o600
        assert not glob.glob(os.path.join(m.cache, "chunks", img["id"], "*"))  # moved, not copied
        assert xattr(path, "user.glint.cache.chunks") == "6/6"
        # O_DIRECT as qemu's cache=none
        got = read_while_stopped(m.fsm.proc.pid, {"buffered": (path, False), "direct": (path, True)})
        assert got is not None, "a read waited for glint-fs: not passthrough"
        assert got["buffered"] == data and got["direct"] == data
        assert xattr(path, "user.glint.cache.fetches") == "6"  # the store was read once

        # A passthrough open costs glint-fs the open alone: no store reader, no boot-set
        # recording, no request for the merged boot set (an ordinary open makes one).
        asked = boot_set_requests(server, img["id"])
        assert asked >= 1
        for _ in range(3):
            with open(path, "rb") as f:
                assert f.read(10) == data[:10]
        time.sleep(1)
        assert boot_set_requests(server, img["id"]) == asked

        # Without passthrough the same read needs glint-fs: the check above can fail.
        m.fsm.stop()
        m.fsm.args.append("--no-passthrough")
        m.fsm.start()
        assert wait_for(lambda: os.path.exists(path))
        assert read_while_stopped(m.fsm.proc.pid, {"direct": (path, True)}, timeout=3) is None


def test_whole_file_is_verified_again_after_a_restart_and_dropped_when_damaged(server):
    api = Api(server)
    data = os.urandom(3 * CHUNK + 4321)
    img = api.active(data, name="whole-restart")
    with CacheMount(server, unverified=False) as m:
        path = by_id(m.mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path))
        assert read_direct(path) == data
        assert wait_for(lambda: xattr(path, "user.glint.cache.whole") == "1", timeout=30), m.log()
        m.restart()
        assert wait_for(lambda: os.path.exists(path))
        assert xattr(path, "user.glint.cache.chunks") == "4/4"
        assert xattr(path, "user.glint.cache.whole") == "0"  # not checked since the restart
        assert read_direct(path) == data
        assert wait_for(lambda: xattr(path, "user.glint.cache.whole") == "1", timeout=30), m.log()
        assert xattr(path, "user.glint.cache.fetches") == "0"

        m.fsm.stop()
        with open(os.path.join(m.cache, "images", img["id"]), "r+b") as f:
            f.seek(2 * CHUNK + 100)
            f.write(bytes([data[2 * CHUNK + 100] ^ 0x40]))
        m.fsm.start()
        assert wait_for(lambda: os.path.exists(path))
        assert read_direct(path) == data  # never the damaged byte
        assert "damaged on disk" in m.log()
        assert int(xattr(path, "user.glint.cache.fetches")) >= 1
        assert wait_for(lambda: xattr(path, "user.glint.cache.whole") == "1", timeout=30), m.log()
        with open(os.path.join(m.cache, "images", img["id"]), "rb") as f:
            assert f.read() == data


def test_fill_whole_completes_an_image_read_in_part(server):
    api = Api(server)
    data = os.urandom(7 * CHUNK + 55)
    img = api.active(data, name="fill-whole")
    with CacheMount(server, unverified=False) as m:
        m.fsm.args.append("--cache-fill-whole")
        m.restart()
        path = by_id(m.mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path))
        assert dd_direct(path, "count=1").stdout == data[:1 << 20]  # a boot that reads 1 MiB
        assert wait_for(lambda: xattr(path, "user.glint.cache.whole") == "1", timeout=30), m.log()
        assert xattr(path, "user.glint.cache.fetches") == "8"  # every chunk once
        got = read_while_stopped(m.fsm.proc.pid, {"direct": (path, True)})
        assert got is not None and got["direct"] == data


def test_file_store_images_are_read_by_the_kernel_without_a_cache(server):
    """Without a cache, a --store-dir mount answers opens with passthrough to the store's
    own image file (its size checked against the catalog): reads never reach glint-fs."""
    api = Api(server)
    data = os.urandom(3 * CHUNK + 77)
    img = api.active(data, name="store-passthrough")
    mnt = tempfile.mkdtemp(prefix="glint-mnt-")
    fsm = glint_server.GlintFsMount(server, mnt).start()  # --store-dir, no cache
    try:
        path = by_id(mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path))
        got = read_while_stopped(fsm.proc.pid, {"buffered": (path, False), "direct": (path, True)})
        assert got is not None, "a read waited for glint-fs: not passthrough"
        assert got["buffered"] == data and got["direct"] == data
        # A store file whose size is not the catalog's is refused, passthrough or not.
        store_file = os.path.join(server.store_dir, img["id"])
        with open(store_file, "r+b") as f:
            f.truncate(len(data) - 1)
        with pytest.raises(OSError) as e:
            open(path, "rb").close()
        assert e.value.errno == errno.EIO
    finally:
        fsm.stop()
    # Without passthrough the same read needs glint-fs: the check above can fail.
    fsm = glint_server.GlintFsMount(server, mnt, args=["--store-dir", server.store_dir, "--no-passthrough"]).start()
    try:
        img2 = api.active(data, name="store-no-passthrough")
        path = by_id(mnt, img2["id"])
        assert wait_for(lambda: os.path.exists(path))
        assert read_while_stopped(fsm.proc.pid, {"direct": (path, True)}, timeout=3) is None
    finally:
        fsm.stop()
        glint_server.remove_mountpoint(mnt)
