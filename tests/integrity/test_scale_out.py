"""Two glint-api nodes sharing one catalog and one store, as several stateless API nodes
behind a load balancer do: what one node does, the other sees; an upload is one at a time
across nodes; a token revoked on one is refused by the other; a node that dies mid-upload
is cleaned up by the survivor. (SQLite serves several processes on one host; the same
holds for a shared SQL server.)"""
import hashlib
import os
import socket
import sys
import time

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402

LOCK_TTL = 4  # seconds an upload lock lives unrenewed: a dead node's upload is released soon


@pytest.fixture()
def nodes(tmp_path):
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    shared = "[DEFAULT]\nupload_lock_ttl = %d\n[database]\nconnection = sqlite:///%s/glint.db\n" \
             "[glance_store]\nfilesystem_store_datadir = %s/store\n" % (LOCK_TTL, a_dir, a_dir)
    for d in (a_dir, b_dir):
        (d / "glint.conf").write_text(shared)
    a = glint_server.GlintServer(str(a_dir), config=str(a_dir / "glint.conf")).start()
    b = glint_server.GlintServer(str(b_dir), config=str(b_dir / "glint.conf")).start()
    yield a, b
    a.kill()
    b.stop()


def h(node):
    return {"X-Auth-Token": node.token}


def create(node):
    r = requests.post(node.url + "/v2/images", headers=h(node), json={"disk_format": "raw", "container_format": "bare"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def wait_status(node, image_id, status, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if requests.get(node.url + "/v2/images/" + image_id, headers=h(node)).json()["status"] == status:
            return
        time.sleep(0.05)
    raise AssertionError("image %s never became %s" % (image_id, status))


def start_upload(node, image_id, length, first):
    """An upload that sent `first` bytes of `length` and holds its connection open."""
    s = socket.create_connection(("127.0.0.1", node.port))
    s.sendall(("PUT /v2/images/%s/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n"
               "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
               % (image_id, node.token, length)).encode() + first)
    return s


def test_what_one_node_writes_the_other_serves(nodes):
    a, b = nodes
    data = os.urandom(5 << 20)
    image_id = create(a)
    r = requests.put(a.url + "/v2/images/%s/file" % image_id, data=data,
                     headers=dict(h(a), **{"Content-Type": "application/octet-stream"}))
    assert r.status_code == 204, r.text
    r = requests.get(b.url + "/v2/images/%s/file" % image_id, headers=h(b))
    assert r.status_code == 200 and hashlib.sha512(r.content).hexdigest() == hashlib.sha512(data).hexdigest()
    la, lb = (requests.get(n.url + "/v2/images", headers=h(n)) for n in (a, b))
    assert [i["id"] for i in la.json()["images"]] == [i["id"] for i in lb.json()["images"]]
    assert la.headers["ETag"] == lb.headers["ETag"]  # one generation, whoever answers
    assert requests.delete(b.url + "/v2/images/" + image_id, headers=h(b)).status_code == 204
    assert requests.get(a.url + "/v2/images/" + image_id, headers=h(a)).status_code == 404
    assert not os.path.exists(os.path.join(a.store_dir, image_id))


def test_one_upload_per_image_across_nodes(nodes):
    a, b = nodes
    data = os.urandom(4 << 20)
    image_id = create(a)
    s = start_upload(a, image_id, len(data), data[:1 << 20])
    wait_status(b, image_id, "saving")
    r = requests.put(b.url + "/v2/images/%s/file" % image_id, data=b"x" * 1000,
                     headers=dict(h(b), **{"Content-Type": "application/octet-stream"}))
    assert r.status_code == 409, r.text
    s.sendall(data[1 << 20:])
    s.settimeout(30)
    reply = s.recv(4096)
    s.close()
    assert reply.startswith(b"HTTP/1.1 204"), reply
    img = requests.get(b.url + "/v2/images/" + image_id, headers=h(b)).json()
    assert img["status"] == "active" and img["os_hash_value"] == hashlib.sha512(data).hexdigest()


def test_a_token_revoked_on_one_node_is_refused_by_the_other(nodes):
    a, b = nodes
    a.manage("bootstrap", "--bootstrap-password", "pw")
    token = a.token_for("admin", "pw", "admin")
    assert requests.get(b.url + "/v2/images", headers={"X-Auth-Token": token}).status_code == 200
    r = requests.delete(a.url + "/identity/v3/auth/tokens",
                        headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert r.status_code == 204, r.text
    deadline = time.time() + 15  # validation results are cached for 5 s per node
    while time.time() < deadline:
        if requests.get(b.url + "/v2/images", headers={"X-Auth-Token": token}).status_code == 401:
            break
        time.sleep(0.5)
    assert requests.get(b.url + "/v2/images", headers={"X-Auth-Token": token}).status_code == 401


def test_the_survivor_releases_a_dead_nodes_upload(nodes):
    a, b = nodes
    image_id = create(a)
    s = start_upload(a, image_id, 8 << 20, os.urandom(2 << 20))
    deadline = time.time() + 10
    while time.time() < deadline and not any(".glint-upload-" in f for f in os.listdir(a.store_dir)):
        time.sleep(0.05)
    assert any(".glint-upload-" in f for f in os.listdir(a.store_dir))
    a.kill()  # the node dies; nobody restarts it
    s.close()
    deadline = time.time() + 30  # lock TTL + one periodic round of the other node
    while time.time() < deadline:
        status = requests.get(b.url + "/v2/images/" + image_id, headers=h(b)).json()["status"]
        partial = [f for f in os.listdir(a.store_dir) if image_id in f]
        if status == "queued" and not partial:
            break
        time.sleep(0.5)
    assert status == "queued" and partial == [], (status, partial)
    data = os.urandom(1 << 20)  # and the image takes a new upload, on the survivor
    r = requests.put(b.url + "/v2/images/%s/file" % image_id, data=data,
                     headers=dict(h(b), **{"Content-Type": "application/octet-stream"}))
    assert r.status_code == 204, r.text


def test_a_node_restarting_leaves_the_other_nodes_uploads_alone(nodes):
    """At startup a node releases the uploads it held before it restarted, and only those:
    two nodes on one host (ephemeral ports here) must not share a node id."""
    a, b = nodes
    data = os.urandom(3 << 20)
    image_id = create(a)
    s = start_upload(a, image_id, len(data), data[:1 << 20])
    wait_status(a, image_id, "saving")
    b.stop()
    b.start()
    assert requests.get(b.url + "/v2/images/" + image_id, headers=h(b)).json()["status"] == "saving"
    s.sendall(data[1 << 20:])
    s.settimeout(30)
    reply = s.recv(4096)
    s.close()
    assert reply.startswith(b"HTTP/1.1 204"), reply
