"""Glint in external-Keystone mode against the real Keystone from Debian's `keystone`
package, started here on loopback with a SQLite backend (keystonemiddleware's behaviour:
service user, cached validation, WWW-Authenticate, X-Service-Token). In CI a missing
keystone is a failure.
"""
import os
import shutil
import subprocess
import sys
import time

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402
from glance_ref import free_port  # noqa: E402


class Keystone:
    def __init__(self, d, token_expiration):
        if not shutil.which("keystone-manage") or not shutil.which("keystone-wsgi-public"):
            if glint_server.in_ci():
                pytest.fail("Debian's keystone is not installed")
            pytest.skip("Debian's keystone is not installed")
        self.d, self.port = d, free_port()
        self.url = "http://127.0.0.1:%d/v3" % self.port
        os.makedirs(os.path.join(d, "keys"))
        self.conf = os.path.join(d, "keystone.conf")
        with open(self.conf, "w") as f:
            f.write("[DEFAULT]\nlog_file = %s/keystone.log\n[database]\nconnection = sqlite:///%s/keystone.db\n"
                    "[fernet_tokens]\nkey_repository = %s/keys\n[fernet_receipts]\nkey_repository = %s/keys\n"
                    "[credential]\nkey_repository = %s/keys\n[token]\nexpiration = %d\n"
                    "allow_expired_window = 3600\n" % (d, d, d, d, d, token_expiration))
        manage = ["keystone-manage", "--config-file", self.conf]
        for args in (["db_sync"], ["fernet_setup", "--keystone-user", "root", "--keystone-group", "root"],
                     ["credential_setup", "--keystone-user", "root", "--keystone-group", "root"]):
            subprocess.run(manage + args, check=True, capture_output=True, cwd=d)
        # Users, projects and role grants through keystone-manage bootstrap (idempotent):
        # Keystone's own API writes are unreliable on SQLite under its development server.
        for user, password, project, role in (("admin", "adminpw", "admin", "admin"),
                                              ("glance", "glancepw", "service", "admin"),
                                              ("demo", "demopw", "demo", "member")):
            subprocess.run(manage + ["bootstrap", "--bootstrap-username", user, "--bootstrap-password", password,
                                     "--bootstrap-project-name", project, "--bootstrap-role-name", role,
                                     "--bootstrap-admin-url", self.url, "--bootstrap-public-url", self.url,
                                     "--bootstrap-internal-url", self.url, "--bootstrap-region-id", "RegionOne"],
                           check=True, capture_output=True, cwd=d)
        env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=self.conf)
        self.log = open(os.path.join(d, "wsgi.log"), "ab")
        self.proc = subprocess.Popen(["keystone-wsgi-public", "--host", "127.0.0.1", "--port", str(self.port)],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=d)
        try:
            self._populate()
        except BaseException:
            self.stop()
            raise

    def _populate(self):
        for _ in range(200):
            try:
                if requests.get(self.url, timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        self.projects = {}
        for user, password, project in (("admin", "adminpw", "admin"), ("glance", "glancepw", "service"),
                                        ("demo", "demopw", "demo")):
            r = requests.post(self.url + "/auth/tokens", json={"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": user, "domain": {"name": "Default"}, "password": password}}},
                "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}})
            assert r.status_code == 201, r.text
            self.projects[project] = r.json()["token"]["project"]["id"]

    def token(self, user, password, project):
        r = requests.post(self.url + "/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"name": "Default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}})
        assert r.status_code == 201, r.text
        return r.headers["X-Subject-Token"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(20)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    ks = Keystone(str(tmp_path_factory.mktemp("keystone")), token_expiration=8)
    d = str(tmp_path_factory.mktemp("glint-ks"))
    conf = os.path.join(d, "glint.conf")
    with open(conf, "w") as f:
        f.write("[paste_deploy]\nflavor = keystone\n[keystone_authtoken]\nauth_url = %s\n"
                "www_authenticate_uri = %s\nusername = glance\npassword = glancepw\n"
                "project_name = service\ntoken_cache_time = 2\n" % (ks.url, ks.url))
    g = glint_server.GlintServer(d, config=conf)
    g.start()
    yield ks, g
    g.stop()
    ks.stop()


def get(g, token, path="/v2/images", **headers):
    if token:
        headers["X-Auth-Token"] = token
    return requests.get(g.url + path, headers=headers)


def test_missing_or_invalid_token_401_with_keystone_uri(env):
    ks, g = env
    for token in (None, "not-a-token"):
        r = get(g, token)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == 'Keystone uri="%s"' % ks.url
        assert r.json()["error"]["code"] == 401


def test_keystone_tokens_carry_project_and_roles(env):
    ks, g = env
    demo = ks.token("demo", "demopw", "demo")
    r = requests.post(g.url + "/v2/images", headers={"X-Auth-Token": demo},
                      json={"name": "ks-private", "visibility": "private"})
    assert r.status_code == 201, r.text
    img = r.json()
    assert img["owner"] == ks.projects["demo"]
    assert img["id"] in [i["id"] for i in get(g, demo).json()["images"]]
    admin = ks.token("admin", "adminpw", "admin")
    assert get(g, admin, "/v2/images/" + img["id"]).status_code == 200
    r = requests.post(g.url + "/v2/images", headers={"X-Auth-Token": demo},
                      json={"name": "pub", "visibility": "public"})
    assert r.status_code == 403  # publicize_image: admin only
    glance = ks.token("glance", "glancepw", "service")
    assert get(g, glance, "/v2/images/" + img["id"]).status_code == 200  # admin role in service


def test_revoked_token_refused_after_the_cache(env):
    ks, g = env
    demo = ks.token("demo", "demopw", "demo")
    assert get(g, demo).status_code == 200
    r = requests.delete(ks.url + "/auth/tokens", headers={"X-Auth-Token": demo, "X-Subject-Token": demo})
    assert r.status_code == 204
    time.sleep(2.5)  # token_cache_time = 2
    assert get(g, demo).status_code == 401


def test_expired_token_refused_unless_a_service_token_vouches(env):
    ks, g = env
    demo = ks.token("demo", "demopw", "demo")
    time.sleep(9)  # Keystone's token expiration is 8 s here
    assert get(g, demo).status_code == 401
    service = ks.token("glance", "glancepw", "service")
    r = get(g, demo, **{"X-Service-Token": service})
    assert r.status_code == 200, r.text
    assert get(g, demo, **{"X-Service-Token": "bogus"}).status_code == 401


def test_glanceclient_with_keystone_token(env, tmp_path):
    ks, g = env
    if not shutil.which("glance"):
        pytest.fail("glance missing") if glint_server.in_ci() else pytest.skip("glance missing")
    token = ks.token("demo", "demopw", "demo")
    e = dict(os.environ, HOME=str(tmp_path))
    p = subprocess.run(["glance", "--os-image-url", g.url, "--os-auth-token", token, "image-create",
                        "--name", "via-keystone", "--disk-format", "raw", "--container-format", "bare"],
                       env=e, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert ks.projects["demo"] in p.stdout
