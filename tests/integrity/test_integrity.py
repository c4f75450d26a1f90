"""Integrity under failure, against a real glint-api: SIGKILL mid-upload, clients that
vanish, concurrent uploads, a full store, the size cap, bounded upload memory.

What must hold: an image is `active` only with all of its data (hashes match), an
interrupted upload leaves the image `queued` and no partial data in the store.
"""
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402


def make_image(server, **props):
    body = {"disk_format": "raw", "container_format": "bare"}
    body.update(props)
    r = requests.post(server.url + "/v2/images", json=body, headers={"X-Auth-Token": server.token})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def show(server, image_id):
    r = requests.get(server.url + "/v2/images/" + image_id, headers={"X-Auth-Token": server.token})
    assert r.status_code == 200, r.text
    return r.json()


def store_files(server):
    return sorted(os.listdir(server.store_dir)) if os.path.isdir(server.store_dir) else []


def raw_upload_start(server, image_id, total):
    """Opens a socket and sends the head of an upload of `total` bytes; returns the socket."""
    s = socket.create_connection(("127.0.0.1", server.port))
    head = ("PUT /v2/images/%s/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n"
            "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
            % (image_id, server.token, total))
    s.sendall(head.encode())
    return s


def chunk(i, size=1 << 20):
    return hashlib.sha512(str(i).encode()).digest() * (size // 64)


def wait_for(pred, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def server():
    s = glint_server.GlintServer.start_default()
    yield s
    s.stop()


@pytest.mark.parametrize("sent_mib", [0, 5, 40, 64])
def test_sigkill_during_upload_recovers(server, sent_mib):
    total_mib = 64
    image_id = make_image(server)
    sock = raw_upload_start(server, image_id, total_mib << 20)
    md5, sha = hashlib.md5(), hashlib.sha512()
    for i in range(sent_mib):
        sock.sendall(chunk(i))
        md5.update(chunk(i))
        sha.update(chunk(i))
    server.kill()  # at 64 MiB the server may or may not have committed: both must be clean
    sock.close()
    server.start()
    img = show(server, image_id)
    if img["status"] == "active":
        assert sent_mib == total_mib
        assert img["checksum"] == md5.hexdigest() and img["os_hash_value"] == sha.hexdigest()
        assert wait_for(lambda: store_files(server) == [image_id])
    else:
        assert img["status"] == "queued", img
        assert img["size"] is None and img["checksum"] is None
        # The store sweep runs beside serving, right after startup.
        assert wait_for(lambda: store_files(server) == []), "partial data left in the store"
        # The image takes a fresh upload.
        data = b"".join(chunk(i) for i in range(3))
        r = requests.put(server.url + "/v2/images/%s/file" % image_id, data=data,
                         headers={"X-Auth-Token": server.token, "Content-Type": "application/octet-stream"})
        assert r.status_code == 204, r.text
        assert show(server, image_id)["checksum"] == hashlib.md5(data).hexdigest()


def test_client_disconnect_returns_image_to_queued(server):
    image_id = make_image(server)
    sock = raw_upload_start(server, image_id, 100 << 20)
    for i in range(10):
        sock.sendall(chunk(i))
    assert wait_for(lambda: show(server, image_id)["status"] == "saving")
    sock.close()
    assert wait_for(lambda: show(server, image_id)["status"] == "queued")
    assert wait_for(lambda: store_files(server) == [])


def test_concurrent_uploads_one_wins(server):
    image_id = make_image(server)
    first = raw_upload_start(server, image_id, 4 << 20)
    first.sendall(chunk(0))
    assert wait_for(lambda: show(server, image_id)["status"] == "saving")
    r = requests.put(server.url + "/v2/images/%s/file" % image_id, data=b"x" * 1000,
                     headers={"X-Auth-Token": server.token, "Content-Type": "application/octet-stream"})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == 409
    for i in range(1, 4):
        first.sendall(chunk(i))
    reply = first.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 204"), reply
    first.close()
    img = show(server, image_id)
    assert img["status"] == "active" and img["size"] == 4 << 20


def test_size_cap_413_and_back_to_queued(tmp_path):
    conf = tmp_path / "glint.conf"
    conf.write_text("[DEFAULT]\nimage_size_cap = 1048576\n")
    s = glint_server.GlintServer(str(tmp_path), config=str(conf))
    s.start()
    try:
        headers = {"X-Auth-Token": s.token, "Content-Type": "application/octet-stream"}
        image_id = make_image(s)
        r = requests.put(s.url + "/v2/images/%s/file" % image_id, data=b"x" * (2 << 20), headers=headers)
        assert r.status_code == 413 and "image_size_cap" in r.json()["error"]["message"]
        assert show(s, image_id)["status"] == "queued"

        def gen():  # chunked: the size is only known as it arrives
            for i in range(3):
                yield chunk(i)
        r = requests.put(s.url + "/v2/images/%s/file" % image_id, data=gen(), headers=headers)
        assert r.status_code == 413
        assert wait_for(lambda: show(s, image_id)["status"] == "queued")
        assert wait_for(lambda: store_files(s) == [])
        r = requests.put(s.url + "/v2/images/%s/file" % image_id, data=b"y" * 1000, headers=headers)
        assert r.status_code == 204
    finally:
        s.stop()


def test_full_store_413_and_nothing_left(tmp_path):
    if os.geteuid() != 0:
        if glint_server.in_ci():
            pytest.fail("the full-disk test needs root to mount a small tmpfs")
        pytest.skip("needs root to mount a small tmpfs")
    store = tmp_path / "store"
    store.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(store)], check=True)
    s = glint_server.GlintServer(str(tmp_path), extra_args=["--filesystem-store-datadir", str(store)])
    try:
        s.start()
        image_id = make_image(s)
        data = b"".join(chunk(i) for i in range(16))
        r = requests.put(s.url + "/v2/images/%s/file" % image_id, data=data,
                         headers={"X-Auth-Token": s.token, "Content-Type": "application/octet-stream"})
        assert r.status_code == 413, r.text
        assert "No space left" in r.json()["error"]["message"]
        assert wait_for(lambda: show(s, image_id)["status"] == "queued")
        assert wait_for(lambda: os.listdir(store) == [])
    finally:
        s.stop()
        subprocess.run(["umount", str(store)], check=False)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_upload_memory_is_bounded(server):
    """A 1 GiB upload must not grow the server's RSS by more than 64 MiB."""
    image_id = make_image(server)
    before = rss_kib(server.proc.pid)
    peak = [before]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(server.proc.pid))
            time.sleep(0.02)
    t = threading.Thread(target=sample)
    t.start()
    block = os.urandom(1 << 20)

    def gen():
        for _ in range(1024):
            yield block
    r = requests.put(server.url + "/v2/images/%s/file" % image_id, data=gen(),
                     headers={"X-Auth-Token": server.token, "Content-Type": "application/octet-stream"})
    stop.set()
    t.join()
    assert r.status_code == 204, r.text
    assert show(server, image_id)["size"] == 1 << 30
    growth_mib = (peak[0] - before) / 1024
    print("RSS before %d KiB, peak %d KiB, growth %.1f MiB" % (before, peak[0], growth_mib))
    assert growth_mib < 64


def test_catalog_survives_restart_and_delete_removes_data(server):
    image_id = make_image(server, name="persist")
    r = requests.put(server.url + "/v2/images/%s/file" % image_id, data=b"z" * 5000,
                     headers={"X-Auth-Token": server.token, "Content-Type": "application/octet-stream"})
    assert r.status_code == 204
    server.stop_keep = True
    server.proc.terminate()
    server.proc.wait(30)
    server.start()
    img = show(server, image_id)
    assert img["status"] == "active" and img["name"] == "persist"
    assert store_files(server) == [image_id]
    r = requests.delete(server.url + "/v2/images/" + image_id, headers={"X-Auth-Token": server.token})
    assert r.status_code == 204
    assert store_files(server) == []


def test_locations_api_and_direct_url(tmp_path):
    conf = tmp_path / "glint.conf"
    conf.write_text("[DEFAULT]\nshow_image_direct_url = true\nshow_multiple_locations = true\n")
    s = glint_server.GlintServer(str(tmp_path), config=str(conf))
    s.start()
    try:
        h = {"X-Auth-Token": s.token}
        patch = lambda i, ops: requests.patch(s.url + "/v2/images/" + i, json=ops, headers=dict(
            h, **{"Content-Type": "application/openstack-images-v2.1-json-patch"}))
        a = make_image(s)
        requests.put(s.url + "/v2/images/%s/file" % a, data=b"a" * 5000,
                     headers=dict(h, **{"Content-Type": "application/octet-stream"}))
        rec = show(s, a)
        assert rec["direct_url"] == "file://%s/%s" % (os.path.realpath(s.store_dir), a)
        assert rec["locations"] == [{"url": rec["direct_url"], "metadata": {}}]
        # Data already in the store becomes an image through a location.
        data = os.urandom(100000)
        u, v = str(uuid.uuid4()), str(uuid.uuid4())
        for name in (u, v):
            with open(os.path.join(s.store_dir, name), "wb") as f:
                f.write(data)
        url = lambda n: "file://%s/%s" % (os.path.realpath(s.store_dir), n)
        b = make_image(s)
        vd = {"checksum": hashlib.md5(data).hexdigest(), "os_hash_algo": "sha512",
              "os_hash_value": hashlib.sha512(data).hexdigest()}
        r = patch(b, [{"op": "add", "path": "/locations/-",
                       "value": {"url": url(u), "metadata": {"k": "v"}, "validation_data": vd}}])
        assert r.status_code == 200, r.text
        rec = r.json()
        assert rec["status"] == "active" and rec["size"] == len(data) and rec["checksum"] == vd["checksum"]
        assert rec["locations"] == [{"url": url(u), "metadata": {"k": "v"}}]
        assert requests.get(s.url + "/v2/images/%s/file" % b, headers=h).content == data
        assert patch(b, [{"op": "add", "path": "/locations/-", "value": {"url": url(u), "metadata": {}}}]).status_code == 400
        assert patch(b, [{"op": "add", "path": "/locations/-", "value": {"url": "http://elsewhere/x", "metadata": {}}}]).status_code == 400
        assert patch(b, [{"op": "remove", "path": "/locations/0"}]).status_code == 403  # the last one
        assert patch(b, [{"op": "replace", "path": "/locations", "value": []}]).status_code == 403
        r = patch(b, [{"op": "add", "path": "/locations/-", "value": {"url": url(v), "metadata": {}}}])
        assert r.status_code == 200 and len(r.json()["locations"]) == 2
        r = patch(b, [{"op": "remove", "path": "/locations/0"}])
        assert r.status_code == 200 and [l["url"] for l in r.json()["locations"]] == [url(v)]
        assert requests.get(s.url + "/v2/images/%s/file" % b, headers=h).content == data
    finally:
        s.stop()


def test_sigkill_during_import_keeps_the_staged_data_for_a_retry(tmp_path):
    """A node killed while it imports (glance-direct): after the restart the image is
    `uploading` again with its staged data, the task says it failed, and a new import
    makes it active with the right hashes."""
    s = glint_server.GlintServer(str(tmp_path)).start()
    try:
        h = {"X-Auth-Token": s.token}
        image_id = make_image(s)
        chunk = os.urandom(1 << 20)
        sha = hashlib.sha512()
        def body():
            for _ in range(300):
                sha.update(chunk)
                yield chunk
        r = requests.put(s.url + "/v2/images/%s/stage" % image_id, data=body(),
                         headers=dict(h, **{"Content-Type": "application/octet-stream"}))
        assert r.status_code == 204, r.text
        r = requests.post(s.url + "/v2/images/%s/import" % image_id, headers=h,
                          json={"method": {"name": "glance-direct"}})
        assert r.status_code == 202, r.text
        s.kill()  # mid-import: hashing and copying 300 MiB takes far longer than this
        s.start()
        img = show(s, image_id)
        assert img["status"] == "uploading", img
        tasks = requests.get(s.url + "/v2/images/%s/tasks" % image_id, headers=h).json()["tasks"]
        assert tasks[0]["status"] == "failure" and "interrupted" in tasks[0]["message"]
        r = requests.post(s.url + "/v2/images/%s/import" % image_id, headers=h,
                          json={"method": {"name": "glance-direct"}})
        assert r.status_code == 202, r.text
        assert wait_for(lambda: show(s, image_id)["status"] == "active", 60)
        assert show(s, image_id)["os_hash_value"] == sha.hexdigest()
        assert wait_for(lambda: store_files(s) == [image_id])  # the dead import's partial is swept
    finally:
        s.stop()


def test_sigkill_during_copy_image_leaves_the_image_as_it_was(tmp_path):
    conf = tmp_path / "glint.conf"
    conf.write_text("[DEFAULT]\nenabled_backends = a:file, b:file\n[glance_store]\ndefault_backend = a\n"
                    "[a]\nfilesystem_store_datadir = %s/a\n[b]\nfilesystem_store_datadir = %s/b\n" % (tmp_path, tmp_path))
    s = glint_server.GlintServer(str(tmp_path), config=str(conf)).start()
    try:
        h = {"X-Auth-Token": s.token}
        image_id = make_image(s)
        chunk = os.urandom(1 << 20)
        r = requests.put(s.url + "/v2/images/%s/file" % image_id, data=(chunk for _ in range(300)),
                         headers=dict(h, **{"Content-Type": "application/octet-stream"}))
        assert r.status_code == 204, r.text
        r = requests.post(s.url + "/v2/images/%s/import" % image_id, headers=h,
                          json={"method": {"name": "copy-image"}, "stores": ["b"]})
        assert r.status_code == 202, r.text
        s.kill()  # mid-copy
        s.start()
        img = show(s, image_id)
        assert img["status"] == "active" and img["stores"] == "a", img
        tasks = requests.get(s.url + "/v2/images/%s/tasks" % image_id, headers=h).json()["tasks"]
        assert tasks[0]["status"] == "failure" and "interrupted" in tasks[0]["message"], tasks
        assert wait_for(lambda: os.listdir(str(tmp_path / "b")) == [])  # the partial copy is swept
        r = requests.post(s.url + "/v2/images/%s/import" % image_id, headers=h,
                          json={"method": {"name": "copy-image"}, "stores": ["b"]})
        assert r.status_code == 202, r.text  # and the copy can run again
        assert wait_for(lambda: set(show(s, image_id)["stores"].split(",")) == {"a", "b"}, 60)
    finally:
        s.stop()
