"""Chunk manifests (GET /v2/images/{id}/x-glint-manifest) against a real glint-api: every
data path (upload, glance-direct import, copy-image) records a manifest whose chunks are
the SHA-256 of each 4 MiB of the data and whose binding covers the image's facts; images
without one get it from glint-manage or the background loop; other projects cannot read
it. Runs on SQLite, and on MariaDB as manifests_mariadb.
"""
import hashlib
import os
import sqlite3
import subprocess
import sys
import time

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402

CHUNK = 4 << 20


def expected(image_id, data, os_hash):
    chunks = [hashlib.sha256(data[i:i + CHUNK]).hexdigest() for i in range(0, len(data), CHUNK)]
    text = "glint-manifest-v1\n%s\n%d\nsha512\n%s\n%d\n" % (image_id, len(data), os_hash, CHUNK)
    text += "".join(c + "\n" for c in chunks)
    return chunks, hashlib.sha256(text.encode()).hexdigest()


def make_image(s, token=None, **extra):
    body = {"disk_format": "raw", "container_format": "bare"}
    body.update(extra)
    r = requests.post(s.url + "/v2/images", json=body, headers={"X-Auth-Token": token or s.token})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def upload(s, image_id, data):
    r = requests.put(s.url + "/v2/images/%s/file" % image_id, data=data,
                     headers={"X-Auth-Token": s.token, "Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text


def manifest(s, image_id, token=None):
    return requests.get(s.url + "/v2/images/%s/x-glint-manifest" % image_id,
                        headers={"X-Auth-Token": token or s.token})


def show(s, image_id):
    return requests.get(s.url + "/v2/images/" + image_id, headers={"X-Auth-Token": s.token}).json()


def wait_for(pred, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def check(s, image_id, data):
    img = show(s, image_id)
    assert img["status"] == "active", img
    r = manifest(s, image_id)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    m = r.json()
    chunks, binding = expected(image_id, data, hashlib.sha512(data).hexdigest())
    assert set(m) == {"image_id", "size", "chunk_size", "algorithm", "os_hash_algo", "os_hash_value",
                      "binding", "chunks"}
    assert m["image_id"] == image_id and m["size"] == len(data) and m["chunk_size"] == CHUNK
    assert m["algorithm"] == "sha256" and m["os_hash_algo"] == "sha512"
    assert m["os_hash_value"] == img["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert m["chunks"] == chunks
    assert m["binding"] == binding


def forget_manifest(s, image_id):
    """Removes the image's manifest rows behind Glint's back (an image that predates manifests)."""
    stmts = ["DELETE FROM image_manifest_chunks WHERE image_id = '%s'" % image_id,
             "DELETE FROM image_manifests WHERE image_id = '%s'" % image_id]
    if s.db_url:  # MariaDB
        rest = s.db_url.split("://", 1)[1]
        cred, hostdb = rest.rsplit("@", 1)
        user, password = cred.split(":", 1)
        hostport, db = hostdb.split("/", 1)
        host, port = hostport.rsplit(":", 1)
        subprocess.run(["mariadb", "--no-defaults", "-h", host, "-P", port, "-u", user, "-p" + password, db,
                        "-e", "; ".join(stmts)], check=True, capture_output=True)
    else:
        with sqlite3.connect(os.path.join(s.data_dir, "glint.db")) as db:
            for st in stmts:
                db.execute(st)


def data_of(size, seed):
    block = hashlib.sha512(seed.encode()).digest()
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.sha512(block + str(i).encode()).digest() * 64
        i += 1
    return bytes(out[:size])


@pytest.fixture
def server(tmp_path):
    conf = tmp_path / "glint.conf"
    conf.write_text("[DEFAULT]\nenabled_backends = a:file, b:file\n[glance_store]\ndefault_backend = a\n"
                    "[a]\nfilesystem_store_datadir = %s/a\n[b]\nfilesystem_store_datadir = %s/b\n"
                    % (tmp_path, tmp_path))
    s = glint_server.GlintServer(str(tmp_path), config=str(conf)).start()
    yield s
    s.stop()


@pytest.mark.parametrize("size", [0, 1, CHUNK, 2 * CHUNK + 12345])
def test_upload_records_the_manifest(server, size):
    image_id = make_image(server)
    assert manifest(server, image_id).status_code == 404  # no data yet
    data = data_of(size, "u%d" % size)
    upload(server, image_id, data)
    check(server, image_id, data)


def test_glance_direct_import_records_the_manifest(server):
    image_id = make_image(server)
    data = data_of(9 * (1 << 20) + 7, "import")
    r = requests.put(server.url + "/v2/images/%s/stage" % image_id, data=data,
                     headers={"X-Auth-Token": server.token, "Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    assert manifest(server, image_id).status_code == 404  # staged is not active
    r = requests.post(server.url + "/v2/images/%s/import" % image_id, headers={"X-Auth-Token": server.token},
                      json={"method": {"name": "glance-direct"}})
    assert r.status_code == 202, r.text
    assert wait_for(lambda: show(server, image_id)["status"] == "active")
    check(server, image_id, data)


def test_copy_image_gives_an_older_image_its_manifest(server):
    image_id = make_image(server)
    data = data_of(5 * (1 << 20), "copy")
    upload(server, image_id, data)
    forget_manifest(server, image_id)
    assert manifest(server, image_id).status_code == 404
    r = requests.post(server.url + "/v2/images/%s/import" % image_id, headers={"X-Auth-Token": server.token},
                      json={"method": {"name": "copy-image"}, "stores": ["b"]})
    assert r.status_code == 202, r.text
    assert wait_for(lambda: set(show(server, image_id)["stores"].split(",")) == {"a", "b"})
    check(server, image_id, data)  # stored before the new location was added


def test_manage_backfill(server):
    image_id = make_image(server)
    data = data_of(6 * (1 << 20) + 1, "backfill")
    upload(server, image_id, data)
    forget_manifest(server, image_id)
    assert manifest(server, image_id).status_code == 404
    out = server.manage("manifest-backfill", "--image", image_id)
    assert image_id in out
    check(server, image_id, data)
    # All images: nothing left to do.
    assert "0 still without one" in server.manage("manifest-backfill")


def test_backfill_refuses_data_that_does_not_match(server):
    image_id = make_image(server)
    data = data_of(1 << 20, "tamper")
    upload(server, image_id, data)
    forget_manifest(server, image_id)
    path = os.path.join(server.data_dir, "a", image_id)
    with open(path, "r+b") as f:
        f.write(b"\0" * 16)
    with pytest.raises(RuntimeError, match="does not match"):
        server.manage("manifest-backfill", "--image", image_id)
    assert manifest(server, image_id).status_code == 404


def test_background_backfill(tmp_path):
    conf = tmp_path / "glint.conf"
    conf.write_text("[glint]\nmanifest_backfill_interval = 1\n")
    s = glint_server.GlintServer(str(tmp_path), config=str(conf)).start()
    try:
        ids, datas = [], []
        for i in range(3):
            image_id = make_image(s)
            data = data_of((1 << 20) * (i + 1) + i, "bg%d" % i)
            upload(s, image_id, data)
            forget_manifest(s, image_id)
            ids.append(image_id)
            datas.append(data)
        assert wait_for(lambda: all(manifest(s, i).status_code == 200 for i in ids), 30), s.read_log()
        for image_id, data in zip(ids, datas):
            check(s, image_id, data)
    finally:
        s.stop()


def test_other_projects_cannot_read_it_and_it_goes_with_the_image(server):
    server.manage("project-create", "mf-other")
    server.manage("user-create", "mf-user", "--password", "pw", "--project", "mf-other", "--role", "member")
    other = server.token_for("mf-user", "pw", "mf-other")
    image_id = make_image(server, visibility="private")
    data = data_of(4 << 20, "private")
    upload(server, image_id, data)
    assert manifest(server, image_id).status_code == 200
    r = manifest(server, image_id, token=other)
    assert r.status_code == 404 and r.json()["error"]["code"] == 404
    assert requests.get(server.url + "/v2/images/%s/x-glint-manifest" % image_id).status_code == 401
    # Shared with the project: now it may read it, as it may download the data.
    public = make_image(server, visibility="public")
    upload(server, public, data)
    assert manifest(server, public, token=other).json()["chunks"] == manifest(server, image_id).json()["chunks"]
    r = requests.delete(server.url + "/v2/images/" + image_id, headers={"X-Auth-Token": server.token})
    assert r.status_code == 204
    assert manifest(server, image_id).status_code == 404


def test_web_download_records_the_manifest(tmp_path):
    import http.server
    import threading
    data = data_of(7 * (1 << 20) + 3, "web")

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    conf = tmp_path / "glint.conf"
    conf.write_text("[import_filtering_opts]\nallowed_ports =\nallowed_networks = 127.0.0.0/8\n")
    s = glint_server.GlintServer(str(tmp_path), config=str(conf)).start()
    try:
        image_id = make_image(s)
        uri = "http://127.0.0.1:%d/image.raw" % origin.server_address[1]
        r = requests.post(s.url + "/v2/images/%s/import" % image_id, headers={"X-Auth-Token": s.token},
                          json={"method": {"name": "web-download", "uri": uri}})
        assert r.status_code == 202, r.text
        assert wait_for(lambda: show(s, image_id)["status"] == "active"), s.read_log()
        check(s, image_id, data)
    finally:
        s.stop()
        origin.shutdown()
