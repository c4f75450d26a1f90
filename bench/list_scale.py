#!/usr/bin/python3
"""Image list at catalog scale: the standing target is p99 < 20 ms with 100,000 images.

Starts its own glint-api (SQLite catalog and file store, the embedded default), creates
--images images through the API (each with 10 custom properties and 2 tags, a tenth of
them public, the rest owned by two projects), then runs wrk (2 threads, 16 connections)
against the list queries clients make, as the admin and as a project member:

  default page (limit 25), a property filter, sort by name, a page deep in the catalog
  (marker half-way), and the member's view (own + public images); each with glint-api's
  list cache on (wrk repeats the query: answered from the kept body) and off (the node
  restarted with `[glint] list_cache_mib = 0`: a listing per request).

    bench/list_scale.py [--images 100000] [--seconds 10]
"""
import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "support"))
import bench  # noqa: E402
import glint_server  # noqa: E402
import requests  # noqa: E402

DISTROS = ["ubuntu", "debian", "centos", "fedora", "rhel", "sles", "alpine", "arch", "gentoo", "windows"]


def image_body(i, owner):
    return {"name": "img-%06d" % ((i * 7919) % 1000003), "disk_format": "qcow2", "container_format": "bare",
            "visibility": "public" if i % 10 == 0 else "shared", "owner": owner,
            "tags": ["t%d" % (i % 50), "batch-%d" % (i // 1000)],
            "os_distro": DISTROS[i % len(DISTROS)], "os_version": str(i % 30), "hw_disk_bus": "virtio",
            "hw_vif_model": "virtio", "architecture": "x86_64", "x_site": "site-%d" % (i % 7),
            "x_build": str(i), "x_team": "team-%d" % (i % 13), "x_cost": str(i % 100), "x_flag": "yes"}


def seed(url, token, owners, n, workers=8):
    """Creates n images over the API; returns their ids in creation order."""
    ids = [None] * n
    local = __import__("threading").local()

    def one(i):
        if not hasattr(local, "s"):
            local.s = requests.Session()
        r = local.s.post(url + "/v2/images", headers={"X-Auth-Token": token},
                         json=image_body(i, owners[i % len(owners)]))
        r.raise_for_status()
        ids[i] = r.json()["id"]

    start = time.time()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for f in [pool.submit(one, i) for i in range(n)]:
            f.result()
    return ids, time.time() - start


def wrk(url, token, seconds):
    out = subprocess.run(["wrk", "-t2", "-c16", "-d%ds" % seconds, "--latency"] + bench.wrk_auth(token) + [url],
                         capture_output=True, text=True, check=True).stdout
    import re
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise RuntimeError("wrk saw error responses for " + url)
    return rps, p99


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=100000)
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    bench.ensure(["wrk"])
    tmp = tempfile.mkdtemp(prefix="glint-listscale-")
    g = glint_server.GlintServer(os.path.join(tmp, "glint"))
    os.makedirs(g.data_dir)
    g.start()
    try:
        g.manage("project-create", "pa")
        g.manage("project-create", "pb")
        g.manage("user-create", "ua", "--password", "pw", "--project", "pa", "--role", "member")
        member = g.token_for("ua", "pw", "pa")
        owners = [p for p in (project_id(g, "pa"), project_id(g, "pb"))]
        ids, took = seed(g.url, g.token, owners, args.images)
        print("seeded %d images in %.0f s (%.0f creates/s)" % (args.images, took, args.images / took))
        base = g.url + "/v2/images"
        cases = [("default page (admin)", base, "admin"),
                 ("property filter os_distro", base + "?os_distro=debian", "admin"),
                 ("sort by name", base + "?sort_key=name&sort_dir=asc", "admin"),
                 ("page at the middle (marker)", base + "?marker=" + ids[len(ids) // 2], "admin"),
                 ("member's view (own + public)", base, "member"),
                 ("member, tag filter (matches)", base + "?tag=t8", "member"),
                 ("member, tag filter (none seen)", base + "?tag=t7", "member")]
        wrk(base, g.token, 3)  # warm-up (page cache, statement cache, allocator), not reported
        # Each query repeated by wrk is answered from the list cache after its first
        # listing; the same queries again with the cache off (the node restarted on the same
        # catalog with `[glint] list_cache_mib = 0`) cost a listing every time.
        for cache in ("on", "off"):
            if cache == "off":
                conf = os.path.join(tmp, "nocache.conf")
                with open(conf, "w") as f:
                    f.write("[glint]\nlist_cache_mib = 0\n")
                g.stop()
                g.config = conf
                g.start()
                member = g.token_for("ua", "pw", "pa")
                wrk(base, g.token, 3)
            print("%-32s %10s %10s   (list cache %s)" % ("query (limit 25)", "req/s", "p99 ms", cache))
            for label, url, who in cases:
                token = g.token if who == "admin" else member
                assert requests.get(url, headers={"X-Auth-Token": token}).status_code == 200
                rps, p99 = wrk(url, token, args.seconds)
                print("%-32s %10.0f %10.2f" % (label, rps, p99), flush=True)
        for limit in (1000, 25):  # every image, page by page with markers, one client
            t0, pages, images, slowest = time.time(), 0, 0, 0.0
            url = base + "?limit=%d" % limit
            while url:
                t = time.time()
                body = requests.get(url, headers={"X-Auth-Token": g.token}).json()
                slowest = max(slowest, (time.time() - t) * 1000)
                pages, images = pages + 1, images + len(body["images"])
                url = g.url + body["next"] if body.get("next") else None
            took = time.time() - t0
            print("paging to the end, limit %d: %d pages, %d images in %.1f s (slowest page %.1f ms)"
                  % (limit, pages, images, took, slowest))
    finally:
        g.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def project_id(g, name):
    out = g.manage("project-list")
    for line in out.splitlines():
        if name in line.split():
            return line.split()[0]
    raise RuntimeError("no project %s in: %s" % (name, out))


if __name__ == "__main__":
    main()
