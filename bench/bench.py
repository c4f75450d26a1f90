#!/usr/bin/python3
"""Glint vs Glance, side by side in one run, on this machine (loopback).

Measures, for each server: upload MB/s and server CPU seconds per GiB (curl -T of a
random file; curl's own CPU too), upload MB/s again from a client that sends with sendfile(2)
(next to no client CPU: the server's ceiling when the client is elsewhere), download MB/s (curl to /dev/null) and the floor of a plain sendfile server,
`GET /v2/images?limit=25` requests/s and p99 latency at 16 connections (wrk): the same
query again and again (list_*; Glint answers repeats from the body kept for the catalog
generation), and every request a different query (list_distinct_*: nothing kept can
answer it), and the server's peak RSS growth during the upload. Prints a table and the ratios.

    bench/bench.py [--size-mib 1024] [--list-seconds 10] [--no-glance]

Starts its own glint-api (build/control/glint-api) and, unless --no-glance, a Debian
glance-api configured as in ../shared/GLANCE-API.md (installed if missing).
"""
import argparse
import atexit
import hashlib
import itertools
import http.server
import json
import os
import re
import resource
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "support"))
import glance_ref  # noqa: E402
import glint_server  # noqa: E402
import requests  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """user+system CPU of a process and its threads (and children, for Glance workers)."""
    total = 0.0
    pids = [pid] + children(pid)
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
        except OSError:
            pass
    return total


def children(pid):
    out = []
    try:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    except OSError:
        return out
    for k in kids:
        out.append(int(k))
        out.extend(children(int(k)))
    return out


def rss_kib(pid):
    total = 0
    for p in [pid] + children(pid):
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop_ev = pid, rss_kib(pid), threading.Event()
        self.start_rss = self.peak

    def run(self):
        while not self.stop_ev.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.05)

    def stop(self):
        self.stop_ev.set()
        self.join()
        return (self.peak - self.start_rss) / 1024.0


def ensure(pkgs):
    missing = [p for p in pkgs if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode]
    if missing:
        subprocess.run(["apt-get", "install", "-y", "-q"] + missing, check=True,
                       stdout=subprocess.DEVNULL)


# The token as curl and wrk arguments that do not show it: every local user can read a
# process's argv, so the token goes into 0600 files (a header file for curl's `-H @file`,
# a Lua script that sets the header for wrk), removed when the bench ends.
_secret_dir = None
_secret_lock = threading.Lock()
_secret_parts = itertools.count()


def _secret_file(name, text):
    """A private file holding `text`, written whole under a temporary name and renamed into
    place: a curl started by another thread meanwhile reads the old file or the new one,
    never a truncated one (rewriting in place sent requests without their token)."""
    global _secret_dir
    with _secret_lock:
        if _secret_dir is None:
            _secret_dir = tempfile.mkdtemp(prefix="glint-bench-secrets-")  # 0700
            atexit.register(shutil.rmtree, _secret_dir, True)
        path = os.path.join(_secret_dir, name)
        part = "%s.%d.part" % (path, next(_secret_parts))
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.rename(part, path)
    return path


def curl_auth(token):
    """curl arguments sending X-Auth-Token from a private header file."""
    name = "header-" + hashlib.sha256(token.encode()).hexdigest()[:16]
    return ["-H", "@" + _secret_file(name, "X-Auth-Token: %s\n" % token)]


_wrk_scripts = itertools.count()


def wrk_auth(token, lua=""):
    """wrk arguments sending X-Auth-Token from a private Lua script, followed by the Lua
    text `lua` (wrk takes one script)."""
    if not token.isascii() or not token.isprintable() or '"' in token or "\\" in token:
        raise ValueError("token has characters this helper does not quote")
    name = "wrk-%d.lua" % next(_wrk_scripts)
    return ["-s", _secret_file(name, 'wrk.headers["X-Auth-Token"] = "%s"\n%s' % (token, lua))]


def start_glance(tmp):
    ensure(["glance-api", "python3-glanceclient"])
    g = glance_ref.GlanceServer(os.path.join(tmp, "glance"))
    return g


def create(url, token, name):
    r = requests.post(url + "/v2/images", headers={"X-Auth-Token": token},
                      json={"name": name, "disk_format": "raw", "container_format": "bare"})
    r.raise_for_status()
    return r.json()["id"]


def curl_upload(url, token, image_id, path):
    t = time.time()
    subprocess.run(["curl", "-sS", "-f", "-X", "PUT"] + curl_auth(token) + [
                    "-H", "Content-Type: application/octet-stream", "-H", "Expect:",
                    "-T", path, "%s/v2/images/%s/file" % (url, image_id), "-o", "/dev/null"],
                   check=True)
    return time.time() - t


def sendfile_upload(url, token, image_id, path):
    """The same PUT from a client that costs next to no CPU: the file goes to the socket
    with sendfile(2) (no copy through user space). Shows the server's own ceiling on a
    machine whose cores the client shares; (seconds, client CPU seconds)."""
    host, port = url.split("//")[1].split(":")
    size = os.path.getsize(path)
    head = ("PUT /v2/images/%s/file HTTP/1.1\r\nHost: %s\r\nX-Auth-Token: %s\r\n"
            "Content-Type: application/octet-stream\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (image_id, host, token, size)).encode()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t = time.time()
    with socket.create_connection((host, int(port))) as s, open(path, "rb") as f:
        s.sendall(head)
        s.sendfile(f)
        status = s.makefile("rb").readline()
    elapsed = time.time() - t
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    assert b" 204 " in status, status
    return elapsed, (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def curl_download(url, token, image_id):
    t = time.time()
    subprocess.run(["curl", "-sS", "-f"] + curl_auth(token) +
                   ["%s/v2/images/%s/file" % (url, image_id), "-o", "/dev/null"], check=True)
    return time.time() - t


# Every request a different query (a distinct created_at bound far in the future: the same
# 25 images), so that no server can answer it from a body kept for an earlier request.
DISTINCT_LIST_LUA = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
function init(args)
  counter = 0
end
function request()
  counter = counter + 1
  local s, m = counter % 60, math.floor(counter / 60) % 60
  local h, d = math.floor(counter / 3600) % 24, math.floor(counter / 86400) % 28 + 1
  return wrk.format("GET", string.format(
    "/v2/images?limit=25&created_at=lte:%d-01-%02dT%02d:%02d:%02dZ", 2090 + id, d, h, m, s))
end
"""


def wrk_list(url, token, seconds, connections=16, distinct=False):
    out = subprocess.run(["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds, "--latency"] +
                         wrk_auth(token, DISTINCT_LIST_LUA if distinct else "") + [url + "/v2/images?limit=25"],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError("wrk saw %s error responses" % non2xx.group(1))
    return rps, p99


class SendfileHandler(http.server.BaseHTTPRequestHandler):
    path_to_serve = None

    def do_GET(self):
        size = os.path.getsize(self.path_to_serve)
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.wfile.flush()
        with open(self.path_to_serve, "rb") as f:
            self.connection.sendfile(f)  # os.sendfile underneath

    def log_message(self, *a):
        pass


def sendfile_floor(path):
    SendfileHandler.path_to_serve = path
    srv = socketserver.TCPServer(("127.0.0.1", 0), SendfileHandler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    start = time.time()
    subprocess.run(["curl", "-sS", "-f", "http://127.0.0.1:%d/" % srv.server_address[1],
                    "-o", "/dev/null"], check=True)
    elapsed = time.time() - start
    srv.shutdown()
    return elapsed


def measure(name, url, token, pid, path, size, list_seconds, seed_images):
    for i in range(seed_images):
        create(url, token, "seed-%d" % i)
    res = {}
    image_id = create(url, token, "bench-upload")
    cpu0 = cpu_seconds(pid)
    sampler = RssSampler(pid)
    sampler.start()
    client0 = children_cpu()
    elapsed = curl_upload(url, token, image_id, path)
    res["rss_growth_mib"] = sampler.stop()
    res["upload_cpu_s_per_gib"] = (cpu_seconds(pid) - cpu0) / (size / 2**30)
    res["curl_cpu_s_per_gib"] = (children_cpu() - client0) / (size / 2**30)
    res["upload_mb_s"] = size / 1e6 / elapsed
    elapsed, client_cpu = sendfile_upload(url, token, create(url, token, "bench-upload-sendfile"), path)
    res["upload_sendfile_mb_s"] = size / 1e6 / elapsed
    res["sendfile_client_cpu_s_per_gib"] = client_cpu / (size / 2**30)
    img = requests.get(url + "/v2/images/" + image_id, headers={"X-Auth-Token": token}).json()
    assert img["status"] == "active" and img["size"] == size, img
    curl_download(url, token, image_id)  # warm the page cache for both alike
    # Best of two, as the sendfile floor is taken.
    res["download_mb_s"] = size / 1e6 / min(curl_download(url, token, image_id) for _ in range(2))
    res["list_rps"], res["list_p99_ms"] = wrk_list(url, token, list_seconds)
    res["list_distinct_rps"], res["list_distinct_p99_ms"] = wrk_list(url, token, list_seconds, distinct=True)
    print("  %s: %s" % (name, json.dumps({k: round(v, 1) for k, v in res.items()})), flush=True)
    res["image_id"] = image_id
    return res


def dd_mb_s(path, direct=False, cold=False):
    """Best of three sequential reads of `path` with 1 MiB requests."""
    best = 0.0
    for _ in range(3):
        if cold:
            subprocess.run(["sync"])
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
        elif not direct:
            subprocess.run(["cat", path], stdout=subprocess.DEVNULL)
        args = ["dd", "if=" + path, "of=/dev/null", "bs=1M"] + (["iflag=direct"] if direct else [])
        t = time.time()
        subprocess.run(args, check=True, capture_output=True)
        best = max(best, os.path.getsize(path) / 1e6 / (time.time() - t))
    return best


def fs_bench(server, image_id):
    """glint-fs read speed against a direct read of the same store file."""
    mnt = tempfile.mkdtemp(prefix="glint-bench-mnt-")
    fsm = glint_server.GlintFsMount(server, mnt).start()
    try:
        store = os.path.join(server.store_dir, image_id)
        mounted = os.path.join(mnt, "by-id", image_id)
        out = {}
        for label, kw in (("cold", {"cold": True}), ("warm", {}), ("o_direct", {"direct": True})):
            d, m = dd_mb_s(store, **kw), dd_mb_s(mounted, **kw)
            out[label] = (d, m)
        return out
    finally:
        fsm.stop()
        shutil.rmtree(mnt, ignore_errors=True)


def md5_mb_s(path):
    """Single-core md5 of the payload (OpenSSL through hashlib, the file page-cached): the
    upload's floor, since Glance's checksum must be md5. Best of 2."""
    best = 0.0
    for _ in range(2):
        h = hashlib.md5()
        t = time.monotonic()
        with open(path, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                h.update(b)
        best = max(best, os.path.getsize(path) / 1e6 / (time.monotonic() - t))
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--list-seconds", type=int, default=10)
    ap.add_argument("--seed-images", type=int, default=30)
    ap.add_argument("--no-glance", action="store_true")
    ap.add_argument("--no-fs", action="store_true", help="skip the glint-fs read benchmark")
    args = ap.parse_args()
    ensure(["wrk", "curl"])
    tmp = tempfile.mkdtemp(prefix="glint-bench-")
    try:
        path = os.path.join(tmp, "payload")
        with open(path, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
        size = os.path.getsize(path)
        sendfile_s = sendfile_floor(path)
        sendfile_s = min(sendfile_s, sendfile_floor(path))
        results = {}
        os.makedirs(os.path.join(tmp, "glint"))
        g = glint_server.GlintServer(os.path.join(tmp, "glint"))
        g.start()
        try:
            results["glint"] = measure("glint", g.url, g.token, g.proc.pid, path, size,
                                       args.list_seconds, args.seed_images)
            fs = fs_bench(g, results["glint"].pop("image_id")) if not args.no_fs else None
        finally:
            g.stop()
        if not args.no_glance:
            glance = start_glance(tmp)
            try:
                results["glance"] = measure("glance", glance.url, "x", glance.proc.pid, path, size,
                                            args.list_seconds, args.seed_images)
                results["glance"].pop("image_id")
            finally:
                glance.stop()
        floor = size / 1e6 / sendfile_s
        print("\n%d MiB payload; plain sendfile server + curl: %.0f MB/s" % (args.size_mib, floor))
        keys = ["upload_mb_s", "upload_cpu_s_per_gib", "curl_cpu_s_per_gib", "upload_sendfile_mb_s",
                "sendfile_client_cpu_s_per_gib", "rss_growth_mib", "download_mb_s",
                "list_rps", "list_p99_ms", "list_distinct_rps", "list_distinct_p99_ms"]
        print("%-30s %12s %12s %10s" % ("metric", "glint", "glance", "ratio"))
        for k in keys:
            gv = results["glint"][k]
            if "glance" in results:
                hv = results["glance"][k]
                ratio = gv / hv if hv else float("inf")
                print("%-30s %12.1f %12.1f %9.2fx" % (k, gv, hv, ratio))
            else:
                print("%-30s %12.1f" % (k, gv))
        print("%-22s %12.2f" % ("download / sendfile", results["glint"]["download_mb_s"] / floor))
        md5 = md5_mb_s(path)
        print("%-22s %12.0f   upload / md5 %.2fx (target >= 0.75x); sendfile client %.2fx" %
              ("md5 one core MB/s", md5, results["glint"]["upload_mb_s"] / md5,
               results["glint"]["upload_sendfile_mb_s"] / md5))
        if fs:
            print("\nglint-fs sequential read (MB/s, best of 3, 1 MiB requests)")
            print("%-22s %12s %12s %10s" % ("mode", "store file", "glint-fs", "ratio"))
            for label, (d, m) in fs.items():
                print("%-22s %12.0f %12.0f %9.2fx" % (label, d, m, m / d))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
