"""glint-api keeps image list bodies per catalog generation (control/list_cache.h). What
must hold, against a real server with the built-in identity: the same query asked by
different callers at the same generation is answered for each caller (never with another
project's or role's body), and every change to what lists show (a new image, a tag, a
membership accepted, a deletion) is in the very next listing, through any node.
"""
import os
import sys

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402
from test_matrix import Cloud  # noqa: E402

QUERY = "/v2/images?limit=100&sort=name:asc"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    c = Cloud(str(tmp_path_factory.mktemp("glint-list-cache")), secure=False)
    yield c
    c.s.stop()


def names(cloud, persona, query=QUERY):
    r = cloud.call(persona, "GET", query)
    assert r.status_code == 200, r.text
    return sorted(i["name"] for i in r.json()["images"])


def generation(cloud):
    return cloud.call("admin", "GET", QUERY).headers["ETag"]


def test_callers_at_one_generation_each_get_their_own_listing(cloud):
    g = generation(cloud)
    seen = {p: names(cloud, p) for p in ("member", "other", "reader", "admin")}
    for p in ("other", "member", "admin", "reader", "other"):  # again, in another order
        assert names(cloud, p) == seen[p], p
    assert generation(cloud) == g  # nothing changed: these were answered from kept bodies
    assert "matrix-private" in seen["member"] and "matrix-private" in seen["reader"]
    assert "matrix-private" not in seen["other"]  # p1's private image, never to p2
    assert "matrix-shared-accepted" in seen["other"] and "matrix-shared-pending" not in seen["other"]
    # The same query spelled with its parameters in another order is another key, and
    # answers the same.
    assert names(cloud, "other", "/v2/images?sort=name:asc&limit=100") == seen["other"]


def test_every_change_is_in_the_next_listing(cloud):
    before = names(cloud, "other")
    image_id = cloud.make("shared-pending", name="cache-shared")
    assert names(cloud, "member").count("cache-shared") == 1
    assert "cache-shared" not in names(cloud, "other")
    r = cloud.call("other", "PUT", "/v2/images/%s/members/%s" % (image_id, cloud.p2), json={"status": "accepted"})
    assert r.status_code == 200
    assert names(cloud, "other") == sorted(before + ["cache-shared"])
    tagged = cloud.call("member", "GET", "/v2/images?tag=cached-tag")
    assert tagged.json()["images"] == []
    assert cloud.call("member", "PUT", "/v2/images/%s/tags/cached-tag" % image_id).status_code == 204
    assert [i["id"] for i in cloud.call("member", "GET", "/v2/images?tag=cached-tag").json()["images"]] == [image_id]
    assert cloud.call("member", "DELETE", "/v2/images/" + image_id).status_code == 204
    assert "cache-shared" not in names(cloud, "other")
    assert "cache-shared" not in names(cloud, "member")


def test_a_change_through_another_node_is_in_this_nodes_next_listing(cloud):
    """Two API processes on one catalog: a change made through the second is listed by the
    first at once, although the first keeps a body for the query."""
    s = cloud.s
    second = glint_server.GlintServer(s.data_dir, config=s.config)
    second.db_url = s.db_url  # the same catalog when the suite runs on MariaDB
    second.start()
    try:
        assert "cache-node2" not in names(cloud, "member")
        token = cloud.token("member")
        r = requests.post(second.url + "/v2/images", headers={"X-Auth-Token": token},
                          json={"name": "cache-node2", "disk_format": "raw", "container_format": "bare"})
        assert r.status_code == 201, r.text
        assert "cache-node2" in names(cloud, "member")
    finally:
        second.stop()
