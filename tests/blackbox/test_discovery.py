"""Image API v2 black-box conformance (Glance 25 "Zed" behaviour).

Discovery, authentication and the schemas.

Every assertion was checked against Debian's glance-api 2:25.1.0 (file store, no-auth
pipeline).  Where Glint deliberately differs, `glint_or_glance(glint=..., glance=...)`
selects the expectation; see NOTES.md for the observations behind each test.
"""
import copy
import json
import os
import uuid

import pytest

from conftest import (
    BASE, TOKEN, IS_GLANCE, REFERENCE_DIR, REQ_ID_RE, Api, assert_error, assert_allow, ctype,
)


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
