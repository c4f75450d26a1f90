"""Glance's notifications, published by Glint to a real RabbitMQ broker and received by a
real oslo.messaging notification listener (as Ceilometer consumes them). The payload key
sets are taken from Glance's own formatting functions (python3-glance), so a drift from
Glance shows here. Publishing never fails or holds up a request: with the broker down the
API answers as usual, and the events arrive once the broker is up."""
import hashlib
import os
import types

import requests

from notify_support import need_dependencies, rabbitmq, start_glint

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTETS = {"Content-Type": "application/octet-stream"}


def glance_keys(kind):
    """The keys of Glance's payload for `kind`, from Glance's own function."""
    import datetime

    import glance.notifier as gn
    now = datetime.datetime.utcnow()
    obj = types.SimpleNamespace(image_id="i", name="n", status="active", created_at=now, updated_at=now, min_disk=0,
                                min_ram=0, protected=False, checksum=None, owner="o", disk_format="raw",
                                container_format="bare", size=1, virtual_size=1, visibility="shared",
                                extra_properties={}, tags=[], member_id="m", task_id="t", type="import",
                                expires_at=now)
    fn = {"image": gn.format_image_notification, "member": gn.format_image_member_notification,
          "task": gn.format_task_notification}[kind]
    return set(fn(obj))


def of_image(events, image_id, event_type):
    return [e for e in events if e["event_type"] == event_type and
            isinstance(e["payload"], dict) and image_id in (e["payload"].get("id"), e["payload"].get("image_id"))]


def test_an_image_lifecycle_is_announced_with_glances_payloads(glint, listener):
    h = glint.h
    img = requests.post(glint.url + "/v2/images", headers=h,
                        json={"name": "n1", "disk_format": "raw", "container_format": "bare",
                              "visibility": "shared", "x_site": "a"}).json()
    data = os.urandom(300000)
    assert requests.put(glint.url + "/v2/images/%s/file" % img["id"], data=data,
                        headers=dict(h, **OCTETS)).status_code == 204
    assert requests.patch(glint.url + "/v2/images/" + img["id"], headers=dict(h, **PATCH),
                          json=[{"op": "replace", "path": "/name", "value": "n2"}]).status_code == 200
    assert requests.get(glint.url + "/v2/images/%s/file" % img["id"], headers=h).content == data
    assert requests.post(glint.url + "/v2/images/%s/members" % img["id"], headers=h,
                         json={"member": "proj-b"}).status_code == 200
    assert requests.put(glint.url + "/v2/images/%s/members/proj-b" % img["id"], headers=h,
                        json={"status": "accepted"}).status_code == 200
    assert requests.delete(glint.url + "/v2/images/%s/members/proj-b" % img["id"], headers=h).status_code == 204
    assert requests.delete(glint.url + "/v2/images/" + img["id"], headers=h).status_code == 204

    wanted = ["image.create", "image.prepare", "image.upload", "image.activate", "image.update", "image.send",
              "image.member.create", "image.member.update", "image.member.delete", "image.delete"]
    events = listener.wait_for(lambda ev: all(of_image(ev, img["id"], t) for t in wanted))
    mine = [e["event_type"] for e in events if e["event_type"] in wanted and of_image([e], img["id"], e["event_type"])]
    assert mine.index("image.create") < mine.index("image.prepare") < mine.index("image.upload") \
        < mine.index("image.activate") < mine.index("image.send") < mine.index("image.delete")
    for e in events:
        assert e["publisher_id"] == "image.localhost" and e["priority"] == "info"

    image_keys = glance_keys("image")
    create = of_image(events, img["id"], "image.create")[0]["payload"]
    assert set(create) == image_keys
    assert create["name"] == "n1" and create["status"] == "queued" and create["properties"] == {"x_site": "a"}
    assert create["is_public"] is False and create["visibility"] == "shared"
    activate = of_image(events, img["id"], "image.activate")[0]["payload"]
    assert activate["status"] == "active" and activate["size"] == len(data)
    assert activate["checksum"] == hashlib.md5(data).hexdigest()
    upload = of_image(events, img["id"], "image.upload")[0]["payload"]
    assert set(upload) == image_keys | {"os_glance_importing_to_stores", "os_glance_failed_import"}
    assert any(e["payload"]["name"] == "n2" for e in of_image(events, img["id"], "image.update"))
    send = of_image(events, img["id"], "image.send")[0]["payload"]
    assert send["bytes_sent"] == len(data) and send["owner_id"] == img["owner"]
    assert set(send) == {"bytes_sent", "image_id", "owner_id", "receiver_tenant_id", "receiver_user_id"}
    member = of_image(events, img["id"], "image.member.update")[0]["payload"]
    assert set(member) == glance_keys("member") and member["status"] == "accepted"
    gone = of_image(events, img["id"], "image.delete")[0]["payload"]
    assert gone["deleted"] is True and gone["deleted_at"] and gone["status"] == "deleted"
    assert of_image(events, img["id"], "image.member.delete")[0]["payload"]["deleted"] is True


def test_an_import_announces_its_task_and_the_image(glint, listener):
    h = glint.h
    img = requests.post(glint.url + "/v2/images", headers=h,
                        json={"disk_format": "raw", "container_format": "bare"}).json()
    assert requests.put(glint.url + "/v2/images/%s/stage" % img["id"], data=b"x" * 5000,
                        headers=dict(h, **OCTETS)).status_code == 204
    assert requests.post(glint.url + "/v2/images/%s/import" % img["id"], headers=h,
                         json={"method": {"name": "glance-direct"}}).status_code == 202
    task_events = ["task.create", "task.run", "task.processing", "task.success"]

    def tasks_of(ev):
        return [e for e in ev if e["event_type"].startswith("task.")]

    events = listener.wait_for(
        lambda ev: of_image(ev, img["id"], "image.activate") and
        all(any(e["event_type"] == t for e in tasks_of(ev)) for t in task_events))
    tasks = tasks_of(events)
    task_id = tasks[0]["payload"]["id"]
    mine = [e for e in tasks if e["payload"]["id"] == task_id]
    assert [e["event_type"] for e in mine] == task_events
    assert set(mine[-1]["payload"]) == glance_keys("task")
    assert mine[-1]["payload"]["status"] == "success" and mine[-1]["payload"]["type"] == "api_image_import"
    assert of_image(events, img["id"], "image.prepare") and of_image(events, img["id"], "image.upload")


def test_a_refused_upload_is_announced_at_error_priority(glint, listener):
    h = glint.h
    img = requests.post(glint.url + "/v2/images", headers=h,
                        json={"disk_format": "raw", "container_format": "bare"}).json()
    qcow2_header = b"QFI\xfb" + b"\x00\x00\x00\x03" + b"\x00" * 504
    r = requests.put(glint.url + "/v2/images/%s/file" % img["id"], data=qcow2_header * 2, headers=dict(h, **OCTETS))
    assert r.status_code == 400
    events = listener.wait_for(lambda ev: any(e["priority"] == "error" and e["event_type"] == "image.upload" and
                                              img["id"] in str(e["payload"]) for e in ev))
    err = [e for e in events if e["priority"] == "error" and img["id"] in str(e["payload"])][0]
    assert isinstance(err["payload"], str) and "Failed to upload image data" in err["payload"]


def test_disabled_notifications_are_not_sent(broker, listener):
    s = start_glint(broker.url, "disabled_notifications = image.member,image.create")
    try:
        img = requests.post(s.url + "/v2/images", headers=s.h,
                            json={"disk_format": "raw", "container_format": "bare", "visibility": "shared"}).json()
        assert requests.post(s.url + "/v2/images/%s/members" % img["id"], headers=s.h,
                             json={"member": "p"}).status_code == 200
        assert requests.delete(s.url + "/v2/images/" + img["id"], headers=s.h).status_code == 204
        events = listener.wait_for(lambda ev: of_image(ev, img["id"], "image.delete"))
        assert not of_image(events, img["id"], "image.create")
        assert not of_image(events, img["id"], "image.member.create")
    finally:
        s.stop()


def test_with_the_broker_down_requests_succeed_and_events_arrive_later():
    need_dependencies()
    later = rabbitmq.Broker()  # not started yet: nothing listens on its port
    s = start_glint(later.url)
    try:
        ids = []
        for i in range(20):
            r = requests.post(s.url + "/v2/images", headers=s.h, json={"name": "while-down-%d" % i}, timeout=10)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        later.start()
        lst = rabbitmq.Listener(later.url)
        try:
            lst.wait_for(lambda ev: all(of_image(ev, i, "image.create") for i in ids), timeout=60)
        finally:
            lst.stop()
    finally:
        s.stop()
        later.stop()
