"""Real clients against a real glint-api: Debian's python-glanceclient (`glance`),
openstackclient (`openstack`, through openstacksdk) and Glint's own `glint` CLI.

In CI (CI=true) a missing client is a failure, never a skip.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402

DATA_MIB = 64


def need(cmd):
    path = shutil.which(cmd)
    if path:
        return path
    msg = "%s is not installed (Debian package needed by this test)" % cmd
    if glint_server.in_ci():
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def server():
    s = glint_server.GlintServer.start_default()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def workdir():
    d = tempfile.mkdtemp(prefix="glint-clients-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def payload(workdir):
    path = os.path.join(workdir, "payload.raw")
    with open(path, "wb") as f:
        for i in range(DATA_MIB):
            f.write(hashlib.sha512(str(i).encode()).digest() * (1 << 14))
    with open(path, "rb") as f:
        data = f.read()
    return path, hashlib.md5(data).hexdigest(), hashlib.sha512(data).hexdigest()


def run(args, env=None, home=None, input=None, expect_ok=True, tty_stdin=False):
    e = dict(os.environ)
    e.pop("OS_CLOUD", None)
    if env:
        e.update(env)
    if home:
        e["HOME"] = home
    if tty_stdin:  # glanceclient's import refuses --file when stdin looks like piped data
        master, slave = os.openpty()
        try:
            p = subprocess.run(args, env=e, stdin=slave, capture_output=True, timeout=300)
        finally:
            os.close(master)
            os.close(slave)
    else:
        p = subprocess.run(args, env=e, input=input, capture_output=True, timeout=300)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    if expect_ok:
        assert p.returncode == 0, "%s failed (%d):\nstdout: %s\nstderr: %s" % (args, p.returncode, out, err)
    return p.returncode, out, err


def file_hashes(path):
    md5, sha = hashlib.md5(), hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            md5.update(chunk)
            sha.update(chunk)
    return md5.hexdigest(), sha.hexdigest()


# ---------------------------------------------------------------- python-glanceclient

class TestGlanceClient:
    def glance(self, server, home, *args, expect_ok=True):
        # Debian's own interpreter: the `glance` script belongs to /usr/bin/python3.
        cmd = [need("glance"), "--os-image-url", server.url, "--os-auth-token", server.token] + list(args)
        return run(cmd, home=home, expect_ok=expect_ok)

    def show(self, server, home, image_id):
        _, out, _ = self.glance(server, home, "--os-image-api-version", "2", "image-show", image_id)
        props, last = {}, None
        for line in out.splitlines():
            cells = [c.strip() for c in line.split("|")]
            if len(cells) < 3 or cells[1] == "Property":
                continue
            if cells[1]:
                last = cells[1]
                props[last] = cells[2]
            elif last:  # prettytable wraps long values onto continuation rows
                props[last] += cells[2]
        return props

    def test_lifecycle(self, server, workdir, payload):
        path, md5, sha = payload
        home = tempfile.mkdtemp(dir=workdir)
        name = "gc-" + uuid.uuid4().hex[:8]
        _, out, err = self.glance(server, home, "image-create", "--name", name, "--disk-format", "raw",
                                  "--container-format", "bare", "--property", "os_distro=debian",
                                  "--file", path, "--progress")
        image_id = [l.split("|")[2].strip() for l in out.splitlines() if l.startswith("| id ")][0]
        props = self.show(server, home, image_id)
        assert props["status"] == "active"
        assert props["checksum"] == md5
        assert props["os_hash_algo"] == "sha512"
        assert props["os_hash_value"] == sha
        assert props["size"] == str(DATA_MIB << 20)
        assert props["os_distro"] == "debian"

        _, out, _ = self.glance(server, home, "image-list")
        assert image_id in out and name in out

        dl = os.path.join(workdir, "gc-download")
        self.glance(server, home, "image-download", "--file", dl, "--progress", image_id)
        assert file_hashes(dl) == (md5, sha)

        self.glance(server, home, "image-update", "--property", "hw_disk_bus=scsi", "--name", name + "-b", image_id)
        props = self.show(server, home, image_id)
        assert props["hw_disk_bus"] == "scsi" and props["name"] == name + "-b"
        self.glance(server, home, "image-tag-update", image_id, "golden")
        assert "golden" in self.show(server, home, image_id)["tags"]
        self.glance(server, home, "image-tag-delete", image_id, "golden")
        self.glance(server, home, "image-deactivate", image_id)
        assert self.show(server, home, image_id)["status"] == "deactivated"
        self.glance(server, home, "image-reactivate", image_id)
        assert self.show(server, home, image_id)["status"] == "active"
        self.glance(server, home, "image-delete", image_id)
        rc, out, err = self.glance(server, home, "image-show", image_id, expect_ok=False)
        assert rc != 0 and "No image found" in (out + err)

    def test_repeated_create_with_cached_schema(self, server, workdir):
        # glanceclient caches the image schema and builds options from it; with Glance 25's
        # `stores` property the second image-create dies ("conflicting option string").
        home = tempfile.mkdtemp(dir=workdir)
        for i in range(3):
            _, out, err = self.glance(server, home, "image-create", "--name", "again-%d" % i,
                                      "--disk-format", "qcow2", "--container-format", "bare")
            assert "conflicting option" not in err
        assert os.path.exists(os.path.join(home, ".glanceclient", "image_schema.json"))

    def test_error_is_readable(self, server, workdir):
        home = tempfile.mkdtemp(dir=workdir)
        rc, out, err = self.glance(server, home, "image-create", "--name", "x", "--disk-format",
                                   "raw", "--container-format", "bare", "--min-ram", "-5",
                                   expect_ok=False)
        assert rc != 0
        assert "Traceback" not in err


# ---------------------------------------------------------------- openstackclient

class TestOpenStackClient:
    def osc(self, server, workdir, *args, expect_ok=True):
        cmd = [need("openstack"), "--os-auth-type", "admin_token", "--os-endpoint", server.url + "/v2",
               "--os-token", server.token] + list(args)
        return run(cmd, home=workdir, expect_ok=expect_ok)

    def test_lifecycle(self, server, workdir, payload):
        path, md5, sha = payload
        name = "osc-" + uuid.uuid4().hex[:8]
        _, out, _ = self.osc(server, workdir, "image", "create", "--disk-format", "raw",
                             "--container-format", "bare", "--file", path, "-f", "json", name)
        created = json.loads(out)  # openstackclient prints the record from before the upload
        _, out, _ = self.osc(server, workdir, "image", "show", "-f", "json", name)
        shown = json.loads(out)
        assert shown["id"] == created["id"]
        assert shown["status"] == "active"
        assert shown["checksum"] == md5
        _, out, _ = self.osc(server, workdir, "image", "list", "-f", "json")
        assert created["id"] in [i["ID"] for i in json.loads(out)]
        dl = os.path.join(workdir, "osc-download")
        self.osc(server, workdir, "image", "save", "--file", dl, name)
        assert file_hashes(dl) == (md5, sha)
        self.osc(server, workdir, "image", "set", "--property", "color=blue", name)
        _, out, _ = self.osc(server, workdir, "image", "show", "-f", "json", name)
        assert json.loads(out)["properties"]["color"] == "blue"
        self.osc(server, workdir, "image", "unset", "--property", "color", name)
        _, out, _ = self.osc(server, workdir, "image", "show", "-f", "json", name)
        assert "color" not in json.loads(out).get("properties", {})
        self.osc(server, workdir, "image", "delete", name)
        rc, _, _ = self.osc(server, workdir, "image", "show", created["id"], expect_ok=False)
        assert rc != 0


# ---------------------------------------------------------------- glint CLI

class TestGlintCli:
    def glint(self, server, *args, expect_ok=True):
        env = {"OS_IMAGE_URL": server.url, "OS_AUTH_TOKEN": server.token}
        return run([glint_server.binary("glint")] + list(args), env=env, expect_ok=expect_ok)

    def test_lifecycle(self, server, workdir, payload):
        path, md5, sha = payload
        _, out, _ = self.glint(server, "image-create", "--name", "cli", "--disk-format", "raw",
                               "--container-format", "bare")
        image_id = [l.split("|")[2].strip() for l in out.splitlines() if l.startswith("| id ")][0]
        self.glint(server, "image-upload", "--file", path, "--progress", image_id)
        _, out, _ = self.glint(server, "image-show", image_id)
        assert md5 in out and "active" in out
        dl = os.path.join(workdir, "cli-download")
        self.glint(server, "image-download", "--file", dl, "--progress", image_id)
        assert file_hashes(dl) == (md5, sha)
        self.glint(server, "image-update", "--property", "k=v", image_id)
        self.glint(server, "image-tag-update", image_id, "t")
        _, out, _ = self.glint(server, "image-list", "--tag", "t")
        assert image_id in out
        self.glint(server, "image-deactivate", image_id)
        self.glint(server, "image-reactivate", image_id)
        self.glint(server, "image-delete", image_id)
        rc, out, err = self.glint(server, "image-show", image_id, expect_ok=False)
        assert rc == 1
        assert err.strip().startswith("glint: HTTP 404:") and len(err.strip().splitlines()) == 1

    def test_errors_are_one_line_and_nonzero(self, server):
        rc, _, err = self.glint(server, "image-upload", "--file", "/nonexistent", str(uuid.uuid4()), expect_ok=False)
        assert rc != 0 and "/nonexistent" in err
        rc, _, err = run([glint_server.binary("glint"), "image-list"],
                         env={"OS_IMAGE_URL": server.url, "OS_AUTH_TOKEN": "wrong"}, expect_ok=False)
        assert rc != 0 and "401" in err


class TestGlintCliStoresMembersLocations:
    """The glanceclient-named subcommands for multi-store, members and locations, against
    a server with two file stores and multiple locations shown."""

    @pytest.fixture(scope="class")
    def multi(self, workdir):
        d = tempfile.mkdtemp(prefix="glint-cli-multi-")
        conf = os.path.join(d, "glint.conf")
        with open(conf, "w") as f:
            f.write("[DEFAULT]\nenabled_backends = fast:file, slow:file\nshow_multiple_locations = true\n"
                    "[glance_store]\ndefault_backend = fast\n[fast]\nfilesystem_store_datadir = %s/fast\n"
                    "[slow]\nfilesystem_store_datadir = %s/slow\n" % (d, d))
        s = glint_server.GlintServer(d, config=conf)
        s.start()
        yield s
        s.stop()
        shutil.rmtree(d, ignore_errors=True)

    def glint(self, server, *args, token=None, expect_ok=True):
        env = {"OS_IMAGE_URL": server.url, "OS_AUTH_TOKEN": token or server.token}
        return run([glint_server.binary("glint")] + list(args), env=env, expect_ok=expect_ok)

    @staticmethod
    def field(out, key):
        return [l.split("|")[2].strip() for l in out.splitlines() if l.startswith("| %s " % key)][0]

    def test_store_choice_and_stores_commands(self, multi, payload):
        path, md5, _ = payload
        _, out, _ = self.glint(multi, "stores-info")
        assert "fast" in out and "slow" in out
        _, out, _ = self.glint(multi, "stores-info", "--detail")
        assert "file" in out
        _, out, _ = self.glint(multi, "image-create", "--name", "to-slow", "--disk-format", "raw",
                               "--container-format", "bare", "--file", path, "--store", "slow")
        image_id = self.field(out, "id")
        assert self.field(out, "stores") == "slow" and self.field(out, "checksum") == md5
        assert os.path.exists(os.path.join(multi.data_dir, "slow", image_id))
        rc, _, err = self.glint(multi, "stores-delete", "--store", "slow", image_id, expect_ok=False)
        assert rc == 1 and "HTTP 403" in err  # its only store: Glance refuses too
        rc, _, err = self.glint(multi, "image-upload", "--file", path, "--store", "nowhere", str(uuid.uuid4()),
                                expect_ok=False)
        assert rc == 1 and "HTTP 4" in err

    def test_members_lifecycle(self, multi):
        multi.manage("project-create", "cli-b")
        multi.manage("user-create", "cli-bob", "--password", "pw", "--project", "cli-b")
        bob = multi.token_for("cli-bob", "pw", "cli-b")
        project_b = [l.split()[0] for l in multi.manage("project-list").splitlines() if l.split()[1] == "cli-b"][0]
        _, out, _ = self.glint(multi, "image-create", "--name", "shared", "--visibility", "shared")
        image_id = self.field(out, "id")
        _, out, _ = self.glint(multi, "member-create", image_id, project_b)
        assert project_b in out and "pending" in out
        _, out, _ = self.glint(multi, "member-update", image_id, project_b, "accepted", token=bob)
        assert "accepted" in out
        _, out, _ = self.glint(multi, "member-list", "--image-id", image_id)
        assert project_b in out and "accepted" in out
        _, out, _ = self.glint(multi, "image-list", token=bob)
        assert image_id in out
        self.glint(multi, "member-delete", image_id, project_b)
        _, out, _ = self.glint(multi, "member-list", "--image-id", image_id)
        assert project_b not in out

    def test_location_add_and_delete(self, multi, payload):
        path, md5, sha512 = payload
        _, out, _ = self.glint(multi, "image-create", "--name", "with-data", "--disk-format", "raw",
                               "--container-format", "bare", "--file", path)
        source = self.field(out, "id")
        url = "file://%s/fast/%s" % (multi.data_dir, source)
        _, out, _ = self.glint(multi, "image-create", "--name", "by-location", "--disk-format", "raw",
                               "--container-format", "bare")
        target = self.field(out, "id")
        _, out, _ = self.glint(multi, "location-add", "--url", url, "--metadata", '{"store": "fast"}',
                               "--validation-data", '{"checksum": "%s", "os_hash_algo": "sha512", '
                               '"os_hash_value": "%s"}' % (md5, sha512), target)
        assert self.field(out, "status") == "active" and url in self.field(out, "locations")
        rc, _, err = self.glint(multi, "location-delete", "--url", url, target, expect_ok=False)
        assert rc == 1 and "HTTP 403" in err  # the last location stays
        rc, _, err = self.glint(multi, "location-delete", "--url", "file:///elsewhere", target, expect_ok=False)
        assert rc == 1 and "not every --url" in err


# ---------------------------------------------------------------- interoperable import

class TestImport:
    """glance-direct: stage, then import, as `glance image-create-via-import` and
    `openstack image create --import` do it; Glance's answers for what may not be done."""

    def h(self, server):
        return {"X-Auth-Token": server.token}

    def wait_active(self, server, image_id):
        deadline = time.time() + 30
        while time.time() < deadline:
            img = requests.get(server.url + "/v2/images/" + image_id, headers=self.h(server)).json()
            if img["status"] == "active":
                return img
            time.sleep(0.1)
        raise AssertionError("not active: %s" % img)

    def staged_files(self, server):
        d = os.path.join(server.data_dir, "staging")
        return os.listdir(d) if os.path.isdir(d) else []

    def test_glanceclient_image_create_via_import(self, server, workdir, payload):
        path, md5, sha = payload
        _, out, _ = run([need("glance"), "--os-image-url", server.url, "--os-auth-token", server.token,
                         "image-create-via-import", "--name", "via-import", "--disk-format", "raw",
                         "--container-format", "bare", "--file", path], home=workdir, tty_stdin=True)
        image_id = [l.split("|")[2].strip() for l in out.splitlines() if l.startswith("| id ")][0]
        img = self.wait_active(server, image_id)
        assert img["checksum"] == md5 and img["os_hash_value"] == sha
        tasks = requests.get(server.url + "/v2/images/%s/tasks" % image_id, headers=self.h(server)).json()["tasks"]
        assert [t["status"] for t in tasks] == ["success"] and tasks[0]["type"] == "api_image_import"
        assert tasks[0]["input"]["import_req"]["method"]["name"] == "glance-direct"
        assert tasks[0]["result"] == {"image_id": image_id}
        r = requests.get(server.url + "/v2/images/%s/file" % image_id, headers=self.h(server))
        assert hashlib.md5(r.content).hexdigest() == md5
        assert image_id not in " ".join(self.staged_files(server))  # staged data is gone

    def test_openstackclient_image_create_import(self, server, workdir, payload):
        path, md5, sha = payload
        name = "osc-import-" + uuid.uuid4().hex[:8]
        run([need("openstack"), "--os-auth-type", "admin_token", "--os-endpoint", server.url + "/v2",
             "--os-token", server.token, "image", "create", "--import", "--disk-format", "raw",
             "--container-format", "bare", "--file", path, name], home=workdir)
        images = requests.get(server.url + "/v2/images?name=" + name, headers=self.h(server)).json()["images"]
        assert len(images) == 1
        img = self.wait_active(server, images[0]["id"])
        assert img["checksum"] == md5 and img["os_hash_value"] == sha

    def test_discovery_and_glance_errors(self, server):
        h = self.h(server)
        info = requests.get(server.url + "/v2/info/import", headers=h).json()
        assert info["import-methods"]["value"] == ["glance-direct", "web-download"]
        r = requests.post(server.url + "/v2/images", headers=h, json={"disk_format": "raw", "container_format": "bare"})
        assert r.headers["OpenStack-image-import-methods"] == "glance-direct,web-download"
        image_id = r.json()["id"]
        imp = lambda body: requests.post(server.url + "/v2/images/%s/import" % image_id, headers=h, json=body)
        assert imp({}).status_code == 400 and "'method'" in imp({}).json()["error"]["message"]
        assert imp({"method": {}}).status_code == 400
        r = imp({"method": {"name": "teleport"}})
        assert r.status_code == 400 and "Unknown import method name 'teleport'" in r.json()["error"]["message"]
        r = imp({"method": {"name": "web-download", "uri": "http://127.0.0.1/"}})  # loopback: refused
        assert r.status_code == 400 and "does not pass filtering" in r.json()["error"]["message"]
        r = imp({"method": {"name": "glance-direct"}})
        assert r.status_code == 409 and "staged" in r.json()["error"]["message"]
        stage = lambda data, ct="application/octet-stream": requests.put(
            server.url + "/v2/images/%s/stage" % image_id, data=data, headers=dict(h, **{"Content-Type": ct}))
        assert stage(b"x", "application/json").status_code == 415
        assert stage(b"y" * 5000).status_code == 204
        img = requests.get(server.url + "/v2/images/" + image_id, headers=h).json()
        assert img["status"] == "uploading" and img["size"] == 5000 and img["checksum"] is None
        r = stage(b"again")
        assert r.status_code == 409, r.text  # staged once
        r = requests.put(server.url + "/v2/images/%s/file" % image_id, data=b"z",
                         headers=dict(h, **{"Content-Type": "application/octet-stream"}))
        assert r.status_code == 409  # no direct upload on a staged image
        assert imp({"method": {"name": "glance-direct"}}).status_code == 202
        img = self.wait_active(server, image_id)
        assert img["checksum"] == hashlib.md5(b"y" * 5000).hexdigest()
        r = imp({"method": {"name": "glance-direct"}})
        assert r.status_code == 409 and "active" in r.json()["error"]["message"]

    def test_deleting_a_staged_image_removes_its_staged_data(self, server):
        h = self.h(server)
        image_id = requests.post(server.url + "/v2/images", headers=h,
                                 json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
        r = requests.put(server.url + "/v2/images/%s/stage" % image_id, data=b"s" * 10000,
                         headers=dict(h, **{"Content-Type": "application/octet-stream"}))
        assert r.status_code == 204
        assert image_id in self.staged_files(server)
        assert requests.delete(server.url + "/v2/images/" + image_id, headers=h).status_code == 204
        assert image_id not in self.staged_files(server)

    def test_an_interrupted_stage_leaves_the_image_queued_and_nothing_staged(self, server):
        import socket
        h = self.h(server)
        image_id = requests.post(server.url + "/v2/images", headers=h,
                                 json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(("PUT /v2/images/%s/stage HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n"
                   "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
                   % (image_id, server.token, 8 << 20)).encode() + os.urandom(2 << 20))
        deadline = time.time() + 10
        while time.time() < deadline and requests.get(server.url + "/v2/images/" + image_id,
                                                      headers=h).json()["status"] != "uploading":
            time.sleep(0.05)
        s.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            img = requests.get(server.url + "/v2/images/" + image_id, headers=h).json()
            if img["status"] == "queued" and not any(image_id in f for f in self.staged_files(server)):
                break
            time.sleep(0.1)
        assert img["status"] == "queued" and img["size"] is None, img
        assert not any(image_id in f for f in self.staged_files(server))


class TestCopyImage:
    """copy-image between the stores of a multi-store site, and glance-direct into a chosen
    store."""

    @pytest.fixture(scope="class")
    def multi(self):
        d = tempfile.mkdtemp(prefix="glint-copy-")
        conf = os.path.join(d, "glint.conf")
        with open(conf, "w") as f:
            f.write("[DEFAULT]\nenabled_backends = fast:file, slow:file\n[glance_store]\ndefault_backend = fast\n"
                    "[fast]\nfilesystem_store_datadir = %s/fast\n[slow]\nfilesystem_store_datadir = %s/slow\n" % (d, d))
        s = glint_server.GlintServer(d, config=conf)
        s.start()
        yield s
        s.stop()
        shutil.rmtree(d, ignore_errors=True)

    def h(self, s):
        return {"X-Auth-Token": s.token}

    def create(self, s, data, store):
        image_id = requests.post(s.url + "/v2/images", headers=self.h(s),
                                 json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
        r = requests.put(s.url + "/v2/images/%s/file" % image_id, data=data,
                         headers=dict(self.h(s), **{"Content-Type": "application/octet-stream",
                                                    "X-Image-Meta-Store": store}))
        assert r.status_code == 204, r.text
        return image_id

    def wait_task(self, s, image_id, n=1):
        deadline = time.time() + 30
        while time.time() < deadline:
            tasks = requests.get(s.url + "/v2/images/%s/tasks" % image_id, headers=self.h(s)).json()["tasks"]
            if len(tasks) >= n and tasks[0]["status"] in ("success", "failure"):
                return tasks[0]
            time.sleep(0.1)
        raise AssertionError("task did not finish")

    def test_copy_image_adds_a_store_and_the_source_can_go(self, multi):
        s, data = multi, os.urandom(3 << 20)
        r = requests.post(s.url + "/v2/images", headers=self.h(s), json={"name": "x"})
        assert r.headers["OpenStack-image-import-methods"] == "glance-direct,web-download,copy-image"
        image_id = self.create(s, data, "slow")
        r = requests.post(s.url + "/v2/images/%s/import" % image_id, headers=self.h(s),
                          json={"method": {"name": "copy-image"}, "stores": ["fast"]})
        assert r.status_code == 202, r.text
        task = self.wait_task(s, image_id)
        assert task["status"] == "success" and task["message"].startswith("Copied 3 MiB"), task
        img = requests.get(s.url + "/v2/images/" + image_id, headers=self.h(s)).json()
        assert img["status"] == "active" and set(img["stores"].split(",")) == {"fast", "slow"}
        assert open(os.path.join(s.data_dir, "fast", image_id), "rb").read() == data
        assert requests.delete(s.url + "/v2/stores/slow/" + image_id, headers=self.h(s)).status_code == 204
        assert not os.path.exists(os.path.join(s.data_dir, "slow", image_id))
        r = requests.get(s.url + "/v2/images/%s/file" % image_id, headers=self.h(s))
        assert r.status_code == 200 and r.content == data

    def test_copy_image_refusals(self, multi):
        s = multi
        image_id = self.create(s, b"c" * 4096, "fast")
        imp = lambda body: requests.post(s.url + "/v2/images/%s/import" % image_id, headers=self.h(s), json=body)
        r = imp({"method": {"name": "copy-image"}, "stores": ["fast"]})
        assert r.status_code == 400 and "already present at store 'fast'" in r.json()["error"]["message"]
        r = imp({"method": {"name": "copy-image"}, "stores": ["nowhere"]})
        assert r.status_code == 409 and "nowhere" in r.json()["error"]["message"]
        assert imp({"method": {"name": "copy-image"}, "all_stores": True, "stores": ["slow"]}).status_code == 400
        assert imp({"method": {"name": "copy-image"}, "all_stores": True}).status_code == 202
        assert self.wait_task(s, image_id)["status"] == "success"
        assert imp({"method": {"name": "copy-image"}, "all_stores": True}).status_code == 202  # nothing left
        assert len(requests.get(s.url + "/v2/images/%s/tasks" % image_id, headers=self.h(s)).json()["tasks"]) == 1
        queued = requests.post(s.url + "/v2/images", headers=self.h(s),
                               json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
        r = requests.post(s.url + "/v2/images/%s/import" % queued, headers=self.h(s),
                          json={"method": {"name": "copy-image"}, "stores": ["slow"]})
        assert r.status_code == 409 and "active" in r.json()["error"]["message"]
        s.manage("project-create", "copy-p")
        s.manage("user-create", "copy-member", "--password", "pw", "--project", "copy-p")
        token = s.token_for("copy-member", "pw", "copy-p")
        mine = requests.post(s.url + "/v2/images", headers={"X-Auth-Token": token},
                             json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
        r = requests.put(s.url + "/v2/images/%s/file" % mine, data=b"m" * 100,
                         headers={"X-Auth-Token": token, "Content-Type": "application/octet-stream"})
        assert r.status_code == 204
        r = requests.post(s.url + "/v2/images/%s/import" % mine, headers={"X-Auth-Token": token},
                          json={"method": {"name": "copy-image"}, "stores": ["slow"]})
        assert r.status_code == 403  # copy_image is admin-only, as in Glance

    def test_glance_direct_into_a_chosen_store(self, multi):
        s = multi
        image_id = requests.post(s.url + "/v2/images", headers=self.h(s),
                                 json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
        r = requests.put(s.url + "/v2/images/%s/stage" % image_id, data=b"d" * 8192,
                         headers=dict(self.h(s), **{"Content-Type": "application/octet-stream"}))
        assert r.status_code == 204
        r = requests.post(s.url + "/v2/images/%s/import" % image_id, headers=self.h(s),
                          json={"method": {"name": "glance-direct"}, "stores": ["slow", "nowhere"]})
        assert r.status_code == 409 and "nowhere" in r.json()["error"]["message"]
        r = requests.post(s.url + "/v2/images/%s/import" % image_id, headers=self.h(s),
                          json={"method": {"name": "glance-direct"}, "stores": ["slow"]})
        assert r.status_code == 202, r.text
        assert self.wait_task(s, image_id)["status"] == "success"
        img = requests.get(s.url + "/v2/images/" + image_id, headers=self.h(s)).json()
        assert img["status"] == "active" and img["stores"] == "slow"
        assert img["os_glance_importing_to_stores"] == "" and img["os_glance_failed_import"] == ""

    def test_glance_direct_into_several_stores(self, multi):
        """stores=[a, b] (and all_stores): the data lands in each store, in order; the image
        shows the stores still to do in os_glance_importing_to_stores until none is left."""
        s = multi
        for body in ({"stores": ["slow", "fast"]}, {"all_stores": True}):
            image_id = requests.post(s.url + "/v2/images", headers=self.h(s),
                                     json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
            data = os.urandom(3 << 20)
            r = requests.put(s.url + "/v2/images/%s/stage" % image_id, data=data,
                             headers=dict(self.h(s), **{"Content-Type": "application/octet-stream"}))
            assert r.status_code == 204
            r = requests.post(s.url + "/v2/images/%s/import" % image_id, headers=self.h(s),
                              json=dict(body, method={"name": "glance-direct"}))
            assert r.status_code == 202, r.text
            assert self.wait_task(s, image_id)["status"] == "success"
            img = requests.get(s.url + "/v2/images/" + image_id, headers=self.h(s)).json()
            expected = "slow,fast" if "stores" in body else ",".join(
                st["id"] for st in requests.get(s.url + "/v2/info/stores", headers=self.h(s)).json()["stores"]
                if st.get("read-only") != "true")
            assert img["status"] == "active" and img["stores"] == expected
            assert img["os_glance_importing_to_stores"] == "" and img["os_glance_failed_import"] == ""
            for store in expected.split(","):  # a whole copy in each store's directory
                with open(os.path.join(s.data_dir, store, image_id), "rb") as f:
                    assert f.read() == data
            got = requests.get(s.url + "/v2/images/%s/file" % image_id, headers=self.h(s))
            assert got.content == data


def test_import_whose_staged_data_is_gone_starts_over(server):
    """Staged data that vanished (a staging area not shared by every node, say): the import
    fails and the image goes back to queued, to be staged again."""
    h = {"X-Auth-Token": server.token}
    image_id = requests.post(server.url + "/v2/images", headers=h,
                             json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
    r = requests.put(server.url + "/v2/images/%s/stage" % image_id, data=b"g" * 4096,
                     headers=dict(h, **{"Content-Type": "application/octet-stream"}))
    assert r.status_code == 204
    os.unlink(os.path.join(server.data_dir, "staging", image_id))
    r = requests.post(server.url + "/v2/images/%s/import" % image_id, headers=h,
                      json={"method": {"name": "glance-direct"}})
    assert r.status_code == 202
    deadline = time.time() + 10
    while time.time() < deadline:
        tasks = requests.get(server.url + "/v2/images/%s/tasks" % image_id, headers=h).json()["tasks"]
        if tasks and tasks[0]["status"] == "failure":
            break
        time.sleep(0.1)
    assert "staged data is gone" in tasks[0]["message"]
    assert requests.get(server.url + "/v2/images/" + image_id, headers=h).json()["status"] == "queued"
    r = requests.put(server.url + "/v2/images/%s/stage" % image_id, data=b"g" * 4096,
                     headers=dict(h, **{"Content-Type": "application/octet-stream"}))
    assert r.status_code == 204  # staged again
