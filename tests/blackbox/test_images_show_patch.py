"""Image API v2 black-box conformance (Glance 25 "Zed" behaviour).

Showing, deleting and patching images; tags and actions.

Every assertion was checked against Debian's glance-api 2:25.1.0 (file store, no-auth
pipeline).  Where Glint deliberately differs, `glint_or_glance(glint=..., glance=...)`
selects the expectation; see NOTES.md for the observations behind each test.
"""
import json
import uuid

import pytest

from conftest import (
    PATCH_20, PATCH_21, BASE_IMAGE_KEYS, assert_error, ctype,
)


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
