"""Shared fixtures for the Glint black-box conformance suite.

Environment:
  GLINT_URL        base URL of the server under test, e.g. http://127.0.0.1:9393 (required)
  GLINT_TOKEN      token sent as X-Auth-Token (Glance in no-auth mode ignores it)
  GLINT_IS_GLANCE  set to 1 when GLINT_URL is the real Glance: the few places where Glint
                   deliberately differs then check Glance's behaviour instead of Glint's.

Run:  GLINT_URL=http://127.0.0.1:9393 GLINT_IS_GLANCE=1 /usr/bin/python3 -m pytest -q tests/blackbox
"""
import os
import re
import uuid
import itertools

import pytest
import requests

import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402

# Without GLINT_URL the suite starts its own glint-api (GLINT_API_BIN or build/).
_SERVER = None
if not os.environ.get("GLINT_URL"):
    _SERVER = glint_server.GlintServer.start_default()
BASE = _SERVER.url if _SERVER else os.environ["GLINT_URL"].rstrip("/")
TOKEN = _SERVER.token if _SERVER else (os.environ.get("GLINT_TOKEN") or "glint-blackbox-token")
IS_GLANCE = os.environ.get("GLINT_IS_GLANCE") == "1"

REFERENCE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference")

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
REQ_ID_RE = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

PATCH_21 = "application/openstack-images-v2.1-json-patch"
PATCH_20 = "application/openstack-images-v2.0-json-patch"
OCTET = "application/octet-stream"
MIB = 1024 * 1024

# Keys of an image body when the server has a single store and hides locations.
BASE_IMAGE_KEYS = {
    "name", "disk_format", "container_format", "visibility", "size", "virtual_size",
    "status", "checksum", "protected", "min_ram", "min_disk", "owner", "os_hidden",
    "os_hash_algo", "os_hash_value", "id", "created_at", "updated_at", "tags",
    "self", "file", "schema",
}


def pytest_unconfigure(config):
    if _SERVER:
        _SERVER.stop()


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: creates ~1000 image records (deselect with -m 'not slow')")
    if not BASE:
        raise pytest.UsageError("set GLINT_URL (e.g. http://127.0.0.1:9393); see conftest.py")


def glint_or_glance(glint, glance):
    """Pick the expectation for the server under test (Glint unless GLINT_IS_GLANCE=1)."""
    return glance if IS_GLANCE else glint


class Api:
    """Thin wrapper over a requests.Session bound to the server under test."""

    def __init__(self, base, token):
        self.base = base
        self.s = requests.Session()
        if token is not None:
            self.s.headers["X-Auth-Token"] = token

    def url(self, path):
        return path if path.startswith("http") else self.base + path

    def request(self, method, path, **kw):
        kw.setdefault("timeout", 120)
        kw.setdefault("allow_redirects", False)
        return self.s.request(method, self.url(path), **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    # -- image helpers ----------------------------------------------------------------
    def patch_image(self, image_id, ops, content_type=PATCH_21):
        import json
        return self.patch("/v2/images/%s" % image_id, data=json.dumps(ops),
                          headers={"Content-Type": content_type})

    def upload(self, image_id, data, content_type=OCTET):
        headers = {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        return self.put("/v2/images/%s/file" % image_id, data=data, headers=headers)

    def show(self, image_id):
        r = self.get("/v2/images/%s" % image_id)
        assert r.status_code == 200, (r.status_code, r.text[:300])
        return r.json()

    def list_ids(self, query):
        r = self.get("/v2/images?" + query)
        assert r.status_code == 200, (query, r.status_code, r.text[:300])
        return [i["id"] for i in r.json()["images"]]


def ctype(resp):
    """The response's media type, without parameters."""
    return resp.headers.get("Content-Type", "").split(";")[0].strip()


def assert_error(resp, status, body=True):
    """Assert an error status; on Glint also assert the JSON error envelope."""
    assert resp.status_code == status, (
        "expected %s, got %s: %s" % (status, resp.status_code, resp.text[:400]))
    if IS_GLANCE or not body or resp.request.method == "HEAD":
        return
    assert ctype(resp) == "application/json", resp.headers.get("Content-Type")
    doc = resp.json()
    assert set(doc.keys()) == {"error"}, doc
    err = doc["error"]
    assert err.get("code") == status, doc
    assert isinstance(err.get("title"), str) and err["title"], doc
    assert isinstance(err.get("message"), str), doc


def assert_allow(resp, methods):
    assert_error(resp, 405)
    allow = {m.strip() for m in resp.headers.get("Allow", "").split(",") if m.strip()}
    assert allow == set(methods), resp.headers.get("Allow")


@pytest.fixture(scope="session")
def api():
    return Api(BASE, TOKEN)


@pytest.fixture(scope="session")
def run_id():
    return "bb" + uuid.uuid4().hex[:10]


_counter = itertools.count()


@pytest.fixture
def uniq(run_id):
    """A string unique to this test (usable as name or tag)."""
    return "%s-%d" % (run_id, next(_counter))


def _cleanup(api, ids):
    for image_id in ids:
        try:
            r = api.get("/v2/images/%s" % image_id)
            if r.status_code != 200:
                continue
            if r.json().get("protected"):
                api.patch_image(image_id, [{"op": "replace", "path": "/protected", "value": False}])
            api.delete("/v2/images/%s" % image_id)
        except requests.RequestException:
            pass


class ImageFactory:
    def __init__(self, api):
        self.api = api
        self.ids = []

    def __call__(self, expect=201, **props):
        r = self.api.post("/v2/images", json=props)
        if r.status_code == 201:
            self.ids.append(r.json()["id"])
        assert r.status_code == expect, (r.status_code, r.text[:400])
        return r.json() if expect == 201 else r

    def track(self, image_id):
        self.ids.append(image_id)

    def active(self, data=b"x" * 1024, **props):
        props.setdefault("disk_format", "raw")
        props.setdefault("container_format", "bare")
        img = self(**props)
        r = self.api.upload(img["id"], data)
        assert r.status_code == 204, (r.status_code, r.text[:300])
        return self.api.show(img["id"])


@pytest.fixture
def make_image(api):
    f = ImageFactory(api)
    yield f
    _cleanup(api, f.ids)


@pytest.fixture(scope="module")
def module_images(api):
    f = ImageFactory(api)
    yield f
    _cleanup(api, f.ids)
