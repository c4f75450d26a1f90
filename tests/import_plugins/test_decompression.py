"""image_decompression with the real glint-api, gzip and bsdtar: staged (and web-downloaded)
gzip, zip and lha data is decompressed before the import stores it, the format inspector
judges the decompressed data, disk_format and container_format stay as declared (Glance's
plugin leaves them), and a decompression bomb or an archive of several files fails the task
without filling the disk and leaves the image as it was before the import.

In CI (CI=true) a missing qemu-img or bsdtar is a failure, never a skip.
"""
import gzip
import hashlib
import io
import os
import shutil
import struct
import subprocess
import tempfile
import zipfile

import pytest

from import_support import MIB, Node, Origin, glint_server, qemu_img, start


def bsdtar():
    if not shutil.which("bsdtar"):
        msg = "bsdtar is not installed (libarchive-tools, tools/install-deps.sh)"
        if glint_server.in_ci():
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="module")
def workdir():
    d = tempfile.mkdtemp(prefix="glint-decompress-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def node(workdir):
    bsdtar()
    s = start(workdir, "decompress", "[image_import_opts]\nimage_import_plugins = ['image_decompression']\n")
    yield s
    s.stop()


def gz(data):
    return gzip.compress(data)


def zipped(*members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


def crc16(data):
    """CRC-16/ARC, the checksum lha keeps of each member."""
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def lha(name, data):
    """A level-0 lha archive storing `data` (-lh0-), as LHA writes it."""
    h = (b"-lh0-" + struct.pack("<IIIBB", len(data), len(data), 0, 0x20, 0) + bytes([len(name)]) + name +
         struct.pack("<H", crc16(data)))
    return bytes([len(h), sum(h) & 0xff]) + h + data + b"\0"


def staging_dirs(s, image_id):
    base = os.path.join(s.data_dir, "staging")
    return [os.path.join(base, sub, image_id) for sub in ("", "decompressed", "converted")]


def assert_stored(n, image_id, data, disk_format):
    img, task = n.settle(image_id)
    assert task["status"] == "success", task
    assert img["status"] == "active"
    assert img["disk_format"] == disk_format and img["container_format"] == "bare"  # as declared (Glance)
    assert img["size"] == len(data)
    assert img["checksum"] == hashlib.md5(data).hexdigest()
    assert img["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert n.download(image_id) == data
    assert not any(os.path.exists(p) for p in staging_dirs(n.s, image_id))
    return img


def test_gzip_zip_and_lha_are_decompressed(node, images):
    n = Node(node)
    for pack in (gz, lambda d: zipped(("disk.qcow2", d)), lambda d: lha(b"disk.qcow2", d)):
        image_id = n.create("qcow2")
        assert n.stage(image_id, pack(images["qcow2"])).status_code == 204  # not refused as "raw"
        n.import_(image_id)
        img = assert_stored(n, image_id, images["qcow2"], "qcow2")
        assert img["virtual_size"] == 6 * MIB  # the inspector read the decompressed qcow2
        assert img["os_glint_format_check"] == "passed: qcow2"


def test_plain_data_is_imported_as_it_is(node, images):
    n = Node(node)
    image_id = n.create("raw")
    assert n.stage(image_id, images["reference"]).status_code == 204
    n.import_(image_id)
    assert_stored(n, image_id, images["reference"], "raw")


def test_compressed_container_is_left_alone(node):
    """container_format=compressed: the data is meant to stay compressed (Glance skips it)."""
    n = Node(node)
    data = gz(os.urandom(100000))
    image_id = n.create("raw", container_format="compressed")
    assert n.stage(image_id, data).status_code == 204
    n.import_(image_id)
    img, task = n.settle(image_id)
    assert task["status"] == "success", task
    assert img["container_format"] == "compressed" and img["size"] == len(data)
    assert n.download(image_id) == data


def test_backing_file_inside_gzip_is_refused(node, workdir):
    q = qemu_img()
    evil = os.path.join(workdir, "evil.qcow2")
    subprocess.run([q, "create", "-f", "qcow2", "-F", "raw", "-b", "/etc/passwd", evil, "1M"], check=True,
                   capture_output=True)
    with open(evil, "rb") as f:
        packed = gz(f.read())
    n = Node(node)
    image_id = n.create("qcow2")
    assert n.stage(image_id, packed).status_code == 204
    n.import_(image_id)
    img, task = n.settle(image_id)
    assert task["status"] == "failure"
    assert "backing" in task["message"], task["message"]
    assert img["status"] == "queued" and img["size"] is None
    assert not any(os.path.exists(p) for p in staging_dirs(node, image_id))
    # A raw declaration hiding a qcow2 in a zip is refused too (declared vs detected).
    other = n.create("raw")
    assert n.stage(other, zipped(("d", open(evil, "rb").read()))).status_code == 204
    n.import_(other)
    img, task = n.settle(other)
    assert task["status"] == "failure" and img["status"] == "queued", task


def test_archive_of_several_files_is_refused(node):
    n = Node(node)
    image_id = n.create("raw")
    assert n.stage(image_id, zipped(("a.img", b"a" * 1000), ("b.img", b"b" * 1000))).status_code == 204
    n.import_(image_id)
    img, task = n.settle(image_id)
    assert task["status"] == "failure"
    assert "more than one file" in task["message"], task["message"]
    assert img["status"] == "queued"
    assert not any(os.path.exists(p) for p in staging_dirs(node, image_id))


def bomb(mib):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as f:
        for _ in range(mib):
            f.write(bytes(MIB))
    return buf.getvalue()


def test_bomb_fails_and_leaves_the_image_as_it_was(workdir):
    """image_size_cap 8 MiB: 1 GiB of zeros in 1 MiB of gzip stops at 8 MiB; the image is as
    before the import (uploading, staged data kept), nothing decompressed remains."""
    bsdtar()
    data = bomb(1024)
    assert len(data) < 2 * MIB
    Origin.blobs["/bomb.gz"] = data
    s = start(workdir, "bomb", "[DEFAULT]\nimage_size_cap = %d\n[image_import_opts]\n"
                               "image_import_plugins = ['image_decompression']\n" % (8 * MIB))
    try:
        n = Node(s)
        image_id = n.create("raw")
        assert n.stage(image_id, data).status_code == 204
        before = n.show(image_id)
        n.import_(image_id)
        img, task = n.settle(image_id)
        assert task["status"] == "failure"
        assert "too large" in task["message"] and str(8 * MIB) in task["message"], task["message"]
        assert img["status"] == "uploading"
        for k in ("disk_format", "container_format", "size", "checksum", "os_hash_value", "virtual_size"):
            assert img[k] == before[k], k
        staged, decompressed, _ = staging_dirs(s, image_id)
        with open(staged, "rb") as f:
            assert f.read() == data
        assert not os.path.exists(decompressed)
        assert "glint-api exited" not in s.read_log()
    finally:
        s.stop()


def test_web_download_is_decompressed_and_a_bomb_leaves_it_queued(workdir, images, origin):
    bsdtar()
    Origin.blobs["/disk.qcow2.gz"] = gz(images["qcow2"])
    Origin.blobs["/bomb.gz"] = bomb(64)
    s = start(workdir, "wd", "[DEFAULT]\nimage_size_cap = %d\n[image_import_opts]\n"
                             "image_import_plugins = ['image_decompression']\n" % (16 * MIB))
    try:
        n = Node(s)
        image_id = n.create("qcow2")
        n.import_(image_id, "web-download", uri=origin + "/disk.qcow2.gz")
        assert_stored(n, image_id, images["qcow2"], "qcow2")
        wd = n.create("raw")
        n.import_(wd, "web-download", uri=origin + "/bomb.gz")
        img, task = n.settle(wd)
        assert task["status"] == "failure" and "too large" in task["message"], task
        assert img["status"] == "queued" and img["size"] is None
        assert not any(os.path.exists(p) for p in staging_dirs(s, wd))
    finally:
        s.stop()


def test_decompression_then_conversion(workdir, images):
    bsdtar()
    s = start(workdir, "both", "[image_import_opts]\nimage_import_plugins = ['image_decompression', "
                               "'image_conversion']\n[image_conversion]\noutput_format = raw\n")
    try:
        n = Node(s)
        image_id = n.create("qcow2")
        assert n.stage(image_id, gz(images["qcow2"])).status_code == 204
        n.import_(image_id)
        img, task = n.settle(image_id)
        assert task["status"] == "success", task
        assert img["disk_format"] == "raw" and img["size"] == len(images["reference"])
        assert n.download(image_id) == images["reference"]
        assert not any(os.path.exists(p) for p in staging_dirs(s, image_id))
    finally:
        s.stop()


def test_stage_quota_bounds_the_decompressed_data(workdir):
    """image_stage_total (4 MiB): decompressed data takes the staged data's place under it,
    so 3 MiB of zeros fit and 8 MiB do not."""
    bsdtar()
    d = os.path.join(workdir, "quota")
    os.makedirs(d)
    conf = os.path.join(d, "glint.conf")
    with open(conf, "w") as f:
        f.write("[DEFAULT]\nuse_keystone_limits = true\n[image_import_opts]\n"
                "image_import_plugins = ['image_decompression']\n")
    s = glint_server.GlintServer(d, config=conf)
    s.manage("project-create", "q")
    s.manage("user-create", "quser", "--password", "qpw", "--project", "q")
    s.manage("limit-set", "--resource", "image_stage_total", "--value", "4", "--project", "q")
    s.start()
    try:
        n = Node(s, s.token_for("quser", "qpw", "q"))
        fits, over = n.create("raw"), n.create("raw")
        assert n.stage(fits, bomb(3)).status_code == 204
        n.import_(fits)
        img, task = n.settle(fits)
        assert task["status"] == "success" and img["size"] == 3 * MIB, task
        assert n.stage(over, bomb(8)).status_code == 204
        n.import_(over)
        img, task = n.settle(over)
        assert task["status"] == "failure" and "too large" in task["message"], task
        assert img["status"] == "uploading"
    finally:
        s.stop()
