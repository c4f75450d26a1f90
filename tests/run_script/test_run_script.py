"""The README's run command, as a user runs it: `tools/run.sh` (file store) and
`tools/run.sh --rbd` (its own throwaway Ceph cluster). Upload through the API, read the
image back through the glint-fs mount it sets up, stop it with Ctrl-C (SIGINT to the
process group), and for rbd run it again: the cluster resumes with the data.
`tools/run.sh --ha` is tested by the ha suite (tests/ha), which starts its cluster with it
(one cluster start for both) and ends with Ctrl-C."""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import requests

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "support"))
import glance_ref  # noqa: E402
import glint_server  # noqa: E402

RUN = os.path.join(here, "..", "..", "tools", "run.sh")


class RunScript:
    def __init__(self, data, args=()):
        self.data, self.port = str(data), glance_ref.free_port()
        self.out = open(os.path.join(str(data) + ".out"), "ab")
        start = self.out.tell()
        env = dict(os.environ, GLINT_DATA_DIR=self.data, GLINT_PORT=str(self.port))
        self.proc = subprocess.Popen(["bash", RUN] + list(args), stdout=self.out, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        deadline = time.time() + 300  # a first run may build
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("run.sh exited: " + open(self.out.name).read()[-3000:])
            if b"Glint is running" in open(self.out.name, "rb").read()[start:]:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("run.sh did not start: " + open(self.out.name).read()[-3000:])
        self.url = "http://127.0.0.1:%d" % self.port
        self.token = open(os.path.join(self.data, "admin-token")).read().strip()
        self.mnt = os.path.join(self.data, "images")

    def ctrl_c(self):
        os.killpg(self.proc.pid, signal.SIGINT)
        self.proc.wait(60)
        assert not os.path.ismount(self.mnt)


def upload_and_read(run, data):
    h = {"X-Auth-Token": run.token}
    image = requests.post(run.url + "/v2/images", headers=h, json={
        "name": "run-script", "disk_format": "raw", "container_format": "bare"}).json()
    r = requests.put(run.url + "/v2/images/%s/file" % image["id"], data=data,
                     headers=dict(h, **{"Content-Type": "application/octet-stream"}))
    assert r.status_code == 204, r.text
    return image["id"]


def read_through_mount(run, image_id, timeout=20):
    if os.getuid() != 0 or not os.path.exists("/dev/fuse"):
        return None
    path = os.path.join(run.mnt, "by-id", image_id)
    deadline = time.time() + timeout
    while time.time() < deadline and not os.path.exists(path):
        time.sleep(0.2)
    with open(path, "rb") as f:
        return hashlib.sha512(f.read()).hexdigest()


def test_run_sh_file_store(tmp_path):
    data = os.urandom(3 << 20)
    run = RunScript(tmp_path / "glint")
    try:
        image_id = upload_and_read(run, data)
        assert os.path.getsize(os.path.join(run.data, "store", image_id)) == len(data)
        got = read_through_mount(run, image_id)
        if got is None and glint_server.in_ci():
            pytest.fail("CI=true but FUSE is unavailable")
        assert got in (None, hashlib.sha512(data).hexdigest())
    finally:
        run.ctrl_c()


def test_run_sh_rbd_starts_its_own_cluster_and_resumes_it(tmp_path):
    if not shutil.which("ceph-mon") or not shutil.which("ceph-osd"):
        if glint_server.in_ci():
            pytest.fail("CI=true but Debian's ceph-mon/ceph-osd are not installed")
        pytest.skip("ceph-mon/ceph-osd not installed")
    data = os.urandom(3 << 20)
    d = tmp_path / "glint-rbd"
    run = RunScript(d, ["--rbd"])
    ceph = os.path.join(run.data, "ceph")
    try:
        image_id = upload_and_read(run, data)
        env = dict(os.environ, CEPH_CONF=os.path.join(ceph, "ceph.conf"))
        ls = subprocess.run(["rbd", "--id", "glance", "-p", "images", "ls"], env=env, capture_output=True,
                            text=True, check=True).stdout.split()
        assert image_id in ls
        assert read_through_mount(run, image_id) in (None, hashlib.sha512(data).hexdigest())
        run.ctrl_c()
        pids = [int(open(os.path.join(ceph, "run", f)).read()) for f in os.listdir(os.path.join(ceph, "run"))
                if f.endswith(".pid")]
        for pid in pids:  # the cluster was halted with it
            assert not os.path.exists("/proc/%d" % pid) or "zombie" in open("/proc/%d/status" % pid).read()
        run = RunScript(d, ["--rbd"])  # the same cluster comes back with the image
        r = requests.get(run.url + "/v2/images/%s/file" % image_id, headers={"X-Auth-Token": run.token})
        assert r.status_code == 200 and r.content == data
        assert read_through_mount(run, image_id) in (None, hashlib.sha512(data).hexdigest())
    finally:
        if run.proc.poll() is None:
            run.ctrl_c()
        subprocess.run([os.path.join(here, "..", "..", "tools", "ceph-cluster.sh"), "stop", ceph],
                       capture_output=True)
