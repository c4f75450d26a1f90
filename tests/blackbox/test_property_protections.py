"""Glance's property protections (property_protection_file), in both rule formats, with
the sample files Debian's glance-common ships: [^x_.*] open to members, [.*] admin only.
Answers as Glance's: 403 "Attribute '<name>' is reserved." for a forbidden write, a
property the caller may not read absent from every image they see (and 409 "does not
exist" when they try to change it)."""
import os
import shutil
import sys
import tempfile
import uuid

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402

SAMPLES = "/usr/share/glance-common"
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


def sample(fmt):
    path = os.path.join(SAMPLES, "property-protections-%s.conf" % fmt)
    if not os.path.exists(path):
        msg = "%s missing (Debian package glance-common)" % path
        if glint_server.in_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def start(fmt, rules_path):
    d = tempfile.mkdtemp(prefix="glint-propprot-")
    conf = os.path.join(d, "glint.conf")
    with open(conf, "w") as f:
        f.write("[DEFAULT]\nproperty_protection_file = %s\nproperty_protection_rule_format = %s\n"
                % (rules_path, fmt))
    s = glint_server.GlintServer(d, config=conf)
    s.owns_dir = True
    return s


@pytest.fixture(scope="module", params=["roles", "policies"])
def server(request):
    s = start(request.param, sample(request.param))
    s.start()
    s.manage("project-create", "pp")
    s.manage("user-create", "pp-member", "--password", "pw", "--project", "pp", "--role", "member")
    s.member = {"X-Auth-Token": s.token_for("pp-member", "pw", "pp")}
    s.admin = {"X-Auth-Token": s.token}
    yield s
    s.stop()
    shutil.rmtree(s.data_dir, ignore_errors=True)


def create(s, headers, **props):
    return requests.post(s.url + "/v2/images", headers=headers, json=dict(name="pp", **props))


def patch(s, headers, image_id, ops):
    return requests.patch(s.url + "/v2/images/" + image_id, headers=dict(headers, **PATCH), json=ops)


def test_member_creates_only_what_the_rules_let_it(server):
    r = create(server, server.member, x_mine="1")
    assert r.status_code == 201, r.text
    assert r.json()["x_mine"] == "1"
    r = create(server, server.member, x_mine="1", secret="s")
    assert r.status_code == 403
    assert "Attribute 'secret' is reserved." in r.text
    assert create(server, server.admin, secret="s").status_code == 201


def test_unreadable_property_is_invisible_and_unchangeable(server):
    image_id = create(server, server.member, x_mine="1").json()["id"]
    assert patch(server, server.admin, image_id, [{"op": "add", "path": "/secret", "value": "s"}]).status_code == 200
    assert requests.get(server.url + "/v2/images/" + image_id, headers=server.admin).json()["secret"] == "s"
    seen = requests.get(server.url + "/v2/images/" + image_id, headers=server.member).json()
    assert "secret" not in seen and seen["x_mine"] == "1"
    listed = requests.get(server.url + "/v2/images", headers=server.member).json()["images"]
    assert all("secret" not in img for img in listed)
    for op in ({"op": "replace", "path": "/secret", "value": "t"}, {"op": "remove", "path": "/secret"}):
        r = patch(server, server.member, image_id, [op])
        assert r.status_code == 409 and "Property secret does not exist." in r.text, r.text
    r = patch(server, server.member, image_id, [{"op": "add", "path": "/secret", "value": "t"}])
    assert r.status_code == 403 and "Attribute 'secret' is reserved." in r.text
    # Nothing changed underneath, and the member's own property stays theirs to change.
    assert requests.get(server.url + "/v2/images/" + image_id, headers=server.admin).json()["secret"] == "s"
    r = patch(server, server.member, image_id, [{"op": "replace", "path": "/x_mine", "value": "2"},
                                                 {"op": "add", "path": "/x_new", "value": "3"}])
    assert r.status_code == 200 and r.json()["x_mine"] == "2" and r.json()["x_new"] == "3"
    assert patch(server, server.member, image_id, [{"op": "remove", "path": "/x_new"}]).status_code == 200


def test_filtering_on_an_unreadable_property_reveals_nothing(server):
    tag = uuid.uuid4().hex
    image_id = create(server, server.member, x_mine=tag).json()["id"]
    assert patch(server, server.admin, image_id, [{"op": "add", "path": "/secret", "value": tag}]).status_code == 200
    def ids(headers, query):
        r = requests.get(server.url + "/v2/images?" + query, headers=headers)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["images"]]
    assert ids(server.member, "x_mine=" + tag) == [image_id]
    assert ids(server.member, "secret=" + tag) == []
    assert ids(server.admin, "secret=" + tag) == [image_id]


def test_a_bad_rules_file_stops_the_server(tmp_path):
    bad = tmp_path / "rules.conf"
    bad.write_text("[^x_.*]\ncreate = admin\nread = admin\nupdate = admin\n")  # no delete
    s = start("roles", str(bad))
    try:
        with pytest.raises(RuntimeError) as e:
            s.start()
        assert "delete" in str(e.value)
    finally:
        s.stop()
        shutil.rmtree(s.data_dir, ignore_errors=True)
