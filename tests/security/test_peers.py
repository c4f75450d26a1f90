"""Peers Glint calls that misbehave: a Keystone that accepts connections and never
answers, and an image API that answers a ranged read with the whole file (200). Glint
must fail those calls in bounded time, without stalling unrelated requests, and never
hand out wrong bytes."""
import json
import os
import socket
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

import glint_server


class SilentPeer:
    """Accepts TCP connections, reads what comes, never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        self.stopped = True
        self.sock.close()
        for c in self.conns:
            c.close()


def test_a_keystone_that_never_answers_fails_calls_in_bounded_time(tmp_path):
    peer = SilentPeer()
    conf = tmp_path / "ks.conf"
    conf.write_text("[paste_deploy]\nflavor = keystone\n[keystone_authtoken]\n"
                    "auth_url = http://127.0.0.1:%d/v3\nusername = glance\npassword = x\nproject_name = service\n"
                    "http_read_timeout = 2\n" % peer.port)
    s = glint_server.GlintServer(str(tmp_path / "data"), config=str(conf))
    os.makedirs(s.data_dir)
    s.start()
    try:
        def validate(i):
            t0 = time.time()
            r = requests.get(s.url + "/v2/images", headers={"X-Auth-Token": "user-token-%d" % i}, timeout=60)
            return r.status_code, time.time() - t0
        with ThreadPoolExecutor(6) as pool:
            hanging = [pool.submit(validate, i) for i in range(6)]
            time.sleep(0.3)
            # Meanwhile a request that needs no Keystone is answered at once.
            t0 = time.time()
            r = requests.get(s.url + "/v2/images", headers={"X-Auth-Token": s.token}, timeout=10)
            assert r.status_code == 200
            assert time.time() - t0 < 1.0
            results = [f.result() for f in hanging]
        for status, took in results:
            assert status == 503, results
            assert took < 10, results
        # The six validations waited in parallel, not one after another behind a lock.
        assert max(t for _, t in results) < 2 * 2 + 3, results
    finally:
        s.stop()
        peer.close()


IMAGE_ID = str(uuid.uuid4())
DATA = bytes((i * 7 + 3) % 256 for i in range(200000))


class WholeFileApi(BaseHTTPRequestHandler):
    """A Glance-like API whose data path ignores Range and always answers 200."""

    def log_message(self, *args):
        pass

    def _json(self, doc):
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        image = {"id": IMAGE_ID, "name": "whole", "status": "active", "size": len(DATA), "owner": "p",
                 "visibility": "public", "updated_at": "2026-01-01T00:00:00Z", "disk_format": "raw",
                 "container_format": "bare"}
        if self.path.startswith("/v2/images?"):
            return self._json({"images": [image], "first": "/v2/images"})
        if self.path == "/v2/images/" + IMAGE_ID:
            return self._json(image)
        if self.path == "/v2/images/%s/file" % IMAGE_ID:
            self.send_response(200)
            self.send_header("Content-Length", str(len(DATA)))
            self.end_headers()
            self.wfile.write(DATA)
            return
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_glint_fs_never_takes_a_200_to_a_ranged_read_as_the_range(tmp_path):
    if not os.path.exists("/dev/fuse"):
        pytest.fail("no /dev/fuse") if glint_server.in_ci() else pytest.skip("no /dev/fuse")
    api = ThreadingHTTPServer(("127.0.0.1", 0), WholeFileApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    mnt = str(tmp_path / "mnt")
    os.makedirs(mnt)
    env = dict(os.environ, OS_AUTH_TOKEN="t")
    proc = subprocess.Popen([glint_server.binary("glint-fs"), mnt, "--api", "http://127.0.0.1:%d" % api.server_port,
                             "--http", "--refresh", "1", "--api-timeout", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        path = os.path.join(mnt, "by-id", IMAGE_ID)
        deadline = time.time() + 20
        while not os.path.exists(path) and time.time() < deadline:
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
            time.sleep(0.1)
        assert os.path.getsize(path) == len(DATA)
        with open(path, "rb", buffering=0) as f:
            f.seek(100000)
            with pytest.raises(OSError) as err:
                f.read(4096)
            assert err.value.errno == 5  # EIO: never the first bytes of the file as if they were these
    finally:
        subprocess.run(["fusermount3", "-u", "-z", mnt], check=False)
        proc.terminate()
        proc.wait(20)
        api.shutdown()


class CountingKeystone(ThreadingHTTPServer):
    """A Keystone that accepts any user token, counts TCP connections and validations,
    and answers each validation after `delay` seconds."""

    daemon_threads = True

    def __init__(self, delay=0.0):
        self.accepts = 0
        self.validations = 0
        self.delay = delay
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), CountingKeystoneHandler)

    def get_request(self):
        conn = super().get_request()
        with self.lock:
            self.accepts += 1
        return conn


class CountingKeystoneHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Keystone behind any web server

    def log_message(self, *args):
        pass

    def _token(self, status, token_id=None):
        expires = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(time.time() + 3600))
        body = json.dumps({"token": {"user": {"id": "u-" + (token_id or "svc")}, "project": {"id": "p1"},
                                     "roles": [{"name": "member"}, {"name": "service"}],
                                     "expires_at": expires}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if token_id is None:
            self.send_header("X-Subject-Token", "service-token")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._token(201)

    def do_GET(self):
        with self.server.lock:
            self.server.validations += 1
        time.sleep(self.server.delay)
        self._token(200, self.headers.get("X-Subject-Token", ""))


def keystone_mode_server(tmp_path, keystone):
    conf = tmp_path / "ks.conf"
    conf.write_text("[paste_deploy]\nflavor = keystone\n[keystone_authtoken]\n"
                    "auth_url = http://127.0.0.1:%d/v3\nusername = glance\npassword = x\nproject_name = service\n"
                    % keystone.server_port)
    s = glint_server.GlintServer(str(tmp_path / "data"), config=str(conf))
    os.makedirs(s.data_dir)
    s.start()
    return s


def test_keystone_validations_reuse_connections(tmp_path):
    keystone = CountingKeystone()
    threading.Thread(target=keystone.serve_forever, daemon=True).start()
    s = keystone_mode_server(tmp_path, keystone)
    try:
        n = 30
        for i in range(n):  # distinct tokens: each one is a validation (no cache hit)
            r = requests.get(s.url + "/v2/images", headers={"X-Auth-Token": "user-%d" % i}, timeout=10)
            assert r.status_code == 200, r.text
        assert keystone.validations == n
        # The service token's issue and every validation share kept-alive connections.
        assert keystone.accepts <= 2, keystone.accepts
    finally:
        s.stop()
        keystone.shutdown()


def test_concurrent_keystone_validations_still_run_in_parallel(tmp_path):
    keystone = CountingKeystone(delay=1.0)
    threading.Thread(target=keystone.serve_forever, daemon=True).start()
    s = keystone_mode_server(tmp_path, keystone)
    try:
        def validate(i):
            r = requests.get(s.url + "/v2/images", headers={"X-Auth-Token": "par-%d" % i}, timeout=30)
            return r.status_code
        for rnd in range(2):  # the second round runs on connections kept from the first
            t0 = time.time()
            with ThreadPoolExecutor(6) as pool:
                statuses = list(pool.map(validate, range(rnd * 6, rnd * 6 + 6)))
            took = time.time() - t0
            assert statuses == [200] * 6
            # Six 1 s validations one after another would take 6 s.
            assert took < 3.0, took
        assert keystone.validations == 12
        assert keystone.accepts <= 7, keystone.accepts  # <= 6 in parallel, + the service token's
    finally:
        s.stop()
        keystone.shutdown()
