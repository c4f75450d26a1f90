"""Requests as an attacker would send them: none may crash or hang glint-api, each gets
a readable 4xx in Glance's JSON error shape, and no tenant reaches another's data.

Each test ends by checking the server is still alive (same process, answering)."""
import hashlib
import json
import os
import socket

import pytest
import requests

import glint_server

PATCH_21 = "application/openstack-images-v2.1-json-patch"
OCTET = "application/octet-stream"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    d = tmp_path_factory.mktemp("glint-hostile")
    conf = d / "glint.conf"
    conf.write_text("[DEFAULT]\nshow_multiple_locations = true\nshow_image_direct_url = true\n")
    s = glint_server.GlintServer(str(d), config=str(conf))
    s.manage("bootstrap", "--bootstrap-password", "adminpw")
    for p in ("pa", "pb", "services"):
        s.manage("project-create", p)
    s.manage("user-create", "alice", "--password", "pwa", "--project", "pa")
    s.manage("user-create", "bob", "--password", "pwb", "--project", "pb")
    s.manage("user-create", "nova", "--password", "pwn", "--project", "services", "--role", "service")
    s.start()
    s.tokens = {"alice": s.token_for("alice", "pwa", "pa"), "bob": s.token_for("bob", "pwb", "pb"),
                "nova": s.token_for("nova", "pwn", "services")}
    s.pid = s.proc.pid
    yield s
    s.stop()


def call(cloud, who, method, path, **kw):
    h = kw.pop("headers", {})
    h.setdefault("X-Auth-Token", cloud.tokens.get(who, cloud.token))
    return requests.request(method, cloud.url + path, headers=h, timeout=30, **kw)


def assert_alive(cloud):
    assert cloud.proc.poll() is None, "glint-api died; log: " + cloud.read_log()[-3000:]
    assert cloud.proc.pid == cloud.pid
    r = requests.get(cloud.url + "/healthcheck", timeout=10)
    assert r.status_code == 200


def assert_glance_error(r, code):
    assert r.status_code == code, r.text[:500]
    body = r.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert len(r.content) < 4096, "echoed input must be bounded"


def nested(depth):
    return "[" * depth + "]" * depth


def image(cloud, who, **props):
    body = {"disk_format": "raw", "container_format": "bare"}
    body.update(props)
    r = call(cloud, who, "POST", "/v2/images", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def deep_object(depth):
    return '{"a":' * depth + "1" + "}" * depth


def test_deeply_nested_json_on_the_token_route_without_credentials(cloud):
    bodies = []
    for depth, deep in ((100, deep_object(100)), (10000, deep_object(10000)), (400000, nested(400000))):
        bodies += [
            '{"auth": ' + nested(depth) + "}",
            '{"auth": {"identity": ' + deep + "}}",
            '{"auth": {"identity": {"methods": ["password"], "password": {"user": ' + deep + "}}}}",
            '{"auth": {"identity": {"methods": ["token"], "token": ' + deep + '}}, "scope": ' + deep + "}",
            '{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", '
            '"domain": {"id": "default"}, "password": "x"}}}, "scope": {"project": ' + deep + "}}}",
        ]
    for body in bodies:
        r = requests.post(cloud.url + "/identity/v3/auth/tokens", data=body,
                          headers={"Content-Type": "application/json"}, timeout=30)
        assert 400 <= r.status_code < 500, r.text[:200]
        assert r.json()["error"]["code"] == r.status_code
    assert_alive(cloud)


@pytest.mark.parametrize("method,path,ctype", [
    ("POST", "/v2/images", "application/json"),
    ("PATCH", "/v2/images/{id}", PATCH_21),
    ("POST", "/v2/images/{id}/members", "application/json"),
    ("PUT", "/v2/images/{id}/members/{member}", "application/json"),
    ("POST", "/v2/images/{id}/import", "application/json"),
    ("POST", "/v2/images/{id}/locations", "application/json"),
    ("POST", "/v2/metadefs/namespaces", "application/json"),
    ("PUT", "/v2/metadefs/namespaces/{ns}", "application/json"),
    ("POST", "/v2/metadefs/namespaces/{ns}/objects", "application/json"),
    ("POST", "/v2/metadefs/namespaces/{ns}/properties", "application/json"),
    ("POST", "/v2/metadefs/namespaces/{ns}/tags", "application/json"),
    ("POST", "/v2/metadefs/namespaces/{ns}/resource_types", "application/json"),
])
def test_nested_huge_and_non_utf8_bodies_on_every_json_route(cloud, method, path, ctype):
    img = image(cloud, None, visibility="shared")
    ns = "hostile-ns"
    r = call(cloud, None, "POST", "/v2/metadefs/namespaces", json={"namespace": ns})
    assert r.status_code in (201, 409), r.text  # the namespace the item routes parse bodies for
    target = path.format(id=img["id"], member="pb", ns=ns)
    cases = [
        (nested(5000).encode(), 400),
        (("[" + "1," * 600000 + "1]").encode(), 413),  # over the JSON body limit
        (b'{"name": "\xff\xfe\xc3"}', 400),             # not UTF-8
        (b'[{"op": "add", "path": "/\xff", "value": "\xc3\x28"}]', 400),
    ]
    for body, code in cases:
        r = call(cloud, None, method, cloud.url and target, data=body, headers={"Content-Type": ctype})
        assert 400 <= r.status_code < 500, (target, body[:40], r.status_code, r.text[:300])
        if code == 413 or r.status_code in (400, 413):
            assert r.json()["error"]["code"] == r.status_code
    assert_alive(cloud)


def raw_request(cloud, request_bytes):
    with socket.create_connection(("127.0.0.1", cloud.port), timeout=30) as s:
        s.sendall(request_bytes)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while len(rest) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        return int(head.split(b" ")[1]), rest


def test_non_utf8_bytes_in_paths_queries_and_headers(cloud):
    tok = cloud.token.encode()
    bad = b"\xff\xfe\x80\xc3"
    requests_to_try = [
        b"PUT /v2/images/" + bad + b"/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + tok +
        b"\r\nContent-Type: application/octet-stream\r\nContent-Length: 4\r\n\r\nabcd",
        b"PUT /v2/images/%FF%FE" + b"a" * 34 + b"/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + tok +
        b"\r\nContent-Type: application/octet-stream\r\nContent-Length: 4\r\n\r\nabcd",
        b"GET /v2/images/" + bad + b" HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + tok + b"\r\n\r\n",
        b"GET /v2/images?sort_key=%FF%FE&name=" + bad + b" HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + tok + b"\r\n\r\n",
        b"GET /v2/images?marker=" + bad * 1000 + b" HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + tok + b"\r\n\r\n",
        b"PUT /v2/images/x/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + tok +
        b"\r\nContent-Type: " + bad + b"\r\nContent-Length: 1\r\n\r\na",
        b"GET /v2/images HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + bad + b"\r\n\r\n",
    ]
    for req in requests_to_try:
        status, body = raw_request(cloud, req)
        assert 400 <= status < 500, (req[:60], status, body[:200])
        doc = json.loads(body.decode("utf-8"))  # a valid UTF-8 JSON body, whatever came in
        assert doc["error"]["code"] == status
        assert len(body) < 4096
    assert_alive(cloud)


def test_list_queries_beyond_the_statement_cache(cloud):
    for i in range(3):
        image(cloud, None, name="cache-%d" % i)
    for i in range(1, 700):
        params = {"limit": i}
        if i % 3 == 0:
            params["name"] = "in:" + ",".join("n%d" % k for k in range(i % 50 + 1))
        if i % 5 == 0:
            params["sort"] = "name:asc,created_at:desc"
        if i % 7 == 0:
            params["tag"] = "t%d" % i
        r = call(cloud, None, "GET", "/v2/images", params=params)
        assert r.status_code == 200, r.text
    assert_alive(cloud)


def test_a_listing_with_hundreds_of_filters_is_a_400_and_at_the_bound_it_lists(cloud):
    """1,200 tags once made a query deeper than SQLite takes: a 500. Every kind of filter
    counts towards one bound of 100, and an `in:` list takes 1,000 values; at the bounds a
    member's listing (the deepest query: the viewer's scope too) still answers."""
    img = image(cloud, "alice", name="many-filters", tags=["t0", "t1"], x_a="1")
    tags = [("tag", "t%d" % (i % 2)) for i in range(98)]
    r = call(cloud, "alice", "GET", "/v2/images", params=tags + [("x_a", "1"), ("name", "many-filters")])
    assert r.status_code == 200, r.text
    assert [i["id"] for i in r.json()["images"]] == [img["id"]]
    for extra in ([("tag", "t%d" % i) for i in range(1200)], tags + [("x_a", "1"), ("x_b", "2"), ("name", "x")],
                  [("name", "in:" + ",".join(str(i) for i in range(1001)))]):
        r = call(cloud, "alice", "GET", "/v2/images", params=extra)
        assert_glance_error(r, 400)
    r = call(cloud, "alice", "GET", "/v2/images", params={"name": "in:" + ",".join(str(i) for i in range(1000))})
    assert r.status_code == 200, r.text
    assert_alive(cloud)


def test_range_headers_follow_http_to_the_letter(cloud):
    data = os.urandom(1000)
    img = image(cloud, None)
    r = call(cloud, None, "PUT", "/v2/images/%s/file" % img["id"], data=data, headers={"Content-Type": OCTET})
    assert r.status_code == 204
    path = "/v2/images/%s/file" % img["id"]
    cases = {
        "bytes=10-19": (206, data[10:20], "bytes 10-19/1000"),
        "bytes=990-99999999999999999999999999": (206, data[990:], "bytes 990-999/1000"),
        "bytes=0-": (206, data, "bytes 0-999/1000"),
        "bytes=-10": (206, data[-10:], "bytes 990-999/1000"),
        "bytes=-99999999999999999999999": (206, data, "bytes 0-999/1000"),
        "bytes=999-999": (206, data[999:], "bytes 999-999/1000"),
    }
    for header, (code, body, content_range) in cases.items():
        r = call(cloud, None, "GET", path, headers={"Range": header})
        assert r.status_code == code, (header, r.status_code, r.text[:200])
        assert r.content == body, header
        assert r.headers["Content-Range"] == content_range, header
    for header in ("bytes=1000-", "bytes=99999999999999999999999-", "bytes=5-4", "bytes=-0", "bytes=x-y",
                   "items=0-1", "bytes=--1"):
        r = call(cloud, None, "GET", path, headers={"Range": header})
        assert_glance_error(r, 416)
        assert r.headers["Content-Range"] == "bytes */1000", header
    assert_glance_error(call(cloud, None, "GET", path, headers={"Range": "bytes=0-1,3-4"}), 400)
    assert_alive(cloud)


def test_a_tenant_cannot_adopt_another_tenants_data_by_location(cloud):
    secret = os.urandom(4096)
    a = image(cloud, "alice", name="alice-secret")
    r = call(cloud, "alice", "PUT", "/v2/images/%s/file" % a["id"], data=secret, headers={"Content-Type": OCTET})
    assert r.status_code == 204
    a_url = "file://%s/%s" % (cloud.store_dir, a["id"])
    b = image(cloud, "bob", name="bob-thief")
    for op in ([{"op": "add", "path": "/locations/-", "value": {"url": a_url, "metadata": {}}}],
               [{"op": "add", "path": "/locations/0", "value": {"url": a_url, "metadata": {}}}]):
        r = call(cloud, "bob", "PATCH", "/v2/images/%s" % b["id"], json=op, headers={"Content-Type": PATCH_21})
        assert_glance_error(r, 403)
    # Nor by replacing the locations of an active image of his own.
    own = image(cloud, "bob", name="bob-own")
    assert call(cloud, "bob", "PUT", "/v2/images/%s/file" % own["id"], data=b"mine",
                headers={"Content-Type": OCTET}).status_code == 204
    r = call(cloud, "bob", "PATCH", "/v2/images/%s" % own["id"], headers={"Content-Type": PATCH_21},
             json=[{"op": "replace", "path": "/locations", "value": [{"url": a_url, "metadata": {}}]}])
    assert r.status_code in (400, 403), r.text
    assert call(cloud, "bob", "GET", "/v2/images/%s" % b["id"]).json()["status"] == "queued"
    assert call(cloud, "bob", "GET", "/v2/images/%s/file" % b["id"]).content == b""
    # Bob deleting his images leaves Alice's data whole.
    for img in (b, own):
        assert call(cloud, "bob", "DELETE", "/v2/images/%s" % img["id"]).status_code == 204
    got = call(cloud, "alice", "GET", "/v2/images/%s/file" % a["id"])
    assert got.status_code == 200 and hashlib.sha256(got.content).digest() == hashlib.sha256(secret).digest()
    assert_alive(cloud)


def test_the_admin_may_still_point_an_image_at_existing_data(cloud):
    data = os.urandom(2048)
    a = image(cloud, "alice")
    assert call(cloud, "alice", "PUT", "/v2/images/%s/file" % a["id"], data=data,
                headers={"Content-Type": OCTET}).status_code == 204
    url = "file://%s/%s" % (cloud.store_dir, a["id"])
    c = image(cloud, None)
    r = call(cloud, None, "PATCH", "/v2/images/%s" % c["id"], headers={"Content-Type": PATCH_21},
             json=[{"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}}])
    assert r.status_code == 200, r.text
    assert call(cloud, None, "GET", "/v2/images/%s/file" % c["id"]).content == data


SHA512_OF_EMPTY = hashlib.sha512(b"").hexdigest()


def queued_with_own_data(cloud, who, data):
    """A queued image, and its data already in the store at the image's own location
    (as Nova's direct snapshot leaves it), through a second image's upload copied there."""
    img = image(cloud, who)
    path = os.path.join(cloud.store_dir, img["id"])
    with open(path, "wb") as f:
        f.write(data)
    return img, "file://%s/%s" % (cloud.store_dir, img["id"])


def test_validation_data_is_checked_as_glance_checks_it(cloud):
    data = os.urandom(3000)
    md5, sha = hashlib.md5(data).hexdigest(), hashlib.sha512(data).hexdigest()
    img, url = queued_with_own_data(cloud, None, data)
    path = "/v2/images/%s" % img["id"]

    def add(vd, who=None):
        value = {"url": url, "metadata": {}}
        if vd is not None:
            value["validation_data"] = vd
        return call(cloud, who, "PATCH", path, headers={"Content-Type": PATCH_21},
                    json=[{"op": "add", "path": "/locations/-", "value": value}])
    for bad in ({"checksum": md5}, {"os_hash_algo": "sha512"}, {"os_hash_algo": 5, "os_hash_value": sha},
                {"os_hash_algo": "sha512", "os_hash_value": sha, "extra": "x"},
                {"checksum": md5[:10], "os_hash_algo": "sha512", "os_hash_value": sha}, "not-an-object"):
        assert_glance_error(add(bad), 400)
    for bad in ({"os_hash_algo": "sha256", "os_hash_value": hashlib.sha256(data).hexdigest()},
                {"os_hash_algo": "sha512", "os_hash_value": "zz" * 64},
                {"os_hash_algo": "sha512", "os_hash_value": sha[:64]},
                {"checksum": "g" * 32, "os_hash_algo": "sha512", "os_hash_value": sha}):
        assert_glance_error(add(bad), 409)
    assert call(cloud, None, "GET", path).json()["status"] == "queued", "nothing was stored"
    r = add({"checksum": md5, "os_hash_algo": "sha512", "os_hash_value": sha})
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["status"], got["checksum"], got["os_hash_value"], got["size"]) == ("active", md5, sha, 3000)
    assert call(cloud, None, "GET", path + "/file").content == data
    # Now active: the same values may be repeated, different ones are a conflict.
    r = call(cloud, None, "PATCH", path, headers={"Content-Type": PATCH_21},
             json=[{"op": "replace", "path": "/locations", "value": [
                 {"url": url, "metadata": {"k": "v"},
                  "validation_data": {"os_hash_algo": "sha512", "os_hash_value": SHA512_OF_EMPTY}}]}])
    assert_glance_error(r, 409)
    r = call(cloud, None, "PATCH", path, headers={"Content-Type": PATCH_21},
             json=[{"op": "replace", "path": "/locations", "value": [{"url": url, "metadata": {"k": "v"}}]}])
    assert r.status_code == 200, r.text
    assert r.json()["locations"] == [{"url": url, "metadata": {"k": "v"}}]
    other, other_url = queued_with_own_data(cloud, None, b"other")
    r = call(cloud, None, "PATCH", path, headers={"Content-Type": PATCH_21},
             json=[{"op": "replace", "path": "/locations", "value": [{"url": other_url, "metadata": {}}]}])
    assert_glance_error(r, 400)
    assert call(cloud, None, "GET", path + "/file").content == data
    assert_alive(cloud)


def test_locations_in_the_v20_patch_dialect(cloud):
    data = os.urandom(1500)
    img, url = queued_with_own_data(cloud, None, data)
    r = call(cloud, None, "PATCH", "/v2/images/%s" % img["id"],
             headers={"Content-Type": "application/openstack-images-v2.0-json-patch"},
             json=[{"add": "/locations/-", "value": {"url": url, "metadata": {}}}])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    assert call(cloud, None, "GET", "/v2/images/%s/file" % img["id"]).content == data


def test_the_service_locations_api(cloud):
    data = os.urandom(2500)
    img, url = queued_with_own_data(cloud, "alice", data)
    path = "/v2/images/%s/locations" % img["id"]
    body = {"url": url, "validation_data": {"os_hash_algo": "sha512", "os_hash_value": hashlib.sha512(data).hexdigest()}}
    # Nova's flow: the user's token, and Nova's own as X-Service-Token.
    as_nova = {"X-Service-Token": cloud.tokens["nova"]}
    assert_glance_error(call(cloud, "alice", "POST", path, json=body), 403)
    assert_glance_error(call(cloud, "alice", "GET", path), 403)
    assert_glance_error(call(cloud, "alice", "POST", path, json=body,
                             headers={"X-Service-Token": cloud.tokens["bob"]}), 403)
    assert_glance_error(call(cloud, "alice", "POST", path, json=body,
                             headers={"X-Service-Token": "forged"}), 401)
    assert_glance_error(call(cloud, "nova", "POST", path, json=body), 404), "nova alone does not see alice's image"
    r = call(cloud, "alice", "POST", path, json=body, headers=dict(as_nova))
    assert r.status_code == 202, r.text
    got = call(cloud, "alice", "GET", "/v2/images/%s" % img["id"]).json()
    assert (got["status"], got["size"]) == ("active", 2500)
    assert got["os_hash_value"] == hashlib.sha512(data).hexdigest()
    r = call(cloud, "alice", "GET", path, headers=dict(as_nova))
    assert r.status_code == 200 and r.json() == [{"url": url, "metadata": {}}]
    assert_glance_error(call(cloud, "alice", "POST", path, json=body, headers=dict(as_nova)), 409)  # active now
    assert_glance_error(call(cloud, "alice", "POST", path, json={"url": 5}, headers=dict(as_nova)), 400)
    assert call(cloud, "alice", "GET", "/v2/images/%s/file" % img["id"]).content == data
    assert_alive(cloud)
