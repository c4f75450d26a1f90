"""A generated matrix: every image endpoint x every persona x every visibility answers
exactly as Glance's rules say, in legacy policy mode and with secure RBAC (Glance's new
defaults, `enforce_secure_rbac = true`), and a private image never leaks.

Images are owned by project p1. Personas: no token, an expired token, a revoked token,
"other" (a member of project p2, which is the member of the shared images), a reader
and a member of p1 (the owner project), and admin (project "admin").
"""
import os
import sys
import time

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402

PERSONAS = ["none", "expired", "revoked", "other", "reader", "member", "admin"]
VISIBILITIES = ["public", "private", "shared-pending", "shared-accepted", "shared-rejected", "community"]
ENDPOINTS = ["list", "show", "download", "patch", "tag", "members", "deactivate", "delete"]
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


class Cloud:
    def __init__(self, tmp, secure):
        conf = os.path.join(tmp, "glint.conf")
        with open(conf, "w") as f:
            f.write("[DEFAULT]\nenforce_secure_rbac = %s\n[token]\nexpiration = 4\n" % ("true" if secure else "false"))
        self.s = glint_server.GlintServer(tmp, config=conf)
        s = self.s
        s.manage("bootstrap", "--bootstrap-password", "apw")
        s.manage("project-create", "p1")
        s.manage("project-create", "p2")
        s.manage("user-create", "owner-member", "--password", "pw", "--project", "p1")
        s.manage("user-create", "owner-reader", "--password", "pw", "--project", "p1", "--role", "reader")
        s.manage("user-create", "other", "--password", "pw", "--project", "p2")
        s.start()
        self.p2 = [l.split()[0] for l in s.manage("project-list").splitlines() if l.split()[1] == "p2"][0]
        self.cache = {}
        self.expired = s.token_for("owner-member", "pw", "p1")
        self.revoked = s.token_for("owner-member", "pw", "p1")
        r = requests.delete(s.url + "/identity/v3/auth/tokens",
                            headers={"X-Auth-Token": self.revoked, "X-Subject-Token": self.revoked})
        assert r.status_code == 204
        self.images = {v: self.make(v) for v in VISIBILITIES}
        time.sleep(4.5)  # `expired` expires; the others are re-issued when they age

    def token(self, persona):
        if persona == "none":
            return None
        if persona == "expired":
            return self.expired
        if persona == "revoked":
            return self.revoked
        user, project = {"other": ("other", "p2"), "reader": ("owner-reader", "p1"),
                         "member": ("owner-member", "p1"), "admin": ("admin", "admin")}[persona]
        t, at = self.cache.get(persona, (None, 0))
        if time.time() - at > 2:
            t = self.s.token_for(user, "apw" if user == "admin" else "pw", project)
            self.cache[persona] = (t, time.time())
        return t

    def call(self, persona, method, path, **kw):
        h = kw.pop("headers", {})
        t = self.token(persona)
        if t:
            h["X-Auth-Token"] = t
        return requests.request(method, self.s.url + path, headers=h, **kw)

    def make(self, visibility, name=None):
        vis = visibility.split("-")[0]
        r = self.call("member", "POST", "/v2/images", json={
            "name": name or "matrix-" + visibility, "visibility": vis, "disk_format": "raw",
            "container_format": "bare"} if vis != "public" else None)
        if vis == "public":  # publicize_image is admin-only: the admin makes it public
            r = self.call("member", "POST", "/v2/images", json={
                "name": name or "matrix-public", "disk_format": "raw", "container_format": "bare"})
            image_id = r.json()["id"]
            p = self.call("admin", "PATCH", "/v2/images/" + image_id, headers=dict(PATCH),
                          json=[{"op": "replace", "path": "/visibility", "value": "public"}])
            assert p.status_code == 200, p.text
        else:
            assert r.status_code == 201, r.text
            image_id = r.json()["id"]
        up = self.call("member", "PUT", "/v2/images/%s/file" % image_id, data=b"matrix" * 100,
                       headers={"Content-Type": "application/octet-stream"})
        assert up.status_code == 204
        if visibility.startswith("shared-"):
            assert self.call("member", "POST", "/v2/images/%s/members" % image_id,
                             json={"member": self.p2}).status_code == 200
            status = visibility.split("-")[1]
            if status != "pending":
                r = self.call("other", "PUT", "/v2/images/%s/members/%s" % (image_id, self.p2),
                              json={"status": status})
                assert r.status_code == 200
        return image_id


@pytest.fixture(scope="module", params=["legacy", "secure"])
def cloud(request, tmp_path_factory):
    c = Cloud(str(tmp_path_factory.mktemp("glint-matrix")), request.param == "secure")
    c.mode = request.param
    yield c
    c.s.stop()


def expected(endpoint, persona, visibility, mode="legacy"):
    """Glance's answer, from its rules (owner project p1, member p2). Secure RBAC (Glance
    25's new defaults, glance/policies/image.py) differs for the reader of the owner
    project: download_image, modify_image (patch, tags), deactivate and delete_image want
    `role:member` of the owner project (or admin), where legacy mode lets any role in."""
    if persona in ("none", "expired", "revoked"):
        return 401
    vis = visibility.split("-")[0]
    owner = persona in ("member", "reader", "admin")  # admin may do everything an owner may
    sees = owner or vis in ("public", "community") or (vis == "shared" and persona == "other")
    if endpoint == "list":
        if persona == "admin":
            return vis != "community"  # other projects' community images need visibility=
        if owner:
            return True
        return vis == "public" or visibility == "shared-accepted"
    if not sees:
        return 404
    if mode == "secure" and persona == "reader" and endpoint in ("download", "patch", "tag", "deactivate",
                                                                  "delete"):
        return 403
    if endpoint in ("show", "download"):
        return 200
    if endpoint == "members":
        return 200 if vis == "shared" else 403
    if not owner:
        return 403
    return {"patch": 200, "tag": 204, "deactivate": 204, "delete": 204}[endpoint]


CELLS = [(e, p, v) for e in ENDPOINTS for p in PERSONAS for v in VISIBILITIES]


@pytest.mark.parametrize("endpoint,persona,visibility", CELLS, ids=["-".join(c) for c in CELLS])
def test_matrix(cloud, endpoint, persona, visibility):
    want = expected(endpoint, persona, visibility, cloud.mode)
    destructive = endpoint in ("delete", "deactivate") and want == 204
    image_id = cloud.make(visibility) if destructive else cloud.images[visibility]
    if endpoint == "list":
        r = cloud.call(persona, "GET", "/v2/images?limit=1000")
        if want == 401:
            assert r.status_code == 401
            return
        assert r.status_code == 200
        assert (image_id in [i["id"] for i in r.json()["images"]]) == want
        return
    method, path, kw = {
        "show": ("GET", "/v2/images/%s", {}),
        "download": ("GET", "/v2/images/%s/file", {}),
        "patch": ("PATCH", "/v2/images/%s", {"headers": dict(PATCH),
                                             "json": [{"op": "add", "path": "/matrix", "value": "x"}]}),
        "tag": ("PUT", "/v2/images/%s/tags/matrix", {}),
        "members": ("GET", "/v2/images/%s/members", {}),
        "deactivate": ("POST", "/v2/images/%s/actions/deactivate", {}),
        "delete": ("DELETE", "/v2/images/%s", {}),
    }[endpoint]
    r = cloud.call(persona, method, path % image_id, **kw)
    assert r.status_code == want, (endpoint, persona, visibility, r.status_code, r.text[:200])
    if r.status_code >= 400:
        assert r.json()["error"]["code"] == r.status_code
    if want in (401, 404):
        assert "matrix-" not in r.text  # nothing of the image's record leaks
    if endpoint == "deactivate" and r.status_code == 204:
        assert cloud.call("admin", "POST", "/v2/images/%s/actions/reactivate" % image_id).status_code == 204
