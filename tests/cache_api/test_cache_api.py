"""The image cache API (Glance's /v2/cache, image API 2.14+) and the cache under downloads,
against a real glint-api with [DEFAULT] image_cache_dir and the `caching` flavor over a
file store: a second download (and a Range) is served from the cache even with the store
file gone, queued images are prefetched, entries are deleted and cleared by target, the
cache policies hold for non-admins, and with no image_cache_dir the routes answer 404.
Also the `glint cache-*` commands.
"""
import hashlib
import os
import subprocess
import sys
import tempfile
import time

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402

MiB = 1 << 20


def start(prefetch_delay_ms=200, cache=True, flavor="caching"):
    d = tempfile.mkdtemp(prefix="glint-cache-")
    conf = os.path.join(d, "glint.conf")
    with open(conf, "w") as f:
        if cache:
            f.write("[DEFAULT]\nimage_cache_dir = %s/image-cache\nimage_cache_max_size = %d\n"
                    "[paste_deploy]\nflavor = %s\n[glint]\nimage_cache_prefetch_delay_ms = %d\n"
                    % (d, 64 * MiB, flavor, prefetch_delay_ms))
    s = glint_server.GlintServer(d, config=conf)
    s.owns_dir = not os.environ.get("GLINT_KEEP_TEST_DIRS")
    s.start()
    return s


@pytest.fixture(scope="module")
def server():
    s = start()
    s.manage("project-create", "demo")
    s.manage("user-create", "alice", "--password", "pw-alice", "--project", "demo", "--role", "member")
    s.alice = s.token_for("alice", "pw-alice", "demo")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def slow():
    """A node whose queue is worked off only after ten minutes: queued images stay queued."""
    s = start(prefetch_delay_ms=600000)
    yield s
    s.stop()


def H(token, **extra):
    h = {"X-Auth-Token": token}
    h.update(extra)
    return h


def make_image(s, data=None, token=None):
    token = token or s.token
    r = requests.post(s.url + "/v2/images", json={"disk_format": "raw", "container_format": "bare"},
                      headers=H(token))
    assert r.status_code == 201, r.text
    image_id = r.json()["id"]
    if data is not None:
        r = requests.put(s.url + "/v2/images/%s/file" % image_id, data=data,
                         headers=H(token, **{"Content-Type": "application/octet-stream"}))
        assert r.status_code == 204, r.text
    return image_id


def cache_state(s, token=None):
    r = requests.get(s.url + "/v2/cache", headers=H(token or s.token))
    assert r.status_code == 200, r.text
    return r.json()


def cached_ids(s):
    return [c["image_id"] for c in cache_state(s)["cached_images"]]


def download(s, image_id, **headers):
    return requests.get(s.url + "/v2/images/%s/file" % image_id, headers=H(s.token, **headers))


def wait_for(pred, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_versions_advertise_the_cache_api(server):
    versions = requests.get(server.url + "/versions").json()["versions"]
    ids = {v["id"]: v["status"] for v in versions}
    assert ids["v2.16"] == "CURRENT" and ids["v2.14"] == "SUPPORTED" and ids["v2.15"] == "SUPPORTED"
    assert requests.get(server.url + "/v2.16/cache", headers=H(server.token)).status_code == 200
    assert requests.get(server.url + "/v2.14/cache", headers=H(server.token)).status_code == 200


def test_second_download_and_range_come_from_the_cache(server):
    data = os.urandom(9 * MiB + 4321)  # three chunks, the last one short
    image_id = make_image(server, data)
    assert image_id not in cached_ids(server)
    r = download(server, image_id)
    assert r.status_code == 200 and r.content == data
    entry = [c for c in cache_state(server)["cached_images"] if c["image_id"] == image_id]
    assert len(entry) == 1, cache_state(server)
    assert entry[0]["size"] == len(data) and entry[0]["hits"] == 0
    assert entry[0]["last_modified"] > time.time() - 60 and entry[0]["last_accessed"] >= entry[0]["last_modified"]
    # The store's copy goes: only the cache can answer now.
    os.unlink(os.path.join(server.store_dir, image_id))
    r = download(server, image_id)
    assert r.status_code == 200 and r.content == data
    assert r.headers["Content-MD5"] == hashlib.md5(data).hexdigest()
    r = download(server, image_id, Range="bytes=%d-%d" % (4 * MiB - 10, 4 * MiB + 89))
    assert r.status_code == 206 and r.content == data[4 * MiB - 10:4 * MiB + 90]
    assert r.headers["Content-Range"] == "bytes %d-%d/%d" % (4 * MiB - 10, 4 * MiB + 89, len(data))
    entry = [c for c in cache_state(server)["cached_images"] if c["image_id"] == image_id][0]
    assert entry["hits"] == 2


def test_an_uncached_image_with_its_store_file_gone_is_not_served(server):
    image_id = make_image(server, os.urandom(MiB))
    os.unlink(os.path.join(server.store_dir, image_id))
    assert download(server, image_id).status_code == 404  # the cache really is what served above


def test_a_range_caches_only_what_it_touched(server):
    data = os.urandom(9 * MiB)
    image_id = make_image(server, data)
    r = download(server, image_id, Range="bytes=%d-%d" % (5 * MiB, 5 * MiB + 99))
    assert r.status_code == 206 and r.content == data[5 * MiB:5 * MiB + 100]
    assert image_id not in cached_ids(server)  # one chunk of three
    assert download(server, image_id).content == data
    assert image_id in cached_ids(server)


def test_queue_prefetches_the_image(server):
    data = os.urandom(5 * MiB)
    image_id = make_image(server, data)
    r = requests.put(server.url + "/v2/cache/" + image_id, headers=H(server.token))
    assert r.status_code == 202, r.text
    assert image_id in cache_state(server)["queued_images"]
    assert wait_for(lambda: image_id in cached_ids(server)), cache_state(server)
    assert image_id not in cache_state(server)["queued_images"]
    os.unlink(os.path.join(server.store_dir, image_id))
    assert download(server, image_id).content == data


def test_queue_refuses_what_glance_refuses(server):
    queued = make_image(server)
    r = requests.put(server.url + "/v2/cache/" + queued, headers=H(server.token))
    assert r.status_code == 400 and "Only images with status active" in r.text
    r = requests.put(server.url + "/v2/cache/non-existing-image-id", headers=H(server.token))
    assert r.status_code == 404
    r = requests.put(server.url + "/v2/cache/7a3c0000-0000-4000-8000-00000000dead", headers=H(server.token))
    assert r.status_code == 404 and "Image 7a3c0000-0000-4000-8000-00000000dead not found." in r.text
    r = requests.post(server.url + "/v2/cache/" + queued, headers=H(server.token))
    assert r.status_code == 405 and set(r.headers["Allow"].replace(" ", "").split(",")) == {"PUT", "DELETE"}


def test_delete_one_from_the_cache(server):
    data = os.urandom(2 * MiB)
    image_id = make_image(server, data)
    assert download(server, image_id).content == data
    assert image_id in cached_ids(server)
    r = requests.delete(server.url + "/v2/cache/" + image_id, headers=H(server.token))
    assert r.status_code == 204, r.text
    assert image_id not in cached_ids(server)
    os.unlink(os.path.join(server.store_dir, image_id))
    assert download(server, image_id).status_code == 404  # the chunks went too
    r = requests.delete(server.url + "/v2/cache/7a3c0000-0000-4000-8000-00000000dead", headers=H(server.token))
    assert r.status_code == 404


def test_deleting_the_image_removes_it_from_the_cache(server):
    image_id = make_image(server, os.urandom(MiB))
    download(server, image_id)
    assert image_id in cached_ids(server)
    assert requests.delete(server.url + "/v2/images/" + image_id, headers=H(server.token)).status_code == 204
    assert image_id not in cached_ids(server)
    assert not os.path.exists(os.path.join(server.data_dir, "image-cache", "chunks", image_id))


def test_clear_by_target(slow):
    a = make_image(slow, os.urandom(MiB))
    b = make_image(slow, os.urandom(MiB))

    def fill():
        assert download(slow, a).status_code == 200
        assert requests.put(slow.url + "/v2/cache/" + b, headers=H(slow.token)).status_code == 202
        state = cache_state(slow)
        assert [c["image_id"] for c in state["cached_images"]] == [a] and state["queued_images"] == [b]

    def clear(target):
        headers = H(slow.token)
        if target is not None:
            headers["x-image-cache-clear-target"] = target
        r = requests.delete(slow.url + "/v2/cache", headers=headers)
        assert r.status_code == 204, r.text
        state = cache_state(slow)
        return [c["image_id"] for c in state["cached_images"]], state["queued_images"]

    fill()
    assert clear("cache") == ([], [b])
    fill()
    assert clear("queue") == ([a], [])
    fill()
    assert clear("") == ([], [])
    fill()
    assert clear(None) == ([], [])
    r = requests.delete(slow.url + "/v2/cache", headers=H(slow.token, **{"x-image-cache-clear-target": "invalid"}))
    assert r.status_code == 400 and "x-image-cache-clear-target" in r.text


def test_the_cache_policies_are_admin_only(server):
    own = make_image(server, os.urandom(1000), token=server.alice)
    for method, path in (("GET", "/v2/cache"), ("DELETE", "/v2/cache"), ("PUT", "/v2/cache/" + own),
                         ("DELETE", "/v2/cache/" + own)):
        r = requests.request(method, server.url + path, headers=H(server.alice))
        assert r.status_code == 403, (method, path, r.status_code, r.text)
    other = make_image(server, os.urandom(1000))  # admin's, private to it: not found for alice
    assert requests.put(server.url + "/v2/cache/" + other, headers=H(server.alice)).status_code == 404


def test_the_cache_and_queue_survive_a_restart(slow):
    data = os.urandom(3 * MiB)
    a = make_image(slow, data)
    b = make_image(slow, os.urandom(1000))
    download(slow, a)
    assert requests.put(slow.url + "/v2/cache/" + b, headers=H(slow.token)).status_code == 202
    slow.proc.terminate()
    slow.proc.wait(30)
    slow.start()
    state = cache_state(slow)
    assert a in [c["image_id"] for c in state["cached_images"]] and b in state["queued_images"]
    os.unlink(os.path.join(slow.store_dir, a))
    assert download(slow, a).content == data


def test_without_image_cache_dir_the_routes_answer_404():
    s = start(cache=False)
    try:
        s.manage("project-create", "demo")
        s.manage("user-create", "bob", "--password", "pw-bob", "--project", "demo", "--role", "member")
        bob = s.token_for("bob", "pw-bob", "demo")
        image_id = make_image(s, os.urandom(1000))
        for method, path in (("GET", "/v2/cache"), ("DELETE", "/v2/cache"), ("PUT", "/v2/cache/" + image_id),
                             ("DELETE", "/v2/cache/" + image_id)):
            r = requests.request(method, s.url + path, headers=H(s.token))
            assert r.status_code == 404, (method, path, r.text)
            assert requests.request(method, s.url + path, headers=H(bob)).status_code in (403, 404)
        assert requests.get(s.url + "/v2/cache", headers=H(bob)).status_code == 403  # policy first, as Glance
        versions = {v["id"] for v in requests.get(s.url + "/versions").json()["versions"]}
        assert "v2.16" not in versions and "v2.14" not in versions
        assert requests.get(s.url + "/v2.16/images", headers=H(s.token)).status_code == 300
    finally:
        s.stop()


def test_without_the_caching_flavor_downloads_bypass_the_cache():
    s = start(flavor="")
    try:
        data = os.urandom(MiB)
        image_id = make_image(s, data)
        assert download(s, image_id).content == data
        assert cache_state(s)["cached_images"] == []  # the API is there, the middleware is not
    finally:
        s.stop()


def glint(s, *args):
    env = dict(os.environ, OS_IMAGE_URL=s.url, OS_AUTH_TOKEN=s.token)
    return subprocess.run([glint_server.binary("glint")] + list(args), capture_output=True, text=True, env=env)


def test_the_cli_cache_commands(slow):
    glint(slow, "cache-clear")
    a = make_image(slow, os.urandom(MiB))
    b = make_image(slow, os.urandom(MiB))
    download(slow, a)
    p = glint(slow, "cache-queue", b)
    assert p.returncode == 0, p.stderr
    p = glint(slow, "cache-list")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert any(a in line and "cached" in line and str(MiB) in line for line in lines), p.stdout
    assert any(b in line and "queued" in line for line in lines), p.stdout
    p = glint(slow, "cache-clear", "--target", "queue")
    assert p.returncode == 0, p.stderr
    assert cache_state(slow)["queued_images"] == []
    assert glint(slow, "cache-delete", a).returncode == 0
    assert cache_state(slow)["cached_images"] == []
    p = glint(slow, "cache-queue", "7a3c0000-0000-4000-8000-00000000dead")
    assert p.returncode != 0 and "404" in p.stderr
    p = glint(slow, "cache-clear", "--target", "bogus")
    assert p.returncode != 0
    download(slow, a)
    assert glint(slow, "cache-clear", "--target", "cache").returncode == 0
    assert cache_state(slow)["cached_images"] == []
