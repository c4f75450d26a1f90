"""Built-in identity and tenancy against a real glint-api: Keystone v3 tokens (issue,
validate, revoke, expiry, key rotation), Glance's visibility rules, the members API, and
openstackclient / glanceclient with tokens from the built-in identity.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    d = tmp_path_factory.mktemp("glint-identity")
    s = glint_server.GlintServer(str(d))
    s.manage("bootstrap", "--bootstrap-password", "adminpw")
    for p in ("p1", "p2", "p3"):
        s.manage("project-create", p)
    s.manage("user-create", "u1", "--password", "pw1", "--project", "p1")
    s.manage("user-create", "u2", "--password", "pw2", "--project", "p2")
    s.manage("user-create", "u3", "--password", "pw3", "--project", "p3", "--role", "reader")
    s.start()
    s.tokens = {u: s.token_for(u, pw, p) for u, pw, p in
                (("admin", "adminpw", "admin"), ("u1", "pw1", "p1"), ("u2", "pw2", "p2"))}
    s.projects = {line.split()[1]: line.split()[0] for line in s.manage("project-list").splitlines()}
    yield s
    s.stop()


def call(cloud, who, method, path, **kw):
    h = kw.pop("headers", {})
    if who:
        h["X-Auth-Token"] = cloud.tokens[who] if who in cloud.tokens else who
    return requests.request(method, cloud.url + path, headers=h, **kw)


def create(cloud, who, **props):
    body = {"disk_format": "raw", "container_format": "bare"}
    body.update(props)
    r = call(cloud, who, "POST", "/v2/images", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def upload(cloud, who, image_id, data=b"x" * 1000):
    return call(cloud, who, "PUT", "/v2/images/%s/file" % image_id, data=data,
                headers={"Content-Type": "application/octet-stream"})


# ------------------------------------------------------------------ tokens

def test_keystone_discovery_and_token_lifecycle(cloud):
    r = requests.get(cloud.url + "/identity/v3")
    assert r.status_code == 200 and r.json()["version"]["id"].startswith("v3")
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "u1", "domain": {"name": "Default"}, "password": "pw1"}}},
        "scope": {"project": {"name": "p1", "domain": {"name": "Default"}}}}}
    r = requests.post(cloud.url + "/identity/v3/auth/tokens", json=body)
    assert r.status_code == 201
    token = r.headers["X-Subject-Token"]
    t = r.json()["token"]
    assert t["project"]["name"] == "p1" and t["user"]["name"] == "u1"
    assert {x["name"] for x in t["roles"]} == {"member", "reader"}  # member implies reader
    image = [c for c in t["catalog"] if c["type"] == "image"][0]
    assert image["endpoints"][0]["url"] == cloud.url
    v = requests.get(cloud.url + "/identity/v3/auth/tokens",
                     headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert v.status_code == 200 and v.json()["token"]["user"]["id"] == t["user"]["id"]
    # token method: rescope an existing token
    r2 = requests.post(cloud.url + "/identity/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": token}},
        "scope": {"project": {"id": t["project"]["id"]}}}})
    assert r2.status_code == 201
    # revoke: refused from then on, by the API too
    assert requests.get(cloud.url + "/v2/images", headers={"X-Auth-Token": token}).status_code == 200
    d = requests.delete(cloud.url + "/identity/v3/auth/tokens",
                        headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert d.status_code == 204
    time.sleep(5.5)  # the validation cache lives 5 s
    r = requests.get(cloud.url + "/v2/images", headers={"X-Auth-Token": token})
    assert r.status_code == 401 and r.json()["error"]["code"] == 401


def test_bad_credentials_401(cloud):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "u1", "domain": {"id": "default"}, "password": "wrong"}}}}}
    assert requests.post(cloud.url + "/identity/v3/auth/tokens", json=body).status_code == 401
    body["auth"]["identity"]["password"]["user"]["password"] = "pw1"
    body["auth"]["scope"] = {"project": {"name": "p2", "domain": {"id": "default"}}}
    assert requests.post(cloud.url + "/identity/v3/auth/tokens", json=body).status_code == 401
    for bad in ("", "garbage", "gl1AAAA" + "A" * 80):
        assert call(cloud, bad or None, "GET", "/v2/images").status_code == 401
    forged = cloud.tokens["u1"][:-4] + ("AAAA" if not cloud.tokens["u1"].endswith("AAAA") else "BBBB")
    assert call(cloud, forged, "GET", "/v2/images").status_code == 401


def test_expired_token_401(tmp_path):
    conf = tmp_path / "glint.conf"
    conf.write_text("[token]\nexpiration = 2\n")
    s = glint_server.GlintServer(str(tmp_path), config=str(conf))
    s.manage("bootstrap", "--bootstrap-password", "pw")
    s.start()
    try:
        token = s.token_for("admin", "pw", "admin")
        assert requests.get(s.url + "/v2/images", headers={"X-Auth-Token": token}).status_code == 200
        time.sleep(2.5)
        r = requests.get(s.url + "/v2/images", headers={"X-Auth-Token": token})
        assert r.status_code == 401
    finally:
        s.stop()


def test_key_rotation_without_restart(cloud):
    old = cloud.token_for("u1", "pw1", "p1")
    cloud.manage("token-rotate")
    new = cloud.token_for("u1", "pw1", "p1")
    assert old[:11] != new[:11]  # a different key id
    for t in (old, new):
        assert requests.get(cloud.url + "/v2/images", headers={"X-Auth-Token": t}).status_code == 200


# ------------------------------------------------------------------ tenancy

def test_owner_is_the_callers_project(cloud):
    img = create(cloud, "u1", name="owned")
    assert img["owner"] == cloud.projects["p1"]
    r = call(cloud, "u1", "POST", "/v2/images", json={"name": "x", "owner": cloud.projects["p2"]})
    assert r.status_code == 403


def test_private_image_never_leaks(cloud):
    img = create(cloud, "u1", name="secret", visibility="private")
    assert upload(cloud, "u1", img["id"]).status_code == 204
    i = img["id"]
    listed = [x["id"] for x in call(cloud, "u2", "GET", "/v2/images?visibility=all&limit=1000").json()["images"]]
    assert i not in listed
    for method, path in (("GET", "/v2/images/" + i), ("GET", "/v2/images/%s/file" % i),
                         ("GET", "/v2/images/%s/members" % i), ("PUT", "/v2/images/%s/tags/t" % i),
                         ("DELETE", "/v2/images/%s/tags/t" % i), ("DELETE", "/v2/images/" + i),
                         ("POST", "/v2/images/%s/actions/deactivate" % i)):
        r = call(cloud, "u2", method, path)
        assert r.status_code == 404, (method, path, r.status_code)
    r = call(cloud, "u2", "PATCH", "/v2/images/" + i, data="[]",
             headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert r.status_code == 404
    assert call(cloud, "admin", "GET", "/v2/images/" + i).status_code == 200
    assert call(cloud, "u1", "GET", "/v2/images/" + i).status_code == 200


def test_public_visible_but_not_modifiable_and_publicize_is_admin_only(cloud):
    r = call(cloud, "u1", "POST", "/v2/images", json={"name": "pub", "visibility": "public"})
    assert r.status_code == 403
    img = create(cloud, "admin", name="pub-by-admin", visibility="public")
    assert call(cloud, "u2", "GET", "/v2/images/" + img["id"]).status_code == 200
    assert img["id"] in [x["id"] for x in call(cloud, "u2", "GET", "/v2/images?limit=1000").json()["images"]]
    r = call(cloud, "u2", "PATCH", "/v2/images/" + img["id"],
             data=json.dumps([{"op": "replace", "path": "/name", "value": "mine"}]),
             headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert r.status_code == 403
    assert call(cloud, "u2", "DELETE", "/v2/images/" + img["id"]).status_code == 403
    own = create(cloud, "u1", name="to-publicize")
    r = call(cloud, "u1", "PATCH", "/v2/images/" + own["id"],
             data=json.dumps([{"op": "replace", "path": "/visibility", "value": "public"}]),
             headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert r.status_code == 403


def test_community_images(cloud):
    img = create(cloud, "u1", name="comm", visibility="community")
    default = [x["id"] for x in call(cloud, "u2", "GET", "/v2/images?limit=1000").json()["images"]]
    assert img["id"] not in default
    comm = [x["id"] for x in call(cloud, "u2", "GET", "/v2/images?visibility=community&limit=1000").json()["images"]]
    assert img["id"] in comm
    assert call(cloud, "u2", "GET", "/v2/images/" + img["id"]).status_code == 200
    assert img["id"] in [x["id"] for x in call(cloud, "u1", "GET", "/v2/images?limit=1000").json()["images"]]


def test_members_lifecycle(cloud):
    img = create(cloud, "u1", name="shared-img")
    i, p2, p3 = img["id"], cloud.projects["p2"], cloud.projects["p3"]
    assert img["visibility"] == "shared"
    ids = lambda who, q="": [x["id"] for x in call(cloud, who, "GET", "/v2/images?limit=1000" + q).json()["images"]]
    assert call(cloud, "u2", "GET", "/v2/images/" + i).status_code == 404
    r = call(cloud, "u1", "POST", "/v2/images/%s/members" % i, json={"member": p2})
    assert r.status_code == 200 and r.json()["status"] == "pending" and r.json()["member_id"] == p2
    assert call(cloud, "u1", "POST", "/v2/images/%s/members" % i, json={"member": p2}).status_code == 409
    call(cloud, "u1", "POST", "/v2/images/%s/members" % i, json={"member": p3})
    # pending: by id yes, in the default list no, with member_status=pending yes
    assert call(cloud, "u2", "GET", "/v2/images/" + i).status_code == 200
    assert i not in ids("u2")
    assert i in ids("u2", "&member_status=pending")
    # a member sees only its own membership and cannot add members
    members = call(cloud, "u2", "GET", "/v2/images/%s/members" % i).json()["members"]
    assert [m["member_id"] for m in members] == [p2]
    assert len(call(cloud, "u1", "GET", "/v2/images/%s/members" % i).json()["members"]) == 2
    assert call(cloud, "u2", "POST", "/v2/images/%s/members" % i, json={"member": p3}).status_code == 403
    # only the member answers
    r = call(cloud, "u1", "PUT", "/v2/images/%s/members/%s" % (i, p2), json={"status": "accepted"})
    assert r.status_code == 403
    r = call(cloud, "u2", "PUT", "/v2/images/%s/members/%s" % (i, p2), json={"status": "accepted"})
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert call(cloud, "u2", "PUT", "/v2/images/%s/members/%s" % (i, p2), json={"status": "bogus"}).status_code == 400
    assert i in ids("u2")
    r = call(cloud, "u2", "PUT", "/v2/images/%s/members/%s" % (i, p2), json={"status": "rejected"})
    assert r.status_code == 200 and i not in ids("u2")
    assert i in ids("u2", "&member_status=rejected")
    # the member may download, not modify
    assert upload(cloud, "u1", i).status_code == 204
    assert call(cloud, "u2", "GET", "/v2/images/%s/file" % i).status_code == 200
    assert call(cloud, "u2", "DELETE", "/v2/images/" + i).status_code == 403
    assert call(cloud, "u2", "DELETE", "/v2/images/%s/members/%s" % (i, p2)).status_code == 403
    assert call(cloud, "u1", "DELETE", "/v2/images/%s/members/%s" % (i, p2)).status_code == 204
    assert call(cloud, "u2", "GET", "/v2/images/" + i).status_code == 404


def test_members_only_on_shared_and_quota(cloud):
    img = create(cloud, "u1", name="private-no-members", visibility="private")
    r = call(cloud, "u1", "POST", "/v2/images/%s/members" % img["id"], json={"member": cloud.projects["p2"]})
    assert r.status_code == 403
    img = create(cloud, "u1", name="many-members")
    for n in range(128):
        assert call(cloud, "u1", "POST", "/v2/images/%s/members" % img["id"],
                    json={"member": "project-%d" % n}).status_code == 200
    r = call(cloud, "u1", "POST", "/v2/images/%s/members" % img["id"], json={"member": "one-more"})
    assert r.status_code == 413


# ------------------------------------------------------------------ real clients

def need(cmd):
    if shutil.which(cmd):
        return
    if glint_server.in_ci():
        pytest.fail("%s is not installed" % cmd)
    pytest.skip("%s is not installed" % cmd)


def test_openstackclient_with_password_auth(cloud, tmp_path):
    need("openstack")
    env = dict(os.environ, OS_AUTH_URL=cloud.url + "/identity/v3", OS_USERNAME="u1", OS_PASSWORD="pw1",
               OS_PROJECT_NAME="p1", OS_USER_DOMAIN_NAME="Default", OS_PROJECT_DOMAIN_NAME="Default",
               OS_IDENTITY_API_VERSION="3", OS_INTERFACE="public", HOME=str(tmp_path))
    env.pop("OS_CLOUD", None)

    def osc(*args):
        p = subprocess.run(["openstack"] + list(args), env=env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, "openstack %s: %s" % (args, p.stderr)
        return p.stdout

    tok = json.loads(osc("token", "issue", "-f", "json"))
    assert tok["project_id"] == cloud.projects["p1"]
    data = tmp_path / "img.raw"
    data.write_bytes(os.urandom(2 << 20))
    osc("image", "create", "--disk-format", "raw", "--container-format", "bare", "--file", str(data), "osc-id-img")
    shown = json.loads(osc("image", "show", "-f", "json", "osc-id-img"))
    assert shown["status"] == "active" and shown["owner"] == cloud.projects["p1"]
    assert "osc-id-img" in osc("image", "list")
    osc("image", "set", "--property", "color=green", "osc-id-img")
    assert json.loads(osc("image", "show", "-f", "json", "osc-id-img"))["properties"]["color"] == "green"
    # A member may not look projects up (Keystone's policy): it names them by id.
    osc("image", "add", "project", "osc-id-img", cloud.projects["p2"])
    members = call(cloud, "u1", "GET", "/v2/images/%s/members" % shown["id"]).json()["members"]
    assert [m["member_id"] for m in members] == [cloud.projects["p2"]]
    osc("image", "delete", "osc-id-img")
    assert call(cloud, "u1", "GET", "/v2/images/" + shown["id"]).status_code == 404


def test_glanceclient_with_identity_token(cloud, tmp_path):
    need("glance")
    token = cloud.token_for("u2", "pw2", "p2")
    env = dict(os.environ, HOME=str(tmp_path))
    p = subprocess.run(["glance", "--os-image-url", cloud.url, "--os-auth-token", token, "image-create",
                        "--name", "gc-id", "--disk-format", "raw", "--container-format", "bare"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert cloud.projects["p2"] in p.stdout
    p = subprocess.run(["glance", "--os-image-url", cloud.url, "--os-auth-token", token, "image-list"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "gc-id" in p.stdout


def test_glint_fs_tenant_view(cloud):
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        pytest.fail("needs FUSE") if glint_server.in_ci() else pytest.skip("needs FUSE")
    secret = create(cloud, "u1", name="p1-private", visibility="private")
    assert upload(cloud, "u1", secret["id"], b"s" * 4096).status_code == 204
    mine = create(cloud, "u2", name="p2-own", visibility="private")
    assert upload(cloud, "u2", mine["id"], b"m" * 4096).status_code == 204
    mnt = tempfile.mkdtemp(prefix="glint-mnt-tenant-")

    class AsU2:  # glint-fs with u2's credential
        url, token, store_dir = cloud.url, cloud.token_for("u2", "pw2", "p2"), cloud.store_dir
    fsm = glint_server.GlintFsMount(AsU2, mnt).start()
    try:
        listed = os.listdir(os.path.join(mnt, "by-id"))
        assert mine["id"] in listed
        assert secret["id"] not in listed
        assert not os.path.exists(os.path.join(mnt, "by-id", secret["id"]))
        with pytest.raises(OSError):
            open(os.path.join(mnt, "by-id", secret["id"]), "rb")
        with open(os.path.join(mnt, "by-id", mine["id"]), "rb") as f:
            assert f.read() == b"m" * 4096
    finally:
        fsm.stop()
        glint_server.remove_mountpoint(mnt)


def test_glint_fs_with_user_credentials_renews_its_token(tmp_path):
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        pytest.fail("needs FUSE") if glint_server.in_ci() else pytest.skip("needs FUSE")
    conf = tmp_path / "glint.conf"
    conf.write_text("[token]\nexpiration = 4\n")
    s = glint_server.GlintServer(str(tmp_path), config=str(conf))
    s.manage("bootstrap", "--bootstrap-password", "pw")
    s.manage("project-create", "fsp")
    s.manage("user-create", "fsuser", "--password", "fspw", "--project", "fsp")
    s.start()
    pw = tmp_path / "password"
    pw.write_text("fspw\n")
    mnt = tempfile.mkdtemp(prefix="glint-mnt-user-")

    class AsUser:
        url, token, store_dir = s.url, None, s.store_dir
    fsm = glint_server.GlintFsMount(AsUser, mnt, args=["--store-dir", s.store_dir, "--os-username", "fsuser",
                                                        "--os-password-file", str(pw),
                                                        "--os-project-name", "fsp"])
    try:
        fsm.start()
        time.sleep(6)  # longer than a token lives: glint-fs must have renewed its own
        h = {"X-Auth-Token": s.token_for("fsuser", "fspw", "fsp")}
        r = requests.post(s.url + "/v2/images", headers=h, json={"name": "late", "disk_format": "raw",
                                                                  "container_format": "bare"})
        image_id = r.json()["id"]
        requests.put(s.url + "/v2/images/%s/file" % image_id, data=b"late" * 100,
                     headers=dict(h, **{"Content-Type": "application/octet-stream"}))
        deadline = time.time() + 8
        while time.time() < deadline and image_id not in os.listdir(os.path.join(mnt, "by-id")):
            time.sleep(0.2)
        assert image_id in os.listdir(os.path.join(mnt, "by-id"))
    finally:
        fsm.stop()
        s.stop()
        glint_server.remove_mountpoint(mnt)


def test_usage_is_empty_when_limits_are_off(cloud):
    r = call(cloud, "u1", "GET", "/v2/info/usage")
    assert r.status_code == 200 and r.json() == {"usage": {}}


def test_quotas_with_unified_limit_names(tmp_path):
    conf = tmp_path / "glint.conf"
    conf.write_text("[DEFAULT]\nuse_keystone_limits = true\n")
    s = glint_server.GlintServer(str(tmp_path), config=str(conf))
    s.manage("bootstrap", "--bootstrap-password", "pw")
    s.manage("project-create", "q")
    s.manage("user-create", "quser", "--password", "qpw", "--project", "q")
    s.manage("limit-set", "--resource", "image_count_total", "--value", "3")          # default for all
    s.manage("limit-set", "--resource", "image_size_total", "--value", "1", "--project", "q")  # MiB
    s.start()
    try:
        h = {"X-Auth-Token": s.token_for("quser", "qpw", "q")}
        new = lambda: requests.post(s.url + "/v2/images", headers=h, json={"disk_format": "raw", "container_format": "bare"})
        put = lambda i, data: requests.put(s.url + "/v2/images/%s/file" % i, data=data,
                                           headers=dict(h, **{"Content-Type": "application/octet-stream"}))
        ids = [new().json()["id"] for _ in range(3)]
        r = new()
        assert r.status_code == 413
        assert "image_count_total is over limit of 3" in r.json()["error"]["message"]
        assert put(ids[0], b"a" * (2 << 20)).status_code == 413  # over 1 MiB
        assert requests.get(s.url + "/v2/images/" + ids[0], headers=h).json()["status"] == "queued"
        assert put(ids[0], b"b" * (512 << 10)).status_code == 204
        r = put(ids[1], b"c" * (600 << 10))  # 512 KiB used, 512 KiB left
        assert r.status_code == 413 and "image_size_total" in r.json()["error"]["message"]

        def chunked():
            for _ in range(6):
                yield b"d" * (100 << 10)
        r = put(ids[1], chunked())  # size unknown up front: cut off when it passes the limit
        assert r.status_code == 413
        usage = requests.get(s.url + "/v2/info/usage", headers=h).json()["usage"]
        assert usage["image_count_total"] == {"limit": 3, "usage": 3}
        assert usage["image_size_total"] == {"limit": 1, "usage": 0}  # 512 KiB rounds down to 0 MiB
        assert usage["image_count_uploading"]["limit"] == -1
        admin = {"X-Auth-Token": s.token}  # the bootstrap admin token has no project: no quota
        assert requests.post(s.url + "/v2/images", headers=admin, json={"name": "x"}).status_code == 201
    finally:
        s.stop()


def test_policy_file_changes_apply_without_restart(cloud):
    path = os.path.join(cloud.data_dir, "policy.yaml")
    try:
        with open(path, "w") as f:
            f.write('get_images: "role:admin"\n')
        time.sleep(1.2)  # the file is checked at most once a second
        r = call(cloud, "u1", "GET", "/v2/images")
        assert r.status_code == 403 and "get_images" in r.json()["error"]["message"]
        assert call(cloud, "admin", "GET", "/v2/images").status_code == 200
    finally:
        os.unlink(path)
    time.sleep(1.2)
    assert call(cloud, "u1", "GET", "/v2/images").status_code == 200


def test_secure_rbac_personas(tmp_path):
    conf = tmp_path / "glint.conf"
    conf.write_text("[DEFAULT]\nenforce_secure_rbac = true\n")
    s = glint_server.GlintServer(str(tmp_path), config=str(conf))
    s.manage("bootstrap", "--bootstrap-password", "pw")
    s.manage("project-create", "rp")
    s.manage("user-create", "m", "--password", "mpw", "--project", "rp")
    s.manage("user-create", "r", "--password", "rpw", "--project", "rp", "--role", "reader")
    s.start()
    try:
        member = {"X-Auth-Token": s.token_for("m", "mpw", "rp")}
        reader = {"X-Auth-Token": s.token_for("r", "rpw", "rp")}
        body = {"name": "rbac", "disk_format": "raw", "container_format": "bare"}
        r = requests.post(s.url + "/v2/images", headers=reader, json=body)
        assert r.status_code == 403, r.text  # add_image needs role:member
        r = requests.post(s.url + "/v2/images", headers=member, json=body)
        assert r.status_code == 201
        image_id = r.json()["id"]
        assert requests.get(s.url + "/v2/images", headers=reader).status_code == 200
        assert requests.get(s.url + "/v2/images/" + image_id, headers=reader).status_code == 200
        r = requests.put(s.url + "/v2/images/%s/tags/x" % image_id, headers=reader)
        assert r.status_code == 403  # modify_image needs role:member
        assert requests.put(s.url + "/v2/images/%s/tags/x" % image_id, headers=member).status_code == 204
        assert requests.delete(s.url + "/v2/images/" + image_id, headers=reader).status_code == 403
        assert requests.delete(s.url + "/v2/images/" + image_id, headers=member).status_code == 204
    finally:
        s.stop()
