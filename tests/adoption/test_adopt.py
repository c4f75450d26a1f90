"""Adoption: a catalog the real Glance created and filled is imported with
`glint-manage import-glance`; Glint then serves the same images from the same data
directory without moving a byte."""
import hashlib
import os
import subprocess
import sys

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glance_ref  # noqa: E402
import glint_server  # noqa: E402
import mariadb  # noqa: E402


@pytest.fixture(params=["sqlite", "mysql", "mysql-into-mariadb"])
def glance_db(request, tmp_path):
    """Where the real Glance keeps its catalog: SQLite, or a throwaway MariaDB as production
    clouds run it. Yields the MariaDB (None: glance-api's SQLite default). In
    "mysql-into-mariadb" Glint's own catalog is on that server too (database `glint`)."""
    if request.param == "sqlite":
        yield None
        return
    db = mariadb.MariaDB(str(tmp_path / "mariadb"))
    db.glint_into_mariadb = request.param == "mysql-into-mariadb"
    try:
        yield db
    finally:
        db.stop()


def test_import_a_glance_catalog(tmp_path, glance_db):
    g = glance_ref.GlanceServer(str(tmp_path / "glance"), connection=glance_db and glance_db.url)
    try:
        data = os.urandom(3 << 20)
        made = {}
        for name, props in (("active", {"os_distro": "debian"}), ("queued", {}), ("gone", {}), ("shared", {})):
            r = requests.post(g.url + "/v2/images", json=dict({"name": name, "disk_format": "raw",
                                                               "container_format": "bare"}, **props))
            assert r.status_code == 201, r.text
            made[name] = r.json()["id"]
        for name in ("active", "gone", "shared"):
            r = requests.put(g.url + "/v2/images/%s/file" % made[name], data=data,
                             headers={"Content-Type": "application/octet-stream"})
            assert r.status_code == 204, r.text
        assert requests.put(g.url + "/v2/images/%s/tags/golden" % made["active"]).status_code == 204
        requests.post(g.url + "/v2/images/%s/members" % made["shared"], json={"member": "project-b"})
        assert requests.delete(g.url + "/v2/images/" + made["gone"]).status_code == 204
        before = requests.get(g.url + "/v2/images/" + made["active"]).json()
    finally:
        g.stop()

    if glance_db:  # Glance really kept its catalog in MariaDB
        assert glance_db.sql("SELECT count(*) FROM images", database="glance").stdout.split() == ["4"]
        (tmp_path / "none").mkdir()
        bad = subprocess.run([glint_server.binary("glint-manage"), "--data-dir", str(tmp_path / "none"),
                              "import-glance", "--glance-connection",
                              g.connection.replace("s3cret", "wrong")], capture_output=True, text=True)
        assert bad.returncode != 0 and "Access denied" in bad.stderr, bad.stderr

    d = tmp_path / "glint"
    d.mkdir()
    manage, config = [glint_server.binary("glint-manage"), "--data-dir", str(d)], None
    if glance_db and glance_db.glint_into_mariadb:
        # Glint's catalog on the same MariaDB server, prepared by db-sync, as in production.
        glance_db.sql("CREATE DATABASE glint CHARACTER SET utf8mb4; GRANT ALL ON glint.* TO 'glance'@'127.0.0.1'")
        config = str(d / "glint.conf")
        with open(config, "w") as f:
            f.write("[database]\nconnection = %s\n" % glance_db.url.replace("/glance?", "/glint?"))
        manage += ["--config-file", config]
        sync = subprocess.run(manage + ["db-sync"], capture_output=True, text=True)
        assert sync.returncode == 0, sync.stderr
    glance_files = sorted(os.listdir(os.path.dirname(g.db)))
    db_before = open(g.db, "rb").read() if not glance_db else None
    out = subprocess.run(manage + ["import-glance", "--glance-connection", g.connection], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert "imported 3 images, reserved 1 deleted ids" in out.stdout, out.stdout
    if not glance_db:  # Glance's own database is only read: same bytes, no journal files left
        assert open(g.db, "rb").read() == db_before
        assert sorted(os.listdir(os.path.dirname(g.db))) == glance_files
    again = subprocess.run(manage + ["import-glance", "--glance-connection", g.connection], capture_output=True,
                           text=True)
    assert "skipped 4 already present" in again.stdout  # re-runnable
    if config:  # the images really are in Glint's MariaDB database
        assert glance_db.sql("SELECT count(*) FROM images", database="glint").stdout.split() == ["4"]

    s = glint_server.GlintServer(str(d), config=config, extra_args=["--filesystem-store-datadir", g.images_dir])
    s.start()
    try:
        h = {"X-Auth-Token": s.token}
        img = requests.get(s.url + "/v2/images/" + made["active"], headers=h).json()
        for key in ("id", "name", "status", "size", "checksum", "os_hash_value", "created_at", "visibility",
                    "os_distro", "tags", "virtual_size"):
            assert img[key] == before[key], key
        r = requests.get(s.url + "/v2/images/%s/file" % made["active"], headers=h)
        assert r.status_code == 200 and hashlib.sha512(r.content).hexdigest() == before["os_hash_value"]
        assert requests.get(s.url + "/v2/images/" + made["queued"], headers=h).json()["status"] == "queued"
        assert requests.get(s.url + "/v2/images/" + made["gone"], headers=h).status_code == 404
        r = requests.post(s.url + "/v2/images", headers=h, json={"id": made["gone"]})
        assert r.status_code == 409  # a deleted id stays reserved
        members = requests.get(s.url + "/v2/images/%s/members" % made["shared"], headers=h).json()["members"]
        assert [m["member_id"] for m in members] == ["project-b"]
        # Deleting through Glint removes the data Glance wrote.
        assert requests.delete(s.url + "/v2/images/" + made["active"], headers=h).status_code == 204
        assert not os.path.exists(os.path.join(g.images_dir, made["active"]))
    finally:
        s.stop()


def test_import_a_multi_store_glance(tmp_path):
    """A Glance with enabled_backends: each location names its store in its metadata, and
    Glint, configured with the same store ids, serves each image from where it is."""
    gd = tmp_path / "glance"
    stores = "".join("[%s]\nfilesystem_store_datadir = %s/%s/\n" % (n, gd, n) for n in ("fast", "slow"))
    g = glance_ref.GlanceServer(str(gd), default_conf="enabled_backends = fast:file, slow:file\n",
                                store_conf="default_backend = fast\n" + stores +
                                "[os_glance_tasks_store]\nfilesystem_store_datadir = %s/tasks/\n" % gd)
    data = {"fast": os.urandom(2 << 20), "slow": os.urandom(3 << 20)}
    ids = {}
    try:
        for store in ("fast", "slow"):
            r = requests.post(g.url + "/v2/images", json={"name": store, "disk_format": "raw",
                                                          "container_format": "bare"})
            ids[store] = r.json()["id"]
            r = requests.put(g.url + "/v2/images/%s/file" % ids[store], data=data[store],
                             headers={"Content-Type": "application/octet-stream", "X-Image-Meta-Store": store})
            assert r.status_code == 204, r.text
            assert requests.get(g.url + "/v2/images/" + ids[store]).json()["stores"] == store
    finally:
        g.stop()
    d = tmp_path / "glint"
    d.mkdir()
    out = subprocess.run([glint_server.binary("glint-manage"), "--data-dir", str(d), "import-glance",
                          "--glance-connection", g.connection], capture_output=True, text=True)
    assert out.returncode == 0 and "imported 2 images" in out.stdout, out.stdout + out.stderr
    conf = d / "glint.conf"
    conf.write_text("[DEFAULT]\nenabled_backends = fast:file, slow:file\n[glance_store]\ndefault_backend = fast\n"
                    + stores)
    s = glint_server.GlintServer(str(d), config=str(conf))
    s.start()
    try:
        h = {"X-Auth-Token": s.token}
        for store in ("fast", "slow"):
            img = requests.get(s.url + "/v2/images/" + ids[store], headers=h).json()
            assert img["status"] == "active" and img["stores"] == store, img
            r = requests.get(s.url + "/v2/images/%s/file" % ids[store], headers=h)
            assert r.status_code == 200 and r.content == data[store]
        assert requests.delete(s.url + "/v2/images/" + ids["slow"], headers=h).status_code == 204
        assert not os.path.exists(os.path.join(str(gd), "slow", ids["slow"]))
        assert os.path.exists(os.path.join(str(gd), "fast", ids["fast"]))
    finally:
        s.stop()
