"""Fixtures of the import plugin suites (module scope): a work directory, a 6 MiB disk as
qcow2 with qemu-img's own raw conversion of it, and an HTTP origin that serves it."""
import http.server
import os
import shutil
import subprocess
import tempfile
import threading

import pytest

from import_support import MIB, Origin, qemu_img


@pytest.fixture(scope="module")
def workdir():
    d = tempfile.mkdtemp(prefix="glint-plugins-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def images(workdir):
    """A 6 MiB raw disk with data in a few places, as qcow2 (the source) and as qemu-img's
    own raw conversion of that qcow2 (the reference)."""
    q = qemu_img()
    raw = os.path.join(workdir, "disk.raw")
    with open(raw, "wb") as f:
        f.truncate(6 * MIB)
        for off in (0, 1 * MIB + 4096, 5 * MIB):
            f.seek(off)
            f.write(os.urandom(300000))
    src = os.path.join(workdir, "disk.qcow2")
    subprocess.run([q, "convert", "-f", "raw", "-O", "qcow2", raw, src], check=True)
    ref = os.path.join(workdir, "reference.raw")
    subprocess.run([q, "convert", "-f", "qcow2", "-O", "raw", src, ref], check=True)
    with open(src, "rb") as f:
        qcow2 = f.read()
    with open(ref, "rb") as f:
        reference = f.read()
    assert qcow2[:4] == b"QFI\xfb" and len(reference) == 6 * MIB
    return {"qcow2": qcow2, "reference": reference, "qcow2_path": src}

@pytest.fixture(scope="module")
def origin(images):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    srv.daemon_threads = True
    Origin.blobs["/disk.qcow2"] = images["qcow2"]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
