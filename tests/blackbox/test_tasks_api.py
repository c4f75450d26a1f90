"""Glance's task API (GET /v2/tasks, GET /v2/tasks/{id}): admin-only by default
(tasks_api_access), Glance's filters, sort and marker paging, the list's stub form (no
input, result or message) and the full form of one task, and Glance's 400 answers."""
import os
import sys
import time

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402


@pytest.fixture(scope="module")
def server():
    s = glint_server.GlintServer.start_default()
    s.manage("project-create", "tp")
    s.manage("user-create", "tp-member", "--password", "pw", "--project", "tp", "--role", "member")
    s.admin = {"X-Auth-Token": s.token}
    s.member = {"X-Auth-Token": s.token_for("tp-member", "pw", "tp")}
    s.tasks = [import_one(s, s.member, b"one" * 1000), import_one(s, s.member, b"two" * 1000),
               import_one(s, s.admin, b"three" * 1000)]
    yield s
    s.stop()


def import_one(s, headers, data):
    """A glance-direct import; returns its finished task's id."""
    image_id = requests.post(s.url + "/v2/images", headers=headers,
                             json={"disk_format": "raw", "container_format": "bare"}).json()["id"]
    r = requests.put(s.url + "/v2/images/%s/stage" % image_id, data=data,
                     headers=dict(headers, **{"Content-Type": "application/octet-stream"}))
    assert r.status_code == 204, r.text
    r = requests.post(s.url + "/v2/images/%s/import" % image_id, headers=headers,
                      json={"method": {"name": "glance-direct"}})
    assert r.status_code == 202, r.text
    deadline = time.time() + 30
    while time.time() < deadline:
        tasks = requests.get(s.url + "/v2/images/%s/tasks" % image_id, headers=headers).json()["tasks"]
        if tasks and tasks[0]["status"] in ("success", "failure"):
            assert tasks[0]["status"] == "success", tasks[0]
            return tasks[0]["id"]
        time.sleep(0.05)
    raise AssertionError("import did not finish")


def test_admin_lists_every_task_as_stubs(server):
    r = requests.get(server.url + "/v2/tasks", headers=server.admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["first"] == "/v2/tasks" and body["schema"] == "/v2/schemas/tasks"
    ids = [t["id"] for t in body["tasks"]]
    assert set(server.tasks) <= set(ids)
    stub = body["tasks"][0]
    assert {"id", "type", "status", "owner", "created_at", "updated_at", "self", "schema"} <= set(stub)
    assert not {"input", "result", "message"} & set(stub)
    # Newest first by default (sort_key created_at, sort_dir desc).
    assert ids.index(server.tasks[2]) < ids.index(server.tasks[0])


def test_show_gives_the_whole_task(server):
    r = requests.get(server.url + "/v2/tasks/" + server.tasks[0], headers=server.admin)
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["id"] == server.tasks[0] and t["type"] == "api_image_import" and t["status"] == "success"
    assert t["self"] == "/v2/tasks/" + t["id"] and t["schema"] == "/v2/schemas/task"
    assert t["input"]["import_req"]["method"]["name"] == "glance-direct" and "image_id" in t
    # Only the task schema's fields: Glance filters the view through it.
    assert not {"deleted", "deleted_at"} & set(t) and "owner" in t and "message" in t
    assert requests.get(server.url + "/v2/tasks/00000000-0000-0000-0000-000000000000",
                        headers=server.admin).status_code == 404


def test_paging_with_markers_visits_each_task_once(server):
    seen, url = [], "/v2/tasks?limit=1&sort_dir=asc&sort_key=created_at"
    while url:
        body = requests.get(server.url + url, headers=server.admin).json()
        seen += [t["id"] for t in body["tasks"]]
        url = body.get("next")
        assert len(seen) <= 10
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i in server.tasks] == server.tasks


def test_filters(server):
    def ids(query):
        r = requests.get(server.url + "/v2/tasks?" + query, headers=server.admin)
        assert r.status_code == 200, r.text
        return {t["id"] for t in r.json()["tasks"]}
    assert set(server.tasks) <= ids("status=success&type=api_image_import")
    assert not set(server.tasks) & ids("status=failure")
    assert not ids("type=import")


@pytest.mark.parametrize("query,message", [
    ("status=done", "Invalid status value: done"),
    ("type=copy", "Invalid type value: copy"),
    ("sort_dir=up", "Invalid sort direction: up"),
    ("sort_key=owner", "Sort key supplied is invalid: owner"),
    ("marker=not-a-uuid", "Invalid marker format"),
    ("marker=00000000-0000-0000-0000-000000000000", "could not be found"),
    ("limit=-1", "limit param must be positive"),
    ("limit=x", "limit param must be an integer"),
])
def test_bad_queries_are_400(server, query, message):
    r = requests.get(server.url + "/v2/tasks?" + query, headers=server.admin)
    assert r.status_code == 400 and message in r.text, (r.status_code, r.text)


def test_members_may_not_use_the_task_api_by_default(server):
    assert requests.get(server.url + "/v2/tasks", headers=server.member).status_code == 403
    assert requests.get(server.url + "/v2/tasks/" + server.tasks[0], headers=server.member).status_code == 403
    r = requests.delete(server.url + "/v2/tasks/" + server.tasks[0], headers=server.admin)
    assert r.status_code == 405 and "GET" in r.headers.get("Allow", "")
