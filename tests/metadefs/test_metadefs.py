"""Glance's metadata definitions API (/v2/metadefs) on a real glint-api: namespaces,
objects, properties, tags, resource types and associations; visibility across projects;
protected namespaces; duplicates; `glint-manage db-load-metadefs` with Debian's 33
definition files; and the real clients (glanceclient's md-* commands, openstackclient's
`image metadef namespace`).

In CI (CI=true) a missing client or definition directory is a failure, never a skip.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402

DEBIAN_METADEFS = "/usr/share/glance-common/metadefs"
NS = "/v2/metadefs/namespaces"


def need(path_or_cmd):
    found = shutil.which(path_or_cmd) or (os.path.exists(path_or_cmd) and path_or_cmd)
    if found:
        return found
    msg = "%s is not installed (Debian package needed by this test)" % path_or_cmd
    if glint_server.in_ci():
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def server():
    s = glint_server.GlintServer.start_default()
    yield s
    s.stop()


class Api:
    def __init__(self, server, token):
        self.url, self.token = server.url, token

    def __call__(self, method, path, body=None, headers=None):
        h = {"X-Auth-Token": self.token}
        h.update(headers or {})
        return requests.request(method, self.url + path, json=body, headers=h, timeout=30)


@pytest.fixture(scope="module")
def admin(server):
    return Api(server, server.token)


@pytest.fixture(scope="module")
def projects(server):
    """Two projects, each with a reader: (project id, Api) for a and b."""
    out = []
    for p in ("md-a", "md-b"):
        pid = server.manage("project-create", p)
        server.manage("user-create", p + "-reader", "--password", "pw", "--project", p, "--role", "reader")
        out.append((pid, Api(server, server.token_for(p + "-reader", "pw", p))))
    return out


def test_namespace_with_contents_show_update_delete(admin):
    body = {"namespace": "Test::Nested", "display_name": "Nested", "description": "d", "visibility": "public",
            "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "hw_"}],
            "properties": {"cpu": {"type": "integer", "title": "CPU", "minimum": 1}},
            "objects": [{"name": "Obj", "properties": {"ram": {"type": "integer", "title": "RAM"}},
                         "required": ["ram"]}],
            "tags": [{"name": "t1"}, {"name": "t2"}]}
    r = admin("POST", NS, body)
    assert r.status_code == 201, r.text
    assert r.headers["Location"].endswith(NS + "/Test::Nested")
    created = r.json()
    assert created["namespace"] == "Test::Nested" and created["protected"] is False
    assert created["self"] == NS + "/Test::Nested"
    assert created["schema"] == "/v2/schemas/metadefs/namespace"
    shown = admin("GET", NS + "/Test::Nested").json()
    assert shown["properties"]["cpu"]["minimum"] == 1
    assert [o["name"] for o in shown["objects"]] == ["Obj"]
    assert sorted(t["name"] for t in shown["tags"]) == ["t1", "t2"]
    assert shown["resource_type_associations"][0]["prefix"] == "hw_"
    # With the resource type, property names carry its prefix.
    prefixed = admin("GET", NS + "/Test::Nested?resource_type=OS::Glance::Image").json()
    assert "hw_cpu" in prefixed["properties"] and "hw_ram" in prefixed["objects"][0]["properties"]

    r = admin("PUT", NS + "/Test::Nested", {"namespace": "Test::Renamed", "visibility": "public",
                                            "description": "new"})
    assert r.status_code == 200, r.text
    assert r.json()["description"] == "new"
    assert admin("GET", NS + "/Test::Nested").status_code == 404
    moved = admin("GET", NS + "/Test::Renamed").json()
    assert moved["properties"]["cpu"]["title"] == "CPU" and len(moved["tags"]) == 2

    for what in ("objects", "properties", "tags"):
        assert admin("DELETE", NS + "/Test::Renamed/" + what).status_code == 204
    emptied = admin("GET", NS + "/Test::Renamed").json()
    assert not any(k in emptied for k in ("objects", "properties", "tags"))
    assert admin("DELETE", NS + "/Test::Renamed").status_code == 204
    assert admin("GET", NS + "/Test::Renamed").status_code == 404
    assert admin("DELETE", NS + "/Test::Renamed").status_code == 404


def test_objects_properties_tags_crud(admin):
    assert admin("POST", NS, {"namespace": "Test::Items"}).status_code == 201
    base = NS + "/Test::Items"
    r = admin("POST", base + "/objects", {"name": "o1", "description": "x", "required": [],
                                          "properties": {"p": {"type": "string", "title": "P"}}})
    assert r.status_code == 201, r.text
    assert r.json()["self"] == base + "/objects/o1"
    assert admin("GET", base + "/objects/o1").json()["description"] == "x"
    r = admin("PUT", base + "/objects/o1", {"name": "o2", "description": "y"})
    assert r.status_code == 200 and r.json()["name"] == "o2"
    assert [o["name"] for o in admin("GET", base + "/objects").json()["objects"]] == ["o2"]
    assert admin("DELETE", base + "/objects/o2").status_code == 204
    assert admin("GET", base + "/objects/o2").status_code == 404

    r = admin("POST", base + "/properties", {"name": "size", "type": "integer", "title": "Size"})
    assert r.status_code == 201, r.text
    assert admin("GET", base + "/properties/size").json() == {"name": "size", "type": "integer", "title": "Size"}
    assert admin("POST", base + "/properties", {"name": "bad", "title": "no type"}).status_code == 400
    r = admin("PUT", base + "/properties/size", {"name": "size", "type": "string", "title": "Size", "enum": ["a"]})
    assert r.status_code == 200
    assert admin("GET", base + "/properties").json()["properties"]["size"]["enum"] == ["a"]
    assert admin("DELETE", base + "/properties/size").status_code == 204

    assert admin("POST", base + "/tags/one").status_code == 201
    r = admin("POST", base + "/tags", {"tags": [{"name": "two"}, {"name": "three"}]},
              headers={"X-Openstack-Append": "true"})
    assert r.status_code == 201, r.text
    names = sorted(t["name"] for t in admin("GET", base + "/tags").json()["tags"])
    assert names == ["one", "three", "two"]
    # Without the append header the list replaces the tags.
    assert admin("POST", base + "/tags", {"tags": [{"name": "four"}]}).status_code == 201
    assert [t["name"] for t in admin("GET", base + "/tags").json()["tags"]] == ["four"]
    r = admin("PUT", base + "/tags/four", {"name": "five"})
    assert r.status_code == 200 and r.json()["name"] == "five"
    assert admin("GET", base + "/tags/five").status_code == 200
    assert admin("DELETE", base + "/tags/five").status_code == 204
    assert admin("DELETE", base + "/tags/five").status_code == 404

    r = admin("POST", base + "/resource_types", {"name": "OS::Cinder::Volume", "properties_target": "image"})
    assert r.status_code == 201, r.text
    assert admin("GET", base + "/resource_types").json()["resource_type_associations"][0]["name"] == \
        "OS::Cinder::Volume"
    assert "OS::Cinder::Volume" in [t["name"] for t in admin("GET", "/v2/metadefs/resource_types").json()
                                    ["resource_types"]]
    assert admin("DELETE", base + "/resource_types/OS::Cinder::Volume").status_code == 204
    assert admin("DELETE", base + "/resource_types/OS::Cinder::Volume").status_code == 404
    assert admin("DELETE", base).status_code == 204


def test_duplicates_are_409(admin):
    assert admin("POST", NS, {"namespace": "Test::Dup", "tags": [{"name": "t"}]}).status_code == 201
    base = NS + "/Test::Dup"
    r = admin("POST", NS, {"namespace": "Test::Dup"})
    assert r.status_code == 409 and "already exists" in r.text
    assert admin("POST", base + "/objects", {"name": "o"}).status_code == 201
    assert admin("POST", base + "/objects", {"name": "o"}).status_code == 409
    assert admin("POST", base + "/properties", {"name": "p", "type": "string", "title": "p"}).status_code == 201
    assert admin("POST", base + "/properties", {"name": "p", "type": "string", "title": "p"}).status_code == 409
    assert admin("POST", base + "/tags/t").status_code == 409
    r = admin("POST", base + "/tags", {"tags": [{"name": "x"}, {"name": "x"}]})
    assert r.status_code == 409
    assert admin("POST", base + "/resource_types", {"name": "OS::Nova::Flavor"}).status_code == 201
    assert admin("POST", base + "/resource_types", {"name": "OS::Nova::Flavor"}).status_code == 409
    assert admin("POST", NS, {"namespace": "Test::Dup2", "tags": [{"name": "a"}, {"name": "a"}]}).status_code == 409
    assert admin("GET", NS + "/Test::Dup2").status_code == 404
    assert admin("PUT", base + "/objects/o", {"name": "o"}).status_code == 200
    assert admin("POST", NS, {"namespace": "Test::Dup3"}).status_code == 201
    assert admin("PUT", NS + "/Test::Dup3", {"namespace": "Test::Dup"}).status_code == 409
    for n in ("Test::Dup", "Test::Dup3"):
        assert admin("DELETE", NS + "/" + n).status_code == 204


def test_protected_namespace_is_403_to_delete(admin):
    body = {"namespace": "Test::Protected", "protected": True, "objects": [{"name": "o"}],
            "tags": [{"name": "t"}], "resource_type_associations": [{"name": "OS::Glance::Image"}]}
    assert admin("POST", NS, body).status_code == 201
    base = NS + "/Test::Protected"
    r = admin("DELETE", base)
    assert r.status_code == 403 and "protected" in r.text
    for path in ("/objects/o", "/tags/t", "/objects", "/tags", "/properties", "/resource_types/OS::Glance::Image"):
        assert admin("DELETE", base + path).status_code == 403, path
    assert admin("GET", base + "/objects/o").status_code == 200
    assert admin("PUT", base, {"namespace": "Test::Protected", "protected": False}).status_code == 200
    assert admin("DELETE", base).status_code == 204


def test_visibility_across_projects(admin, projects):
    (pa, a), (pb, b) = projects
    assert admin("POST", NS, {"namespace": "Test::PrivA", "owner": pa, "objects": [{"name": "o"}]}).status_code == 201
    assert admin("POST", NS, {"namespace": "Test::Public", "visibility": "public", "owner": pa}).status_code == 201

    def names(api, query=""):
        r = api("GET", NS + query)
        assert r.status_code == 200, r.text
        return {n["namespace"] for n in r.json()["namespaces"]}

    assert {"Test::PrivA", "Test::Public"} <= names(a)
    assert "Test::PrivA" not in names(b) and "Test::Public" in names(b)
    assert "Test::PrivA" not in names(a, "?visibility=public")
    assert a("GET", NS + "/Test::PrivA").status_code == 200
    assert a("GET", NS + "/Test::PrivA/objects/o").status_code == 200
    for path in ("", "/objects", "/objects/o", "/tags", "/properties", "/resource_types"):
        assert b("GET", NS + "/Test::PrivA" + path).status_code == 404, path
    # Readers change nothing (metadef_admin).
    assert a("POST", NS, {"namespace": "Test::ByReader"}).status_code == 403
    assert a("PUT", NS + "/Test::PrivA", {"namespace": "Test::PrivA"}).status_code == 403
    assert a("DELETE", NS + "/Test::PrivA").status_code == 403
    assert b("DELETE", NS + "/Test::PrivA").status_code == 404
    assert a("POST", NS + "/Test::PrivA/objects", {"name": "x"}).status_code == 403
    assert {"Test::PrivA", "Test::Public"} <= names(admin)
    for n in ("Test::PrivA", "Test::Public"):
        assert admin("DELETE", NS + "/" + n).status_code == 204


def test_hostile_input(admin):
    for body in ({}, {"namespace": ""}, {"namespace": "x" * 81}, {"namespace": 5}, [],
                 {"namespace": "Test::H", "visibility": "secret"}, {"namespace": "Test::H", "protected": "yes"},
                 {"namespace": "Test::H", "objects": "no"}, {"namespace": "Test::H", "properties": {"p": 1}}):
        r = admin("POST", NS, body)
        assert r.status_code == 400, (body, r.text)
    r = requests.post(admin.url + NS, data=b"{not json", headers={"X-Auth-Token": admin.token,
                                                                   "Content-Type": "application/json"})
    assert r.status_code == 400
    assert admin("GET", NS + "?limit=-1").status_code == 400
    assert admin("GET", NS + "?limit=x").status_code == 400
    assert admin("GET", NS + "?sort_dir=up").status_code == 400
    assert admin("GET", NS + "?sort_key=nope").status_code == 400
    assert admin("GET", NS + "?marker=nope").status_code == 404
    assert admin("GET", NS + "/nope/objects").status_code == 404


def test_load_debian_definitions_list_page_export_unload(server, admin):
    need(DEBIAN_METADEFS)
    files = sorted(f for f in os.listdir(DEBIAN_METADEFS) if f.endswith(".json"))
    assert len(files) == 33
    out = server.manage("db-load-metadefs", DEBIAN_METADEFS)
    assert "loaded 33 namespaces" in out, out
    assert "skipped 33" in server.manage("db-load-metadefs")  # the default directory, again
    want = set()
    for f in files:
        with open(os.path.join(DEBIAN_METADEFS, f)) as fh:
            want.add(json.load(fh)["namespace"])
    seen, path = [], NS + "?limit=10&sort_key=namespace&sort_dir=asc"
    while path:
        r = admin("GET", path).json()
        seen += [n["namespace"] for n in r["namespaces"]]
        path = r.get("next")
    assert seen == sorted(want)
    compute = admin("GET", NS + "/OS::Compute::Libvirt").json()
    assert compute["protected"] is True and compute["properties"]
    assert "OS::Glance::Image" in [t["name"] for t in admin("GET", "/v2/metadefs/resource_types").json()
                                   ["resource_types"]]
    by_type = admin("GET", NS + "?resource_types=OS::Nova::Flavor").json()["namespaces"]
    assert by_type and all(any(a["name"] == "OS::Nova::Flavor" for a in n["resource_type_associations"])
                           for n in by_type)
    export = tempfile.mkdtemp(prefix="glint-md-export-")
    try:
        assert "exported 33" in server.manage("db-export-metadefs", export)
        exported = {}
        for f in os.listdir(export):
            with open(os.path.join(export, f)) as fh:
                doc = json.load(fh)
            exported[doc["namespace"]] = doc
        assert set(exported) == want
        with open(os.path.join(DEBIAN_METADEFS, "compute-libvirt.json")) as fh:
            original = json.load(fh)
        assert exported["OS::Compute::Libvirt"]["properties"] == original["properties"]
        assert "deleted 33" in server.manage("db-unload-metadefs")
        assert admin("GET", NS).json()["namespaces"] == []
        assert "loaded 33" in server.manage("db-load-metadefs", export)  # its own export loads back
    finally:
        shutil.rmtree(export, ignore_errors=True)


def run(args):
    env = dict(os.environ)
    env.pop("OS_CLOUD", None)
    with tempfile.TemporaryDirectory(prefix="glint-md-home-") as home:
        env["HOME"] = home
        p = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, "%s failed (%d):\nstdout: %s\nstderr: %s" % (args, p.returncode, p.stdout, p.stderr)
    return p.stdout


def test_glanceclient_md_commands(server, admin):
    need(DEBIAN_METADEFS)
    server.manage("db-load-metadefs")
    glance = [need("glance"), "--os-image-url", server.url, "--os-auth-token", server.token]
    out = run(glance + ["md-namespace-list"])
    assert "OS::Compute::Libvirt" in out and "OS::Glance::CommonImageProperties" in out
    out = run(glance + ["md-namespace-show", "OS::Compute::Libvirt"])
    assert "OS::Compute::Libvirt" in out and "properties" in out
    out = run(glance + ["md-namespace-show", "OS::Compute::Libvirt", "--resource-type", "OS::Glance::Image"])
    assert "hw_boot_menu" in out
    out = run(glance + ["md-object-list", "OS::Software::DBMS"])
    assert "MySQL" in out
    out = run(glance + ["md-property-list", "OS::Compute::Libvirt"])
    assert "boot_menu" in out
    out = run(glance + ["md-resource-type-list"])
    assert "OS::Glance::Image" in out
    out = run(glance + ["md-namespace-resource-type-list", "OS::Compute::Libvirt"])
    assert "OS::Glance::Image" in out
    run(glance + ["md-namespace-create", "Test::FromGlance", "--visibility", "public"])
    run(glance + ["md-tag-create-multiple", "Test::FromGlance", "--names", "a,b"])
    out = run(glance + ["md-tag-list", "Test::FromGlance"])
    assert "a" in out.split() and "b" in out.split()
    run(glance + ["md-object-create", "Test::FromGlance", "--name", "obj", "--schema",
                  json.dumps({"description": "d", "properties": {"x": {"type": "string", "title": "X"}}})])
    assert "obj" in run(glance + ["md-object-show", "Test::FromGlance", "obj"])
    run(glance + ["md-namespace-delete", "Test::FromGlance"])
    assert admin("GET", NS + "/Test::FromGlance").status_code == 404


def test_openstackclient_metadef_namespaces(server):
    need(DEBIAN_METADEFS)
    server.manage("db-load-metadefs")
    osc = [need("openstack"), "--os-auth-type", "admin_token", "--os-endpoint", server.url + "/v2",
           "--os-token", server.token]
    with tempfile.TemporaryDirectory(prefix="glint-md-home-") as home:
        probe = subprocess.run(osc + ["image", "metadef", "namespace", "list", "-f", "json"], capture_output=True,
                               text=True, env=dict(os.environ, HOME=home))
    if "is not an openstack command" in probe.stdout + probe.stderr:
        # Debian 12's openstackclient (6.0) predates `image metadef` (openstackclient 6.1).
        pytest.skip("this openstackclient has no `image metadef` commands")
    listed = json.loads(run(osc + ["image", "metadef", "namespace", "list", "-f", "json"]))
    names = {n.get("namespace") or n.get("Namespace") for n in listed}
    assert "OS::Compute::Libvirt" in names and len(names) >= 33
    shown = json.loads(run(osc + ["image", "metadef", "namespace", "show", "OS::Compute::Libvirt", "-f", "json"]))
    assert shown.get("namespace") == "OS::Compute::Libvirt"
