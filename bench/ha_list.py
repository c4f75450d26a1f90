#!/usr/bin/python3
"""The production shape at catalog scale, side by side with Glance, in one run on this machine.

Starts tools/cluster.sh (three glint-api nodes behind HAProxy on a three-node Galera catalog
and a Ceph RBD store), creates a `glance` database on the same Galera cluster (through the
same HAProxy writer) with `glance-manage db_sync`, and runs Debian's glance-api (2 workers,
no Keystone) on it. Then:

1. Seeds Glance's database with --images images in plain SQL (MariaDB's sequence engine):
   each active with one rbd location, size, md5 and sha512, 10 custom properties, 2 tags,
   a tenth public, the rest shared in two projects, every fifth with a member. Glint's
   catalog gets the same rows, copied from Glance's tables by SQL with the column mapping
   of `glint-manage import-glance` (times to microseconds, `deleted` rows left out). What
   was seeded is checked through both APIs: the same ids show the same name, status,
   visibility, owner, size, checksums, tags and properties on both (no image data exists:
   only listings are measured).
   The Galera nodes get a 512 MiB buffer pool (GLINT_DB_BUFFER_POOL), so that the catalog
   (~1.1 million rows with indexes) is served from memory, as a production server would.
2. Runs wrk (2 threads, 16 connections, 30 s timeout; then 2 connections, for the latency
   of a server that is not saturated) on the default list, a page half-way through the
   catalog (marker), a property filter, a tag filter, sort by name and one image's show:
   Glint through HAProxy (three nodes), one Glint node direct, and Glance; then, Glint only,
   a project member's view and tag filters whose matches the member sees all or none of;
   then every page to the end with markers (one client; pages of 1000 on both, and of 25
   on Glint); then creates (POST /v2/images, a queued image with one property) through
   HAProxy and on Glance.
   wrk repeats one query, so glint-api's list cache answers it after its first listing;
   --list-cache-mib 0 turns the cache off on every node (a listing from the catalog per
   request: how MariaDB plans each query).
3. Uploads and downloads --streams images of --size-mib at once, through HAProxy (spread
   over the three nodes) and to one node direct: aggregate MB/s.

The load average is printed with every figure (the machine may be shared).

    bench/ha_list.py [--images 100000] [--seconds 10] [--streams 6] [--size-mib 32] [--list-cache-mib 0]
"""
import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
import bench  # noqa: E402
import glance_ref  # noqa: E402
import glint_server  # noqa: E402
import list_scale  # noqa: E402
import requests  # noqa: E402

ROOT = os.path.join(HERE, "..")
CLUSTER = os.path.join(ROOT, "tools", "cluster.sh")
GLANCE_PW = "glance-bench-pw"
PROJECTS = ("9a4d0c2e5f1b4c3d8e7f6a5b4c3d2e1f", "1f2e3d4c5b6a4f8e9d0c1b2a3f4e5d6c")
MEMBER = "5c6d7e8f9a0b4c1d2e3f4a5b6c7d8e9f"
DISTROS = list_scale.DISTROS

# Deterministic UUID-shaped ids from the sequence number, so every table can join on it.
UUID = ("CONCAT(SUBSTR(MD5(seq),1,8),'-',SUBSTR(MD5(seq),9,4),'-4',SUBSTR(MD5(seq),14,3),'-a',"
        "SUBSTR(MD5(seq),18,3),'-',SUBSTR(MD5(seq),21,12))")
PROPS = [  # name, value as SQL over seq (list_scale.py's image_body)
    ("os_distro", "ELT(1 + seq %% %d, %s)" % (len(DISTROS), ",".join("'%s'" % d for d in DISTROS))),
    ("os_version", "CAST(seq % 30 AS CHAR)"), ("hw_disk_bus", "'virtio'"), ("hw_vif_model", "'virtio'"),
    ("architecture", "'x86_64'"), ("x_site", "CONCAT('site-', seq % 7)"), ("x_build", "CAST(seq AS CHAR)"),
    ("x_team", "CONCAT('team-', seq % 13)"), ("x_cost", "CAST(seq % 100 AS CHAR)"), ("x_flag", "'yes'")]


def glance_seed_sql(lo, hi):
    """Glance's rows for images lo..hi (the schema glance-manage db_sync made)."""
    seq = "seq_%d_to_%d" % (lo, hi)
    t = "TIMESTAMP'2026-01-01 00:00:00' + INTERVAL seq SECOND"
    out = ["INSERT INTO images (id, name, size, status, created_at, updated_at, deleted, disk_format, "
           "container_format, checksum, owner, min_disk, min_ram, protected, virtual_size, visibility, os_hidden, "
           "os_hash_algo, os_hash_value) SELECT %s, CONCAT('img-', LPAD((seq * 7919) %% 1000003, 6, '0')), "
           "1073741824 + seq, 'active', %s, %s, 0, 'qcow2', 'bare', MD5(CONCAT('data', seq)), "
           "IF(seq %% 2, '%s', '%s'), 0, 0, 0, 2147483648, IF(seq %% 10 = 0, 'public', 'shared'), 0, 'sha512', "
           "SHA2(CONCAT('data', seq), 512) FROM %s" % (UUID, t, t, PROJECTS[0], PROJECTS[1], seq)]
    for name, value in PROPS:
        out.append("INSERT INTO image_properties (image_id, name, value, created_at, updated_at, deleted) "
                   "SELECT %s, '%s', %s, %s, %s, 0 FROM %s" % (UUID, name, value, t, t, seq))
    for value in ("CONCAT('t', seq % 50)", "CONCAT('batch-', seq DIV 1000)"):
        out.append("INSERT INTO image_tags (image_id, value, created_at, updated_at, deleted) "
                   "SELECT %s, %s, %s, %s, 0 FROM %s" % (UUID, value, t, t, seq))
    out.append("INSERT INTO image_locations (image_id, value, meta_data, status, created_at, updated_at, deleted) "
               "SELECT %s, CONCAT('rbd://bench-fsid/images/', %s, '/snap'), '{}', 'active', %s, %s, 0 FROM %s"
               % (UUID, UUID, t, t, seq))
    out.append("INSERT INTO image_members (image_id, member, can_share, status, created_at, updated_at, deleted) "
               "SELECT %s, '%s', 0, 'accepted', %s, %s, 0 FROM %s WHERE seq %% 5 = 0 AND seq %% 10 <> 0"
               % (UUID, MEMBER, t, t, seq))
    return out


def glint_copy_sql():
    """Glint's rows from Glance's, with import-glance's mapping (glance DB -> glint DB)."""
    us = "(UNIX_TIMESTAMP(%s) * 1000000)"
    return [
        "INSERT INTO glint.images (id, name, status, visibility, owner, disk_format, container_format, size, "
        "virtual_size, checksum, os_hash_algo, os_hash_value, min_disk, min_ram, protected, os_hidden, created_at, "
        "updated_at, activated_at, deleted, version) SELECT id, name, status, visibility, owner, disk_format, "
        "container_format, size, virtual_size, checksum, os_hash_algo, os_hash_value, min_disk, min_ram, protected, "
        "os_hidden, %s, %s, %s, 0, 1 FROM glance.images WHERE deleted = 0"
        % (us % "created_at", us % "updated_at", us % "updated_at"),
        "INSERT INTO glint.image_properties (image_id, name, value) "
        "SELECT image_id, name, value FROM glance.image_properties WHERE deleted = 0",
        "INSERT INTO glint.image_tags (image_id, value) SELECT image_id, value FROM glance.image_tags WHERE deleted = 0",
        "INSERT INTO glint.image_locations (image_id, position, url, metadata, store, status) "
        "SELECT image_id, 0, value, meta_data, 'rbd', status FROM glance.image_locations WHERE deleted = 0",
        "INSERT INTO glint.image_members (image_id, member, status, created_at, updated_at) "
        "SELECT image_id, member, status, %s, %s FROM glance.image_members WHERE deleted = 0"
        % (us % "created_at", us % "updated_at"),
    ]


class Env:
    """The cluster, the glance database and glance-api, all under one temporary directory."""

    def __init__(self, base, list_cache_mib=None):
        self.tmp = tempfile.mkdtemp(prefix="glint-halist-")
        os.chmod(self.tmp, 0o755)  # the Galera nodes run as mysql when we are root
        self.dir, self.base = os.path.join(self.tmp, "cluster"), base
        self.env = dict(os.environ, GLINT_API_BIN=glint_server.binary("glint-api"),
                        GLINT_MANAGE_BIN=glint_server.binary("glint-manage"), GLINT_DB_BUFFER_POOL="512M")
        if list_cache_mib is not None:
            self.env["GLINT_LIST_CACHE_MIB"] = str(list_cache_mib)
        self.glance = None

    def sql(self, statements, db=None):
        args = ["mariadb", "--no-defaults", "-S", os.path.join(self.dir, "db1", "sock"), "-uroot", "-N", "-B"]
        p = subprocess.run(args + ([db] if db else []), input=";\n".join(statements) + ";\n", capture_output=True,
                           text=True, check=False)
        if p.returncode != 0:
            raise RuntimeError("mariadb: %s" % p.stderr)
        return p.stdout

    def start(self):
        p = subprocess.run([CLUSTER, "start", self.dir, str(self.base)], env=self.env, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("cluster.sh start: %s%s" % (p.stdout[-2000:], p.stderr[-3000:]))
        self.url = "http://127.0.0.1:%d" % self.base
        self.node1 = "http://127.0.0.1:%d" % (self.base + 1)
        self.token = open(os.path.join(self.dir, "admin-token")).read().strip()
        self.sql(["CREATE DATABASE glance CHARACTER SET utf8",
                  "CREATE USER 'glance'@'127.0.0.1' IDENTIFIED BY '%s'" % GLANCE_PW,
                  "GRANT ALL PRIVILEGES ON glance.* TO 'glance'@'127.0.0.1'"])
        self.start_glance()

    def start_glance(self):
        gdir = os.path.join(self.tmp, "glance")
        os.makedirs(os.path.join(gdir, "images"))
        os.makedirs(os.path.join(gdir, "staging"))
        self.glance_port = glance_ref.free_port()
        conf = os.path.join(gdir, "glance-api.conf")
        with open(conf, "w") as f:
            f.write("[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = %d\nworkers = 2\nlog_file = %s/api.log\n"
                    "show_image_direct_url = true\n[database]\n"
                    "connection = mysql+pymysql://glance:%s@127.0.0.1:%d/glance?charset=utf8\n"
                    "[glance_store]\nstores = file\ndefault_store = file\nfilesystem_store_datadir = %s/images/\n"
                    "[paste_deploy]\nflavor =\n[os_glance_staging_store]\nfilesystem_store_datadir = %s/staging/\n"
                    % (self.glance_port, gdir, GLANCE_PW, self.base + 10, gdir, gdir))
        subprocess.run(["glance-manage", "--config-file", conf, "db_sync"], check=True, capture_output=True)
        self.glance = subprocess.Popen(["glance-api", "--config-file", conf, "--config-file",
                                        "/etc/glance/glance-api-paste.ini"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
        self.glance_url = "http://127.0.0.1:%d" % self.glance_port
        for _ in range(600):
            try:
                if requests.get(self.glance_url + "/healthcheck", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("glance-api did not start (see %s/api.log)" % gdir)

    def tail_glance_log(self):
        with open(os.path.join(self.tmp, "glance", "api.log"), errors="replace") as f:
            return f.read()[-3000:]

    def stop(self):
        if self.glance:
            os.killpg(self.glance.pid, 15)
            self.glance.wait(60)
        subprocess.run([CLUSTER, "stop", self.dir], env=self.env, capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


def load():
    return "%.1f" % os.getloadavg()[0]


def seed(env, n):
    t0 = time.time()
    step = 20000
    for lo in range(1, n + 1, step):
        env.sql(["SET time_zone = '+00:00'"] + glance_seed_sql(lo, min(n, lo + step - 1)), "glance")
    t1 = time.time()
    env.sql(["SET time_zone = '+00:00'"] + glint_copy_sql())
    t2 = time.time()
    print("seeded %d images: Glance's tables in %.0f s, Glint's from them in %.0f s (load %s)"
          % (n, t1 - t0, t2 - t1, load()))
    counts = env.sql(["SELECT (SELECT count(*) FROM glance.images), (SELECT count(*) FROM glint.images), "
                      "(SELECT count(*) FROM glance.image_properties), (SELECT count(*) FROM glint.image_properties), "
                      "(SELECT count(*) FROM glance.image_members), (SELECT count(*) FROM glint.image_members)"])
    print("rows (glance/glint): images %s/%s, properties %s/%s, members %s/%s" % tuple(counts.split()))


def same_image(env, image_id):
    """The seeded image as both APIs show it: the fields both have must agree."""
    a = requests.get(env.url + "/v2/images/" + image_id, headers={"X-Auth-Token": env.token}).json()
    b = requests.get(env.glance_url + "/v2/images/" + image_id)
    if b.status_code != 200:
        raise RuntimeError("Glance: %s %s (%s)" % (b.status_code, b.text[:500], env.tail_glance_log()))
    b = b.json()
    keys = ["name", "status", "visibility", "owner", "size", "virtual_size", "checksum", "os_hash_algo",
            "os_hash_value", "disk_format", "container_format", "created_at", "direct_url"] + [p for p, _ in PROPS]
    diff = {k: (a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)}
    if sorted(a["tags"]) != sorted(b["tags"]):
        diff["tags"] = (a["tags"], b["tags"])
    if diff:
        raise RuntimeError("seeded image %s differs between Glint and Glance: %s" % (image_id, diff))


def measure_lists(env, seconds):
    count = int(env.sql(["SELECT count(*) FROM glint.images"]).strip())
    mid_id = env.sql(["SELECT id FROM glint.images ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET %d"
                      % (count // 2)]).strip()
    for i in (0, 1, 2, 3):
        same_image(env, env.sql(["SELECT id FROM glint.images ORDER BY id LIMIT 1 OFFSET %d" % (i * count // 4)]).strip())
    show_id = env.sql(["SELECT id FROM glint.images ORDER BY id LIMIT 1 OFFSET %d" % (count // 3)]).strip()
    queries = [("default list", "/v2/images"), ("page half-way (marker)", "/v2/images?marker=" + mid_id),
               ("property filter os_distro=debian", "/v2/images?os_distro=debian"),
               ("tag filter t7", "/v2/images?tag=t7"),
               ("sort by name", "/v2/images?sort_key=name&sort_dir=asc"),
               ("show one image", "/v2/images/" + show_id)]
    servers = [("Glint, 3 nodes via HAProxy", env.url, env.token), ("Glint, node 1 direct", env.node1, env.token),
               ("Glance 25 (2 workers)", env.glance_url, "none")]
    rows, light = [], []
    # Glance last: a list it has not answered when wrk stops still runs in the database,
    # which would slow whatever is measured next.
    for sname, base, token in servers:
        if sname.startswith("Glance"):
            wait_quiet(env)
        for qname, path in queries:
            r = requests.get(base + path, headers={"X-Auth-Token": token}, timeout=300)
            assert r.status_code == 200, (sname, path, r.text[:300])
            assert "images" not in r.json() or len(r.json()["images"]) == 25, (sname, path, r.text[:300])
            if not sname.startswith("Glance"):
                list_scale.wrk(base + path, token, 2)  # warm-up
            before = load()
            rps, p99, p50 = wrk(base + path, token, seconds)
            label = sname
            if rps == 0:  # not one answer within the run (Glance at 100,000 images): time a few alone
                wait_quiet(env)
                rps, p99, p50 = sequential(base + path, token, 3)
                label += " (1 client)"
            rows.append((qname, label, rps, p50, p99, before, load()))
            print("%-34s %-28s %9.1f req/s  p50 %8.2f ms  p99 %8.2f ms  (load %s -> %s)" % rows[-1], flush=True)
            if sname != servers[1][0] and rps >= 1:  # latency when not saturated: 2 clients
                before = load()
                rps2, p99, p50 = wrk(base + path, token, seconds, connections=2)
                light.append((qname, sname + " (2 conns)", rps2, p50, p99, before, load()))
                print("%-34s %-28s %9.1f req/s  p50 %8.2f ms  p99 %8.2f ms  (load %s -> %s)" % light[-1], flush=True)
    for qname, _ in queries:
        by = {r[1]: r for r in rows if r[0] == qname}
        glint = by[servers[0][0]]
        glance = [r for r in rows if r[0] == qname and r[1].startswith(servers[2][0])][0]
        print("%-34s Glint via HAProxy / Glance: %.1fx requests/s" % (qname, glint[2] / max(glance[2], 0.01)))
    return rows


def member_token(env):
    """A token of a project member (the built-in identity) who is the seeded member of every
    image shared with MEMBER: public images, those shared with it, and nothing else."""
    conf = ["--config-file", os.path.join(env.dir, "glint-api.conf"), "--data-dir", os.path.join(env.dir, "api1")]
    for args in (["project-create", "bench-member"],
                 ["user-create", "bench-member", "--password", "bench-member-pw", "--project", "bench-member",
                  "--role", "member"]):
        p = subprocess.run([glint_server.binary("glint-manage")] + conf + args, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("glint-manage %s: %s" % (args[0], p.stderr))
    pid = env.sql(["SELECT id FROM glint.identity_projects WHERE name = 'bench-member'"]).strip()
    env.sql(["UPDATE glint.image_members SET member = '%s' WHERE member = '%s'" % (pid, MEMBER)])
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "bench-member", "domain": {"id": "default"}, "password": "bench-member-pw"}}},
        "scope": {"project": {"name": "bench-member", "domain": {"id": "default"}}}}}
    r = requests.post(env.url + "/identity/v3/auth/tokens", json=body)
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"]


def measure_member_lists(env, seconds):
    """Glint only (Glance here has no identity to tell a member from an admin): the member's
    view, a tag whose matches (2%) the member sees, and one whose matches it sees none of
    (the walk of the sort order is bounded, then the semi-joins answer)."""
    token = member_token(env)
    queries = [("member's view", "/v2/images", 25), ("member, tag t5 (all seen)", "/v2/images?tag=t5", 25),
               ("member, tag t7 (none seen)", "/v2/images?tag=t7", 0)]
    for qname, path, want in queries:
        r = requests.get(env.url + path, headers={"X-Auth-Token": token}, timeout=300)
        assert r.status_code == 200 and len(r.json()["images"]) == want, (path, r.text[:300])
        list_scale.wrk(env.url + path, token, 2)  # warm-up
        for conns in (16, 2):
            before = load()
            rps, p99, p50 = wrk(env.url + path, token, seconds, connections=conns)
            print("%-34s %-28s %9.1f req/s  p50 %8.2f ms  p99 %8.2f ms  (load %s -> %s)"
                  % (qname, "Glint via HAProxy (%d conns)" % conns, rps, p50, p99, before, load()), flush=True)


def page_to_the_end(base, token, limit, budget):
    """Follows `next` links from the first page of `limit` to the last; (pages, images,
    seconds, slowest page in ms, finished within `budget` seconds)."""
    url, pages, images, slowest, t0 = base + "/v2/images?limit=%d" % limit, 0, 0, 0.0, time.time()
    while url and time.time() - t0 < budget:
        t = time.time()
        r = requests.get(url, headers={"X-Auth-Token": token}, timeout=600)
        slowest = max(slowest, (time.time() - t) * 1000)
        assert r.status_code == 200, r.text[:300]
        body = r.json()
        pages, images = pages + 1, images + len(body["images"])
        url = base + body["next"] if body.get("next") else None
    return pages, images, time.time() - t0, slowest, url is None


def measure_paging(env, budget):
    """Every image, page by page with markers (one client): Glint via HAProxy with pages of
    1000 and of 25, Glance with pages of 1000 (its maximum), each within `budget` seconds."""
    for sname, base, token, limit in (("Glint, 3 nodes via HAProxy", env.url, env.token, 1000),
                                      ("Glint, 3 nodes via HAProxy", env.url, env.token, 25),
                                      ("Glance 25 (2 workers)", env.glance_url, "none", 1000)):
        if sname.startswith("Glance"):
            wait_quiet(env)
        before = load()
        pages, images, took, slowest, done = page_to_the_end(base, token, limit, budget)
        print("paging to the end, limit %-5d %-28s %5d pages %7d images in %7.1f s (%6.1f images/s, slowest page "
              "%7.1f ms)%s (load %s -> %s)" % (limit, sname, pages, images, took, images / took, slowest,
                                               "" if done else " NOT FINISHED within %d s" % budget, before, load()),
              flush=True)


def wait_quiet(env, limit=600):
    """Until no Glance query runs in the database any more."""
    for _ in range(limit):
        busy = env.sql(["SELECT count(*) FROM information_schema.processlist WHERE user = 'glance' "
                        "AND command = 'Query'"]).strip()
        if busy == "0":
            return
        time.sleep(1)


def sequential(url, token, n):
    """n requests one after another (what wrk reports when none finishes under load)."""
    took = []
    for _ in range(n):
        t0 = time.time()
        r = requests.get(url, headers={"X-Auth-Token": token}, timeout=300)
        took.append((time.time() - t0) * 1000)
        assert r.status_code == 200, r.text[:300]
    took.sort()
    return 1000 * n / sum(took), took[-1], took[len(took) // 2]


CREATE_LUA = """wrk.method = "POST"
wrk.body = '{"name": "bench-create", "disk_format": "raw", "container_format": "bare", "x_bench": "yes"}'
wrk.headers["Content-Type"] = "application/json"
"""


def measure_creates(env, seconds):
    """POST /v2/images (a queued image with one property) for `seconds` on each server."""
    rows = []
    for sname, base, token in (("Glint, 3 nodes via HAProxy", env.url, env.token),
                               ("Glance 25 (2 workers)", env.glance_url, "none")):
        before = load()
        rps, p99, p50 = wrk(base + "/v2/images", token, seconds, CREATE_LUA)
        rows.append(("create", sname, rps, p50, p99, before, load()))
        print("%-34s %-28s %9.1f req/s  p50 %8.2f ms  p99 %8.2f ms  (load %s -> %s)" % rows[-1], flush=True)
    print("%-34s Glint via HAProxy / Glance: %.1fx requests/s" % ("create", rows[0][2] / max(rows[1][2], 0.01)))
    return rows


def wrk(url, token, seconds, lua="", connections=16):
    import re
    args = ["wrk", "-t%d" % min(2, connections), "-c%d" % connections, "-d%ds" % seconds, "--timeout", "30s", "--latency"]
    out = subprocess.run(args + bench.wrk_auth(token, lua) + [url],
                         capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise RuntimeError("wrk saw error responses for " + url)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(r"%s%%\s+([\d.]+)(us|ms|s)" % p, out)
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    return rps, pct(99), pct(50)


def transfer(env, base, streams, path):
    """Uploads `path` as `streams` new images at once through `base`, then downloads them
    all at once; returns (upload MB/s, download MB/s) in aggregate."""
    h = {"X-Auth-Token": env.token}
    ids = [requests.post(base + "/v2/images", headers=h, json={"name": "xfer", "disk_format": "raw",
                                                             "container_format": "bare"}).json()["id"]
           for _ in range(streams)]
    size = os.path.getsize(path)

    def curl(args):
        with tempfile.NamedTemporaryFile() as body:
            code = subprocess.run(["curl", "-s", "-o", body.name, "-w", "%{http_code}"] + bench.curl_auth(env.token) +
                                  args, capture_output=True, text=True).stdout
            if not code.startswith("2"):
                body.seek(0)
                logs = subprocess.run("grep -h -i 'error\\|warn\\|critical' %s/api*/api.log | tail -20" % env.dir,
                                      shell=True, capture_output=True, text=True).stdout
                raise RuntimeError("%s %s: HTTP %s %r\nAPI nodes' last errors:\n%s" %
                                   (args[0], args[-1], code, body.read(500), logs))
    with concurrent.futures.ThreadPoolExecutor(streams) as pool:
        t0 = time.time()
        list(pool.map(lambda i: curl(["-X", "PUT", "-H", "Content-Type: application/octet-stream", "-T", path,
                                      base + "/v2/images/%s/file" % i]), ids))
        up = streams * size / (time.time() - t0) / 1e6
        t0 = time.time()
        list(pool.map(lambda i: curl([base + "/v2/images/%s/file" % i]), ids))
        down = streams * size / (time.time() - t0) / 1e6
    for i in ids:
        requests.delete(base + "/v2/images/" + i, headers=h)
    return up, down


def measure_transfers(env, streams, size_mib):
    path = os.path.join(env.tmp, "payload")
    with open(path, "wb") as f:
        f.write(os.urandom(size_mib << 20))
    for label, base in (("3 nodes via HAProxy", env.url), ("node 1 direct", env.node1)):
        before = load()
        up, down = transfer(env, base, streams, path)
        print("%d x %d MiB at once, %-20s upload %7.1f MB/s  download %7.1f MB/s  (load %s -> %s)"
              % (streams, size_mib, label, up, down, before, load()), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=100000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--streams", type=int, default=6)
    ap.add_argument("--size-mib", type=int, default=32)
    ap.add_argument("--base-port", type=int, default=29400)
    ap.add_argument("--paging-budget", type=int, default=600, help="seconds each walk to the end may take")
    ap.add_argument("--list-cache-mib", type=int, help="the Glint nodes' [glint] list_cache_mib (0: off; wrk "
                    "repeats each query, which the list cache otherwise answers after its first listing)")
    args = ap.parse_args()
    bench.ensure(["wrk", "glance-api", "haproxy"])
    env = Env(args.base_port, args.list_cache_mib)
    try:
        env.start()
        print("cluster up: %s; glance-api on MariaDB at %s (load %s)" % (env.url, env.glance_url, load()), flush=True)
        seed(env, args.images)
        measure_lists(env, args.seconds)
        measure_member_lists(env, args.seconds)
        measure_paging(env, args.paging_budget)
        try:
            measure_creates(env, args.seconds)
        except (RuntimeError, subprocess.CalledProcessError) as e:
            print("create not measured: %s" % e, flush=True)
        measure_transfers(env, args.streams, args.size_mib)
    finally:
        env.stop()


if __name__ == "__main__":
    main()
