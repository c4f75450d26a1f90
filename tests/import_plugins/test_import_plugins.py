"""Import plugins with the real glint-api and the real qemu-img: image_conversion on
glance-direct and web-download imports (the converted data and its facts compared with
qemu-img's own conversion), conversions killed by their limits leaving the image as it was,
and inject_image_metadata.

In CI (CI=true) a missing qemu-img is a failure, never a skip.
"""
import hashlib
import os
import subprocess
import time

import pytest
import requests

from import_support import MIB, Node, glint_server, qemu_img, start


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
