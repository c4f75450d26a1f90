"""glint-fs's host cache against real failures and real readers: kill -9 in the middle of
a large fetch leaves no partial chunk and a restarted glint-fs returns the right bytes;
qemu-img compares the mounted image with the original, and a qcow2 overlay whose backing
file is the mounted image (as a hypervisor boots from it) reads the original's bytes with
cache=none.
"""
import glob
import hashlib
import os
import signal
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402
from test_fs import Api, by_id, need, require_fuse, wait_for  # noqa: E402
from test_fs_cache import CHUNK, CacheMount, dd_direct, xattr  # noqa: E402


@pytest.fixture(scope="module")
def server():
    require_fuse()
    s = glint_server.GlintServer.start_default()
    yield s
    s.stop()


def chunk_files(cache, image_id):
    return glob.glob(os.path.join(cache, "chunks", image_id, "*"))


def assert_whole_chunks(cache, image_id, data):
    """Every chunk file is whole: its bytes are the image's and hash to the name."""
    for path in chunk_files(cache, image_id):
        index, digest = os.path.basename(path).split(".")
        with open(path, "rb") as f:
            got = f.read()
        want = data[int(index) * CHUNK:(int(index) + 1) * CHUNK]
        assert got == want, "chunk file %s is not chunk %s of the image" % (path, index)
        assert hashlib.sha256(got).hexdigest() == digest


def test_kill_9_mid_fetch_leaves_no_partial_chunk(server):
    api = Api(server)
    data = os.urandom(39 * CHUNK + 4321)  # 40 chunks
    img = api.active(data, name="killed-mid-fetch")
    mount = CacheMount(server, args=["--http"], unverified=False)
    mount.fsm.args[mount.fsm.args.index("64M")] = "512M"  # room for all of them
    with mount as m:
        path = by_id(m.mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path))
        # The whole image is fetched in the background (pin) while a reader streams it.
        os.setxattr(path, "user.glint.pin", b"1")
        reader = subprocess.Popen(["dd", "if=" + path, "of=/dev/null", "bs=1M", "iflag=direct", "status=none"],
                                  stderr=subprocess.DEVNULL)
        assert wait_for(lambda: len(chunk_files(m.cache, img["id"])) >= 3, timeout=30)
        dead_pid = m.fsm.proc.pid
        m.fsm.proc.send_signal(signal.SIGKILL)
        m.fsm.proc.wait(10)
        reader.wait(30)
        subprocess.run(["fusermount3", "-u", "-z", m.mnt], check=False)
        cached = len(chunk_files(m.cache, img["id"]))
        assert 3 <= cached < 40, cached  # killed in the middle of the fetch
        print("chunks cached when killed: %d of 40, in tmp/: %s" % (cached, os.listdir(os.path.join(m.cache, "tmp"))))
        assert_whole_chunks(m.cache, img["id"], data)  # whole chunks or none, never a torn one
        m.fsm.start()
        assert wait_for(lambda: os.path.exists(path))
        # Leftovers of the crash are gone (temp files are named "<pid>.<n>"; the new process may
        # already be writing its own, as the pin resumes the background fetch).
        leftovers = [n for n in os.listdir(os.path.join(m.cache, "tmp")) if n.startswith("%d." % dead_pid)]
        assert leftovers == []
        got = dd_direct(path)
        assert got.returncode == 0, "%s\nAPI: %s\nglint-fs: %s" % (got.stderr, server.read_log(), m.log()[-4000:])
        assert hashlib.sha256(got.stdout).hexdigest() == hashlib.sha256(data).hexdigest()
        assert xattr(path, "user.glint.cache.chunks") == "40/40"
        assert int(xattr(path, "user.glint.cache.fetches")) == 40 - cached  # kept chunks were not fetched again
        assert_whole_chunks(m.cache, img["id"], data)


def test_qemu_reads_the_cached_image_and_a_qcow2_overlay_on_it(server):
    need("qemu-img")
    need("qemu-io")
    api = Api(server)
    data = bytearray(os.urandom(6 * CHUNK))
    data[CHUNK:2 * CHUNK] = b"\x5a" * CHUNK  # a pattern qemu-io can verify
    data = bytes(data)
    img = api.active(data, name="qemu-cached")
    work = tempfile.mkdtemp(prefix="glint-qemu-")
    original = os.path.join(work, "original.raw")
    with open(original, "wb") as f:
        f.write(data)
    with CacheMount(server, unverified=False) as m:
        path = by_id(m.mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path))
        p = subprocess.run(["qemu-img", "compare", "-f", "raw", "-F", "raw", "-T", "none", path, original],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr
        assert xattr(path, "user.glint.cache.chunks") == "6/6"
        # Fully cached: kept whole, so the guest below reads it by FUSE passthrough.
        assert wait_for(lambda: xattr(path, "user.glint.cache.whole") == "1", timeout=30), m.log()
        # A guest's disk: a qcow2 overlay backed by the mounted (read-only) image.
        overlay = os.path.join(work, "overlay.qcow2")
        p = subprocess.run(["qemu-img", "create", "-f", "qcow2", "-b", path, "-F", "raw", overlay],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        p = subprocess.run(["qemu-io", "-f", "qcow2", "-t", "none", "-c", "read -P 0x5a %d %d" % (CHUNK, CHUNK),
                            "-c", "write -P 0x11 0 65536", "-c", "read -P 0x11 0 65536", overlay],
                           capture_output=True, text=True)
        assert p.returncode == 0 and "Pattern verification failed" not in p.stdout, p.stdout + p.stderr
        assert "read 4194304/4194304 bytes" in p.stdout, p.stdout
        out = os.path.join(work, "out.raw")
        p = subprocess.run(["qemu-img", "convert", "-T", "none", "-f", "qcow2", "-O", "raw", overlay, out],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        with open(out, "rb") as f:
            converted = f.read()
        assert converted[:65536] == b"\x11" * 65536  # the guest's write lives in the overlay
        assert converted[65536:] == data[65536:]  # everything else is the image's
        assert int(xattr(path, "user.glint.cache.fetches")) == 6  # every read after the first from the cache
    subprocess.run(["rm", "-rf", work], check=False)
