"""Black-box conformance tests for the Image API v2 (Glance 25 "Zed" behaviour).

Every assertion was checked against Debian's glance-api 2:25.1.0 (file store, no-auth
pipeline).  Where Glint deliberately differs, `glint_or_glance(glint=..., glance=...)`
selects the expectation; see NOTES.md for the observations behind each test.
"""
import copy
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from urllib.parse import urlsplit, parse_qsl

import pytest
import requests

from conftest import (
    BASE, TOKEN, IS_GLANCE, REFERENCE_DIR, UUID_RE, REQ_ID_RE, TS_RE, PATCH_20, PATCH_21,
    OCTET, BASE_IMAGE_KEYS, Api, ImageFactory, assert_error, assert_allow, glint_or_glance,
    _cleanup,
)

MIB = 1024 * 1024


def ctype(resp):
    return resp.headers.get("Content-Type", "").split(";")[0].strip()


def load_ref(name):
    with open(os.path.join(REFERENCE_DIR, name)) as f:
        return json.load(f)


def rebase_versions(doc):
    """Reference version documents carry Glance's own URL; substitute the server under test."""
    doc = copy.deepcopy(doc)
    for v in doc["versions"]:
        for link in v["links"]:
            link["href"] = link["href"].replace("http://127.0.0.1:9393", BASE)
    return doc


# =====================================================================================
# Discovery
# =====================================================================================

class TestDiscovery:
    def test_root_is_300_with_versions(self, api):
        r = api.get("/")
        assert r.status_code == 300
        assert ctype(r) == "application/json"
        versions = r.json()["versions"]
        ids = [v["id"] for v in versions]
        assert all(i.startswith("v2.") for i in ids)
        assert "v2.0" in ids and "v2.1" in ids
        current = [v["id"] for v in versions if v["status"] == "CURRENT"]
        assert current == ["v2.15"]
        for v in versions:
            assert v["links"] == [{"rel": "self", "href": BASE + "/v2/"}]

    def test_versions_is_200(self, api):
        r = api.get("/versions")
        assert r.status_code == 200
        assert ctype(r) == "application/json"
        assert r.json() == api.get("/").json()

    def test_versions_match_reference(self, api):
        assert api.get("/versions").json() == rebase_versions(load_ref("versions.json"))
        assert api.get("/").json() == rebase_versions(load_ref("root.json"))

    def test_healthcheck(self, api):
        r = api.get("/healthcheck")
        assert r.status_code == 200
        assert r.text == "OK"
        assert ctype(r) == "text/plain"

    def test_v2_without_slash_redirects(self, api):
        r = api.get("/v2")
        assert r.status_code == 302
        assert r.headers["Location"] == BASE + "/v2/"

    @pytest.mark.parametrize("prefix", ["/v2", "/v2.0", "/v2.1", "/v2.15"])
    def test_versioned_prefixes_accepted(self, api, make_image, prefix):
        img = make_image(name="prefix")
        r = api.get(prefix + "/images/%s" % img["id"])
        assert r.status_code == 200
        assert r.json()["id"] == img["id"]
        # links are always rendered with /v2/
        assert r.json()["self"] == "/v2/images/%s" % img["id"]

    @pytest.mark.parametrize("path", ["/v2.8/images", "/v2.16/images", "/v2.99/images", "/v3/images",
                                      "/v1/images", "/nope"])
    def test_unlisted_versions_answer_300_with_the_list(self, api, path):
        # Glance's version negotiation: 2.8 and 2.10-2.13 are listed only with
        # enabled_backends, 2.14/2.16 only with an image cache.
        r = api.get(path)
        assert r.status_code == 300
        assert r.json() == api.get("/").json()

    def test_head_on_root_lists_versions_head_on_api_is_405(self, api):
        assert api.request("HEAD", "/").status_code == 300
        assert api.request("HEAD", "/v2/images").status_code == 405

    def test_v21_list_links_use_v2(self, api, make_image, uniq):
        for _ in range(2):
            make_image(name=uniq, tags=[uniq])
        r = api.get("/v2.1/images?tag=%s&limit=1" % uniq)
        assert r.status_code == 200
        body = r.json()
        assert body["first"].startswith("/v2/images?")
        assert body["next"].startswith("/v2/images?")

    def test_request_id_on_api_responses(self, api, make_image):
        img = make_image(name="reqid")
        responses = [
            api.get("/v2/images?limit=1"),
            api.get("/v2/images/%s" % img["id"]),
            api.get("/v2/schemas/image"),
            api.get("/v2/images/%s" % uuid.uuid4()),         # 404
            api.put("/v2/images"),                            # 405
            api.get("/v2/images?limit=-1"),                   # 400
            api.get("/v2/images/%s/file" % img["id"]),        # 204
            api.get("/v2"),                                    # 302
        ]
        seen = set()
        for r in responses:
            rid = r.headers.get("X-Openstack-Request-Id")
            assert rid and REQ_ID_RE.match(rid), (r.request.path_url, r.status_code, rid)
            seen.add(rid)
        assert len(seen) == len(responses)

    def test_incoming_request_id(self, api):
        # Glance (oslo request_id middleware) always mints a fresh id; Glint honours a
        # well-formed incoming one so a request can be traced across services.
        sent = "req-%s" % uuid.uuid4()
        r = api.get("/v2/images?limit=1", headers={"X-Openstack-Request-Id": sent})
        rid = r.headers["X-Openstack-Request-Id"]
        assert REQ_ID_RE.match(rid)
        if IS_GLANCE:
            assert rid != sent
        else:
            assert rid == sent
            bogus = api.get("/v2/images?limit=1", headers={"X-Openstack-Request-Id": "x; drop"})
            assert REQ_ID_RE.match(bogus.headers["X-Openstack-Request-Id"])

    @pytest.mark.skipif(not IS_GLANCE, reason="Glance-only observation (Glint may add the header)")
    def test_glance_has_no_request_id_on_discovery(self, api):
        for path in ("/", "/versions", "/healthcheck"):
            assert "X-Openstack-Request-Id" not in api.get(path).headers

    @pytest.mark.parametrize("path", [
        "/v2/foo", "/v2/", "/v2/images/", "/v2/schemas/bogus", "/v2/images/{id}/bogus",
        "/v2/images/{id}/tags", "/v2/images/{id}/actions/bogus",
    ])
    def test_unknown_route_404(self, api, make_image, path):
        img = make_image(name="route")
        r = api.get(path.format(id=img["id"]))
        if path.endswith("/actions/bogus"):
            r = api.post(path.format(id=img["id"]))
        assert_error(r, 404)

    def test_non_v2_path(self, api):
        # Glance's version negotiation answers any path it cannot map to /v2 with 300.
        r = api.get("/foo")
        assert r.status_code == 300

    @pytest.mark.parametrize("path,methods", [
        ("/v2/images", {"GET", "POST"}),
        ("/v2/images/{id}", {"GET", "PATCH", "DELETE"}),
        ("/v2/images/{id}/file", {"GET", "PUT"}),
        ("/v2/images/{id}/tags/sometag", {"PUT", "DELETE"}),
        ("/v2/images/{id}/actions/deactivate", {"POST"}),
        ("/v2/images/{id}/actions/reactivate", {"POST"}),
        ("/v2/schemas/image", {"GET"}),
    ])
    def test_wrong_method_405_with_allow(self, api, make_image, path, methods):
        img = make_image(name="allow")
        url = path.format(id=img["id"])
        for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"):
            if m in methods:
                continue
            r = api.request(m, url, data=b"" if m in ("POST", "PUT", "PATCH") else None)
            assert_allow(r, methods)


@pytest.mark.skipif(IS_GLANCE, reason="Glance no-auth pipeline ignores tokens")
class TestAuth:
    def test_no_token_401(self):
        anon = Api(BASE, None)
        r = anon.get("/v2/images")
        assert_error(r, 401)

    def test_bad_token_401(self):
        bad = Api(BASE, "not-" + TOKEN)
        assert_error(bad.get("/v2/images"), 401)
        assert_error(bad.post("/v2/images", json={"name": "x"}), 401)

    def test_discovery_needs_no_token(self):
        anon = Api(BASE, None)
        assert anon.get("/").status_code == 300
        assert anon.get("/versions").status_code == 200
        assert anon.get("/healthcheck").status_code == 200


# =====================================================================================
# Schemas
# =====================================================================================

SCHEMAS = {
    "image": "schema-image.json",
    "images": "schema-images.json",
    "member": "schema-member.json",
    "members": "schema-members.json",
    "metadefs/namespace": "schema-metadefs-namespace.json",
    "metadefs/resource_type": "schema-metadefs-resource_type.json",
    "task": "schema-task.json",
    "tasks": "schema-tasks.json",
}


def _strip_descriptions(schema):
    if isinstance(schema, dict):
        return {k: _strip_descriptions(v) for k, v in schema.items()
                if not (k == "description" and isinstance(v, str))}
    if isinstance(schema, list):
        return [_strip_descriptions(v) for v in schema]
    return schema


def _expected_schema(name):
    ref = load_ref(SCHEMAS[name])
    if not IS_GLANCE:
        # Glint omits `stores` (it breaks python-glanceclient's --stores option).
        if name == "image":
            ref["properties"].pop("stores", None)
        elif name == "images":
            ref["properties"]["images"]["items"]["properties"].pop("stores", None)
    return ref


class TestSchemas:
    @pytest.mark.parametrize("name", sorted(SCHEMAS))
    def test_schema_matches_reference(self, api, name):
        r = api.get("/v2/schemas/" + name)
        assert r.status_code == 200
        assert ctype(r) == "application/json"
        got, want = r.json(), _expected_schema(name)
        if not IS_GLANCE:
            # Glint writes its own descriptions; names, types, enums and patterns must match.
            got, want = _strip_descriptions(got), _strip_descriptions(want)
        assert got == want

    def test_image_schema_stores_property(self, api):
        props = api.get("/v2/schemas/image").json()["properties"]
        assert ("stores" in props) == IS_GLANCE


# =====================================================================================
# Create
# =====================================================================================

class TestCreate:
    def test_create_defaults(self, api, make_image):
        r = api.post("/v2/images", json={"name": "created", "color": "red"})
        assert r.status_code == 201, r.text
        img = r.json()
        make_image.track(img["id"])
        assert ctype(r) == "application/json"
        assert UUID_RE.match(img["id"])
        loc = r.headers["Location"]
        assert urlsplit(loc).scheme in ("http", "https")
        assert loc.endswith("/v2/images/%s" % img["id"])
        if IS_GLANCE:
            assert loc == BASE + "/v2/images/%s" % img["id"]
        # Both advertise glance-direct (Glance also web-download and copy-image, which Glint
        # does not implement and so does not list).
        assert "glance-direct" in r.headers["OpenStack-image-import-methods"].split(",")
        assert set(img.keys()) == BASE_IMAGE_KEYS | {"color"}
        assert img["color"] == "red"
        assert img["name"] == "created"
        assert img["status"] == "queued"
        assert img["visibility"] == "shared"
        for k in ("size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
                  "disk_format", "container_format"):
            assert img[k] is None, k
        assert img["protected"] is False and img["os_hidden"] is False
        assert img["min_ram"] == 0 and img["min_disk"] == 0
        assert img["tags"] == []
        assert img["self"] == "/v2/images/%s" % img["id"]
        assert img["file"] == "/v2/images/%s/file" % img["id"]
        assert img["schema"] == "/v2/schemas/image"
        assert TS_RE.match(img["created_at"]) and TS_RE.match(img["updated_at"])
        if IS_GLANCE:
            assert img["owner"] is None   # no-auth context has no project
        # GET returns the same document
        assert api.show(img["id"]) == img

    def test_create_empty_body_object(self, make_image):
        img = make_image()
        assert img["name"] is None and img["status"] == "queued"

    def test_create_with_all_settable_fields(self, make_image, uniq):
        img = make_image(name=uniq, disk_format="qcow2", container_format="bare",
                         visibility="private", protected=True, os_hidden=True,
                         min_ram=512, min_disk=10, tags=["t1", "t2"],
                         os_distro="debian", architecture="x86_64")
        assert img["disk_format"] == "qcow2" and img["container_format"] == "bare"
        assert img["visibility"] == "private"
        assert img["protected"] is True and img["os_hidden"] is True
        assert img["min_ram"] == 512 and img["min_disk"] == 10
        assert sorted(img["tags"]) == ["t1", "t2"]
        assert img["os_distro"] == "debian" and img["architecture"] == "x86_64"

    @pytest.mark.parametrize("vis", ["private", "shared", "community"])
    def test_create_visibility(self, make_image, vis):
        assert make_image(visibility=vis)["visibility"] == vis

    def test_create_tags_deduplicated(self, make_image):
        img = make_image(tags=["a", "a", "b"])
        assert sorted(img["tags"]) == ["a", "b"]

    def test_create_caller_chosen_id(self, api, make_image):
        iid = str(uuid.uuid4())
        img = make_image(id=iid, name="chosen")
        assert img["id"] == iid
        assert api.get("/v2/images/%s" % iid).status_code == 200

    def test_create_duplicate_id_409(self, api, make_image):
        iid = str(uuid.uuid4())
        make_image(id=iid)
        assert_error(api.post("/v2/images", json={"id": iid}), 409)

    def test_create_deleted_id_409(self, api, make_image):
        iid = str(uuid.uuid4())
        make_image(id=iid)
        assert api.delete("/v2/images/%s" % iid).status_code == 204
        assert_error(api.post("/v2/images", json={"id": iid}), 409)

    def test_create_id_not_uuid_400(self, api):
        assert_error(api.post("/v2/images", json={"id": "not-a-uuid"}), 400)

    @pytest.mark.parametrize("key,value", [
        ("status", "active"), ("size", 1), ("virtual_size", 1), ("checksum", "x"),
        ("created_at", "x"), ("updated_at", "x"), ("self", "x"), ("file", "x"),
        ("schema", "x"), ("direct_url", "x"), ("stores", "x"),
    ])
    def test_create_read_only_403(self, api, key, value):
        assert_error(api.post("/v2/images", json={key: value}), 403)

    @pytest.mark.parametrize("key", ["os_hash_value", "os_hash_algo"])
    def test_create_os_hash_fields(self, api, make_image, key):
        r = api.post("/v2/images", json={key: "x"})
        if IS_GLANCE:
            # Glance bug: accepted, stored as a hidden extra property, shown as null.
            assert r.status_code == 201
            make_image.track(r.json()["id"])
            assert r.json()[key] is None
        else:
            assert_error(r, 403)

    @pytest.mark.parametrize("key,value", [
        ("os_glance_foo", "x"), ("location", "x"), ("deleted", "x"), ("deleted_at", "x"),
        ("locations", []),
    ])
    def test_create_reserved_403(self, api, key, value):
        assert_error(api.post("/v2/images", json={key: value}), 403)

    @pytest.mark.parametrize("body", [
        {"disk_format": "bogus"}, {"container_format": "bogus"}, {"min_ram": -1},
        {"min_disk": -1}, {"min_ram": 2 ** 31}, {"min_ram": "5"}, {"min_ram": None},
        {"visibility": "bogus"}, {"visibility": None}, {"protected": "yes"},
        {"os_hidden": 1}, {"color": 1}, {"color": None}, {"name": "x" * 256},
        {"tags": "a"}, {"tags": ["x" * 256]}, {"kernel_id": "bad"},
        {"cinder_encryption_key_deletion_policy": "bad"}, {"k" * 256: "v"},
    ])
    def test_create_invalid_400(self, api, make_image, body):
        r = api.post("/v2/images", json=body)
        if r.status_code == 201:
            make_image.track(r.json()["id"])
        assert_error(r, 400)

    def test_create_limits_accepted(self, make_image):
        img = make_image(name="x" * 255, min_ram=2 ** 31 - 1, tags=["t" * 255],
                         **{"k" * 255: "v"})
        assert img["min_ram"] == 2 ** 31 - 1

    def test_create_malformed_json_400(self, api):
        r = api.post("/v2/images", data=b"{bad", headers={"Content-Type": "application/json"})
        assert_error(r, 400)

    def test_create_empty_body_400(self, api):
        assert_error(api.post("/v2/images", headers={"Content-Type": "application/json"}), 400)

    def test_create_json_array_body(self, api):
        r = api.post("/v2/images", data=b"[]", headers={"Content-Type": "application/json"})
        assert_error(r, glint_or_glance(glint=400, glance=500))

    def test_property_quota_128(self, api, make_image):
        make_image(**{"p%03d" % i: "v" for i in range(128)})
        r = api.post("/v2/images", json={"p%03d" % i: "v" for i in range(129)})
        assert_error(r, 413)

    def test_property_quota_via_patch(self, api, make_image):
        img = make_image(**{"p%03d" % i: "v" for i in range(128)})
        assert_error(api.patch_image(img["id"], [{"op": "add", "path": "/extra", "value": "v"}]), 413)
        r = api.patch_image(img["id"], [{"op": "replace", "path": "/p000", "value": "w"}])
        assert r.status_code == 200

    def test_tag_quota_128(self, api, make_image):
        img = make_image(tags=["t%d" % i for i in range(128)])
        assert len(img["tags"]) == 128
        assert_error(api.post("/v2/images", json={"tags": ["t%d" % i for i in range(129)]}), 413)
        assert_error(api.put("/v2/images/%s/tags/onemore" % img["id"]), 413)


# =====================================================================================
# List
# =====================================================================================

@pytest.fixture(scope="module")
def listing(api, module_images, run_id):
    """A: active raw 1000 B, B: queued protected qcow2, C: queued private iso/ovf,
    D: hidden, E: community.  A, B, C are created >1 s apart."""
    t = run_id + "-list"
    x, y = t + "-x", t + "-y"
    out = {"tag": t, "x": x, "y": y}
    out["A"] = module_images.active(data=b"a" * 1000, name="a-" + t, disk_format="raw",
                                    container_format="bare", color="red", tags=[t, x])
    time.sleep(1.2)
    out["B"] = module_images(name="b-" + t, disk_format="qcow2", container_format="bare",
                             color="blue", protected=True, tags=[t, y])
    time.sleep(1.2)
    out["C"] = module_images(name="c-" + t, disk_format="iso", container_format="ovf",
                             visibility="private", tags=[t, x, y])
    out["D"] = module_images(name="d-" + t, os_hidden=True, tags=[t])
    out["E"] = module_images(name="e-" + t, visibility="community", tags=[t])
    return out


class TestList:
    def ids(self, api, listing, query=""):
        q = "tag=%s" % listing["tag"] + ("&" + query if query else "")
        ids = api.list_ids(q)
        inv = {listing[k]["id"]: k for k in "ABCDE"}
        assert len(ids) == len(set(ids))
        return [inv.get(i, "?" + i) for i in ids]

    def sset(self, api, listing, query=""):
        return set(self.ids(api, listing, query))

    def test_list_shape(self, api, listing):
        r = api.get("/v2/images?tag=%s" % listing["tag"])
        assert r.status_code == 200
        assert ctype(r) == "application/json"
        body = r.json()
        assert set(body.keys()) == {"images", "first", "schema"}
        assert body["schema"] == "/v2/schemas/images"
        assert body["first"] == "/v2/images?tag=%s" % listing["tag"]
        for img in body["images"]:
            assert TS_RE.match(img["created_at"]) and TS_RE.match(img["updated_at"])
            assert img == api.show(img["id"])

    def test_plain_list_first(self, api):
        body = api.get("/v2/images?limit=1").json()
        assert body["first"] == "/v2/images?limit=1"
        body = api.get("/v2/images").json()
        assert body["first"] == "/v2/images"

    def test_default_excludes_hidden_and_community(self, api, listing):
        assert self.sset(api, listing) == {"A", "B", "C"}

    def test_default_order_created_at_desc(self, api, listing):
        assert self.ids(api, listing) == ["C", "B", "A"]

    def test_filter_tags_anded(self, api, listing):
        assert self.sset(api, listing, "tag=" + listing["x"]) == {"A", "C"}
        assert self.sset(api, listing, "tag=%s&tag=%s" % (listing["x"], listing["y"])) == {"C"}
        assert self.sset(api, listing, "tag=nonexistent-" + listing["tag"]) == set()

    def test_filter_os_hidden(self, api, listing):
        assert self.sset(api, listing, "os_hidden=true") == {"D"}
        assert self.sset(api, listing, "os_hidden=True") == {"D"}
        assert self.sset(api, listing, "os_hidden=false") == {"A", "B", "C"}
        assert_error(api.get("/v2/images?os_hidden=bogus"), 400)

    def test_filter_name(self, api, listing):
        t = listing["tag"]
        assert self.sset(api, listing, "name=a-" + t) == {"A"}
        assert self.sset(api, listing, "name=in:a-%s,b-%s" % (t, t)) == {"A", "B"}
        assert self.sset(api, listing, 'name=in:"a-%s",c-%s' % (t, t)) == {"A", "C"}
        assert api.list_ids("name=a-" + t) == [listing["A"]["id"]]

    def test_filter_id(self, api, listing):
        a, b = listing["A"]["id"], listing["B"]["id"]
        assert api.list_ids("id=" + a) == [a]
        assert set(api.list_ids("id=in:%s,%s" % (a, b))) == {a, b}

    def test_filter_status(self, api, listing):
        assert self.sset(api, listing, "status=active") == {"A"}
        assert self.sset(api, listing, "status=queued") == {"B", "C"}
        assert self.sset(api, listing, "status=in:active,queued") == {"A", "B", "C"}

    def test_filter_visibility(self, api, listing):
        assert self.sset(api, listing, "visibility=private") == {"C"}
        assert self.sset(api, listing, "visibility=shared") == {"A", "B"}
        assert self.sset(api, listing, "visibility=community") == {"E"}
        assert self.sset(api, listing, "visibility=all") == {"A", "B", "C", "E"}
        assert_error(api.get("/v2/images?visibility=bogus"), 400)

    def test_filter_formats(self, api, listing):
        assert self.sset(api, listing, "disk_format=raw") == {"A"}
        assert self.sset(api, listing, "disk_format=in:raw,qcow2") == {"A", "B"}
        assert self.sset(api, listing, "container_format=bare") == {"A", "B"}
        assert self.sset(api, listing, "container_format=ovf") == {"C"}

    def test_filter_size(self, api, listing):
        assert self.sset(api, listing, "size_min=1000") == {"A"}
        assert self.sset(api, listing, "size_min=1001") == set()
        assert self.sset(api, listing, "size_max=999") == set()
        assert self.sset(api, listing, "size_min=1&size_max=1000") == {"A"}
        # queued images have NULL size and never match a size range
        assert self.sset(api, listing, "size_min=0") == {"A"}
        assert_error(api.get("/v2/images?size_min=abc"), 400)

    def test_filter_checksum(self, api, listing):
        assert self.sset(api, listing, "checksum=" + listing["A"]["checksum"]) == {"A"}
        assert self.sset(api, listing, "checksum=0123") == set()

    def test_filter_protected(self, api, listing):
        assert self.sset(api, listing, "protected=true") == {"B"}
        assert self.sset(api, listing, "protected=false") == {"A", "C"}
        assert_error(api.get("/v2/images?protected=1"), 400)

    def test_filter_custom_property(self, api, listing):
        assert self.sset(api, listing, "color=red") == {"A"}
        assert self.sset(api, listing, "color=blue") == {"B"}
        # `in:` is not supported for custom properties: the value is compared literally
        assert self.sset(api, listing, "color=in:red,blue") == set()
        # an unknown parameter is a property filter, not an error
        assert self.sset(api, listing, "nosuchparam=1") == set()

    def test_filter_unknown_operator_400(self, api, listing):
        assert_error(api.get("/v2/images?name=neq:x"), 400)
        assert_error(api.get("/v2/images?status=bogus:x"), 400)

    def test_filter_created_at(self, api, listing):
        a, b = listing["A"]["created_at"], listing["B"]["created_at"]
        assert {"B", "C"} <= self.sset(api, listing, "created_at=gt:" + a)
        if IS_GLANCE:
            # Glance keeps microseconds in the DB but shows whole seconds, so an image
            # is "greater than" its own displayed created_at.
            assert "A" in self.sset(api, listing, "created_at=gt:" + a)
        assert self.sset(api, listing, "created_at=lt:" + b) == {"A"}
        assert self.sset(api, listing, "created_at=gte:" + b) == {"B", "C"}
        assert self.sset(api, listing, "created_at=lt:2000-01-01T00:00:00Z") == set()
        assert self.sset(api, listing, "created_at=gt:2000-01-01T00:00:00Z") == {"A", "B", "C"}
        assert self.sset(api, listing, "updated_at=gt:2000-01-01T00:00:00Z") == {"A", "B", "C"}
        assert_error(api.get("/v2/images?created_at=gt:notatime"), 400)
        assert_error(api.get("/v2/images?created_at=foo:" + a), 400)

    def test_changes_since_rejected(self, api):
        assert_error(api.get("/v2/images?changes-since=2020-01-01T00:00:00Z"), 400)

    def test_member_status_invalid(self, api):
        assert_error(api.get("/v2/images?member_status=bogus"), 400)

    def test_sort(self, api, listing):
        assert self.ids(api, listing, "sort_key=name&sort_dir=asc") == ["A", "B", "C"]
        assert self.ids(api, listing, "sort_key=name") == ["C", "B", "A"]   # dir defaults to desc
        assert self.ids(api, listing, "sort_key=name&sort_dir=desc") == ["C", "B", "A"]
        assert self.ids(api, listing, "sort_key=created_at&sort_dir=asc") == ["A", "B", "C"]
        assert self.ids(api, listing, "sort=name:asc,created_at:desc") == ["A", "B", "C"]
        assert self.ids(api, listing, "sort=name") == ["C", "B", "A"]
        assert self.ids(api, listing, "sort=created_at:asc") == ["A", "B", "C"]
        assert self.ids(api, listing, "sort=disk_format:asc") == ["C", "B", "A"]  # iso<qcow2<raw
        assert self.ids(api, listing, "sort_key=container_format&sort_key=name&sort_dir=asc") \
            == ["A", "B", "C"]
        assert self.ids(api, listing, "sort_key=size&sort_key=name&sort_dir=desc&sort_dir=asc")[0] == "A"

    @pytest.mark.parametrize("query", [
        "sort_key=bogus", "sort_dir=up", "sort=name:up", "sort=bogus:asc",
        "sort=name:asc&sort_key=name", "sort_key=name&sort_key=id&sort_dir=asc&sort_dir=desc&sort_dir=asc",
        "sort_key=owner",
    ])
    def test_sort_invalid_400(self, api, query):
        assert_error(api.get("/v2/images?" + query), 400)

    @pytest.mark.parametrize("query", ["limit=-1", "limit=abc", "marker=%s" % uuid.uuid4(),
                                       "marker=junk"])
    def test_bad_paging_params_400(self, api, query):
        assert_error(api.get("/v2/images?" + query), 400)

    def test_limit_zero(self, api, listing):
        body = api.get("/v2/images?tag=%s&limit=0" % listing["tag"]).json()
        assert body["images"] == [] and "next" not in body


def _make_many(api, factory, n, **props):
    # Sequential on purpose: Glance on SQLite answers concurrent writes with 500
    # "database is locked" (see NOTES.md).
    ids = []
    for i in range(n):
        r = api.post("/v2/images", json=dict(props, name="%s-%04d" % (props.get("name", "n"), i)))
        assert r.status_code == 201, r.text[:200]
        factory.track(r.json()["id"])
        ids.append(r.json()["id"])
    return ids


class TestPaging:
    def follow(self, api, url):
        pages = []
        while url:
            r = api.get(url)
            assert r.status_code == 200
            body = r.json()
            pages.append(body)
            nxt = body.get("next")
            if nxt:
                assert nxt.startswith("/v2/images?")
                q = dict(parse_qsl(urlsplit(nxt).query))
                assert q["marker"] == body["images"][-1]["id"]
            url = nxt
            assert len(pages) < 50
        return pages

    def test_pages_follow_next(self, api, make_image, uniq):
        ids = []
        for i in range(5):
            ids.append(make_image(name="%s-%d" % (uniq, i), tags=[uniq])["id"])
        pages = self.follow(api, "/v2/images?tag=%s&limit=2" % uniq)
        assert [len(p["images"]) for p in pages] == [2, 2, 1]
        assert "next" in pages[0] and "next" in pages[1] and "next" not in pages[2]
        q = dict(parse_qsl(urlsplit(pages[0]["next"]).query))
        assert q["tag"] == uniq and q["limit"] == "2"
        got = [i["id"] for p in pages for i in p["images"]]
        assert sorted(got) == sorted(ids) and len(set(got)) == 5
        # first never carries the marker
        assert all("marker" not in p["first"] for p in pages)

    def test_pages_sorted_by_name(self, api, make_image, uniq):
        ids = [make_image(name="%s-%d" % (uniq, i), tags=[uniq])["id"] for i in range(5)]
        pages = self.follow(api, "/v2/images?tag=%s&limit=2&sort_key=name&sort_dir=asc" % uniq)
        assert [i["id"] for p in pages for i in p["images"]] == ids

    def test_exactly_full_last_page_still_has_next(self, api, make_image, uniq):
        for i in range(4):
            make_image(name=uniq, tags=[uniq])
        pages = self.follow(api, "/v2/images?tag=%s&limit=2" % uniq)
        assert [len(p["images"]) for p in pages] == [2, 2, 0]
        assert "next" not in pages[2]

    def test_default_limit_25(self, api, make_image, uniq):
        _make_many(api, make_image, 26, name=uniq, tags=[uniq])
        body = api.get("/v2/images?tag=%s" % uniq).json()
        assert len(body["images"]) == 25
        assert "next" in body
        rest = api.get(body["next"]).json()
        assert len(rest["images"]) == 1 and "next" not in rest

    @pytest.mark.slow
    def test_limit_capped_at_1000(self, api, make_image, uniq):
        _make_many(api, make_image, 1001, name=uniq, tags=[uniq])
        body = api.get("/v2/images?tag=%s&limit=5000" % uniq).json()
        assert len(body["images"]) == 1000
        q = dict(parse_qsl(urlsplit(body["next"]).query))
        assert q["limit"] == "5000"       # the requested limit is echoed, not the cap
        rest = api.get(body["next"]).json()
        assert len(rest["images"]) == 1 and "next" not in rest


# =====================================================================================
# Show / delete
# =====================================================================================

class TestShowDelete:
    @pytest.mark.parametrize("iid", [str(uuid.uuid4()), "not-a-uuid", "12345"])
    def test_unknown_or_malformed_id_404(self, api, iid):
        assert_error(api.get("/v2/images/%s" % iid), 404)
        assert_error(api.delete("/v2/images/%s" % iid), 404)
        assert_error(api.patch_image(iid, []), 404)
        assert_error(api.get("/v2/images/%s/file" % iid), 404)
        assert_error(api.upload(iid, b"x"), 404)
        assert_error(api.put("/v2/images/%s/tags/t" % iid), 404)
        assert_error(api.delete("/v2/images/%s/tags/t" % iid), 404)
        assert_error(api.post("/v2/images/%s/actions/deactivate" % iid), 404)
        assert_error(api.post("/v2/images/%s/actions/reactivate" % iid), 404)

    def test_id_is_case_sensitive(self, api, make_image):
        img = make_image()
        assert_error(api.get("/v2/images/%s" % img["id"].upper()), 404)

    def test_delete_then_everything_404(self, api, make_image, uniq):
        img = make_image(name=uniq, tags=[uniq])
        iid = img["id"]
        r = api.delete("/v2/images/%s" % iid)
        assert r.status_code == 204
        assert r.content == b""
        assert_error(api.get("/v2/images/%s" % iid), 404)
        assert_error(api.delete("/v2/images/%s" % iid), 404)
        assert_error(api.patch_image(iid, []), 404)
        assert_error(api.get("/v2/images/%s/file" % iid), 404)
        assert_error(api.upload(iid, b"x"), 404)
        assert_error(api.put("/v2/images/%s/tags/t" % iid), 404)
        assert api.list_ids("tag=" + uniq) == []
        assert api.list_ids("id=" + iid) == []

    def test_delete_active_image(self, api, make_image):
        img = make_image.active()
        assert api.delete("/v2/images/%s" % img["id"]).status_code == 204
        assert_error(api.get("/v2/images/%s/file" % img["id"]), 404)

    def test_delete_deactivated_image(self, api, make_image):
        img = make_image.active()
        assert api.post("/v2/images/%s/actions/deactivate" % img["id"]).status_code == 204
        assert api.delete("/v2/images/%s" % img["id"]).status_code == 204

    def test_protected_delete_403(self, api, make_image):
        img = make_image(protected=True)
        assert_error(api.delete("/v2/images/%s" % img["id"]), 403)
        assert api.show(img["id"])["status"] == "queued"
        r = api.patch_image(img["id"], [{"op": "replace", "path": "/protected", "value": False}])
        assert r.status_code == 200
        assert api.delete("/v2/images/%s" % img["id"]).status_code == 204


# =====================================================================================
# PATCH
# =====================================================================================

class TestPatch:
    def test_replace_add_name(self, api, make_image):
        img = make_image(name="before")
        r = api.patch_image(img["id"], [{"op": "replace", "path": "/name", "value": "after"}])
        assert r.status_code == 200
        assert ctype(r) == "application/json"
        body = r.json()
        assert body["name"] == "after"
        assert set(body.keys()) == BASE_IMAGE_KEYS
        assert body == api.show(img["id"])
        r = api.patch_image(img["id"], [{"op": "add", "path": "/name", "value": "added"}])
        assert r.status_code == 200 and r.json()["name"] == "added"
        r = api.patch_image(img["id"], [{"op": "replace", "path": "/name", "value": None}])
        assert r.status_code == 200 and r.json()["name"] is None

    @pytest.mark.parametrize("prop", ["name", "tags", "min_ram", "min_disk", "disk_format",
                                      "container_format", "visibility", "protected",
                                      "os_hidden"])
    def test_remove_base_property_403(self, api, make_image, prop):
        img = make_image(name="n")
        assert_error(api.patch_image(img["id"], [{"op": "remove", "path": "/" + prop}]), 403)

    def test_tags(self, api, make_image):
        img = make_image(tags=["a", "b"])
        r = api.patch_image(img["id"], [{"op": "add", "path": "/tags", "value": ["c"]}])
        assert r.status_code == 200 and r.json()["tags"] == ["c"]   # add replaces the set
        r = api.patch_image(img["id"], [{"op": "replace", "path": "/tags", "value": ["d", "e", "d"]}])
        assert r.status_code == 200 and sorted(r.json()["tags"]) == ["d", "e"]
        r = api.patch_image(img["id"], [{"op": "replace", "path": "/tags", "value": []}])
        assert r.status_code == 200 and r.json()["tags"] == []
        assert_error(api.patch_image(img["id"], [{"op": "add", "path": "/tags/-", "value": "w"}]), 400)
        assert_error(api.patch_image(img["id"], [{"op": "add", "path": "/tags", "value": "w"}]), 400)

    def test_custom_property(self, api, make_image):
        img = make_image(color="red")
        iid = img["id"]
        r = api.patch_image(iid, [{"op": "add", "path": "/shape", "value": "round"}])
        assert r.status_code == 200 and r.json()["shape"] == "round"
        r = api.patch_image(iid, [{"op": "add", "path": "/color", "value": "blue"}])  # add = set
        assert r.status_code == 200 and r.json()["color"] == "blue"
        r = api.patch_image(iid, [{"op": "replace", "path": "/shape", "value": "square"}])
        assert r.status_code == 200 and r.json()["shape"] == "square"
        r = api.patch_image(iid, [{"op": "remove", "path": "/shape"}])
        assert r.status_code == 200 and "shape" not in r.json()
        assert "shape" not in api.show(iid)
        assert_error(api.patch_image(iid, [{"op": "remove", "path": "/shape"}]), 409)
        assert_error(api.patch_image(iid, [{"op": "replace", "path": "/nope", "value": "x"}]), 409)
        assert_error(api.patch_image(iid, [{"op": "add", "path": "/shape", "value": 5}]), 400)

    def test_escaped_pointer(self, api, make_image):
        img = make_image()
        r = api.patch_image(img["id"], [{"op": "add", "path": "/a~1b~0c", "value": "x"}])
        assert r.status_code == 200 and r.json()["a/b~c"] == "x"

    def test_min_ram(self, api, make_image):
        img = make_image()
        r = api.patch_image(img["id"], [{"op": "add", "path": "/min_ram", "value": 512}])
        assert r.status_code == 200 and r.json()["min_ram"] == 512
        r = api.patch_image(img["id"], [{"op": "replace", "path": "/min_ram", "value": 1024}])
        assert r.status_code == 200 and r.json()["min_ram"] == 1024
        assert_error(api.patch_image(img["id"], [{"op": "replace", "path": "/min_ram", "value": -1}]), 400)
        assert_error(api.patch_image(img["id"], [{"op": "replace", "path": "/min_ram", "value": "5"}]), 400)
        assert_error(api.patch_image(img["id"], [{"op": "replace", "path": "/min_disk", "value": 2 ** 31}]), 400)
        assert api.show(img["id"])["min_ram"] == 1024

    def test_v20_patch_dialect(self, api, make_image):
        img = make_image(name="v20")
        iid = img["id"]
        r = api.patch_image(iid, [{"replace": "/name", "value": "v20b"}], PATCH_20)
        assert r.status_code == 200 and r.json()["name"] == "v20b"
        r = api.patch_image(iid, [{"add": "/prop", "value": "v"}], PATCH_20)
        assert r.status_code == 200 and r.json()["prop"] == "v"
        r = api.patch_image(iid, [{"remove": "/prop"}], PATCH_20)
        assert r.status_code == 200 and "prop" not in r.json()
        # the v2.1 (op/path) form is rejected under the v2.0 media type, and vice versa
        assert_error(api.patch_image(iid, [{"op": "replace", "path": "/name", "value": "x"}], PATCH_20), 400)
        assert_error(api.patch_image(iid, [{"replace": "/name", "value": "x"}], PATCH_21), 400)
        assert_error(api.patch_image(iid, [{"add": "/a", "remove": "/b", "value": "x"}], PATCH_20), 400)

    @pytest.mark.parametrize("op", [
        {"op": "move", "from": "/name", "path": "/x"},
        {"op": "copy", "from": "/name", "path": "/x"},
        {"op": "test", "path": "/name", "value": "x"},
        {"op": "bogus", "path": "/name", "value": "x"},
        {"path": "/name", "value": "x"},                 # no op
        {"op": "add", "path": "/name"},                  # no value
        {"op": "add", "value": "x"},                     # no path
        {"op": "add", "path": "name", "value": "x"},     # no leading slash
        {"op": "add", "path": "/a/b", "value": "x"},     # too deep
        {"op": "add", "path": "/a~2", "value": "x"},     # bad escape
    ])
    def test_bad_operation_400(self, api, make_image, op):
        img = make_image()
        assert_error(api.patch_image(img["id"], [op]), 400)

    @pytest.mark.parametrize("body", [b"[{bad", b"{}", b"", b"[1]", b'"x"'])
    def test_bad_body_400(self, api, make_image, body):
        img = make_image()
        r = api.patch("/v2/images/%s" % img["id"], data=body, headers={"Content-Type": PATCH_21})
        assert_error(r, 400)

    def test_empty_patch_200(self, api, make_image):
        img = make_image(name="same")
        r = api.patch_image(img["id"], [])
        assert r.status_code == 200 and r.json()["name"] == "same"

    @pytest.mark.parametrize("ct", ["application/json", "application/json-patch+json",
                                    "text/plain", None])
    def test_wrong_content_type_415(self, api, make_image, ct):
        img = make_image()
        headers = {"Content-Type": ct} if ct else {}
        r = api.patch("/v2/images/%s" % img["id"], headers=headers,
                      data=json.dumps([{"op": "replace", "path": "/name", "value": "x"}]))
        assert_error(r, 415)
        assert r.headers["Accept-Patch"] == \
            "application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch"

    @pytest.mark.parametrize("path", ["/status", "/checksum", "/size", "/virtual_size", "/id",
                                      "/self", "/file", "/schema", "/created_at", "/updated_at",
                                      "/os_hash_algo", "/os_hash_value", "/direct_url"])
    def test_read_only_403(self, api, make_image, path):
        img = make_image()
        for op in ("replace", "add", "remove"):
            o = {"op": op, "path": path}
            if op != "remove":
                o["value"] = "x"
            assert_error(api.patch_image(img["id"], [o]), 403)

    @pytest.mark.parametrize("path", ["/os_glance_x", "/deleted", "/location", "/deleted_at"])
    def test_reserved_403(self, api, make_image, path):
        img = make_image()
        assert_error(api.patch_image(img["id"], [{"op": "add", "path": path, "value": "x"}]), 403)

    def test_patch_is_atomic(self, api, make_image):
        img = make_image(name="orig")
        r = api.patch_image(img["id"], [{"op": "replace", "path": "/name", "value": "changed"},
                                        {"op": "remove", "path": "/missing"}])
        assert_error(r, 409)
        assert api.show(img["id"])["name"] == "orig"

    def test_formats_replaceable_only_while_queued(self, api, make_image):
        img = make_image(disk_format="raw", container_format="bare")
        r = api.patch_image(img["id"], [{"op": "replace", "path": "/disk_format", "value": "qcow2"}])
        assert r.status_code == 200 and r.json()["disk_format"] == "qcow2"
        r = api.patch_image(img["id"], [{"op": "replace", "path": "/disk_format", "value": "raw"}])
        assert r.status_code == 200
        assert api.upload(img["id"], b"y" * 100).status_code == 204
        for path, value in (("/disk_format", "qcow2"), ("/disk_format", "raw"),
                            ("/container_format", "ovf")):
            for op in ("replace", "add"):
                r = api.patch_image(img["id"], [{"op": op, "path": path, "value": value}])
                assert_error(r, 403)
        # other attributes stay editable on active and deactivated images
        r = api.patch_image(img["id"], [{"op": "replace", "path": "/name", "value": "active"}])
        assert r.status_code == 200
        assert api.post("/v2/images/%s/actions/deactivate" % img["id"]).status_code == 204
        r = api.patch_image(img["id"], [{"op": "replace", "path": "/name", "value": "deact"}])
        assert r.status_code == 200 and r.json()["status"] == "deactivated"

    def test_visibility_and_flags(self, api, make_image):
        img = make_image()
        for path, value in (("/visibility", "private"), ("/visibility", "community"),
                            ("/visibility", "shared"), ("/os_hidden", True),
                            ("/protected", True), ("/protected", False), ("/owner", "someproject")):
            r = api.patch_image(img["id"], [{"op": "replace", "path": path, "value": value}])
            assert r.status_code == 200, (path, r.text[:200])
            assert r.json()[path[1:]] == value
        assert_error(api.patch_image(img["id"], [{"op": "replace", "path": "/visibility", "value": "x"}]), 400)
        assert_error(api.patch_image(img["id"], [{"op": "replace", "path": "/protected", "value": "true"}]), 400)


# =====================================================================================
# Upload
# =====================================================================================

@pytest.fixture(scope="module")
def mib_data():
    return os.urandom(MIB)


def check_hashes(img, data):
    assert img["status"] == "active"
    assert img["size"] == len(data)
    assert img["checksum"] == hashlib.md5(data).hexdigest()
    assert img["os_hash_algo"] == "sha512"
    assert img["os_hash_value"] == hashlib.sha512(data).hexdigest()


class TestUpload:
    def test_upload_1mib(self, api, make_image, mib_data):
        img = make_image(name="up", disk_format="raw", container_format="bare")
        r = api.upload(img["id"], mib_data)
        assert r.status_code == 204
        assert r.content == b""
        got = api.show(img["id"])
        check_hashes(got, mib_data)
        assert got["virtual_size"] == MIB
        assert TS_RE.match(got["updated_at"])

    def test_upload_content_type_with_parameters(self, api, make_image):
        img = make_image(disk_format="raw", container_format="bare")
        r = api.upload(img["id"], b"abc", content_type="application/octet-stream; charset=binary")
        assert r.status_code == 204
        check_hashes(api.show(img["id"]), b"abc")

    def test_chunked_upload(self, api, make_image, mib_data):
        img = make_image(disk_format="raw", container_format="bare")

        def gen():
            for i in range(0, len(mib_data), 65536):
                yield mib_data[i:i + 65536]
        r = api.upload(img["id"], gen())
        assert r.request.headers.get("Transfer-Encoding") == "chunked"
        assert r.status_code == 204
        got = api.show(img["id"])
        check_hashes(got, mib_data)
        assert api.get("/v2/images/%s/file" % img["id"]).content == mib_data

    @pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img")
    def test_qcow2_virtual_size(self, api, make_image):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x.qcow2")
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", path, "64M"], check=True)
            with open(path, "rb") as f:
                data = f.read()
        img = make_image(disk_format="qcow2", container_format="bare")
        assert api.upload(img["id"], data).status_code == 204
        got = api.show(img["id"])
        check_hashes(got, data)
        assert got["virtual_size"] == 67108864
        assert got["size"] == len(data) < 67108864

    def test_empty_upload(self, api, make_image):
        img = make_image(disk_format="raw", container_format="bare")
        assert api.upload(img["id"], b"").status_code == 204
        got = api.show(img["id"])
        check_hashes(got, b"")
        if IS_GLANCE:
            assert got["virtual_size"] is None
        else:
            assert got["virtual_size"] in (0, None)
        r = api.get("/v2/images/%s/file" % img["id"])
        assert r.status_code == 200 and r.content == b""

    def test_upload_to_active_409(self, api, make_image):
        img = make_image.active()
        assert_error(api.upload(img["id"], b"again"), 409)
        assert api.show(img["id"])["size"] == 1024

    def test_upload_to_deactivated_409(self, api, make_image):
        img = make_image.active()
        assert api.post("/v2/images/%s/actions/deactivate" % img["id"]).status_code == 204
        assert_error(api.upload(img["id"], b"again"), 409)

    @pytest.mark.parametrize("ct", ["text/plain", "application/json", None])
    def test_upload_wrong_content_type_415(self, api, make_image, ct):
        img = make_image(disk_format="raw", container_format="bare")
        r = api.upload(img["id"], b"abc", content_type=ct)
        assert_error(r, 415)
        assert api.show(img["id"])["status"] == "queued"

    def test_upload_without_formats_400(self, api, make_image):
        img = make_image(name="nofmt")
        assert_error(api.upload(img["id"], b"abc"), 400)
        got = api.show(img["id"])
        assert got["status"] == "queued" and got["size"] is None

    def test_upload_with_only_disk_format_400(self, api, make_image):
        img = make_image(disk_format="raw")
        assert_error(api.upload(img["id"], b"abc"), 400)

    def test_upload_to_deleted_404(self, api, make_image):
        img = make_image(disk_format="raw", container_format="bare")
        assert api.delete("/v2/images/%s" % img["id"]).status_code == 204
        assert_error(api.upload(img["id"], b"abc"), 404)


# =====================================================================================
# Download
# =====================================================================================

@pytest.fixture(scope="module")
def active_mib(api, module_images, mib_data):
    img = module_images.active(data=mib_data, name="dl")
    return img


class TestDownload:
    def test_download(self, api, active_mib, mib_data):
        r = api.get("/v2/images/%s/file" % active_mib["id"])
        assert r.status_code == 200
        assert ctype(r) == OCTET
        # Content-MD5 is the hex md5 (what python-glanceclient verifies), not base64
        assert r.headers["Content-MD5"] == hashlib.md5(mib_data).hexdigest()
        assert r.headers["Content-Length"] == str(MIB)
        assert r.content == mib_data

    def test_download_streamed(self, api, active_mib, mib_data):
        with api.get("/v2/images/%s/file" % active_mib["id"], stream=True) as r:
            assert r.status_code == 200
            h = hashlib.md5()
            for chunk in r.iter_content(65536):
                h.update(chunk)
        assert h.hexdigest() == active_mib["checksum"]

    @pytest.mark.parametrize("rng,start,end", [
        ("bytes=100-199", 100, 199),
        ("bytes=0-0", 0, 0),
        ("bytes=-100", MIB - 100, MIB - 1),
        ("bytes=1048500-", 1048500, MIB - 1),
        ("bytes=1048500-2000000", 1048500, MIB - 1),
    ])
    def test_range(self, api, active_mib, mib_data, rng, start, end):
        r = api.get("/v2/images/%s/file" % active_mib["id"], headers={"Range": rng})
        assert r.status_code == 206
        assert ctype(r) == OCTET
        assert r.headers["Content-Range"] == "bytes %d-%d/%d" % (start, end, MIB)
        assert r.headers["Content-Length"] == str(end - start + 1)
        assert r.content == mib_data[start:end + 1]

    @pytest.mark.parametrize("rng", ["bytes=1048576-", "bytes=2000000-2000100", "bytes=10-5",
                                     "junk", "bytes=abc"])
    def test_range_not_satisfiable_416(self, api, active_mib, rng):
        r = api.get("/v2/images/%s/file" % active_mib["id"], headers={"Range": rng})
        assert_error(r, 416)

    def test_multi_range_400(self, api, active_mib):
        r = api.get("/v2/images/%s/file" % active_mib["id"], headers={"Range": "bytes=0-1,5-6"})
        assert_error(r, 400)

    def test_queued_download_204(self, api, make_image):
        img = make_image(disk_format="raw", container_format="bare")
        r = api.get("/v2/images/%s/file" % img["id"])
        assert r.status_code == 204
        assert r.content == b""
        assert "Content-MD5" not in r.headers

    def test_deactivated_download_as_admin(self, api, make_image):
        data = b"d" * 2048
        img = make_image.active(data=data)
        assert api.post("/v2/images/%s/actions/deactivate" % img["id"]).status_code == 204
        r = api.get("/v2/images/%s/file" % img["id"])
        # Glance lets admins download deactivated images (non-admins get 403)
        assert r.status_code == 200 and r.content == data


# =====================================================================================
# Tags and actions
# =====================================================================================

class TestTags:
    def test_put_delete_tag(self, api, make_image, uniq):
        img = make_image(tags=["a"])
        iid = img["id"]
        r = api.put("/v2/images/%s/tags/%s" % (iid, uniq))
        assert r.status_code == 204 and r.content == b""
        assert api.put("/v2/images/%s/tags/%s" % (iid, uniq)).status_code == 204   # idempotent
        assert sorted(api.show(iid)["tags"]) == sorted(["a", uniq])
        assert api.list_ids("tag=" + uniq) == [iid]
        r = api.delete("/v2/images/%s/tags/%s" % (iid, uniq))
        assert r.status_code == 204 and r.content == b""
        assert api.show(iid)["tags"] == ["a"]
        assert_error(api.delete("/v2/images/%s/tags/%s" % (iid, uniq)), 404)

    def test_tag_with_space_and_max_length(self, api, make_image):
        img = make_image()
        assert api.put("/v2/images/%s/tags/with%%20space" % img["id"]).status_code == 204
        assert api.put("/v2/images/%s/tags/%s" % (img["id"], "t" * 255)).status_code == 204
        assert sorted(api.show(img["id"])["tags"]) == sorted(["with space", "t" * 255])
        assert_error(api.put("/v2/images/%s/tags/%s" % (img["id"], "t" * 256)), 400)

    def test_tags_on_active_image(self, api, make_image):
        img = make_image.active()
        assert api.put("/v2/images/%s/tags/ok" % img["id"]).status_code == 204


class TestActions:
    def test_deactivate_reactivate(self, api, make_image):
        img = make_image.active()
        iid = img["id"]
        r = api.post("/v2/images/%s/actions/deactivate" % iid)
        assert r.status_code == 204 and r.content == b""
        assert api.show(iid)["status"] == "deactivated"
        assert api.post("/v2/images/%s/actions/deactivate" % iid).status_code == 204
        r = api.post("/v2/images/%s/actions/reactivate" % iid)
        assert r.status_code == 204 and r.content == b""
        assert api.show(iid)["status"] == "active"
        assert api.post("/v2/images/%s/actions/reactivate" % iid).status_code == 204

    def test_deactivated_is_listed(self, api, make_image, uniq):
        img = make_image.active(tags=[uniq])
        api.post("/v2/images/%s/actions/deactivate" % img["id"])
        assert api.list_ids("tag=%s&status=deactivated" % uniq) == [img["id"]]

    def test_actions_on_queued_403(self, api, make_image):
        img = make_image()
        assert_error(api.post("/v2/images/%s/actions/deactivate" % img["id"]), 403)
        assert_error(api.post("/v2/images/%s/actions/reactivate" % img["id"]), 403)
        assert api.show(img["id"])["status"] == "queued"
