"""Image API v2 black-box conformance (Glance 25 "Zed" behaviour).

Creating images, listing and paging them.

Every assertion was checked against Debian's glance-api 2:25.1.0 (file store, no-auth
pipeline).  Where Glint deliberately differs, `glint_or_glance(glint=..., glance=...)`
selects the expectation; see NOTES.md for the observations behind each test.
"""
import time
import uuid
from urllib.parse import urlsplit, parse_qsl

import pytest

from conftest import (
    BASE, IS_GLANCE, UUID_RE, TS_RE, BASE_IMAGE_KEYS, assert_error, glint_or_glance, ctype,
)


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
