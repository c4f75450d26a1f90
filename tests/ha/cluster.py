"""The production shape for the ha suite, started the way a newcomer does (`tools/run.sh --ha`,
which installs, builds and runs tools/cluster.sh, prints the URL, and removes it all on
Ctrl-C), tools/cluster.sh for the faults, and a steady client load through its HAProxy: concurrent uploads, downloads and lists,
every request recorded with its start and end time and outcome."""
import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402

ROOT = glint_server.ROOT
SCRIPT = os.path.join(ROOT, "tools", "cluster.sh")
RUN = os.path.join(ROOT, "tools", "run.sh")
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
NEEDS = ["/usr/sbin/mariadbd", "/usr/lib/galera/libgalera_smm.so", "/usr/sbin/haproxy", "/usr/bin/rsync",
         "/usr/bin/ceph-mon", "/usr/bin/wsrep_sst_rsync", FAKETIME_LIB]
LOCK_TTL = 10  # seconds: short, so that a dead node's locks expire within the test


def missing_deps():
    return [p for p in NEEDS if not os.path.exists(p)]


def _ports_free(base, count):
    for port in range(base, base + count):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_base_port():
    for _ in range(50):
        base = random.randrange(20000, 40000, 100)
        if _ports_free(base, 61):
            return base
    raise RuntimeError("no free range of 61 ports")


class Cluster:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="glint-ha-", dir="/tmp")
        self.base = free_base_port()
        self.env = dict(os.environ, GLINT_UPLOAD_LOCK_TTL=str(LOCK_TTL), GLINT_DRAIN_DELAY="2",
                        GLINT_DRAIN_TIMEOUT="30", GLINT_API_BIN=glint_server.binary("glint-api"),
                        GLINT_MANAGE_BIN=glint_server.binary("glint-manage"))
        self.url = "http://127.0.0.1:%d" % self.base

    def run(self, *args, env=None, timeout=240):
        p = subprocess.run([SCRIPT] + list(args), capture_output=True, text=True, timeout=timeout,
                           env=dict(self.env, **(env or {})))
        if p.returncode != 0:
            raise RuntimeError("cluster.sh %s failed (%s): %s%s" % (args, p.returncode, p.stderr, self.logs()))
        return p.stdout

    def start(self):
        """`tools/run.sh --ha` in its own process group, as a user runs it; returns once it
        says the cluster is running at self.url."""
        self.out = self.dir + ".out"
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(["bash", RUN, "--ha"], stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True,
                                         env=dict(self.env, GLINT_DATA_DIR=self.dir, GLINT_PORT=str(self.base)))
        deadline = time.time() + 600  # a first run may install and build
        while b"is running: %s\n" % self.url.encode() not in self.output():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("run.sh --ha did not start: %s%s" % (self.output()[-3000:], self.logs()))
            time.sleep(0.5)
        with open(os.path.join(self.dir, "admin-token")) as f:
            self.token = f.read().strip()
        with open(os.path.join(self.dir, "admin-password")) as f:
            self.admin_password = f.read().strip()
        self.ceph_conf = os.path.join(self.dir, "ceph", "ceph.conf")
        return self

    def output(self):
        with open(self.out, "rb") as f:
            return f.read()

    def ctrl_c(self):
        """Ctrl-C to run.sh (SIGINT to its process group): it stops and removes everything."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(240)
        return self.proc.returncode

    def pids(self):
        """The pids of every daemon the cluster runs (API nodes, MariaDB, HAProxy, Ceph)."""
        out = []
        for top, _, files in os.walk(self.dir):
            for f in files:
                if f.endswith(".pid") or f == "pid":
                    try:
                        with open(os.path.join(top, f)) as fh:
                            out.append(int(fh.read().strip()))
                    except (OSError, ValueError):
                        pass
        return out

    def sql(self, query):
        """Runs `query` on the catalog database of a running Galera node; its rows as text."""
        errors = []
        for n in (2, 3, 1):
            p = subprocess.run(["mariadb", "--no-defaults", "-S", os.path.join(self.dir, "db%d" % n, "sock"),
                                "-uroot", "-N", "-B", "glint", "-e", query], capture_output=True, text=True, timeout=60)
            if p.returncode == 0:
                return p.stdout
            errors.append(p.stderr)
        raise RuntimeError("no Galera node answered: %s" % errors)

    def stop(self):
        if getattr(self, "proc", None) is not None:
            try:
                self.ctrl_c()
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        subprocess.run([SCRIPT, "stop", self.dir], capture_output=True, env=self.env, timeout=180)
        shutil.rmtree(self.dir, ignore_errors=True)
        if getattr(self, "out", None) and os.path.exists(self.out):
            os.unlink(self.out)

    def logs(self):
        out = []
        for name in ("api1/api.log", "api2/api.log", "api3/api.log", "db1/err.log"):
            try:
                with open(os.path.join(self.dir, name), "rb") as f:
                    out.append("\n--- %s\n%s" % (name, f.read()[-2000:].decode(errors="replace")))
            except OSError:
                pass
        return "".join(out)

    def node_url(self, n):
        return "http://127.0.0.1:%d" % (self.base + n)

    def api(self, method, path, base=None, token=None, **kw):
        h = kw.pop("headers", {})
        h["X-Auth-Token"] = token or self.token
        return requests.request(method, (base or self.url) + path, headers=h, timeout=60, **kw)

    def rbd_ls(self):
        p = subprocess.run(["rbd", "--id", "glance", "-p", "images", "ls"], capture_output=True, text=True,
                           env=dict(os.environ, CEPH_CONF=self.ceph_conf), timeout=60)
        assert p.returncode == 0, p.stderr
        return set(p.stdout.split())

    def skewed(self, offset):
        """The environment that starts an API node whose clock is `offset` off (libfaketime)."""
        return {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": offset, "FAKETIME_DONT_RESET": "1"}


class Event:
    __slots__ = ("t0", "t1", "kind", "ok", "detail")

    def __init__(self, t0, t1, kind, ok, detail):
        self.t0, self.t1, self.kind, self.ok, self.detail = t0, t1, kind, ok, detail

    def __repr__(self):
        return "%s at +%.2f..+%.2f: %s" % (self.kind, self.t0, self.t1, self.detail)


class Load:
    """Uploads, downloads and lists through HAProxy on several threads until stopped."""

    def __init__(self, cluster, uploaders=3, downloaders=2, listers=1, size=256 << 10):
        self.c, self.size = cluster, size
        self.plan = [self.uploader] * uploaders + [self.downloader] * downloaders + [self.lister] * listers
        self.events, self.uploaded, self.failed_uploads = [], {}, []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.epoch = time.monotonic()

    def now(self):
        return time.monotonic() - self.epoch

    def start(self):
        self.threads = [threading.Thread(target=fn, daemon=True) for fn in self.plan]
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.done.set()
        for t in self.threads:
            t.join(120)
        return self

    def call(self, session, kind, method, path, expect, **kw):
        t0 = self.now()
        try:
            r = session.request(method, self.c.url + path, headers=dict(kw.pop("headers", {}), **{
                "X-Auth-Token": self.c.token}), timeout=60, **kw)
            ok, detail = r.status_code in expect, "%s %s" % (r.status_code, r.text[:200])
        except requests.RequestException as e:
            r, ok, detail = None, False, repr(e)
        with self.lock:
            self.events.append(Event(t0, self.now(), kind, ok, detail))
        return r if ok else None

    def uploader(self):
        s = requests.Session()
        while not self.done.is_set():
            r = self.call(s, "create", "POST", "/v2/images", (201,), json={
                "name": "load-%d" % random.randrange(1 << 30), "disk_format": "raw", "container_format": "bare"})
            if r is None:
                continue
            image_id, data = r.json()["id"], os.urandom(self.size)
            r = self.call(s, "upload", "PUT", "/v2/images/%s/file" % image_id, (204,), data=data,
                          headers={"Content-Type": "application/octet-stream"})
            with self.lock:
                if r is None:
                    self.failed_uploads.append(image_id)
                else:
                    self.uploaded[image_id] = hashlib.md5(data).hexdigest()

    def downloader(self):
        s = requests.Session()
        while not self.done.is_set():
            with self.lock:
                ids = list(self.uploaded.items())
            if not ids:
                time.sleep(0.05)
                continue
            image_id, md5 = random.choice(ids)
            r = self.call(s, "download", "GET", "/v2/images/%s/file" % image_id, (200,))
            if r is not None and hashlib.md5(r.content).hexdigest() != md5:
                with self.lock:
                    self.events.append(Event(self.now(), self.now(), "download", False, "wrong data " + image_id))

    def lister(self):
        s = requests.Session()
        while not self.done.is_set():
            self.call(s, "list", "GET", "/v2/images?limit=20&sort=created_at:desc", (200,))

    def failures(self):
        return [e for e in self.events if not e.ok]

    def ok_after(self, t):
        return [e for e in self.events if e.ok and e.t0 > t]


def slow_upload(url, token, image_id, data, seconds, result):
    """PUTs `data` to one node directly in chunks spread over `seconds`; stores the outcome
    (status code or the exception) in result["status"]."""
    n = 32
    step = len(data) // n

    def body():
        for i in range(n):
            yield data[i * step:(i + 1) * step if i < n - 1 else len(data)]
            time.sleep(seconds / n)
    try:
        r = requests.put("%s/v2/images/%s/file" % (url, image_id), data=body(), timeout=120,
                         headers={"X-Auth-Token": token, "Content-Type": "application/octet-stream"})
        result["status"] = r.status_code
        result["body"] = r.text
    except requests.RequestException as e:
        result["status"] = e
