"""Glint's own CLI for interoperable import and tasks, with glanceclient's subcommand
names and flags: image-create-via-import, image-stage, image-import, import-info,
image-tasks, task-list and task-show, against a real glint-api
with two file stores."""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402


@pytest.fixture(scope="module")
def multi():
    d = tempfile.mkdtemp(prefix="glint-cli-import-")
    conf = os.path.join(d, "glint.conf")
    with open(conf, "w") as f:
        f.write("[DEFAULT]\nenabled_backends = fast:file, slow:file\n[glance_store]\ndefault_backend = fast\n"
                "[fast]\nfilesystem_store_datadir = %s/fast\n[slow]\nfilesystem_store_datadir = %s/slow\n" % (d, d))
    s = glint_server.GlintServer(d, config=conf)
    s.start()
    yield s
    s.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def payload(multi):
    path = os.path.join(multi.data_dir, "payload.raw")
    data = os.urandom(5 << 20)
    with open(path, "wb") as f:
        f.write(data)
    return path, hashlib.md5(data).hexdigest()


def glint(s, *args, expect_ok=True):
    env = dict(os.environ, OS_IMAGE_URL=s.url, OS_AUTH_TOKEN=s.token)
    env.pop("OS_IMAGE_IMPORT_METHOD", None)
    p = subprocess.run([glint_server.binary("glint")] + list(args), env=env, capture_output=True,
                       timeout=120, text=True)
    if expect_ok:
        assert p.returncode == 0, "glint %s failed: %s %s" % (args, p.stdout, p.stderr)
    return p.returncode, p.stdout, p.stderr


def field(out, key):
    return [l.split("|")[2].strip() for l in out.splitlines() if l.startswith("| %s " % key)][0]


def wait_image(s, image_id, status="active"):
    deadline = time.time() + 30
    while time.time() < deadline:
        img = requests.get(s.url + "/v2/images/" + image_id, headers={"X-Auth-Token": s.token}).json()
        if img["status"] == status:
            return img
        time.sleep(0.1)
    raise AssertionError("image %s not %s: %s" % (image_id, status, img))


def test_import_info_lists_the_methods(multi):
    _, out, _ = glint(multi, "import-info")
    assert "glance-direct" in out and "copy-image" in out


def test_create_via_import_stages_and_imports_a_file(multi, payload):
    path, md5 = payload
    _, out, _ = glint(multi, "image-create-via-import", "--name", "via-import", "--disk-format", "raw",
                      "--container-format", "bare", "--file", path, "--store", "slow")
    image_id = field(out, "id")
    img = wait_image(multi, image_id)
    assert img["checksum"] == md5 and img["stores"] == "slow"
    _, out, _ = glint(multi, "image-tasks", image_id)
    assert "api_image_import" in out and "success" in out
    task_id = [l.split("|")[1].strip() for l in out.splitlines() if "api_image_import" in l][0]
    _, out, _ = glint(multi, "task-list", "--status", "success", "--page-size", "1")
    assert task_id in out
    _, out, _ = glint(multi, "task-show", task_id)
    assert field(out, "status") == "success" and field(out, "image_id") == image_id


def test_stage_then_import_then_copy_to_all_stores(multi, payload):
    path, md5 = payload
    _, out, _ = glint(multi, "image-create", "--name", "staged", "--disk-format", "raw", "--container-format", "bare")
    image_id = field(out, "id")
    glint(multi, "image-stage", "--file", path, image_id)
    assert wait_image(multi, image_id, "uploading")["size"] == os.path.getsize(path)
    glint(multi, "image-import", "--import-method", "glance-direct", image_id)
    assert wait_image(multi, image_id)["checksum"] == md5
    glint(multi, "image-import", "--import-method", "copy-image", "--all-stores", "True", image_id)
    deadline = time.time() + 30
    while time.time() < deadline:
        stores = set(wait_image(multi, image_id)["stores"].split(","))
        if stores == {"fast", "slow"}:
            break
        time.sleep(0.1)
    assert stores == {"fast", "slow"}


@pytest.mark.parametrize("args,message", [
    (["--import-method", "web-download"], "Provide URI for web-download import method."),
    (["--uri", "http://example.com/x"], "Import method should be 'web-download' if URI is provided."),
    (["--import-method", "copy-image"], "Provide either --stores or --all-stores"),
    (["--import-method", "copy-image", "--store", "fast", "--stores", "slow"], "Only one of --store"),
    (["--import-method", "no-such-method"], "is not valid for this cloud"),
])
def test_image_import_refuses_what_glanceclient_refuses(multi, args, message):
    _, out, _ = glint(multi, "image-create", "--name", "x", "--disk-format", "raw", "--container-format", "bare")
    rc, _, err = glint(multi, "image-import", *args, field(out, "id"), expect_ok=False)
    assert rc == 1 and message in err, err


def test_create_via_import_refusals_create_nothing(multi, payload):
    path, _ = payload
    before = requests.get(multi.url + "/v2/images", headers={"X-Auth-Token": multi.token}).json()["images"]
    for args, message in [
        (["--import-method", "copy-image"], "cannot be used while creating the image"),
        (["--import-method", "glance-direct"], "You must specify a --file"),
        (["--uri", "http://example.com/x"], "You cannot use --uri without specifying an import method."),
        (["--file", "/nonexistent"], "does not exist"),
    ]:
        rc, _, err = glint(multi, "image-create-via-import", "--name", "refused", *args, expect_ok=False)
        assert rc == 1 and message in err, (args, err)
    after = requests.get(multi.url + "/v2/images", headers={"X-Auth-Token": multi.token}).json()["images"]
    assert len(after) == len(before)
