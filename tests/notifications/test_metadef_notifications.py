"""Glance's metadata definitions events (metadef_namespace.*, metadef_object.*,
metadef_property.*, metadef_tag.*, metadef_resource_type.*), published by Glint to a real
RabbitMQ broker and received by a real oslo.messaging listener. Each payload is compared
with what Glance's own formatting functions (python3-glance's glance.notifier) make of the
same definition, so a drift from Glance shows here."""
import datetime
import re
import types
import uuid

import requests

from notify_support import start_glint

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
SCHEMA_FIELDS = ["type", "title", "description", "default", "minimum", "maximum", "enum", "pattern", "minLength",
                 "maxLength", "confidential", "items", "uniqueItems", "minItems", "maxItems", "additionalItems"]


def glance_payload(kind, **fields):
    """Glance's payload for a definition with `fields` (timestamps aside), from Glance's code."""
    import glance.notifier as gn
    now = datetime.datetime(2020, 1, 1)
    obj = types.SimpleNamespace(created_at=now, updated_at=now, **fields)
    if kind == "object":
        props = {}
        for name, schema in (fields.get("properties") or {}).items():
            props[name] = types.SimpleNamespace(**{f: schema.get(f) for f in SCHEMA_FIELDS})
        obj.properties = props
    fn = {"namespace": gn.format_metadef_namespace_notification, "object": gn.format_metadef_object_notification,
          "property": gn.format_metadef_property_notification, "tag": gn.format_metadef_tag_notification,
          "resource_type": gn.format_metadef_resource_type_notification}[kind]
    out = fn(obj)
    for k in ("created_at", "updated_at"):
        out.pop(k, None)
    return out


def same_as_glance(payload, expected, **overrides):
    """`payload` has Glance's keys and values; its timestamps are Glance's format."""
    expected = dict(expected, **overrides)
    got = dict(payload)
    for k in ("created_at", "updated_at"):
        if k in got:
            assert ISO.match(got.pop(k)), payload
    if got.get("deleted"):
        assert ISO.match(got["deleted_at"]), payload
        got["deleted_at"] = expected["deleted_at"] = "when"
    assert got == expected


def of_ns(events, ns_names, event_type):
    return [e for e in events if e["event_type"] == event_type and isinstance(e["payload"], dict) and
            (e["payload"].get("namespace") in ns_names or e["payload"].get("namespace_old") in ns_names)]


def call(glint, method, path, body=None, headers=None, want=None):
    r = requests.request(method, glint.url + "/v2/metadefs/namespaces" + path, json=body,
                         headers=dict(glint.h, **(headers or {})), timeout=30)
    assert r.status_code == want, (method, path, r.status_code, r.text)
    return r.json() if r.content else None


def test_a_namespace_and_its_contents_are_announced_as_glance_does(glint, listener):
    ns, ns2 = "ns-" + uuid.uuid4().hex[:8], "ns2-" + uuid.uuid4().hex[:8]
    call(glint, "POST", "", {"namespace": ns, "display_name": "D", "description": "d", "visibility": "public"},
         want=201)
    made = call(glint, "PUT", "/" + ns, {"namespace": ns2, "display_name": "D2", "visibility": "public"}, want=200)
    obj = {"name": "o1", "description": "an object", "required": ["a"],
           "properties": {"a": {"type": "integer", "title": "A", "minimum": 0, "maximum": 5},
                          "b": {"type": "boolean", "title": "B", "default": False, "enum": []}}}
    call(glint, "POST", "/%s/objects" % ns2, obj, want=201)
    call(glint, "PUT", "/%s/objects/o1" % ns2, dict(obj, name="o2"), want=200)
    prop = {"name": "p1", "type": "string", "title": "P", "maxLength": 10, "enum": ["x", "y"], "minLength": 0}
    call(glint, "POST", "/%s/properties" % ns2, prop, want=201)
    call(glint, "PUT", "/%s/properties/p1" % ns2, dict(prop, name="p2", title="P2"), want=200)
    call(glint, "DELETE", "/%s/properties/p2" % ns2, want=204)
    call(glint, "POST", "/%s/tags/t1" % ns2, want=201)
    call(glint, "POST", "/%s/tags" % ns2, {"tags": [{"name": "t2"}, {"name": "t3"}]},
         headers={"X-Openstack-Append": "true"}, want=201)
    call(glint, "PUT", "/%s/tags/t1" % ns2, {"name": "t1b"}, want=200)
    call(glint, "DELETE", "/%s/tags/t1b" % ns2, want=204)
    call(glint, "POST", "/%s/resource_types" % ns2,
         {"name": "OS::Glance::Image", "prefix": "hw_", "properties_target": "image"}, want=201)
    call(glint, "DELETE", "/%s/resource_types/OS::Glance::Image" % ns2, want=204)
    call(glint, "DELETE", "/%s/objects/o2" % ns2, want=204)
    for what in ("objects", "properties", "tags"):
        call(glint, "DELETE", "/%s/%s" % (ns2, what), want=204)
    call(glint, "DELETE", "/" + ns2, want=204)

    wanted = ["metadef_namespace.create", "metadef_namespace.update", "metadef_object.create",
              "metadef_object.update", "metadef_property.create", "metadef_property.update",
              "metadef_property.delete", "metadef_tag.create", "metadef_tag.update",
              "metadef_tag.delete", "metadef_resource_type.create", "metadef_resource_type.delete",
              "metadef_object.delete", "metadef_namespace.delete_objects", "metadef_namespace.delete_properties",
              "metadef_namespace.delete_tags", "metadef_namespace.delete"]
    names = (ns, ns2)
    events = listener.wait_for(lambda ev: all(of_ns(ev, names, t) for t in wanted))
    mine = [e for e in events if of_ns([e], names, e["event_type"])]
    assert [e["event_type"] for e in mine] == wanted[:7] + ["metadef_tag.create"] * 3 + wanted[8:]
    assert all(e["priority"] == "info" and e["publisher_id"] == "image.localhost" for e in mine)
    first = {t: of_ns(mine, names, t)[0]["payload"] for t in wanted}

    ns_fields = dict(namespace=ns, display_name="D", protected=False, visibility="public", owner=made.get("owner"),
                     description="d")
    same_as_glance(first["metadef_namespace.create"], glance_payload("namespace", **ns_fields))
    ns2_fields = dict(ns_fields, namespace=ns2, display_name="D2", description=None)
    same_as_glance(first["metadef_namespace.update"], glance_payload("namespace", **ns2_fields), namespace_old=ns)
    same_as_glance(first["metadef_namespace.delete"], glance_payload("namespace", **ns2_fields),
                   deleted=True)
    for t in ("delete_objects", "delete_properties", "delete_tags"):
        same_as_glance(first["metadef_namespace." + t], glance_payload("namespace", **ns2_fields))

    o_fields = dict(namespace=ns2, name="o1", required=["a"], description="an object", properties=obj["properties"])
    same_as_glance(first["metadef_object.create"], glance_payload("object", **o_fields))
    a = [p for p in first["metadef_object.create"]["properties"] if p["name"] == "a"][0]
    assert a["minimum"] is None and a["maximum"] == 5  # Glance's `or None`: 0 becomes null
    same_as_glance(first["metadef_object.update"], glance_payload("object", **dict(o_fields, name="o2")),
                   name_old="o1")
    same_as_glance(first["metadef_object.delete"], glance_payload("object", **dict(o_fields, name="o2")),
                   deleted=True)

    schema = {k: v for k, v in prop.items() if k != "name"}
    same_as_glance(first["metadef_property.create"], glance_payload("property", namespace=ns2, name="p1",
                                                                    schema=schema))
    assert first["metadef_property.create"]["minLength"] == 0  # a property's schema is given as it is
    renamed = dict(schema, title="P2")
    same_as_glance(first["metadef_property.update"], glance_payload("property", namespace=ns2, name="p2",
                                                                    schema=renamed), name_old="p1")
    same_as_glance(first["metadef_property.delete"], glance_payload("property", namespace=ns2, name="p2",
                                                                    schema=renamed), deleted=True)

    tags = sorted(e["payload"]["name"] for e in of_ns(mine, names, "metadef_tag.create"))
    assert tags == ["t1", "t2", "t3"]
    same_as_glance(first["metadef_tag.create"], glance_payload("tag", namespace=ns2, name="t1"))
    same_as_glance(first["metadef_tag.update"], glance_payload("tag", namespace=ns2, name="t1b"), name_old="t1")
    same_as_glance(first["metadef_tag.delete"], glance_payload("tag", namespace=ns2, name="t1b"), deleted=True)

    rt = dict(namespace=ns2, name="OS::Glance::Image", prefix="hw_", properties_target="image")
    same_as_glance(first["metadef_resource_type.create"], glance_payload("resource_type", **rt))
    same_as_glance(first["metadef_resource_type.delete"], glance_payload("resource_type", **rt), deleted=True)


def test_a_namespace_created_with_contents_announces_each_part_in_glances_order(glint, listener):
    ns = "nested-" + uuid.uuid4().hex[:8]
    call(glint, "POST", "", {"namespace": ns, "objects": [{"name": "o"}], "tags": [{"name": "t"}],
                             "properties": {"p": {"type": "string", "title": "P"}},
                             "resource_type_associations": [{"name": "OS::Nova::Flavor", "prefix": "x_"}]},
         want=201)
    wanted = ["metadef_namespace.create", "metadef_resource_type.create", "metadef_object.create",
              "metadef_tag.create", "metadef_property.create"]
    events = listener.wait_for(lambda ev: all(of_ns(ev, (ns,), t) for t in wanted))
    assert [e["event_type"] for e in events if of_ns([e], (ns,), e["event_type"])] == wanted
    rt = of_ns(events, (ns,), "metadef_resource_type.create")[0]["payload"]
    same_as_glance(rt, glance_payload("resource_type", namespace=ns, name="OS::Nova::Flavor", prefix="x_",
                                      properties_target=None))
    obj = of_ns(events, (ns,), "metadef_object.create")[0]["payload"]
    same_as_glance(obj, glance_payload("object", namespace=ns, name="o", required=None, description=None,
                                       properties={}))


def test_disabled_metadef_notifications_are_not_sent(broker, listener):
    s = start_glint(broker.url, "disabled_notifications = metadef_tag,metadef_namespace.create")
    try:
        ns = "quiet-" + uuid.uuid4().hex[:8]
        call(s, "POST", "", {"namespace": ns}, want=201)
        call(s, "POST", "/%s/tags/t" % ns, want=201)
        call(s, "DELETE", "/" + ns, want=204)
        events = listener.wait_for(lambda ev: of_ns(ev, (ns,), "metadef_namespace.delete"))
        assert not of_ns(events, (ns,), "metadef_namespace.create")
        assert not of_ns(events, (ns,), "metadef_tag.create")
    finally:
        s.stop()
