"""Starts and stops a real glint-api for black-box tests (port 0, private data dir).

Used by every Python test suite; the binary comes from GLINT_API_BIN, else build/.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def binary(name):
    env = {"glint-api": "GLINT_API_BIN", "glint": "GLINT_CLI_BIN", "glint-fs": "GLINT_FS_BIN",
           "glint-manage": "GLINT_MANAGE_BIN"}[name]
    if os.environ.get(env):
        return os.environ[env]
    for cand in (os.path.join(ROOT, "build", d, name) for d in ("control", "fs", "cli")):
        if os.path.exists(cand):
            return cand
    raise RuntimeError("%s not found: build first or set %s" % (name, env))


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "ERROR: UndefinedBehaviorSanitizer")


def sanitizer_report(log_path):
    """The sanitizer findings a process logged (a sanitized build aborts on the first one,
    but the test only sees a dead server: this makes the report the failure)."""
    try:
        with open(log_path, "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    for mark in SANITIZER_MARKS:
        i = text.find(mark)
        if i >= 0:
            # The process's own log lines keep coming while the sanitizer symbolizes its stack
            # (other threads run on): leave them out, so the whole report fits.
            lines = [ln for ln in text[i:].splitlines() if not re.match(r"\[\d{4}-\d\d-\d\d ", ln)]
            return "\n".join(lines)[:12000]
    return ""


def is_mounted(path):
    """Whether `path` is a mount point, from /proc/self/mounts: a FUSE mount whose daemon
    died (a kill -9) fails every stat with ENOTCONN, so os.path.ismount says False and the
    dead mount would be left behind."""
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 1 and fields[1].replace("\\040", " ") == path:
                return True
    return False


def in_ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def terminate(proc, timeout=30):
    """SIGTERM, then SIGKILL if `proc` has not exited within `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_engine():
    """The catalog engine the suites run Glint on: "sqlite" (default) or "mariadb"
    ($GLINT_TEST_ENGINE, set by the *_mariadb ctest entries, which run under
    tools/mariadb.sh so that $GLINT_TEST_MARIADB names the server)."""
    return os.environ.get("GLINT_TEST_ENGINE", "sqlite")


_SHARED_DATABASES = {}  # a config's own [database] connection -> its MariaDB stand-in


def scratch_mariadb_database():
    """A fresh database on the test MariaDB server; its connection URL."""
    base = os.environ.get("GLINT_TEST_MARIADB", "")
    if not base:
        import pytest
        if in_ci():
            pytest.fail("GLINT_TEST_ENGINE=mariadb needs $GLINT_TEST_MARIADB (run under tools/mariadb.sh run)")
        pytest.skip("no MariaDB server ($GLINT_TEST_MARIADB; mariadb-server not installed)")
    rest = base.split("://", 1)[1].rstrip("/")
    cred, hostport = rest.rsplit("@", 1)
    user, password = cred.split(":", 1)
    host, port = hostport.rsplit(":", 1)
    name = "g_" + os.urandom(6).hex()
    subprocess.run(["mariadb", "--no-defaults", "-h", host, "-P", port, "-u", user, "-p" + password,
                    "-e", "CREATE DATABASE %s CHARACTER SET utf8mb4" % name], check=True, capture_output=True)
    return base + name


class GlintServer:
    def __init__(self, data_dir, token="glint-test-token", extra_args=(), config=None, preexec_fn=None):
        """`preexec_fn` runs in the child before exec (e.g. to lower its resource limits)."""
        self.data_dir = data_dir
        self.preexec_fn = preexec_fn
        self.token = token
        self.extra_args = list(extra_args)
        self.config = config
        self.db_url = None  # set on MariaDB: the server's own database
        self.proc = None
        self.port = None
        self.owns_dir = False

    @classmethod
    def start_default(cls, **kw):
        d = tempfile.mkdtemp(prefix="glint-bb-")
        s = cls(d, **kw)
        s.owns_dir = True
        s.start()
        return s

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def store_dir(self):
        return os.path.join(self.data_dir, "store")

    def start(self, port=None):
        """Starts (or restarts) the node. A restarted node comes back on its port, as in
        production: its node id (host:port) is how it recognises the uploads it held."""
        if port is None:
            port = self.port or 0
        port_file = os.path.join(self.data_dir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        args = [binary("glint-api"), "--data-dir", self.data_dir, "--bind-host", "127.0.0.1",
                "--bind-port", str(port), "--port-file", port_file]
        env = dict(os.environ)
        if self.token:
            # The bootstrap token is opt-in and never on the command line.
            args.append("--bootstrap-admin-token")
            env["GLINT_ADMIN_TOKEN"] = self.token
        config = self.effective_config()
        if config:
            args += ["--config-file", config]
        args += self.extra_args
        self.log = open(os.path.join(self.data_dir, "api.log"), "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=self.preexec_fn)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("glint-api exited with %s; log: %s" % (self.proc.returncode, self.read_log()))
            if os.path.exists(port_file):
                with open(port_file) as f:
                    self.port = int(f.read().strip())
                try:
                    if requests.get(self.url + "/healthcheck", timeout=2).status_code == 200:
                        return self
                except requests.ConnectionError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("glint-api did not start; log: %s" % self.read_log())

    def effective_config(self):
        """The config file glint-api and glint-manage read: the test's own, with the
        [database] connection of a fresh MariaDB database (synced) when the suite runs on
        MariaDB."""
        if test_engine() != "mariadb":
            return self.config
        text = ""
        if self.config:
            with open(self.config) as f:
                text = f.read()
        # Nodes whose configs name the same database share one MariaDB database.
        own = re.search(r"^connection\s*=\s*(\S+)\s*$", text, re.M)
        if self.db_url is None:
            if own and own.group(1) not in _SHARED_DATABASES:
                _SHARED_DATABASES[own.group(1)] = scratch_mariadb_database()
            self.db_url = _SHARED_DATABASES[own.group(1)] if own else scratch_mariadb_database()
        if own:
            text = text[:own.start(1)] + self.db_url + text[own.end(1):]
        else:
            text += "\n[database]\nconnection = %s\n" % self.db_url
        path = os.path.join(self.data_dir, "glint-mariadb.conf")
        fresh = not os.path.exists(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        if fresh:
            p = subprocess.run([binary("glint-manage"), "--config-file", path, "--data-dir", self.data_dir,
                                "db-sync"], capture_output=True, text=True)
            if p.returncode != 0:
                raise RuntimeError("glint-manage db-sync failed: %s" % p.stderr)
        return path

    def read_log(self):
        try:
            with open(os.path.join(self.data_dir, "api.log"), "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def manage(self, *args):
        """Runs glint-manage on this server's data dir; returns its stdout."""
        config = self.effective_config()
        p = subprocess.run([binary("glint-manage"), "--data-dir", self.data_dir] +
                           (["--config-file", config] if config else []) + list(args),
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("glint-manage %s failed: %s" % (args, p.stderr))
        return p.stdout.strip()

    def token_for(self, user, password, project):
        """A project-scoped token from the built-in identity."""
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        r = requests.post(self.url + "/identity/v3/auth/tokens", json=body)
        if r.status_code != 201:
            raise RuntimeError("token for %s failed: %s %s" % (user, r.status_code, r.text))
        return r.headers["X-Subject-Token"]

    def kill(self):
        """SIGKILL: no chance to clean up, as in a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        report = sanitizer_report(os.path.join(self.data_dir, "api.log"))
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        if report:
            raise AssertionError("glint-api: sanitizer report:\n" + report)


def remove_mountpoint(path):
    """Removes a test's mountpoint directory and the glint-fs log GlintFsMount kept beside it."""
    shutil.rmtree(path, ignore_errors=True)
    try:
        os.unlink(path.rstrip("/") + ".log")
    except FileNotFoundError:
        pass


class GlintFsMount:
    """A real glint-fs mount of `server`'s images at `mountpoint`."""

    def __init__(self, server, mountpoint, args=("--store-dir",), refresh=1):
        self.server, self.mountpoint, self.proc = server, mountpoint, None
        self.args = list(args)
        if self.args == ["--store-dir"]:
            self.args = ["--store-dir", server.store_dir]
        self.refresh = refresh

    def start(self):
        os.makedirs(self.mountpoint, exist_ok=True)
        self.log = open(self.mountpoint.rstrip("/") + ".log", "ab")
        env = dict(os.environ)
        if self.server.token:
            env["OS_AUTH_TOKEN"] = self.server.token  # not argv: other users can read that
        self.proc = subprocess.Popen(
            [binary("glint-fs"), self.mountpoint, "--api", self.server.url] +
            ["--refresh", str(self.refresh)] + self.args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("glint-fs exited with %s" % self.proc.returncode)
            if os.path.ismount(self.mountpoint) and os.path.isdir(os.path.join(self.mountpoint, "by-id")):
                return self
            time.sleep(0.05)
        raise RuntimeError("glint-fs did not mount")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for _ in range(5):  # a mount started over a dead one leaves that one below it
            if not is_mounted(self.mountpoint):
                break
            subprocess.run(["fusermount3", "-u", "-z", self.mountpoint], check=False)
        report = sanitizer_report(self.mountpoint.rstrip("/") + ".log")
        if report:
            raise AssertionError("glint-fs: sanitizer report:\n" + report)
