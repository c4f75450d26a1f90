"""Image-format safety on every data path, against a real glint-api with images made by
the real qemu-img: upload (PUT /file), stage and glance-direct import, copy-image and a
location add. Each refusal answers 400 (or fails the import task) saying what was found,
leaves the image `queued` (a copy: as it was) and nothing in any store or the staging
area. Accepted images get qemu-img's virtual size and the os_glint_format_check property.
"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import uuid

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402

QEMU_IMG = shutil.which("qemu-img")
if not QEMU_IMG:
    if glint_server.in_ci():
        raise RuntimeError("qemu-img is missing (tools/install-deps.sh installs qemu-utils)")
    pytest.skip("qemu-img is missing", allow_module_level=True)

OCTET = {"Content-Type": "application/octet-stream"}
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


def qemu(*args):
    subprocess.run([QEMU_IMG, *args], check=True, capture_output=True)


def qemu_virtual_size(path, fmt):
    out = subprocess.run([QEMU_IMG, "info", "--output=json", "-f", fmt, path], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)["virtual-size"]


def iso_with(system_area, total=40960):
    """An ISO 9660 image: `system_area` in its first 32 KiB, a primary volume descriptor."""
    data = bytearray(total)
    data[:len(system_area)] = system_area
    data[32768:32774] = b"\x01CD001"
    data[32774] = 1
    return bytes(data)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    p = lambda name: str(d / name)
    qemu("create", "-q", "-f", "raw", p("disk.raw"), "3M")
    with open(p("disk.raw"), "r+b") as f:
        f.write(os.urandom(4096))  # not all zeros, so data flows through every path
    qemu("convert", "-O", "qcow2", p("disk.raw"), p("v3.qcow2"))
    qemu("convert", "-O", "qcow2", "-o", "compat=0.10", p("disk.raw"), p("v2.qcow2"))
    qemu("convert", "-O", "vmdk", p("disk.raw"), p("sparse.vmdk"))
    qemu("convert", "-O", "vmdk", "-o", "subformat=streamOptimized", p("disk.raw"), p("stream.vmdk"))
    qemu("convert", "-O", "vpc", p("disk.raw"), p("dynamic.vhd"))
    qemu("convert", "-O", "vpc", "-o", "subformat=fixed", p("disk.raw"), p("fixed.vhd"))
    qemu("convert", "-O", "vhdx", p("disk.raw"), p("disk.vhdx"))
    qemu("convert", "-O", "vdi", p("disk.raw"), p("disk.vdi"))
    # The hostile ones.
    qemu("create", "-q", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", p("backing.qcow2"), "3M")
    qemu("create", "-q", "-f", "qcow2", "-o", "data_file=" + p("external.data"), p("datafile.qcow2"), "3M")
    qemu("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", p("flat.vmdk"), "3M")
    with open(p("sparse.vmdk"), "rb") as f:
        other = bytearray(f.read())
    at = other.find(b'createType="monolithicSparse"')
    other[at:at + 29] = b'createType="vmfsSparse"      '  # same length, still padded text
    with open(p("vmfs.vmdk"), "wb") as f:
        f.write(other)
    with open(p("v3.qcow2"), "rb") as f:
        q = bytearray(f.read())
    with open(p("iso-qcow2.iso"), "wb") as f:
        f.write(iso_with(bytes(q[:4096])))
    bad = bytearray(q)
    bad[20:24] = struct.pack(">I", 40)  # cluster_bits 40
    with open(p("impossible.qcow2"), "wb") as f:
        f.write(bad)
    return d


GOOD = [("v3.qcow2", "qcow2", "qcow2"), ("v2.qcow2", "qcow2", "qcow2"), ("sparse.vmdk", "vmdk", "vmdk"),
        ("stream.vmdk", "vmdk", "vmdk"), ("dynamic.vhd", "vhd", "vpc"), ("fixed.vhd", "vhd", "vpc"),
        ("disk.vhdx", "vhdx", "vhdx"), ("disk.vdi", "vdi", "vdi"), ("disk.raw", "raw", "raw")]

BAD = [("backing.qcow2", "qcow2", "qcow2 image has a backing file \"/etc/passwd\""),
       ("datafile.qcow2", "qcow2", "qcow2 image has an external data file"),
       ("flat.vmdk", "vmdk", "vmdk descriptor file"),
       ("vmfs.vmdk", "vmdk", "vmdk create type \"vmfsSparse\" is not allowed"),
       ("v3.qcow2", "raw", "the data is a qcow2 image, but disk_format is raw"),
       ("v3.qcow2", "iso", "the data is a qcow2 image, but disk_format is iso"),
       ("v3.qcow2", "ami", "the data is a qcow2 image, but disk_format ami must be raw data"),
       ("iso-qcow2.iso", "iso", "the data matches several formats at once (qcow2, iso)"),
       ("impossible.qcow2", "qcow2", "qcow2 cluster_bits 40 is impossible")]


def read(images, name):
    with open(str(images / name), "rb") as f:
        return f.read()


class Node:
    def __init__(self, server):
        self.s = server
        self.h = {"X-Auth-Token": server.token}

    def create(self, disk_format, container_format="bare"):
        r = requests.post(self.s.url + "/v2/images", headers=self.h,
                          json={"disk_format": disk_format, "container_format": container_format})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def show(self, image_id):
        r = requests.get(self.s.url + "/v2/images/" + image_id, headers=self.h)
        assert r.status_code == 200, r.text
        return r.json()

    def put(self, image_id, what, data):
        return requests.put(self.s.url + "/v2/images/%s/%s" % (image_id, what), data=data,
                            headers=dict(self.h, **OCTET))

    def import_(self, image_id, body):
        return requests.post(self.s.url + "/v2/images/%s/import" % image_id, headers=self.h, json=body)

    def tasks(self, image_id):
        return requests.get(self.s.url + "/v2/images/%s/tasks" % image_id, headers=self.h).json()["tasks"]

    def wait(self, pred, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred():
                return True
            time.sleep(0.05)
        return False


def error_text(r):
    """Every string of a JSON error body, unescaped."""
    def strings(v):
        if isinstance(v, dict):
            return " ".join(strings(x) for x in v.values())
        if isinstance(v, list):
            return " ".join(strings(x) for x in v)
        return str(v)
    return strings(r.json())


def files_under(path):
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    d = tmp_path_factory.mktemp("node")
    conf = d / "glint.conf"
    conf.write_text("[DEFAULT]\nshow_multiple_locations = true\n")
    s = glint_server.GlintServer(str(d), config=str(conf)).start()
    yield Node(s)
    s.stop()


@pytest.mark.parametrize("name,disk_format,qemu_format", GOOD)
def test_upload_accepts_each_format_with_qemu_virtual_size(node, images, name, disk_format, qemu_format):
    image_id = node.create(disk_format)
    r = node.put(image_id, "file", read(images, name))
    assert r.status_code == 204, r.text
    img = node.show(image_id)
    assert img["status"] == "active"
    assert img["virtual_size"] == qemu_virtual_size(str(images / name), qemu_format)
    assert img["os_glint_format_check"] == "passed: " + ("raw" if disk_format == "raw" else disk_format)


@pytest.mark.parametrize("name,disk_format,message", BAD)
def test_upload_refusals(node, images, name, disk_format, message):
    image_id = node.create(disk_format)
    r = node.put(image_id, "file", read(images, name))
    assert r.status_code == 400, r.text
    assert message in error_text(r)
    img = node.show(image_id)
    assert img["status"] == "queued" and img["size"] is None
    assert "os_glint_format_check" not in img
    assert image_id not in files_under(node.s.store_dir)


@pytest.mark.parametrize("name,disk_format,message", BAD)
def test_stage_refusals(node, images, name, disk_format, message):
    image_id = node.create(disk_format)
    r = node.put(image_id, "stage", read(images, name))
    assert r.status_code == 400, r.text
    assert message in error_text(r)
    assert node.show(image_id)["status"] == "queued"
    assert image_id not in files_under(os.path.join(node.s.data_dir, "staging"))


def test_stage_then_import_accepts_and_records(node, images):
    image_id = node.create("vhdx")
    assert node.put(image_id, "stage", read(images, "disk.vhdx")).status_code == 204
    assert node.import_(image_id, {"method": {"name": "glance-direct"}}).status_code == 202
    assert node.wait(lambda: node.show(image_id)["status"] == "active")
    img = node.show(image_id)
    assert img["virtual_size"] == qemu_virtual_size(str(images / "disk.vhdx"), "vhdx")
    assert img["os_glint_format_check"] == "passed: vhdx"


def test_import_checks_the_staged_data_again(node, images):
    """Data swapped in the staging area after its check is refused at import."""
    image_id = node.create("qcow2")
    assert node.put(image_id, "stage", read(images, "v3.qcow2")).status_code == 204
    staged = os.path.join(node.s.data_dir, "staging", image_id)
    shutil.copyfile(str(images / "backing.qcow2"), staged)
    assert node.import_(image_id, {"method": {"name": "glance-direct"}}).status_code == 202
    assert node.wait(lambda: node.tasks(image_id) and node.tasks(image_id)[0]["status"] == "failure")
    assert "qcow2 image has a backing file" in node.tasks(image_id)[0]["message"]
    assert node.wait(lambda: node.show(image_id)["status"] == "queued")
    assert image_id not in files_under(os.path.join(node.s.data_dir, "staging"))
    assert image_id not in files_under(node.s.store_dir)


def add_location(node, image_id, path, data):
    vd = {"checksum": hashlib.md5(data).hexdigest(), "os_hash_algo": "sha512",
          "os_hash_value": hashlib.sha512(data).hexdigest()}
    return requests.patch(node.s.url + "/v2/images/" + image_id, headers=dict(node.h, **PATCH),
                          json=[{"op": "add", "path": "/locations/-",
                                 "value": {"url": "file://" + path, "metadata": {}, "validation_data": vd}}])


def place_in_store(node, images, name):
    """A file put straight into the store (as an operator's tool would)."""
    path = os.path.join(os.path.realpath(node.s.store_dir), str(uuid.uuid4()))
    os.makedirs(node.s.store_dir, exist_ok=True)
    shutil.copyfile(str(images / name), path)
    return path


@pytest.mark.parametrize("name,disk_format,qemu_format",
                         [g for g in GOOD if g[0] in ("disk.vhdx", "fixed.vhd", "v3.qcow2", "stream.vmdk")])
def test_location_add_reads_the_header_from_the_store(node, images, name, disk_format, qemu_format):
    image_id = node.create(disk_format)
    path = place_in_store(node, images, name)
    r = add_location(node, image_id, path, read(images, name))
    assert r.status_code == 200, r.text
    img = node.show(image_id)
    assert img["status"] == "active"
    assert img["virtual_size"] == qemu_virtual_size(str(images / name), qemu_format)
    assert img["os_glint_format_check"] == "passed: " + disk_format


@pytest.mark.parametrize("name,disk_format,message", BAD)
def test_location_add_refusals(node, images, name, disk_format, message):
    image_id = node.create(disk_format)
    path = place_in_store(node, images, name)
    r = add_location(node, image_id, path, read(images, name))
    assert r.status_code == 400, r.text
    assert message in error_text(r)
    img = node.show(image_id)
    assert img["status"] == "queued" and img["locations"] == []
    assert image_id not in files_under(node.s.store_dir)


def test_copy_image_checks_the_source_again(tmp_path, images):
    """An image accepted under a lax policy is refused when copied under a strict one:
    the copy task fails saying why, the image stays as it was, the target store empty."""
    conf = tmp_path / "glint.conf"
    stores = ("[DEFAULT]\nenabled_backends = a:file, b:file\n[glance_store]\ndefault_backend = a\n"
              "[a]\nfilesystem_store_datadir = %s/a\n[b]\nfilesystem_store_datadir = %s/b\n" % (tmp_path, tmp_path))
    conf.write_text(stores + "[image_format]\nrequire_image_format_match = false\n")
    s = glint_server.GlintServer(str(tmp_path), config=str(conf)).start()
    try:
        n = Node(s)
        image_id = n.create("raw")
        assert n.put(image_id, "file", read(images, "v3.qcow2")).status_code == 204
        assert n.show(image_id)["os_glint_format_check"] == "passed: qcow2"
        s.stop()
        conf.write_text(stores)
        s.start()
        r = n.import_(image_id, {"method": {"name": "copy-image"}, "stores": ["b"]})
        assert r.status_code == 202, r.text
        assert n.wait(lambda: n.tasks(image_id) and n.tasks(image_id)[0]["status"] == "failure")
        assert "the data is a qcow2 image, but disk_format is raw" in n.tasks(image_id)[0]["message"]
        img = n.show(image_id)
        assert img["status"] == "active" and img["stores"] == "a"
        assert files_under(str(tmp_path / "b")) == []
        # A sound image copies.
        good = n.create("vdi")
        assert n.put(good, "file", read(images, "disk.vdi")).status_code == 204
        assert n.import_(good, {"method": {"name": "copy-image"}, "stores": ["b"]}).status_code == 202
        assert n.wait(lambda: set(n.show(good)["stores"].split(",")) == {"a", "b"})
    finally:
        s.stop()


def test_vmdk_allowed_types_configures_vmdk(tmp_path, images):
    conf = tmp_path / "glint.conf"
    conf.write_text("[image_format]\nvmdk_allowed_types = streamOptimized\n")
    s = glint_server.GlintServer(str(tmp_path), config=str(conf)).start()
    try:
        n = Node(s)
        ok, refused = n.create("vmdk"), n.create("vmdk")
        assert n.put(ok, "file", read(images, "stream.vmdk")).status_code == 204
        r = n.put(refused, "file", read(images, "sparse.vmdk"))
        assert r.status_code == 400 and "vmdk create type \"monolithicSparse\" is not allowed" in error_text(r)
        assert n.show(refused)["status"] == "queued"
    finally:
        s.stop()
