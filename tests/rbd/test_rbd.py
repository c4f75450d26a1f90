"""glint-api on the RBD store of a real (throwaway) Ceph cluster, and glint-fs reading
rbd-backed images through librbd. Runs under tests/with_ceph.sh; in CI a missing cluster
is a failure.
"""
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402

CONF = os.environ.get("CEPH_CONF")
POOL = os.environ.get("GLINT_CEPH_POOL", "images")
USER = os.environ.get("GLINT_CEPH_USER", "glance")
FSID = os.environ.get("GLINT_CEPH_FSID")


def rbd_conf(extra=""):
    """glint-api configuration for the RBD store of this suite's cluster."""
    return ("[glance_store]\nstores = rbd\ndefault_store = rbd\nrbd_store_pool = %s\nrbd_store_user = %s\n"
            "rbd_store_ceph_conf = %s\n%s" % (POOL, USER, CONF, extra))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CONF:
        if glint_server.in_ci():
            pytest.fail("CI=true but no Ceph cluster: run under tests/with_ceph.sh")
        pytest.skip("no Ceph cluster: run under tests/with_ceph.sh")
    d = tmp_path_factory.mktemp("glint-rbd")
    conf = d / "glint.conf"
    conf.write_text(rbd_conf("rbd_store_chunk_size = 4\n"))
    s = glint_server.GlintServer(str(d), config=str(conf))
    s.start()
    yield s
    s.stop()


def rbd(*args, check=True):
    p = subprocess.run(["rbd", "--id", USER, "-p", POOL] + list(args), capture_output=True, text=True)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def api(server, method, path, **kw):
    h = kw.pop("headers", {})
    h["X-Auth-Token"] = server.token
    return requests.request(method, server.url + path, headers=h, **kw)


def active(server, data, **props):
    body = {"disk_format": "raw", "container_format": "bare"}
    body.update(props)
    r = api(server, "POST", "/v2/images", json=body)
    assert r.status_code == 201, r.text
    image_id = r.json()["id"]
    r = api(server, "PUT", "/v2/images/%s/file" % image_id, data=data,
            headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    return api(server, "GET", "/v2/images/" + image_id).json()


def test_upload_lays_out_like_glance_and_downloads_back(server):
    data = os.urandom(20 << 20)
    img = active(server, data, name="rbd-image")
    assert img["status"] == "active"
    assert img["checksum"] == hashlib.md5(data).hexdigest()
    info = json.loads(rbd("info", "--format", "json", img["id"]).stdout)
    assert info["name"] == img["id"] and info["size"] == len(data)
    assert info["order"] == 22  # rbd_store_chunk_size = 4 MiB
    snaps = json.loads(rbd("snap", "ls", "--format", "json", img["id"]).stdout)
    assert [s["name"] for s in snaps] == ["snap"]
    assert json.loads(rbd("info", "--format", "json", img["id"] + "@snap").stdout)["protected"] == "true"
    r = api(server, "GET", "/v2/images/%s/file" % img["id"])
    assert r.status_code == 200
    assert hashlib.md5(r.content).hexdigest() == img["checksum"]
    assert hashlib.sha512(r.content).hexdigest() == img["os_hash_value"]
    r = api(server, "GET", "/v2/images/%s/file" % img["id"], headers={"Range": "bytes=1000-1999"})
    assert r.status_code == 206 and r.content == data[1000:2000]


def test_qemu_img_reads_the_snapshot(server):
    if not shutil.which("qemu-img"):
        pytest.fail("qemu-img missing") if glint_server.in_ci() else pytest.skip("qemu-img missing")
    img = active(server, os.urandom(1 << 20), name="for-qemu")
    spec = "rbd:%s/%s@snap:id=%s:conf=%s" % (POOL, img["id"], USER, CONF)
    p = subprocess.run(["qemu-img", "info", "--output=json", spec], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["virtual-size"] == 1 << 20


def test_clone_blocks_delete_with_409(server):
    img = active(server, os.urandom(1 << 20), name="parent")
    clone = "clone-" + img["id"][:8]
    rbd("clone", "%s/%s@snap" % (POOL, img["id"]), "%s/%s" % (POOL, clone))
    r = api(server, "DELETE", "/v2/images/" + img["id"])
    assert r.status_code == 409, r.text
    assert "in use" in r.json()["error"]["message"]
    assert api(server, "GET", "/v2/images/" + img["id"]).json()["status"] == "active"
    assert img["id"] in rbd("ls").stdout
    rbd("rm", clone)
    assert api(server, "DELETE", "/v2/images/" + img["id"]).status_code == 204
    assert img["id"] not in rbd("ls").stdout


def test_sparse_input_makes_a_thin_image(server):
    data = bytearray(64 << 20)
    data[0:4096] = os.urandom(4096)
    img = active(server, bytes(data), name="sparse")
    du = json.loads(rbd("du", "--format", "json", img["id"] + "@snap").stdout)
    used = sum(i["used_size"] for i in du["images"])
    assert used <= 8 << 20, du  # one 4 MiB object, not 64 MiB
    r = api(server, "GET", "/v2/images/%s/file" % img["id"])
    assert r.content == bytes(data)


def test_client_gone_mid_upload_leaves_no_rbd_image(server):
    """The client disconnects mid-body; the server (still running) drops the partial RBD
    image itself and the image stays queued."""
    image_id = api(server, "POST", "/v2/images", json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
    import socket
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(("PUT /v2/images/%s/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n"
               "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
               % (image_id, server.token, 50 << 20)).encode())
    s.sendall(os.urandom(12 << 20))
    deadline = time.time() + 10
    while time.time() < deadline and image_id + ".glint-upload-" not in rbd("ls").stdout:
        time.sleep(0.1)
    assert image_id + ".glint-upload-" in rbd("ls").stdout
    s.close()
    deadline = time.time() + 30
    while time.time() < deadline and image_id in rbd("ls").stdout:
        time.sleep(0.2)
    assert image_id not in rbd("ls").stdout
    assert api(server, "GET", "/v2/images/" + image_id).json()["status"] == "queued"


def test_interrupted_upload_leaves_no_rbd_image(server):
    r = api(server, "POST", "/v2/images", json={"disk_format": "raw", "container_format": "bare"})
    image_id = r.json()["id"]
    import socket
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(("PUT /v2/images/%s/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n"
               "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
               % (image_id, server.token, 50 << 20)).encode())
    s.sendall(os.urandom(12 << 20))
    deadline = time.time() + 10
    while time.time() < deadline and "glint-upload" not in rbd("ls").stdout:
        time.sleep(0.1)
    assert image_id + ".glint-upload-" in rbd("ls").stdout
    server.kill()
    s.close()
    server.start()  # the startup sweep removes what the crash left
    assert api(server, "GET", "/v2/images/" + image_id).json()["status"] == "queued"
    # Removing the dead writer's image waits for its stale lock to be broken.
    deadline = time.time() + 60
    while time.time() < deadline and image_id in rbd("ls").stdout:
        time.sleep(0.5)
    assert image_id not in rbd("ls").stdout


def test_glint_fs_reads_rbd_images(server):
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        pytest.fail("needs FUSE") if glint_server.in_ci() else pytest.skip("needs FUSE")
    data = os.urandom(12 << 20)
    img = active(server, data, name="fs-rbd")
    mnt = tempfile.mkdtemp(prefix="glint-mnt-rbd-")
    fsm = glint_server.GlintFsMount(server, mnt, args=["--rbd", "--rbd-pool", POOL, "--rbd-user", USER,
                                                        "--ceph-conf", CONF]).start()
    try:
        path = os.path.join(mnt, "by-id", img["id"])
        deadline = time.time() + 10
        while time.time() < deadline and img["id"] not in os.listdir(os.path.join(mnt, "by-id")):
            time.sleep(0.1)
        out = subprocess.run(["sha512sum", path], capture_output=True, text=True, check=True).stdout
        assert out.split()[0] == img["os_hash_value"]
        rng = random.Random(3)
        fd = os.open(path, os.O_RDONLY)
        try:
            for _ in range(100):
                off = rng.randrange(0, len(data))
                size = rng.choice([1, 4096, 100000, 1 << 20])
                assert os.pread(fd, size, off) == data[off:off + size]
        finally:
            os.close(fd)
    finally:
        fsm.stop()
        glint_server.remove_mountpoint(mnt)


def test_osd_down_mid_upload_fails_clearly(tmp_path):
    """Kills the OSD while an upload streams: the upload fails with a clear error within
    the operation timeout and the image does not become active; once the OSD and Glint are
    back, no RBD image of that upload remains. Uses its own cluster with a bluestore OSD on
    a file, so the partial image really survives the OSD restart (memstore would lose it)."""
    if not CONF:
        pytest.fail("no Ceph") if glint_server.in_ci() else pytest.skip("no Ceph")
    here = os.path.dirname(os.path.abspath(__file__))
    cluster = str(tmp_path / "ceph")
    out = subprocess.run([os.path.join(here, "..", "..", "tools", "ceph-cluster.sh"), "start", cluster],
                         capture_output=True, text=True, env=dict(os.environ, GLINT_CEPH_OBJECTSTORE="bluestore"))
    assert out.returncode == 0, out.stderr
    conf_path = os.path.join(cluster, "ceph.conf")
    d = tmp_path / "glint"
    d.mkdir()
    conf = d / "glint.conf"
    conf.write_text("[glance_store]\nstores = rbd\ndefault_store = rbd\nrbd_store_pool = images\n"
                    "rbd_store_user = glance\nrbd_store_ceph_conf = %s\nrbd_store_chunk_size = 4\n"
                    "rados_op_timeout = 5\n" % conf_path)
    s = glint_server.GlintServer(str(d), config=str(conf))
    s.start()
    try:
        h = {"X-Auth-Token": s.token}
        image_id = requests.post(s.url + "/v2/images", headers=h, json={
            "disk_format": "raw", "container_format": "bare"}).json()["id"]
        osd_pid = int(open(os.path.join(cluster, "run", "osd.0.pid")).read())
        import socket
        sock = socket.create_connection(("127.0.0.1", s.port))
        sock.sendall(("PUT /v2/images/%s/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n"
                      "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
                      % (image_id, s.token, 200 << 20)).encode())
        t = time.time()
        try:
            for i in range(200):
                if i == 10:
                    os.kill(osd_pid, 9)  # the OSD dies mid-upload
                sock.sendall(os.urandom(1 << 20))
        except OSError:
            pass  # the server answered early and stopped reading
        sock.settimeout(90)
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
        sock.close()
        assert time.time() - t < 90
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503"), body.decode(errors="replace")
        message = json.loads(body)["error"]["message"]
        assert "OSD" in message or "Ceph" in message, message
        img = requests.get(s.url + "/v2/images/" + image_id, headers=h).json()
        assert img["status"] == "queued", img

        # The OSD comes back with its data: the partial image is still in the pool.
        ceph_env = dict(os.environ, CEPH_CONF=conf_path)
        subprocess.run(["ceph-osd", "-i", "0"], env=ceph_env, check=True, capture_output=True)
        in_pool = lambda: [n for n in subprocess.run(
            ["rbd", "--id", "glance", "-p", "images", "ls"], env=ceph_env, capture_output=True, text=True,
            check=True).stdout.split() if n.startswith(image_id)]
        partial = in_pool()
        assert len(partial) == 1 and ".glint-upload-" in partial[0], partial
        # Glint restarts (as after a crash of the node): its startup sweep removes it.
        s.kill()
        s.start()
        deadline = time.time() + 120
        while in_pool() and time.time() < deadline:
            time.sleep(1)
        assert in_pool() == []
        img = requests.get(s.url + "/v2/images/" + image_id, headers={"X-Auth-Token": s.token}).json()
        assert img["status"] == "queued", img
    finally:
        s.kill()
        subprocess.run([os.path.join(here, "..", "..", "tools", "ceph-cluster.sh"), "stop", cluster],
                       capture_output=True)


def test_multi_store_rbd_and_file(tmp_path):
    if not CONF:
        pytest.fail("no Ceph") if glint_server.in_ci() else pytest.skip("no Ceph")
    local = tmp_path / "local-store"
    conf = tmp_path / "glint.conf"
    conf.write_text("[DEFAULT]\nenabled_backends = fast:rbd, local:file\n[glance_store]\ndefault_backend = fast\n"
                    "[fast]\nrbd_store_pool = %s\nrbd_store_user = %s\nrbd_store_ceph_conf = %s\n"
                    "[local]\nfilesystem_store_datadir = %s\n" % (POOL, USER, CONF, local))
    s = glint_server.GlintServer(str(tmp_path), config=str(conf))
    s.start()
    try:
        h = {"X-Auth-Token": s.token}
        info = requests.get(s.url + "/v2/info/stores", headers=h).json()["stores"]
        assert {x["id"] for x in info} == {"fast", "local"}
        assert [x["id"] for x in info if x.get("default")] == ["fast"]
        detail = requests.get(s.url + "/v2/info/stores/detail", headers=h).json()["stores"]
        assert {x["id"]: x["type"] for x in detail} == {"fast": "rbd", "local": "file"}
        r = requests.post(s.url + "/v2/images", headers=h, json={"disk_format": "raw", "container_format": "bare"})
        assert r.headers["OpenStack-image-store-ids"] == "fast,local"
        to_default = r.json()["id"]
        data = os.urandom(3 << 20)
        up = lambda i, extra: requests.put(s.url + "/v2/images/%s/file" % i, data=data,
                                           headers=dict(h, **{"Content-Type": "application/octet-stream"}, **extra))
        assert up(to_default, {}).status_code == 204
        to_local = requests.post(s.url + "/v2/images", headers=h,
                                 json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
        assert up(to_local, {"X-Image-Meta-Store": "nowhere"}).status_code == 400
        assert up(to_local, {"X-Image-Meta-Store": "local"}).status_code == 204
        a = requests.get(s.url + "/v2/images/" + to_default, headers=h).json()
        b = requests.get(s.url + "/v2/images/" + to_local, headers=h).json()
        assert a["stores"] == "fast" and b["stores"] == "local"
        assert to_default in rbd("ls").stdout and to_local not in rbd("ls").stdout
        assert os.path.exists(local / to_local)
        for i in (to_default, to_local):
            assert requests.get(s.url + "/v2/images/%s/file" % i, headers=h).content == data
        # A hypervisor mount with both data paths reads each image from the store holding it.
        mnt = tempfile.mkdtemp(prefix="glint-mnt-multi-")
        fsm = glint_server.GlintFsMount(s, mnt, args=["--store-dir", str(local), "--rbd", "--rbd-pool", POOL,
                                                      "--rbd-user", USER, "--ceph-conf", CONF]).start()
        try:
            for i in (to_default, to_local):
                path = os.path.join(mnt, "by-id", i)
                deadline = time.time() + 10
                while time.time() < deadline and i not in os.listdir(os.path.join(mnt, "by-id")):
                    time.sleep(0.1)
                with open(path, "rb") as f:
                    assert f.read() == data, i
        finally:
            fsm.stop()
            glint_server.remove_mountpoint(mnt)
        # The only store holding the data cannot be emptied; unknown stores are 404.
        assert requests.delete(s.url + "/v2/stores/local/" + to_local, headers=h).status_code == 403
        copied = requests.post(s.url + "/v2/images", headers=h,
                               json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
        assert up(copied, {"X-Image-Meta-Store": "local"}).status_code == 204
        r = requests.post(s.url + "/v2/images/%s/import" % copied, headers=h,
                          json={"method": {"name": "copy-image"}, "stores": ["fast"]})
        assert r.status_code == 202, r.text
        deadline = time.time() + 30
        while time.time() < deadline and "fast" not in requests.get(s.url + "/v2/images/" + copied,
                                                                    headers=h).json()["stores"]:
            time.sleep(0.1)
        assert copied in rbd("ls").stdout.split()  # Glance's layout: image + protected snap
        assert "snap" in rbd("snap", "ls", copied).stdout
        assert requests.delete(s.url + "/v2/stores/local/" + copied, headers=h).status_code == 204
        assert requests.get(s.url + "/v2/images/%s/file" % copied, headers=h).content == data
        assert requests.delete(s.url + "/v2/images/" + copied, headers=h).status_code == 204
        assert requests.delete(s.url + "/v2/stores/fast/" + to_local, headers=h).status_code == 404
        assert requests.delete(s.url + "/v2/stores/nowhere/" + to_local, headers=h).status_code == 404
        for i in (to_default, to_local):
            assert requests.delete(s.url + "/v2/images/" + i, headers=h).status_code == 204
        assert to_default not in rbd("ls").stdout and not os.path.exists(local / to_local)
    finally:
        s.stop()


def test_adopt_a_ceph_backed_glance(tmp_path):
    """The real glance-api writes images into the Ceph pool with its rbd driver; Glint
    imports that catalog and serves, clones from and deletes the very same RBD images,
    without moving a byte."""
    if not CONF:
        pytest.fail("no Ceph") if glint_server.in_ci() else pytest.skip("no Ceph")
    import glance_ref
    store = ("stores = rbd\ndefault_store = rbd\nrbd_store_pool = %s\nrbd_store_user = %s\n"
             "rbd_store_ceph_conf = %s\nrbd_store_chunk_size = 8\n" % (POOL, USER, CONF))
    g = glance_ref.GlanceServer(str(tmp_path / "glance"), store_conf=store)
    data = os.urandom(5 << 20)
    try:
        r = requests.post(g.url + "/v2/images", json={"name": "from-glance", "disk_format": "raw",
                                                      "container_format": "bare"})
        image_id = r.json()["id"]
        r = requests.put(g.url + "/v2/images/%s/file" % image_id, data=data,
                         headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 204, r.text
        before = requests.get(g.url + "/v2/images/" + image_id).json()
        assert before["status"] == "active"
    finally:
        g.stop()
    assert image_id in rbd("ls").stdout.split()  # Glance's driver put it there
    d = tmp_path / "glint"
    d.mkdir()
    out = subprocess.run([glint_server.binary("glint-manage"), "--data-dir", str(d), "import-glance",
                          "--glance-connection", g.connection], capture_output=True, text=True)
    assert out.returncode == 0 and "imported 1 images" in out.stdout, out.stdout + out.stderr
    conf = d / "glint.conf"
    conf.write_text("[DEFAULT]\nshow_image_direct_url = true\n" + rbd_conf())
    s = glint_server.GlintServer(str(d), config=str(conf))
    s.start()
    try:
        img = api(s, "GET", "/v2/images/" + image_id).json()
        assert img["status"] == "active" and img["os_hash_value"] == before["os_hash_value"]
        assert img["direct_url"] == "rbd://%s/%s/%s/snap" % (FSID, POOL, image_id)
        r = api(s, "GET", "/v2/images/%s/file" % image_id)
        assert r.status_code == 200 and hashlib.sha512(r.content).hexdigest() == before["os_hash_value"]
        # A clone of Glance's snapshot blocks delete through Glint, as it would in Glance.
        rbd("clone", "%s/%s@snap" % (POOL, image_id), "%s/adopted-clone" % POOL)
        r = api(s, "DELETE", "/v2/images/" + image_id)
        assert r.status_code == 409, r.text
        rbd("rm", "adopted-clone")
        assert api(s, "DELETE", "/v2/images/" + image_id).status_code == 204
        assert image_id not in rbd("ls").stdout.split()
    finally:
        s.stop()


def test_image_cache_serves_rbd_images_with_the_rbd_image_gone(server, tmp_path_factory):
    """An API node with the image cache (image_cache_dir, caching flavor) over rbd: the
    second download and a Range come from local disk, even once the RBD image is gone."""
    d = tmp_path_factory.mktemp("glint-rbd-cache")
    conf = d / "glint.conf"
    conf.write_text("[DEFAULT]\nimage_cache_dir = %s/image-cache\n[paste_deploy]\nflavor = caching\n" % d
                    + rbd_conf("rbd_store_chunk_size = 4\n"))
    s = glint_server.GlintServer(str(d), config=str(conf))
    s.start()
    try:
        data = os.urandom((9 << 20) + 123)
        image_id = active(s, data)["id"]
        assert api(s, "GET", "/v2/images/%s/file" % image_id).content == data
        cached = api(s, "GET", "/v2/cache").json()["cached_images"]
        assert [c["image_id"] for c in cached] == [image_id]
        rbd("snap", "unprotect", "%s@snap" % image_id)
        rbd("snap", "rm", "%s@snap" % image_id)
        rbd("rm", image_id)
        assert api(s, "GET", "/v2/images/%s/file" % image_id).content == data
        r = api(s, "GET", "/v2/images/%s/file" % image_id, headers={"Range": "bytes=4194000-4194999"})
        assert r.status_code == 206 and r.content == data[4194000:4195000]
    finally:
        s.stop()
