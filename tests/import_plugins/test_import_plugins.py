"""Import plugins with the real glint-api and the real qemu-img: image_conversion on
glance-direct and web-download imports (the converted data and its facts compared with
qemu-img's own conversion), conversions killed by their limits leaving the image as it was,
and inject_image_metadata.

In CI (CI=true) a missing qemu-img is a failure, never a skip.
"""
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402

OCTET = {"Content-Type": "application/octet-stream"}
MIB = 1 << 20


def qemu_img():
    path = shutil.which("qemu-img")
    if path:
        return path
    msg = "qemu-img is not installed (qemu-utils, tools/install-deps.sh)"
    if glint_server.in_ci():
        pytest.fail(msg)
    pytest.skip(msg)


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


class Origin(http.server.BaseHTTPRequestHandler):
    blobs = {}

    def log_message(self, *a):
        pass

    def do_GET(self):
        data = self.blobs.get(self.path)
        self.send_response(200 if data is not None else 404)
        self.send_header("Content-Length", str(len(data or b"")))
        self.end_headers()
        self.wfile.write(data or b"")


@pytest.fixture(scope="module")
def origin(images):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    srv.daemon_threads = True
    Origin.blobs["/disk.qcow2"] = images["qcow2"]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()


def start(workdir, name, text):
    d = os.path.join(workdir, name)
    os.makedirs(d)
    conf = os.path.join(d, "glint.conf")
    with open(conf, "w") as f:
        f.write("[import_filtering_opts]\nallowed_ports =\nallowed_networks = 127.0.0.0/8\n" + text)
    return glint_server.GlintServer(d, config=conf).start()


class Node:
    def __init__(self, server, token=None):
        self.s = server
        self.h = {"X-Auth-Token": token or server.token}

    def create(self, disk_format="qcow2", **extra):
        body = dict({"disk_format": disk_format, "container_format": "bare"}, **extra)
        r = requests.post(self.s.url + "/v2/images", headers=self.h, json=body)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def show(self, image_id):
        r = requests.get(self.s.url + "/v2/images/" + image_id, headers=self.h)
        assert r.status_code == 200, r.text
        return r.json()

    def stage(self, image_id, data):
        return requests.put(self.s.url + "/v2/images/%s/stage" % image_id, data=data, headers=dict(self.h, **OCTET))

    def import_(self, image_id, method="glance-direct", **extra):
        r = requests.post(self.s.url + "/v2/images/%s/import" % image_id, headers=self.h,
                          json={"method": dict({"name": method}, **extra)})
        assert r.status_code == 202, r.text

    def task(self, image_id):
        tasks = requests.get(self.s.url + "/v2/images/%s/tasks" % image_id, headers=self.h).json()["tasks"]
        return tasks[0] if tasks else None

    def settle(self, image_id, timeout=60):
        """Waits until the import task ended; returns (image, task)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            t = self.task(image_id)
            if t and t["status"] in ("success", "failure"):
                return self.show(image_id), t
            time.sleep(0.1)
        raise AssertionError("the import of %s did not end: %s" % (image_id, self.show(image_id)))

    def download(self, image_id):
        r = requests.get(self.s.url + "/v2/images/%s/file" % image_id, headers=self.h)
        assert r.status_code == 200, r.text
        return r.content


def assert_converted(img, reference):
    assert img["status"] == "active", img
    assert img["disk_format"] == "raw"
    assert img["container_format"] == "bare"
    assert img["size"] == len(reference)
    assert img["virtual_size"] == len(reference)
    assert img["checksum"] == hashlib.md5(reference).hexdigest()
    assert img["os_hash_algo"] == "sha512"
    assert img["os_hash_value"] == hashlib.sha512(reference).hexdigest()
    assert img["os_glint_format_check"] == "passed: raw"


@pytest.fixture(scope="module")
def converting(workdir):
    s = start(workdir, "convert", "[image_import_opts]\nimage_import_plugins = ['image_conversion']\n"
                                  "[image_conversion]\noutput_format = raw\n")
    yield s
    s.stop()


def test_glance_direct_qcow2_becomes_raw(converting, images):
    n = Node(converting)
    image_id = n.create("qcow2")
    assert n.stage(image_id, images["qcow2"]).status_code == 204
    n.import_(image_id)
    img, task = n.settle(image_id)
    assert task["status"] == "success", task
    assert_converted(img, images["reference"])
    assert n.download(image_id) == images["reference"]
    # Nothing left behind: neither the staged qcow2 nor the converted scratch copy.
    staging = os.path.join(converting.data_dir, "staging")
    assert not os.path.exists(os.path.join(staging, image_id))
    assert not os.path.exists(os.path.join(staging, "converted", image_id))


def test_data_already_in_output_format_is_kept(converting, images):
    n = Node(converting)
    image_id = n.create("raw")
    assert n.stage(image_id, images["reference"]).status_code == 204
    n.import_(image_id)
    img, task = n.settle(image_id)
    assert task["status"] == "success", task
    assert_converted(img, images["reference"])


def test_web_download_is_converted(converting, images, origin):
    n = Node(converting)
    image_id = n.create("qcow2")
    n.import_(image_id, "web-download", uri=origin + "/disk.qcow2")
    img, task = n.settle(image_id)
    assert task["status"] == "success", task
    assert_converted(img, images["reference"])
    assert n.download(image_id) == images["reference"]


def test_refused_data_is_not_converted(converting, workdir, images):
    """A qcow2 with a backing file never reaches qemu-img: refused, image back to queued."""
    q = qemu_img()
    evil = os.path.join(workdir, "evil.qcow2")
    subprocess.run([q, "create", "-f", "qcow2", "-F", "raw", "-b", "/etc/passwd", evil, "1M"], check=True,
                   capture_output=True)
    n = Node(converting)
    image_id = n.create("qcow2")
    with open(evil, "rb") as f:
        r = n.stage(image_id, f.read())
    if r.status_code == 204:  # refused at stage already, or else at import
        n.import_(image_id)
        img, task = n.settle(image_id)
        assert task["status"] == "failure"
        assert "backing" in task["message"]
        assert img["status"] == "queued"
    else:
        assert r.status_code == 400 and "backing" in r.text


def fake_qemu(workdir, script):
    path = os.path.join(workdir, "slow-qemu-img-%d" % len(os.listdir(workdir)))
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + script + "\n")
    os.chmod(path, 0o755)
    return path


@pytest.mark.parametrize("limits,phrase", [
    ("wall_time_limit = 1\nqemu_img_path = {slow}\n", "wall-clock"),
    ("memory_limit_mib = 4\n", "memory 4 MiB"),
    ("cpu_time_limit = 1\nqemu_img_path = {busy}\n", "CPU-time"),
])
def test_conversion_over_its_limits_leaves_the_image_as_it_was(workdir, images, origin, limits, phrase):
    slow = fake_qemu(workdir, "sleep 60 & sleep 60")
    busy = fake_qemu(workdir, "while :; do :; done")
    s = start(workdir, "limits-%d" % len(os.listdir(workdir)),
              "[image_import_opts]\nimage_import_plugins = ['image_conversion']\n[image_conversion]\n"
              "output_format = raw\n" + limits.format(slow=slow, busy=busy))
    try:
        n = Node(s)
        image_id = n.create("qcow2")
        assert n.stage(image_id, images["qcow2"]).status_code == 204
        before = n.show(image_id)
        started = time.time()
        n.import_(image_id)
        img, task = n.settle(image_id)
        assert time.time() - started < 30
        assert task["status"] == "failure"
        assert "Image conversion failed" in task["message"] and phrase in task["message"], task["message"]
        # As before the import (glance-direct: uploading, staged data kept for another try).
        assert img["status"] == "uploading"
        for k in ("disk_format", "container_format", "size", "virtual_size", "checksum", "os_hash_value"):
            assert img[k] == before[k], k
        staging = os.path.join(s.data_dir, "staging")
        with open(os.path.join(staging, image_id), "rb") as f:
            assert f.read() == images["qcow2"]
        assert not os.path.exists(os.path.join(staging, "converted", image_id))
        # web-download: the image goes back to queued and nothing staged is kept.
        wd = n.create("qcow2")
        n.import_(wd, "web-download", uri=origin + "/disk.qcow2")
        img, task = n.settle(wd)
        assert task["status"] == "failure" and phrase in task["message"], task["message"]
        assert img["status"] == "queued" and img["size"] is None
        assert not os.path.exists(os.path.join(staging, wd))
        assert "glint-api exited" not in s.read_log()
    finally:
        s.stop()


def test_inject_image_metadata(workdir, images):
    s = start(workdir, "inject", "[image_import_opts]\nimage_import_plugins = ['inject_image_metadata']\n"
                                 "[inject_metadata_properties]\nignore_user_roles = admin\n"
                                 "inject = os_distro:debian, hw_rng_model:virtio\n")
    try:
        s.manage("project-create", "tenant")
        s.manage("user-create", "alice", "--password", "pw", "--project", "tenant")
        member = Node(s, s.token_for("alice", "pw", "tenant"))
        image_id = member.create("raw")
        assert member.stage(image_id, images["reference"]).status_code == 204
        member.import_(image_id)
        img, task = member.settle(image_id)
        assert task["status"] == "success", task
        assert img["os_distro"] == "debian" and img["hw_rng_model"] == "virtio"
        assert img["disk_format"] == "raw" and img["size"] == len(images["reference"])
        # An admin's import is left alone (ignore_user_roles).
        admin = Node(s)
        other = admin.create("raw")
        assert admin.stage(other, images["reference"]).status_code == 204
        admin.import_(other)
        img, task = admin.settle(other)
        assert task["status"] == "success", task
        assert "os_distro" not in img and "hw_rng_model" not in img
    finally:
        s.stop()


def test_unknown_plugin_or_format_is_a_config_error(workdir):
    for text in ("[image_import_opts]\nimage_import_plugins = ['no_such_plugin']\n",
                 "[image_conversion]\noutput_format = vhd\n"):
        with pytest.raises(RuntimeError) as e:
            start(workdir, "bad-%d" % len(os.listdir(workdir)), text)
        assert "image_import_plugins" in str(e.value) or "output_format" in str(e.value)


def test_image_stage_total_quota_and_usage(workdir):
    """Glance's image_stage_total (unified limits, MiB): counted in /v2/info/usage while
    data is staged, 413 when a stage would pass it; an import frees it."""
    d = os.path.join(workdir, "stagequota")
    os.makedirs(d)
    conf = os.path.join(d, "glint.conf")
    with open(conf, "w") as f:
        f.write("[DEFAULT]\nuse_keystone_limits = true\n")
    s = glint_server.GlintServer(d, config=conf)
    s.manage("project-create", "q")
    s.manage("user-create", "quser", "--password", "qpw", "--project", "q")
    s.manage("limit-set", "--resource", "image_stage_total", "--value", "3", "--project", "q")
    s.start()
    try:
        n = Node(s, s.token_for("quser", "qpw", "q"))
        usage = lambda: requests.get(s.url + "/v2/info/usage", headers=n.h).json()["usage"]["image_stage_total"]
        assert usage() == {"limit": 3, "usage": 0}
        first, second, third = n.create("raw"), n.create("raw"), n.create("raw")
        assert n.stage(first, b"a" * (2 * MIB)).status_code == 204
        assert usage() == {"limit": 3, "usage": 2}
        r = n.stage(second, b"b" * (2 * MIB))  # 2 MiB staged, 1 MiB left
        assert r.status_code == 413, r.text
        assert "image_stage_total" in r.json()["error"]["message"]
        assert n.show(second)["status"] == "queued"

        def chunked():  # no Content-Length: cut off when it passes the limit
            for _ in range(20):
                yield b"c" * (100 << 10)
        assert n.stage(second, chunked()).status_code == 413
        assert n.show(second)["status"] == "queued"
        assert n.stage(third, b"d" * MIB).status_code == 204
        assert usage() == {"limit": 3, "usage": 3}
        r = n.stage(second, b"e")  # at the limit: nothing more may be staged
        assert r.status_code == 413, r.text
        n.import_(first)
        img, task = n.settle(first)
        assert task["status"] == "success" and img["status"] == "active"
        assert usage() == {"limit": 3, "usage": 1}
        assert n.stage(second, b"f" * MIB).status_code == 204
    finally:
        s.stop()
