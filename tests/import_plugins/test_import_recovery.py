"""Imports that end badly, with the real glint-api: a node SIGKILLed while qemu-img (or a
decompressor) runs for an import comes back with the image as before the import, no
converter left running and the scratch area empty; `os_glance_import_task` names the task
while an import or copy runs and is gone when it ends; with `all_stores_must_succeed`
(Glance's default) a store that fails reverts the stores that had succeeded.
"""
import gzip
import os
import shutil
import tempfile
import time

import pytest
import requests

from import_support import MIB, Node, glint_server, qemu_img, start


@pytest.fixture(scope="module")
def workdir():
    d = tempfile.mkdtemp(prefix="glint-recovery-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def slow_tool(workdir, name, body):
    """A stand-in for qemu-img or gzip that records its pid, writes part of its output (to
    the last argument, or to stdout) and then hangs, as a long conversion would."""
    pid_file = os.path.join(workdir, name + ".pid")
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\necho $$ > %s\n%s\nexec sleep 300\n" % (pid_file, body))
    os.chmod(path, 0o755)
    return path, pid_file


def wait_for(what, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = what()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as f:  # a zombie no one reaped yet is dead too
        return f.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.parametrize("plugin", ["image_conversion", "image_decompression"])
def test_sigkill_during_a_plugin_leaves_the_image_as_before(workdir, images, plugin):
    if plugin == "image_conversion":
        qemu_img()
        tool, pid_file = slow_tool(workdir, "slow-qemu-img", 'for last; do :; done; head -c 1048576 /dev/zero > "$last"')
        conf = "[image_conversion]\noutput_format = raw\nqemu_img_path = %s\n" % tool
        data, scratch = images["qcow2"], "converted"
    else:
        tool, pid_file = slow_tool(workdir, "slow-gzip", "head -c 1048576 /dev/zero")
        conf = "[image_decompression]\ngzip_path = %s\n" % tool
        data, scratch = gzip.compress(images["qcow2"]), "decompressed"
    s = start(workdir, "kill-" + plugin, "[image_import_opts]\nimage_import_plugins = ['%s']\n%s" % (plugin, conf))
    try:
        n = Node(s)
        image_id = n.create("qcow2")
        assert n.stage(image_id, data).status_code == 204
        before = n.show(image_id)
        n.import_(image_id)
        task_id = n.task(image_id)["id"]
        pid = int(wait_for(lambda: os.path.exists(pid_file) and open(pid_file).read().strip()))
        scratch_file = os.path.join(s.data_dir, "staging", scratch, image_id)
        wait_for(lambda: os.path.exists(scratch_file) and os.path.getsize(scratch_file) == MIB)
        img = n.show(image_id)
        assert img["status"] == "importing" and img["os_glance_import_task"] == task_id
        s.kill()
        wait_for(lambda: not alive(pid), timeout=10)  # it died with glint-api
        s.start()
        img = wait_for(lambda: (lambda i: i if i["status"] == "uploading" else None)(n.show(image_id)))
        for k in ("disk_format", "container_format", "size", "checksum", "os_hash_value", "virtual_size"):
            assert img[k] == before[k], k
        assert "os_glance_import_task" not in img
        assert n.task(image_id)["status"] == "failure"
        with open(os.path.join(s.data_dir, "staging", image_id), "rb") as f:
            assert f.read() == data  # staged data kept for another try
        wait_for(lambda: not os.path.exists(scratch_file))  # the sweep cleaned the scratch area
        assert not os.path.isdir(s.store_dir) or not os.listdir(s.store_dir)  # nothing stored
    finally:
        if os.path.exists(pid_file):
            os.unlink(pid_file)
        s.stop()


def test_import_task_property_follows_the_task(workdir, images):
    s = start(workdir, "taskprop", "")
    try:
        n = Node(s)
        image_id = n.create("raw")
        assert n.stage(image_id, images["reference"]).status_code == 204
        n.import_(image_id)
        img, task = n.settle(image_id)
        assert task["status"] == "success"
        assert "os_glance_import_task" not in img
        r = requests.patch(s.url + "/v2/images/" + image_id, headers=dict(n.h, **{
            "Content-Type": "application/openstack-images-v2.1-json-patch"}),
            json=[{"op": "add", "path": "/os_glance_import_task", "value": "x"}])
        assert r.status_code == 403  # reserved, as in Glance
    finally:
        s.stop()


@pytest.fixture
def multi(workdir):
    d = os.path.join(workdir, "multi-%d" % len(os.listdir(workdir)))
    os.makedirs(d)
    conf = os.path.join(d, "glint.conf")
    with open(conf, "w") as f:
        f.write("[import_filtering_opts]\nallowed_ports =\nallowed_networks = 127.0.0.0/8\n"
                "[DEFAULT]\nenabled_backends = fast:file, slow:file\n[glance_store]\ndefault_backend = fast\n"
                "[fast]\nfilesystem_store_datadir = %s/fast\n[slow]\nfilesystem_store_datadir = %s/slow\n" % (d, d))
    s = glint_server.GlintServer(d, config=conf).start()
    yield s
    s.stop()


def break_store(s, name):
    """The store's directory becomes a file: every write to it fails."""
    path = os.path.join(s.data_dir, name)
    shutil.rmtree(path)
    open(path, "w").close()


def import_to(n, image_id, **body):
    r = requests.post(n.s.url + "/v2/images/%s/import" % image_id, headers=n.h,
                      json=dict(body, method={"name": "glance-direct"}))
    assert r.status_code == 202, r.text


def test_a_failing_store_reverts_the_others(multi, images):
    s, n = multi, Node(multi)
    data = images["reference"]
    image_id = n.create("raw")
    assert n.stage(image_id, data).status_code == 204
    break_store(s, "slow")
    import_to(n, image_id, stores=["fast", "slow"])  # all_stores_must_succeed defaults to true
    img, task = n.settle(image_id)
    assert task["status"] == "failure" and "slow" in task["message"], task
    # Back as before the import: no data in any store, nothing active, staged data kept.
    assert img["status"] == "uploading" and img["size"] == len(data)
    assert img["checksum"] is None and img["os_hash_value"] is None
    assert img.get("stores") in (None, "")
    assert img["os_glance_failed_import"] == "slow" and img["os_glance_importing_to_stores"] == ""
    assert "os_glance_import_task" not in img
    assert not os.listdir(os.path.join(s.data_dir, "fast"))
    assert open(os.path.join(s.data_dir, "staging", image_id), "rb").read() == data
    # all_stores_must_succeed = false: the image is active where the data got to.
    import_to(n, image_id, stores=["fast", "slow"], all_stores_must_succeed=False)
    img, task = wait_for(lambda: (lambda t: (n.show(image_id), t) if t["status"] in ("success", "failure") and
                                  t["id"] != task["id"] else None)(n.task(image_id)))
    assert task["status"] == "success", task
    assert img["status"] == "active" and img["stores"] == "fast" and img["os_glance_failed_import"] == "slow"
    assert n.download(image_id) == data
    assert "os_glance_import_task" not in img


def test_a_failing_store_reverts_a_web_download(multi, images, origin):
    """A web-download to stores that must all succeed is staged first; a failing store
    sends the image back to queued with nothing in any store or the staging area."""
    s, n = multi, Node(multi)
    break_store(s, "slow")
    image_id = n.create("qcow2")
    r = requests.post(s.url + "/v2/images/%s/import" % image_id, headers=n.h,
                      json={"method": {"name": "web-download", "uri": origin + "/disk.qcow2"},
                            "stores": ["fast", "slow"]})
    assert r.status_code == 202, r.text
    img, task = n.settle(image_id)
    assert task["status"] == "failure" and "slow" in task["message"], task
    assert img["status"] == "queued" and img["size"] is None and img["checksum"] is None
    assert img["os_glance_failed_import"] == "slow" and img["os_glance_importing_to_stores"] == ""
    assert "os_glance_import_task" not in img
    assert not os.listdir(os.path.join(s.data_dir, "fast"))
    assert not os.path.exists(os.path.join(s.data_dir, "staging", image_id))


def test_several_stores_that_succeed_activate_together(multi, images):
    s, n = multi, Node(multi)
    data = images["reference"]
    image_id = n.create("raw")
    assert n.stage(image_id, data).status_code == 204
    import_to(n, image_id, stores=["slow", "fast"])
    img, task = n.settle(image_id)
    assert task["status"] == "success", task
    assert img["status"] == "active" and img["stores"] == "slow,fast"
    assert img["os_glance_importing_to_stores"] == "" and img["os_glance_failed_import"] == ""
    assert "os_glance_import_task" not in img
    for store in ("slow", "fast"):
        assert open(os.path.join(s.data_dir, store, image_id), "rb").read() == data
    # copy-image holds the image by its task too, and lets go when it ends.
    other = n.create("raw")
    r = requests.put(s.url + "/v2/images/%s/file" % other, data=data,
                     headers=dict(n.h, **{"Content-Type": "application/octet-stream", "X-Image-Meta-Store": "fast"}))
    assert r.status_code == 204
    r = requests.post(s.url + "/v2/images/%s/import" % other, headers=n.h,
                      json={"method": {"name": "copy-image"}, "stores": ["slow"]})
    assert r.status_code == 202
    img, task = n.settle(other)
    assert task["status"] == "success" and "os_glance_import_task" not in img
    assert set(img["stores"].split(",")) == {"fast", "slow"}
