"""The production shape under faults: three glint-api nodes behind HAProxy on a three-node
Galera catalog (single writer behind HAProxy) and a Ceph RBD store, started by
`tools/run.sh --ha` (tools/cluster.sh), tested through HAProxy under steady client load.
In CI a missing dependency is a failure, not a skip. The tests run in file order on one
cluster; the last one stops it with Ctrl-C, as a user does."""
import hashlib
import os
import threading
import time

import pytest

import cluster as ha  # tests/ha/cluster.py

glint_server = ha.glint_server


_START_FAILED = []


@pytest.fixture(scope="module")
def c():
    if _START_FAILED:  # one failed start fails the others at once rather than retrying
        pytest.fail("the cluster did not start (see the first test's error)")
    missing = ha.missing_deps()
    if missing:
        msg = "missing %s (tools/install-deps.sh --ha)" % ", ".join(missing)
        if glint_server.in_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    cl = ha.Cluster()
    try:
        cl.start()
    except Exception:
        _START_FAILED.append(True)
        cl.stop()
        raise
    yield cl
    cl.stop()



def new_image(c, name, base=None):
    r = c.api("POST", "/v2/images", base=base, json={"name": name, "disk_format": "raw", "container_format": "bare"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def status_of(c, image_id):
    return c.api("GET", "/v2/images/" + image_id).json()


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError("timed out waiting for " + what)


def check_acknowledged(c, load):
    """Every upload answered 204 is active with the client's checksum."""
    kinds = {}
    for e in load.events:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    print("load: %s requests %s, %d failed: %s" % (len(load.events), kinds, len(load.failures()), load.failures()))
    assert load.uploaded, "no upload was acknowledged"
    for image_id, md5 in load.uploaded.items():
        img = status_of(c, image_id)
        assert (img["status"], img["checksum"]) == ("active", md5), image_id


def stage_host_rows(c, image_id):
    """The image's os_glance_stage_host property as stored (hidden from the API)."""
    return c.sql("SELECT value FROM image_properties WHERE image_id = '%s' AND name = 'os_glance_stage_host'"
                 % image_id).split()


def test_glance_direct_stage_on_one_node_import_on_another(c):
    """No staging area is shared: the import is forwarded to the node that staged, which
    records itself in the hidden os_glance_stage_host until the data is imported."""
    image_id = new_image(c, "staged-on-1")
    data = os.urandom(3 << 20)
    r = c.api("PUT", "/v2/images/%s/stage" % image_id, base=c.node_url(1), data=data,
              headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    img = c.api("GET", "/v2/images/" + image_id, base=c.node_url(2)).json()
    assert img["status"] == "uploading" and "os_glance_stage_host" not in img
    staged = os.path.join(c.dir, "api1", "staging", image_id)
    assert os.path.exists(staged) and not os.path.exists(os.path.join(c.dir, "api2", "staging", image_id))
    assert stage_host_rows(c, image_id) == [c.node_url(1)]
    r = c.api("POST", "/v2/images/%s/import" % image_id, base=c.node_url(2),
              json={"method": {"name": "glance-direct"}})
    assert r.status_code == 202, r.text
    wait_for(lambda: status_of(c, image_id)["status"] == "active", 30, "the forwarded import")
    assert status_of(c, image_id)["checksum"] == hashlib.md5(data).hexdigest()
    assert stage_host_rows(c, image_id) == [] and not os.path.exists(staged)
    r = c.api("GET", "/v2/images/%s/file" % image_id, base=c.node_url(3))
    assert r.status_code == 200 and r.content == data
    # The staging node down: an import sent elsewhere is refused clearly, not lost.
    other = new_image(c, "staged-on-3")
    r = c.api("PUT", "/v2/images/%s/stage" % other, base=c.node_url(3), data=b"x" * 4096,
              headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    # And one deleted while its stage host is down: deleted all the same, as in Glance; the
    # staged data waits for that node's sweep.
    orphan = new_image(c, "deleted-while-3-down")
    r = c.api("PUT", "/v2/images/%s/stage" % orphan, base=c.node_url(3), data=b"y" * 4096,
              headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    c.run("api-kill", c.dir, "3")
    try:
        r = c.api("POST", "/v2/images/%s/import" % other, base=c.node_url(1),
                  json={"method": {"name": "glance-direct"}})
        assert r.status_code == 503 and "Stage host is unavailable" in r.text, r.text
        assert status_of(c, other)["status"] == "uploading"
        r = c.api("DELETE", "/v2/images/" + orphan, base=c.node_url(1))
        assert r.status_code == 204, r.text
        assert c.api("GET", "/v2/images/" + orphan).status_code == 404
        assert os.path.exists(os.path.join(c.dir, "api3", "staging", orphan))
    finally:
        c.run("api-start", c.dir, "3")
    wait_for(lambda: not os.path.exists(os.path.join(c.dir, "api3", "staging", orphan)), 30,
             "node 3's sweep to remove the staged data of the image deleted while it was down")
    r = c.api("POST", "/v2/images/%s/import" % other, base=c.node_url(1), json={"method": {"name": "glance-direct"}})
    assert r.status_code == 202, r.text
    wait_for(lambda: status_of(c, other)["status"] == "active", 30, "the import once the stage host is back")


def test_delete_of_an_image_staged_on_another_node_removes_its_staged_data(c):
    """The delete is forwarded to the node holding the staged data (its
    worker_self_reference_url), which deletes the image and its staged file at once."""
    image_id = new_image(c, "staged-then-deleted")
    r = c.api("PUT", "/v2/images/%s/stage" % image_id, base=c.node_url(1), data=os.urandom(1 << 20),
              headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    staged = os.path.join(c.dir, "api1", "staging", image_id)
    assert os.path.exists(staged) and stage_host_rows(c, image_id) == [c.node_url(1)]
    log = os.path.join(c.dir, "api1", "api.log")
    seen = os.path.getsize(log)
    r = c.api("DELETE", "/v2/images/" + image_id, base=c.node_url(2))
    assert r.status_code == 204, r.text
    # Removed by the forwarded delete itself, not by a later sweep: gone when the answer
    # came, and node 1 served that delete.
    assert not os.path.exists(staged)
    with open(log, "rb") as f:
        f.seek(seen)
        assert b"DELETE /v2/images/" + image_id.encode() in f.read()
    assert c.api("GET", "/v2/images/" + image_id, base=c.node_url(3)).status_code == 404
    # A delete of a protected staged image is refused, wherever it lands (nothing removed).
    kept = new_image(c, "staged-protected")
    r = c.api("PUT", "/v2/images/%s/stage" % kept, base=c.node_url(1), data=b"z" * 4096,
              headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    r = c.api("PATCH", "/v2/images/" + kept, json=[{"op": "replace", "path": "/protected", "value": True}],
              headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert r.status_code == 200, r.text
    assert c.api("DELETE", "/v2/images/" + kept, base=c.node_url(3)).status_code == 403
    assert os.path.exists(os.path.join(c.dir, "api1", "staging", kept))


def test_kill_9_of_one_node_loses_nothing_for_the_others(c):
    # An upload that certainly holds a lock on node 2 when it dies: sent to it directly, slowly.
    held = new_image(c, "held-by-node-2")
    data = os.urandom(4 << 20)
    result = {}
    t = threading.Thread(target=ha.slow_upload, args=(c.node_url(2), c.token, held, data, 30, result), daemon=True)
    t.start()
    wait_for(lambda: status_of(c, held)["status"] == "saving", 10, "the held upload to start")
    load = ha.Load(c).start()
    time.sleep(2)
    c.run("api-kill", c.dir, "2")
    # The kill has happened once api-kill returns (it waits for the process to be gone); a
    # request sent between starting the script and that moment may still have reached node 2.
    t_kill = load.now()
    time.sleep(5)
    load.stop()
    t.join(30)
    assert isinstance(result.get("status"), Exception) or result.get("status", 0) >= 500, result
    # Only requests already in flight on the dead node may fail; everything sent after the
    # kill is answered (HAProxy's retry and redispatch, then its health check).
    late = [e for e in load.failures() if e.t0 > t_kill]
    assert not late, late
    assert len(load.failures()) <= len(load.plan), load.failures()
    assert len(load.ok_after(t_kill)) >= 10
    check_acknowledged(c, load)
    # The dead node's uploads end queued once its locks expire (recovered by the others),
    # never stuck in saving; a retry succeeds.
    dead = [held] + list(load.failed_uploads)
    wait_for(lambda: all(status_of(c, i)["status"] == "queued" for i in dead), ha.LOCK_TTL + 20,
             "the dead node's uploads to be queued again: %s" % [status_of(c, i)["status"] for i in dead])
    r = c.api("PUT", "/v2/images/%s/file" % held, data=data, headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    assert status_of(c, held)["checksum"] == hashlib.md5(data).hexdigest()
    c.run("api-start", c.dir, "2")


def test_galera_writer_stop_recovers_within_seconds(c):
    load = ha.Load(c).start()
    time.sleep(2)
    t_stop = load.now()
    c.run("db-stop", c.dir, "1")
    time.sleep(8)
    load.stop()
    # The catalog's pool rides out the ~1 s before HAProxy marks the writer down (it drops
    # the sessions HAProxy cut and retries opening a connection): no request fails.
    assert not load.failures(), load.failures()
    assert len(load.ok_after(t_stop + 2)) >= 10
    check_acknowledged(c, load)


def test_rolling_restart_under_load_loses_no_request(c):
    load = ha.Load(c).start()
    time.sleep(1)
    for n in ("1", "2", "3"):
        c.run("api-stop", c.dir, n)  # SIGTERM: drains (health 503 first)
        c.run("api-start", c.dir, n)  # returns once HAProxy sees it up again
    time.sleep(1)
    load.stop()
    assert not load.failures(), load.failures()
    assert len(load.events) >= 30
    check_acknowledged(c, load)


def test_clock_skew_between_nodes_breaks_neither_locks_nor_tokens(c):
    # Node 2 runs 2 s behind, node 3 2 s ahead (4 s between them; locks live 10 s here).
    for n, offset in (("2", "-2"), ("3", "+2")):
        c.run("api-stop", c.dir, n)
        c.run("api-start", c.dir, n, env=c.skewed(offset))
    # Tokens issued by one node are valid on every other.
    for issuer in (2, 3):
        s = glint_server.GlintServer(c.dir)
        s.port = c.base + issuer
        token = s.token_for("admin", c.admin_password, "admin")
        for n in (1, 2, 3):
            r = c.api("GET", "/v2/images?limit=1", base=c.node_url(n), token=token)
            assert r.status_code == 200, (issuer, n, r.text)
    # An upload on the slow clock outlives the lock's ttl while the fast node's janitor
    # looks for expired locks: it is renewed in time and completes.
    image_id = new_image(c, "skewed-upload")
    data = os.urandom(2 << 20)
    result = {}
    load = ha.Load(c, uploaders=1, downloaders=1).start()
    ha.slow_upload(c.node_url(2), c.token, image_id, data, ha.LOCK_TTL + 6, result)
    load.stop()
    assert result["status"] == 204, result
    img = status_of(c, image_id)
    assert (img["status"], img["checksum"]) == ("active", hashlib.md5(data).hexdigest())
    assert not load.failures(), load.failures()
    check_acknowledged(c, load)


def test_no_rbd_debris_is_left(c):
    """Every RBD image in the pool belongs to an active image: the partial data of the
    uploads cut by the faults above has been removed."""
    def clean():
        active = {i["id"] for i in c.api("GET", "/v2/images?limit=1000").json()["images"] if i["status"] == "active"}
        clean.left = c.rbd_ls() - active
        return not clean.left
    wait_for(clean, 60, "RBD debris to be swept")


def test_run_sh_ha_serves_through_its_url_and_ctrl_c_removes_everything(c):
    """`tools/run.sh --ha` printed the URL this suite used (the fixture waited for it); an
    image round trip through it works, and Ctrl-C stops every daemon and removes the data."""
    assert ("is running: %s" % c.url).encode() in c.output()
    image_id = new_image(c, "run-sh-ha")
    data = os.urandom(2 << 20)
    r = c.api("PUT", "/v2/images/%s/file" % image_id, data=data, headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    r = c.api("GET", "/v2/images/%s/file" % image_id)
    assert r.status_code == 200 and r.content == data
    pids = c.pids()
    assert len(pids) >= 8, pids  # 3 API nodes, 3 MariaDB, HAProxy, the Ceph daemons
    c.ctrl_c()
    assert not os.path.exists(c.dir), os.listdir(c.dir)
    alive = [p for p in pids if os.path.exists("/proc/%d" % p) and "zombie" not in open("/proc/%d/status" % p).read()]
    assert not alive, alive
