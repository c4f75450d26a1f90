"""The access log: one line per request in glint-api's service log, written when the
response is complete (a download after its last byte), with the request id, who sent it,
what was asked, the status, the body bytes sent and the duration."""
import re
import socket
import time
import uuid

import pytest
import requests

import conftest

pytestmark = pytest.mark.skipif(conftest._SERVER is None, reason="needs the log of a glint-api this suite started")

LINE = re.compile(r'^.*\] access (?P<rid>\S+) user=(?P<user>\S+) project=(?P<project>\S+) '
                  r'"(?P<method>\S+) (?P<target>\S+)" (?P<status>\d{3}|-) (?P<bytes>\d+) (?P<ms>\d+\.\d)ms$')


def access_line(request_id, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(conftest._SERVER.data_dir + "/api.log", "rb") as f:
            for raw in f.read().decode(errors="replace").splitlines():
                m = LINE.match(raw)
                if m and m["rid"] == request_id:
                    return m
        time.sleep(0.05)
    raise AssertionError("no access line for %s" % request_id)


def new_request_id():
    return "req-" + str(uuid.uuid4())


@pytest.fixture(scope="module")
def user_token():
    name = "acl" + uuid.uuid4().hex[:8]
    s = conftest._SERVER
    s.manage("project-create", name)
    s.manage("user-create", name, "--password", "pw", "--project", name)
    return s.token_for(name, "pw", name)


def test_authenticated_request_names_user_and_project(user_token):
    rid = new_request_id()
    r = requests.get(conftest.BASE + "/v2/images?limit=1",
                     headers={"X-Auth-Token": user_token, "X-OpenStack-Request-ID": rid})
    assert r.status_code == 200
    m = access_line(rid)
    assert m["user"] != "-" and m["project"] != "-", m.group(0)
    assert (m["method"], m["target"], m["status"]) == ("GET", "/v2/images?limit=1", "200")
    assert int(m["bytes"]) == len(r.content)
    assert float(m["ms"]) < 5000


def test_unauthenticated_request_has_no_user():
    rid = new_request_id()
    r = requests.get(conftest.BASE + "/v2/images", headers={"X-OpenStack-Request-ID": rid})
    assert r.status_code == 401
    m = access_line(rid)
    assert (m["user"], m["project"], m["status"]) == ("-", "-", "401")


def test_download_is_logged_with_every_byte(api, make_image):
    data = b"z" * (3 << 20)
    image = make_image.active(data=data)
    rid = new_request_id()
    r = api.get("/v2/images/%s/file" % image["id"], headers={"X-OpenStack-Request-ID": rid})
    assert r.status_code == 200 and len(r.content) == len(data)
    m = access_line(rid)
    assert (m["status"], int(m["bytes"])) == ("200", len(data))


def test_odd_bytes_in_the_target_are_escaped():
    rid = new_request_id()
    s = socket.create_connection(("127.0.0.1", conftest._SERVER.port))
    s.sendall(b"GET /v2/images/a\xffb\"c HTTP/1.1\r\nHost: x\r\nX-OpenStack-Request-ID: " + rid.encode() +
              b"\r\nConnection: close\r\n\r\n")
    s.settimeout(10)
    assert s.recv(4096).startswith(b"HTTP/1.1 ")
    s.close()
    m = access_line(rid)
    assert m["target"] == "/v2/images/a\\xffb\\x22c", m.group(0)
