"""glance-direct across nodes: a request forwarded to the node an image was staged on
(`os_glance_stage_host`) carries X-Glint-Forwarded-From and is never forwarded again. A
stage host that does not recognise its own URL (here: the node's URL recorded as
`localhost` while it calls itself `127.0.0.1`, as a URL through a load balancer would
look) would otherwise bounce the request between nodes without end; with the mark, the
node the request reaches second answers it itself. And the record of where an image
was staged goes with the staged data, whether the import succeeds, is refused, or finds
the data gone.
"""
import os
import socket
import sqlite3
import time

import pytest
import requests

from test_decompression import bsdtar, zipped
from import_support import Node, glint_server

OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture(scope="module")
def node(workdir):
    bsdtar()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = os.path.join(workdir, "forwarding")
    os.makedirs(d)
    conf = os.path.join(d, "glint.conf")
    with open(conf, "w") as f:
        f.write("[DEFAULT]\nworker_self_reference_url = http://127.0.0.1:%d\n"
                "[image_import_opts]\nimage_import_plugins = ['image_decompression']\n" % port)
    s = glint_server.GlintServer(d, config=conf).start(port=port)
    yield s
    s.stop()


def recorded_stage_host(server, image_id, value=None):
    """The hidden property as stored; with `value`, replaces it first."""
    db = sqlite3.connect(os.path.join(server.data_dir, "glint.db"), timeout=10)
    with db:
        if value is not None:
            db.execute("UPDATE image_properties SET value = ? WHERE image_id = ? AND name = 'os_glance_stage_host'",
                       (value, image_id))
        rows = db.execute("SELECT value FROM image_properties WHERE image_id = ? AND name = 'os_glance_stage_host'",
                          (image_id,)).fetchall()
    db.close()
    return [r[0] for r in rows]


def staged_elsewhere(node, data):
    """An image staged on `node`, whose record then names the same node as `localhost`."""
    n = Node(node)
    image_id = n.create("raw")
    assert n.stage(image_id, data).status_code == 204
    assert recorded_stage_host(node, image_id) == [node.url]
    alias = node.url.replace("127.0.0.1", "localhost")
    assert recorded_stage_host(node, image_id, alias) == [alias]
    return n, image_id


def log_lines(node, needle):
    """Every line of the node's log with `needle` (read_log gives only its tail)."""
    with open(os.path.join(node.data_dir, "api.log"), "rb") as f:
        return [line for line in f.read().decode(errors="replace").splitlines() if needle in line]


def test_a_forwarded_import_is_imported_where_it_lands(node, images):
    data = images["reference"]
    before = len(log_lines(node, "forwarding POST"))
    n, image_id = staged_elsewhere(node, data)
    t0 = time.time()
    n.import_(image_id)
    assert time.time() - t0 < 10
    img, task = n.settle(image_id)
    assert task["status"] == "success", task
    assert img["status"] == "active" and n.download(image_id) == data
    assert len(log_lines(node, "forwarding POST")) == before + 1, "forwarded once, not again"
    assert any(image_id in line for line in log_lines(node, "already forwarded by another node"))
    assert recorded_stage_host(node, image_id) == []


def test_a_forwarded_delete_deletes_where_it_lands(node, images):
    before = len(log_lines(node, "forwarding DELETE"))
    n, image_id = staged_elsewhere(node, images["reference"])
    staged = os.path.join(node.data_dir, "staging", image_id)
    assert os.path.exists(staged)
    t0 = time.time()
    r = requests.delete(node.url + "/v2/images/" + image_id, headers=n.h, timeout=30)
    assert r.status_code == 204, r.text
    assert time.time() - t0 < 10
    assert len(log_lines(node, "forwarding DELETE")) == before + 1
    assert requests.get(node.url + "/v2/images/" + image_id, headers=n.h).status_code == 404
    assert not os.path.exists(staged)


def test_the_stage_host_is_forgotten_when_the_import_is_refused(node):
    """Data the import refuses (here: an archive of two files, for the decompression
    plugin) is removed with the record of where it was staged."""
    n = Node(node)
    image_id = n.create("raw")
    assert n.stage(image_id, zipped(("a.img", b"a" * 1000), ("b.img", b"b" * 1000))).status_code == 204
    assert recorded_stage_host(node, image_id) == [node.url]
    n.import_(image_id)
    img, task = n.settle(image_id)
    assert task["status"] == "failure" and "more than one file" in task["message"], task
    assert img["status"] == "queued"
    assert not os.path.exists(os.path.join(node.data_dir, "staging", image_id))
    assert recorded_stage_host(node, image_id) == []


def test_the_stage_host_is_forgotten_when_the_staged_data_is_gone(node, images):
    n = Node(node)
    image_id = n.create("raw")
    assert n.stage(image_id, images["reference"]).status_code == 204
    os.unlink(os.path.join(node.data_dir, "staging", image_id))
    n.import_(image_id)
    img, task = n.settle(image_id)
    assert task["status"] == "failure" and "staged data is gone" in task["message"], task
    assert img["status"] == "queued"
    assert recorded_stage_host(node, image_id) == []


def test_a_client_sending_the_mark_gains_nothing_a_down_stage_host_would_not_give(node, images):
    """The mark comes from a client here: the node answers itself, as when the stage host is
    down: the delete deletes, an import of data staged elsewhere fails; no forwarding."""
    n = Node(node)
    forged = dict(n.h, **{"X-Glint-Forwarded-From": "http://203.0.113.9:9292"})
    before = len(log_lines(node, "forwarding "))
    image_id = n.create("raw")
    assert n.stage(image_id, images["reference"]).status_code == 204
    assert recorded_stage_host(node, image_id, "http://127.0.0.1:9") == ["http://127.0.0.1:9"]
    r = requests.post(node.url + "/v2/images/%s/import" % image_id, headers=forged,
                      json={"method": {"name": "glance-direct"}}, timeout=30)
    assert r.status_code == 202, r.text  # the staged data is here after all: imported here
    img, task = n.settle(image_id)
    assert task["status"] == "success" and img["status"] == "active", task
    other = n.create("raw")
    assert n.stage(other, images["reference"]).status_code == 204
    recorded_stage_host(node, other, "http://127.0.0.1:9")
    r = requests.delete(node.url + "/v2/images/" + other, headers=forged, timeout=30)
    assert r.status_code == 204, r.text
    assert not os.path.exists(os.path.join(node.data_dir, "staging", other))
    assert len(log_lines(node, "forwarding ")) == before
