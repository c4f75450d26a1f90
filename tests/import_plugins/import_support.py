"""What the import plugin suites share: the data-type header, qemu-img (required in CI),
a Glint node started with a config snippet, a small client for the import calls, and the
handler of the HTTP origin that web-download reads from (the fixtures are in conftest.py)."""
import http.server
import os
import shutil
import sys
import time

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402

OCTET = {"Content-Type": "application/octet-stream"}
MIB = 1 << 20


def qemu_img():
    path = shutil.which("qemu-img")
    if path:
        return path
    msg = "qemu-img is not installed (qemu-utils, tools/install-deps.sh)"
    if glint_server.in_ci():
        pytest.fail(msg)
    pytest.skip(msg)

class Origin(http.server.BaseHTTPRequestHandler):
    blobs = {}

    def log_message(self, *a):
        pass

    def do_GET(self):
        data = self.blobs.get(self.path)
        self.send_response(200 if data is not None else 404)
        self.send_header("Content-Length", str(len(data or b"")))
        self.end_headers()
        self.wfile.write(data or b"")

def start(workdir, name, text):
    d = os.path.join(workdir, name)
    os.makedirs(d)
    conf = os.path.join(d, "glint.conf")
    with open(conf, "w") as f:
        f.write("[import_filtering_opts]\nallowed_ports =\nallowed_networks = 127.0.0.0/8\n" + text)
    return glint_server.GlintServer(d, config=conf).start()


class Node:
    def __init__(self, server, token=None):
        self.s = server
        self.h = {"X-Auth-Token": token or server.token}

    def create(self, disk_format="qcow2", **extra):
        body = dict({"disk_format": disk_format, "container_format": "bare"}, **extra)
        r = requests.post(self.s.url + "/v2/images", headers=self.h, json=body)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def show(self, image_id):
        r = requests.get(self.s.url + "/v2/images/" + image_id, headers=self.h)
        assert r.status_code == 200, r.text
        return r.json()

    def stage(self, image_id, data):
        return requests.put(self.s.url + "/v2/images/%s/stage" % image_id, data=data, headers=dict(self.h, **OCTET))

    def import_(self, image_id, method="glance-direct", **extra):
        r = requests.post(self.s.url + "/v2/images/%s/import" % image_id, headers=self.h,
                          json={"method": dict({"name": method}, **extra)})
        assert r.status_code == 202, r.text

    def task(self, image_id):
        tasks = requests.get(self.s.url + "/v2/images/%s/tasks" % image_id, headers=self.h).json()["tasks"]
        return tasks[0] if tasks else None

    def settle(self, image_id, timeout=60):
        """Waits until the import task ended; returns (image, task)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            t = self.task(image_id)
            if t and t["status"] in ("success", "failure"):
                return self.show(image_id), t
            time.sleep(0.1)
        raise AssertionError("the import of %s did not end: %s" % (image_id, self.show(image_id)))

    def download(self, image_id):
        r = requests.get(self.s.url + "/v2/images/%s/file" % image_id, headers=self.h)
        assert r.status_code == 200, r.text
        return r.content
