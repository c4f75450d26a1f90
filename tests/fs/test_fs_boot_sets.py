"""Learned boot sets across hosts, on real mounts against a real glint-api: host A boots
(opens and reads) an image and reports the chunks it read; host B, a second glint-fs with
its own cache directory that never read the image, prefetches exactly those chunks as
soon as the image is opened, counted in the API's access log before any read. And the
API's endpoint refuses hostile reports with 400 (413, 429) in Glance's error shape.
"""
import glob
import json
import os
import shutil
import sys
import tempfile
import time
import uuid

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402
from test_fs import Api, by_id, require_fuse, wait_for  # noqa: E402
from test_fs_cache import CHUNK, CacheMount, xattr  # noqa: E402


@pytest.fixture(scope="module")
def server():
    s = glint_server.GlintServer.start_default()
    yield s
    s.stop()


def boot_set_url(server, image_id):
    return server.url + "/v2/images/%s/x-glint-boot-set" % image_id


def merged(server, image_id, token=None):
    r = requests.get(boot_set_url(server, image_id), headers={"X-Auth-Token": token or server.token})
    assert r.status_code == 200, r.text
    return r.json()


def report(server, image_id, body, token=None, raw=None):
    h = {"X-Auth-Token": token or server.token, "Content-Type": "application/json"}
    data = raw if raw is not None else json.dumps(body)
    return requests.post(boot_set_url(server, image_id), data=data, headers=h)


def file_reads(server, image_id):
    """Range requests for the image's data in the API's access log (the --http data path)."""
    with open(os.path.join(server.data_dir, "api.log"), "rb") as f:
        return f.read().decode(errors="replace").count('"GET /v2/images/%s/file"' % image_id)


def boot(path, chunks):
    """One open that reads a little of each of `chunks`, as a guest's boot, then closes."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        for c in chunks:
            assert len(os.pread(fd, 4096, c * CHUNK + 10)) == 4096
    finally:
        os.close(fd)


def test_a_boot_on_host_a_is_prefetched_on_host_b(server):
    require_fuse()
    api = Api(server)
    data = os.urandom(8 * CHUNK)
    img = api.active(data, name="shared-boot")
    assert merged(server, img["id"])["chunks"] == []
    with CacheMount(server, unverified=False) as a:
        path_a = by_id(a.mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path_a))
        boot(path_a, [0, 3, 5])
        assert wait_for(lambda: merged(server, img["id"])["reports"] == 1, timeout=20), a.log()
        got = merged(server, img["id"])
        assert got["chunks"] == [0, 3, 5] and got["reporters"] == 1 and got["chunk_size"] == CHUNK
        assert "reported the boot set of %s (3 chunks)" % img["id"] in a.log()
    reads_before = file_reads(server, img["id"])
    with CacheMount(server, args=["--http"], unverified=False) as b:  # its own, empty cache dir
        path_b = by_id(b.mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path_b))
        assert xattr(path_b, "user.glint.cache.chunks") == "0/8"
        fd = os.open(path_b, os.O_RDONLY)  # opened; nothing read yet
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)  # the reads below: no kernel read-ahead
            assert wait_for(lambda: xattr(path_b, "user.glint.cache.chunks") == "3/8", timeout=20), b.log()
            cached = sorted(int(os.path.basename(p).split(".")[0])
                            for p in glob.glob(os.path.join(b.cache, "chunks", img["id"], "*")))
            assert cached == [0, 3, 5]
            # One store round trip per prefetched chunk, all before the reader asked.
            assert wait_for(lambda: file_reads(server, img["id"]) - reads_before == 3)
            assert xattr(path_b, "user.glint.cache.fetches") == "3"
            for c in (0, 3, 5):
                assert os.pread(fd, 1000, c * CHUNK + 77) == data[c * CHUNK + 77:c * CHUNK + 1077]
            assert xattr(path_b, "user.glint.cache.fetches") == "3"  # the reads found them cached
            assert file_reads(server, img["id"]) - reads_before == 3
        finally:
            os.close(fd)


def test_hostile_reports_are_refused(server):
    api = Api(server)
    img = api.active(os.urandom(3 * CHUNK + 5), name="boot-hostile")  # 4 chunks
    ok = {"host": "hv-1", "chunk_size": CHUNK, "chunks": [0, 2]}
    bad = [
        dict(ok, chunks=[4]), dict(ok, chunks=[0, 9999999]), dict(ok, chunks=[-1]), dict(ok, chunks=[1, 1]),
        dict(ok, chunks=[2, 1]), dict(ok, chunks=[0.5]), dict(ok, chunks=["1"]), dict(ok, chunks=[[1]]),
        dict(ok, chunks=list(range(4097))), dict(ok, chunks="0,2"), dict(ok, chunk_size=1 << 20),
        dict(ok, host=""), dict(ok, host="x" * 65), dict(ok, host="../etc"), dict(ok, host="a b"), dict(ok, host=7),
        dict(ok, weight=1000), {"chunks": [0]}, [0, 1], "0,1", None,
    ]
    for body in bad:
        r = report(server, img["id"], body)
        assert r.status_code == 400, (body, r.status_code, r.text)
        assert r.json()["error"]["code"] == 400 and r.json()["error"]["title"] == "Bad Request"
    for raw in ("not json", "{", "[" * 100 + "]" * 100):
        assert report(server, img["id"], None, raw=raw).status_code == 400, raw
    assert report(server, img["id"], None, raw='{"host": "h", "chunks": [' + "0," * 600000 + "0]}").status_code == 413
    assert merged(server, img["id"])["reports"] == 0  # nothing hostile was kept
    # The good report is kept; the same host again within the minute is 429, in Glance's
    # error shape, with the seconds until it may report again.
    assert report(server, img["id"], ok).status_code == 204
    r = report(server, img["id"], dict(ok, chunks=[1]))
    assert r.status_code == 429 and "report again later" in r.text, r.text
    assert r.json()["error"]["code"] == 429 and r.json()["error"]["title"] == "Too Many Requests"
    assert 55 <= int(r.headers["Retry-After"]) <= 60, r.headers
    assert merged(server, img["id"])["chunks"] == [0, 2]
    # Unknown and data-less images are 404; a Glance-style method is 405.
    assert report(server, str(uuid.uuid4()), ok).status_code == 404
    queued = api.create(name="no-data")
    assert report(server, queued, ok).status_code == 404
    assert requests.get(boot_set_url(server, queued), headers={"X-Auth-Token": server.token}).status_code == 404
    assert requests.put(boot_set_url(server, img["id"]), headers={"X-Auth-Token": server.token}).status_code == 405
    assert requests.get(boot_set_url(server, img["id"])).status_code == 401


def test_readers_of_other_projects_report_only_what_they_may_read(server):
    """Any credential that may download an image may report; others see 404, and a
    deactivated image is 403 for them (as its download)."""
    api = Api(server)
    name = "bs" + uuid.uuid4().hex[:8]
    server.manage("project-create", name)
    server.manage("user-create", name, "--password", "pw", "--project", name)
    token = server.token_for(name, "pw", name)
    private = api.active(os.urandom(1000), name="private-boot")
    public = api.active(os.urandom(2 * CHUNK), name="public-boot", visibility="public")
    body = {"host": "their-host", "chunk_size": CHUNK, "chunks": [1]}
    assert report(server, private["id"], body, token=token).status_code == 404
    assert requests.get(boot_set_url(server, private["id"]), headers={"X-Auth-Token": token}).status_code == 404
    assert report(server, public["id"], body, token=token).status_code == 204
    assert report(server, public["id"], dict(body, host="admins-host", chunks=[0])).status_code == 204
    got = merged(server, public["id"], token=token)
    assert got["reports"] == 2 and got["reporters"] == 2 and got["chunks"] == [0, 1]
    api.action(public["id"], "deactivate")
    assert report(server, public["id"], dict(body, host="later"), token=token).status_code == 403
    api.action(public["id"], "reactivate")
    # Deleted with the image.
    api.delete(public["id"])
    assert requests.get(boot_set_url(server, public["id"]), headers={"X-Auth-Token": server.token}).status_code == 404


def test_boot_set_options_change_the_limits_and_bad_ones_stop_the_start():
    """[glint] boot_set_* in glint-api's config file: a one-second report interval lets the
    same host's second report through a second later (the default minute would refuse it),
    a smaller report limit refuses a larger report; an out-of-range value stops the start."""
    conf_dir = tempfile.mkdtemp(prefix="glint-bootconf-")
    try:
        conf = os.path.join(conf_dir, "glint-api.conf")
        with open(conf, "w") as f:
            f.write("[glint]\nboot_set_report_interval = 1\nboot_set_max_report_chunks = 2\n")
        s = glint_server.GlintServer.start_default(config=conf)
        try:
            img = Api(s).active(os.urandom(3 * CHUNK), name="boot-options")
            body = {"host": "hv-1", "chunk_size": CHUNK, "chunks": [0, 2]}
            assert report(s, img["id"], body).status_code == 204
            r = report(s, img["id"], dict(body, chunks=[1]))
            assert r.status_code == 429 and r.headers["Retry-After"] == "1", (r.status_code, r.headers, r.text)
            r = report(s, img["id"], dict(body, host="hv-2", chunks=[0, 1, 2]))
            assert r.status_code == 400 and "more than 2 chunks" in r.text, r.text
            time.sleep(1.1)
            assert report(s, img["id"], dict(body, chunks=[1])).status_code == 204
            assert merged(s, img["id"])["chunks"] == [1]
        finally:
            s.stop()
        with open(conf, "w") as f:
            f.write("[glint]\nboot_set_keep_fraction = 2\n")
        bad = glint_server.GlintServer(os.path.join(conf_dir, "data"), config=conf)
        os.makedirs(bad.data_dir)
        with pytest.raises(RuntimeError) as e:
            bad.start()
        assert "boot_set_keep_fraction must be more than 0 and at most 1" in str(e.value), str(e.value)
    finally:
        shutil.rmtree(conf_dir, ignore_errors=True)


def test_the_kept_merged_set_is_prefetched_while_the_api_is_down():
    """glint-fs keeps the API's merged boot set in its cache directory (meta/<id>.merged-boot,
    0600). Restarted on that directory with the image's chunks gone, and the API then
    stopped, an open still prefetches what the other hosts learned. (The API stops after
    the restart: with the API down from the start the tree lists only pinned images, and a
    pinned image is fetched whole anyway.)"""
    require_fuse()
    s = glint_server.GlintServer.start_default()  # its own: this test stops it
    try:
        data = os.urandom(8 * CHUNK)
        img = Api(s).active(data, name="kept-merged")
        other_host = {"host": "hv-other", "chunk_size": CHUNK, "chunks": [1, 4, 6]}
        assert report(s, img["id"], other_host).status_code == 204  # learned elsewhere
        with CacheMount(s, unverified=False) as m:  # data from the shared file store
            path = by_id(m.mnt, img["id"])
            kept = os.path.join(m.cache, "meta", img["id"] + ".merged-boot")
            assert wait_for(lambda: os.path.exists(path))
            fd = os.open(path, os.O_RDONLY)  # opened, nothing read: the merged set comes ahead
            try:
                assert wait_for(lambda: xattr(path, "user.glint.cache.chunks") == "3/8", timeout=20), m.log()
            finally:
                os.close(fd)
            assert wait_for(lambda: os.path.exists(kept))
            with open(kept) as f:
                assert json.load(f) == {"chunk_size": CHUNK, "chunks": [1, 4, 6]}
            assert os.stat(kept).st_mode & 0o7777 == 0o600
            assert not os.path.exists(os.path.join(m.cache, "meta", img["id"] + ".boot"))  # nothing learned here
            m.fsm.stop()
            shutil.rmtree(os.path.join(m.cache, "chunks", img["id"]))  # the chunks are gone, meta/ stays
            m.fsm.start()
            assert wait_for(lambda: os.path.exists(path))
            assert xattr(path, "user.glint.cache.chunks") == "0/8"
            s.kill()  # the API is down
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
                assert wait_for(lambda: xattr(path, "user.glint.cache.chunks") == "3/8", timeout=20), m.log()
                cached = sorted(int(os.path.basename(p).split(".")[0])
                                for p in glob.glob(os.path.join(m.cache, "chunks", img["id"], "*")))
                assert cached == [1, 4, 6]
                assert xattr(path, "user.glint.cache.fetches") == "3"  # this run's store reads: the prefetch
                assert os.pread(fd, 1000, 4 * CHUNK + 5) == data[4 * CHUNK + 5:4 * CHUNK + 1005]
            finally:
                os.close(fd)
            assert "prefetching the kept merged boot set (3 chunks)" in m.log()
    finally:
        s.stop()


def test_a_report_held_back_is_sent_when_glint_fs_stops():
    """glint-fs reports an image's boot set at most once a minute; a boot learned within that
    minute is not lost: glint-fs sends it when it stops cleanly (SIGTERM), within a short
    bound. The API here takes every report (boot_set_report_interval = 0), so only
    glint-fs's own minute holds the second one back."""
    require_fuse()
    conf_dir = tempfile.mkdtemp(prefix="glint-bootconf-")
    conf = os.path.join(conf_dir, "glint-api.conf")
    with open(conf, "w") as f:
        f.write("[glint]\nboot_set_report_interval = 0\n")
    s = glint_server.GlintServer.start_default(config=conf)
    try:
        img = Api(s).active(os.urandom(6 * CHUNK), name="held-back")
        with CacheMount(s, unverified=False) as m:
            path = by_id(m.mnt, img["id"])
            assert wait_for(lambda: os.path.exists(path))
            boot(path, [0, 3])
            assert wait_for(lambda: merged(s, img["id"])["chunks"] == [0, 3], timeout=20), m.log()
            boot(path, [5])  # a second boot within the minute: kept here, the report held back
            kept = os.path.join(m.cache, "meta", img["id"] + ".boot")
            assert wait_for(lambda: json.load(open(kept)) == [0, 3, 5])
            time.sleep(0.5)
            assert merged(s, img["id"])["chunks"] == [0, 3], "reported before the minute was over"
            started = time.time()
            m.fsm.stop()  # SIGTERM, well before the minute is over
            assert time.time() - started < 10
            got = merged(s, img["id"])
            assert got["chunks"] == [0, 3, 5] and got["reports"] == 1, got
            assert "reported the boot set of %s (3 chunks)" % img["id"] in m.log()
    finally:
        s.stop()
        shutil.rmtree(conf_dir, ignore_errors=True)
