"""web-download imports and the outbound-address filter, with real servers: a loopback
HTTP server and an HTTPS server with a test CA (both allowed by configuration), Debian's
glanceclient, and a default-configured glint-api for the SSRF refusals.

In CI (CI=true) a missing client or openssl is a failure, never a skip.
"""
import hashlib
import http.server
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402


def need(cmd):
    path = shutil.which(cmd)
    if path:
        return path
    msg = "%s is not installed (Debian package needed by this test)" % cmd
    if glint_server.in_ci():
        pytest.fail(msg)
    pytest.skip(msg)


BLOBS = {}          # path -> bytes
STALLS = {}         # path -> threading.Event set once the first part was sent
RELEASE = threading.Event()


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves BLOBS with Range support; /redirect?to=URL answers 302; /stall/<n> sends
    a head for 16 MiB and 2 MiB of it, then waits (until RELEASE)."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_HEAD(self):
        self.answer(head=True)

    def do_GET(self):
        self.answer(head=False)

    def answer(self, head):
        path = self.path
        self.server.seen.append((self.command, path, self.headers.get("Range")))
        if path.startswith("/redirect?to="):
            self.send_response(302)
            self.send_header("Location", path[len("/redirect?to="):])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path.startswith("/stall/"):
            self.send_response(200)
            self.send_header("Content-Length", str(16 << 20))
            self.end_headers()
            try:
                self.wfile.write(b"\x01" * (2 << 20))
                self.wfile.flush()
            except OSError:
                return
            STALLS.setdefault(path, threading.Event()).set()
            RELEASE.wait(120)
            return
        data = BLOBS.get(path)
        if data is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            first, _, last = rng[6:].partition("-")
            first = int(first)
            last = min(int(last) if last else len(data) - 1, len(data) - 1)
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (first, last, len(data)))
            body = data[first:last + 1]
        else:
            self.send_response(200)
            body = data
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


def start_http(context=None, host="127.0.0.1"):
    srv = http.server.ThreadingHTTPServer((host, 0), Handler)
    srv.daemon_threads = True
    srv.seen = []
    if context:
        srv.socket = context.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def make_ca(d):
    """A test CA and a server certificate for 127.0.0.1 and localhost, by openssl(1)."""
    openssl = need("openssl")
    run = lambda *a: subprocess.run([openssl] + list(a), cwd=d, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=glint test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "srv.pem",
        "-days", "2", "-extfile", "ext.cnf")
    return os.path.join(d, "ca.pem"), os.path.join(d, "srv.pem"), os.path.join(d, "srv.key")


@pytest.fixture(scope="module")
def workdir():
    d = tempfile.mkdtemp(prefix="glint-web-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def origin():
    srv = start_http()
    yield srv
    RELEASE.set()
    srv.shutdown()


@pytest.fixture(scope="module")
def tls_origin(workdir):
    ca, cert, key = make_ca(workdir)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = start_http(ctx)
    srv.ca = ca
    yield srv
    srv.shutdown()


def server_with(workdir, name, text):
    d = os.path.join(workdir, name + "-" + uuid.uuid4().hex[:6])
    os.makedirs(d)
    conf = os.path.join(d, "glint.conf")
    with open(conf, "w") as f:
        f.write(text)
    return glint_server.GlintServer(d, config=conf).start()


@pytest.fixture(scope="module")
def allowing(workdir, tls_origin):
    """Loopback allowed by configuration (allowed_networks, any port), the test CA trusted,
    a short stall timeout and a 48 MiB size cap."""
    s = server_with(workdir, "allowing",
                    "[DEFAULT]\noutbound_ca_file = %s\noutbound_stall_timeout = 3\nimage_size_cap = %d\n"
                    "[import_filtering_opts]\nallowed_ports =\nallowed_networks = 127.0.0.0/8\n"
                    % (tls_origin.ca, 48 << 20))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def default():
    s = glint_server.GlintServer.start_default()
    yield s
    s.stop()


def h(s):
    return {"X-Auth-Token": s.token}


def new_image(s, **extra):
    body = dict({"disk_format": "raw", "container_format": "bare"}, **extra)
    return requests.post(s.url + "/v2/images", headers=h(s), json=body).json()["id"]


def web_download(s, image_id, uri):
    return requests.post(s.url + "/v2/images/%s/import" % image_id, headers=h(s),
                         json={"method": {"name": "web-download", "uri": uri}})


def image(s, image_id):
    return requests.get(s.url + "/v2/images/" + image_id, headers=h(s)).json()


def tasks(s, image_id):
    return requests.get(s.url + "/v2/images/%s/tasks" % image_id, headers=h(s)).json()["tasks"]


def wait_task_done(s, image_id, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        t = tasks(s, image_id)
        if t and t[0]["status"] in ("success", "failure"):
            return t[0]
        time.sleep(0.1)
    raise AssertionError("task did not finish: %s / %s" % (tasks(s, image_id), image(s, image_id)))


def store_entries(s, image_id):
    return [f for f in os.listdir(s.store_dir) if image_id in f] if os.path.isdir(s.store_dir) else []


def glance(s, home, *args, expect_ok=True):
    e = dict(os.environ, HOME=home)
    e.pop("OS_CLOUD", None)
    # glanceclient refuses web-download when stdin looks like piped data: give it a tty.
    master, slave = os.openpty()
    try:
        p = subprocess.run([need("glance"), "--os-image-url", s.url, "--os-auth-token", s.token] + list(args),
                           env=e, capture_output=True, timeout=300, stdin=slave)
    finally:
        os.close(master)
        os.close(slave)
    out = p.stdout.decode(errors="replace")
    if expect_ok:
        assert p.returncode == 0, "glance %s: %s %s" % (args, out, p.stderr.decode(errors="replace"))
    return p.returncode, out, p.stderr.decode(errors="replace")


def created_id(out):
    return [l.split("|")[2].strip() for l in out.splitlines() if l.startswith("| id ")][0]


def assert_failed_cleanly(s, image_id, words):
    t = wait_task_done(s, image_id)
    assert t["status"] == "failure", t
    assert any(w in t["message"] for w in words), t["message"]
    img = image(s, image_id)
    assert img["status"] == "queued" and img["size"] is None and img["checksum"] is None, img
    assert store_entries(s, image_id) == []


# ------------------------------------------------------------------ allowed downloads

@pytest.mark.parametrize("tls", [False, True], ids=["http", "https-test-ca"])
def test_glanceclient_web_download(allowing, origin, tls_origin, workdir, tls):
    data = os.urandom(5 << 20) + b"tail"
    path = "/img-%s.raw" % uuid.uuid4().hex[:8]
    BLOBS[path] = data
    srv = tls_origin if tls else origin
    uri = "%s://127.0.0.1:%d%s" % ("https" if tls else "http", srv.server_address[1], path)
    _, out, _ = glance(allowing, workdir, "image-create-via-import", "--name", "wd", "--disk-format", "raw",
                       "--container-format", "bare", "--import-method", "web-download", "--uri", uri)
    image_id = created_id(out)
    t = wait_task_done(allowing, image_id)
    assert t["status"] == "success", t
    assert t["input"]["import_req"]["method"] == {"name": "web-download", "uri": uri}
    img = image(allowing, image_id)
    assert img["status"] == "active" and img["size"] == len(data)
    assert img["checksum"] == hashlib.md5(data).hexdigest()
    assert img["os_hash_value"] == hashlib.sha512(data).hexdigest()
    r = requests.get(allowing.url + "/v2/images/%s/file" % image_id, headers=h(allowing))
    assert r.content == data


def test_info_lists_web_download(default):
    info = requests.get(default.url + "/v2/info/import", headers=h(default)).json()
    assert "web-download" in info["import-methods"]["value"]


def test_an_allowed_redirect_is_followed(allowing, origin):
    data = os.urandom(100000)
    BLOBS["/target.raw"] = data
    port = origin.server_address[1]
    image_id = new_image(allowing)
    r = web_download(allowing, image_id, "http://127.0.0.1:%d/redirect?to=/target.raw" % port)
    assert r.status_code == 202, r.text
    assert wait_task_done(allowing, image_id)["status"] == "success"
    assert image(allowing, image_id)["checksum"] == hashlib.md5(data).hexdigest()


# ------------------------------------------------------------------ refusals

@pytest.mark.parametrize("uri", [
    "http://127.0.0.1/x", "http://169.254.169.254/latest/meta-data/", "http://[::1]/x",
    "http://2130706433/x", "http://0177.0.0.1/x", "http://0x7f000001/x", "http://localhost/x",
    "http://[::ffff:127.0.0.1]/x", "http://10.0.0.1/x", "http://8.8.8.8:8080/x", "file:///etc/passwd",
    "ftp://8.8.8.8/x"])
def test_refused_at_request_time_with_the_default_configuration(default, uri):
    image_id = new_image(default)
    r = web_download(default, image_id, uri)
    assert r.status_code == 400, r.text
    assert "URI for web-download does not pass filtering" in r.json()["error"]["message"]
    img = image(default, image_id)
    assert img["status"] == "queued" and tasks(default, image_id) == []


def test_glanceclient_sees_the_refusal(default, workdir):
    rc, out, err = glance(default, workdir, "image-create-via-import", "--name", "ssrf", "--disk-format", "raw",
                          "--container-format", "bare", "--import-method", "web-download",
                          "--uri", "http://169.254.169.254/latest/meta-data/", expect_ok=False)
    assert rc != 0 and "does not pass filtering" in out + err


def test_the_loopback_origin_itself_is_refused_by_default(default, origin):
    BLOBS["/secret"] = b"internal"
    image_id = new_image(default)
    r = web_download(default, image_id, "http://127.0.0.1:%d/secret" % origin.server_address[1])
    assert r.status_code == 400
    assert image(default, image_id)["status"] == "queued"


@pytest.mark.parametrize("to", ["http://169.254.169.254/latest/meta-data/", "http://[::1]:{port}/target.raw",
                                "http://2130706433:{port}/target.raw",
                                "gopher://127.0.0.1:{port}/"])
def test_a_redirect_to_a_refused_address_fails_the_task(allowing, origin, to):
    """Loopback is allowed only as 127.0.0.0/8 (allowed_networks): a redirect to ::1, to
    a numeric spelling, to a name or to the metadata address is checked again and refused."""
    port = origin.server_address[1]
    BLOBS["/target.raw"] = b"t" * 1000
    image_id = new_image(allowing)
    r = web_download(allowing, image_id, "http://127.0.0.1:%d/redirect?to=%s" % (port, to.format(port=port)))
    assert r.status_code == 202, r.text
    assert_failed_cleanly(allowing, image_id, ["redirect to"])


def test_too_many_redirects(allowing, origin):
    port = origin.server_address[1]
    uri = "/target.raw"
    for _ in range(7):
        uri = "http://127.0.0.1:%d/redirect?to=%s" % (port, uri)
    image_id = new_image(allowing)
    assert web_download(allowing, image_id, uri).status_code == 202
    assert_failed_cleanly(allowing, image_id, ["redirects"])


# ------------------------------------------------------------------ failures end cleanly

def test_not_found_size_cap_and_stall(allowing, origin):
    port = origin.server_address[1]
    image_id = new_image(allowing)
    assert web_download(allowing, image_id, "http://127.0.0.1:%d/missing" % port).status_code == 202
    assert_failed_cleanly(allowing, image_id, ["HTTP 404"])

    BLOBS["/big.raw"] = b"b" * (49 << 20)
    image_id = new_image(allowing)
    assert web_download(allowing, image_id, "http://127.0.0.1:%d/big.raw" % port).status_code == 202
    assert_failed_cleanly(allowing, image_id, ["image_size_cap", "size limit"])

    image_id = new_image(allowing)
    assert web_download(allowing, image_id, "http://127.0.0.1:%d/stall/one" % port).status_code == 202
    started = time.time()
    assert_failed_cleanly(allowing, image_id, ["sends nothing", "no answer"])
    assert time.time() - started < 30

    # The image can be imported again after a failure.
    BLOBS["/again.raw"] = b"a" * 4096
    assert web_download(allowing, image_id, "http://127.0.0.1:%d/again.raw" % port).status_code == 202
    assert wait_task_done(allowing, image_id)["status"] == "success"


def test_sigkill_during_web_download_leaves_nothing(workdir, origin):
    s = server_with(workdir, "kill", "[import_filtering_opts]\nallowed_ports =\nallowed_networks = 127.0.0.1/32\n")
    try:
        image_id = new_image(s)
        path = "/stall/" + image_id
        assert web_download(s, image_id, "http://127.0.0.1:%d%s" % (origin.server_address[1], path)).status_code == 202
        deadline = time.time() + 20
        while not (path in STALLS and STALLS[path].is_set()) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the 2 MiB reach the store
        assert image(s, image_id)["status"] == "importing"
        assert store_entries(s, image_id), "the partial download should be in the store"
        s.kill()
        s.start()
        deadline = time.time() + 20
        while time.time() < deadline and (image(s, image_id)["status"] != "queued" or store_entries(s, image_id)):
            time.sleep(0.1)
        img = image(s, image_id)
        assert img["status"] == "queued" and img["size"] is None, img
        assert store_entries(s, image_id) == []
        t = tasks(s, image_id)[0]
        assert t["status"] == "failure" and "interrupted" in t["message"]
    finally:
        s.stop()


# ------------------------------------------------------------------ the read-only http store

@pytest.fixture(scope="module")
def locations(workdir):
    """show_multiple_locations, loopback allowed by configuration (allowed_networks)."""
    s = server_with(workdir, "locations", "[DEFAULT]\nshow_multiple_locations = true\n"
                    "[import_filtering_opts]\nallowed_ports =\nallowed_networks = 127.0.0.0/8\n")
    yield s
    s.stop()


def add_location(s, image_id, url, data=None):
    value = {"url": url, "metadata": {}}
    if data is not None:
        value["validation_data"] = {"checksum": hashlib.md5(data).hexdigest(), "os_hash_algo": "sha512",
                                    "os_hash_value": hashlib.sha512(data).hexdigest()}
    return requests.patch(s.url + "/v2/images/" + image_id,
                          headers=dict(h(s), **{"Content-Type": "application/openstack-images-v2.1-json-patch"}),
                          json=[{"op": "add", "path": "/locations/-", "value": value}])


def test_http_location_is_read_through_the_filter_with_ranges(locations, origin):
    data = os.urandom(3 << 20) + b"end"
    BLOBS["/remote.raw"] = data
    url = "http://127.0.0.1:%d/remote.raw" % origin.server_address[1]
    image_id = new_image(locations)
    r = add_location(locations, image_id, url, data)
    assert r.status_code == 200, r.text
    img = image(locations, image_id)
    assert img["status"] == "active" and img["size"] == len(data)  # the size came by HEAD
    seen_before = len(origin.seen)
    r = requests.get(locations.url + "/v2/images/%s/file" % image_id, headers=h(locations))
    assert r.status_code == 200 and r.content == data
    r = requests.get(locations.url + "/v2/images/%s/file" % image_id,
                     headers=dict(h(locations), Range="bytes=1000-2999"))
    assert r.status_code == 206 and r.content == data[1000:3000]
    # Glint read the remote data with Range requests only.
    gets = [x for x in origin.seen[seen_before:] if x[0] == "GET" and x[1] == "/remote.raw"]
    assert gets and all(x[2] and x[2].startswith("bytes=") for x in gets)
    # Deleting the image forgets the location; the remote data is not Glint's to delete.
    assert requests.delete(locations.url + "/v2/images/" + image_id, headers=h(locations)).status_code == 204
    assert BLOBS["/remote.raw"] == data


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[::1]:{port}/remote.raw",
                                 "http://2130706433:{port}/remote.raw",
                                 "http://127.0.0.1:{port}/redirect?to=http://169.254.169.254/"])
def test_http_location_at_a_refused_address_is_refused(locations, origin, url):
    BLOBS["/remote.raw"] = b"r" * 1000
    image_id = new_image(locations)
    r = add_location(locations, image_id, url.format(port=origin.server_address[1]))
    assert r.status_code == 400, r.text
    assert image(locations, image_id)["status"] == "queued"


def test_http_location_refused_by_default(default, origin):
    """With the default filter even a server on loopback cannot be made a location (and
    the locations API is off by default anyway)."""
    BLOBS["/remote.raw"] = b"r" * 1000
    image_id = new_image(default)
    r = add_location(default, image_id, "http://127.0.0.1:%d/remote.raw" % origin.server_address[1])
    assert r.status_code in (400, 403), r.text
    assert image(default, image_id)["status"] == "queued"
