"""glint-fs on a real FUSE mount against a real glint-api.

Needs root and /dev/fuse; in CI (CI=true) their absence is a failure, not a skip.
"""
import errno
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402

FRESHNESS_BOUND = 5.0  # seconds; glint-fs runs with --refresh 1


def require_fuse():
    problem = None
    if os.geteuid() != 0:
        problem = "needs root to mount FUSE"
    elif not os.path.exists("/dev/fuse"):
        problem = "/dev/fuse is missing"
    elif not shutil.which("fusermount3"):
        problem = "fusermount3 is missing (Debian package fuse3)"
    if problem:
        if glint_server.in_ci():
            pytest.fail(problem)
        pytest.skip(problem)


def need(cmd):
    if shutil.which(cmd):
        return
    if glint_server.in_ci():
        pytest.fail("%s is not installed" % cmd)
    pytest.skip("%s is not installed" % cmd)


class Api:
    def __init__(self, server):
        self.s = server
        self.h = {"X-Auth-Token": server.token}

    def create(self, **props):
        body = {"disk_format": "raw", "container_format": "bare"}
        body.update(props)
        r = requests.post(self.s.url + "/v2/images", json=body, headers=self.h)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def upload(self, image_id, data):
        r = requests.put(self.s.url + "/v2/images/%s/file" % image_id, data=data,
                         headers=dict(self.h, **{"Content-Type": "application/octet-stream"}))
        assert r.status_code == 204, r.text
        return self.show(image_id)

    def active(self, data, **props):
        return self.upload(self.create(**props), data)

    def show(self, image_id):
        return requests.get(self.s.url + "/v2/images/" + image_id, headers=self.h).json()

    def delete(self, image_id):
        assert requests.delete(self.s.url + "/v2/images/" + image_id, headers=self.h).status_code == 204

    def action(self, image_id, action):
        r = requests.post(self.s.url + "/v2/images/%s/actions/%s" % (image_id, action), headers=self.h)
        assert r.status_code == 204, r.text


def wait_for(pred, timeout=FRESHNESS_BOUND):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


@pytest.fixture(scope="module")
def env():
    require_fuse()
    server = glint_server.GlintServer.start_default()
    mnt = tempfile.mkdtemp(prefix="glint-mnt-")
    fsm = glint_server.GlintFsMount(server, mnt).start()
    yield server, Api(server), mnt, fsm
    fsm.stop()
    server.stop()
    glint_server.remove_mountpoint(mnt)


def by_id(mnt, image_id):
    return os.path.join(mnt, "by-id", image_id)


def listed(mnt, image_id):
    """In the by-id listing (an existence check alone would look the id up in the API)."""
    return image_id in os.listdir(os.path.join(mnt, "by-id"))


def test_trees_names_sizes_modes(env):
    server, api, mnt, _ = env
    data = os.urandom(3 << 20)
    a = api.active(data, name="tree-image")
    b = api.active(b"y" * 1000, name="tree-image")  # a duplicate name
    c = api.active(b"z" * 10, name="odd/name")
    assert wait_for(lambda: all(listed(mnt, i["id"]) for i in (a, b, c)))
    st = os.stat(by_id(mnt, a["id"]))
    assert st.st_size == len(data)
    assert oct(st.st_mode & 0o7777) == "0o440"
    out = subprocess.run(["ls", "-l", os.path.join(mnt, "by-id")], capture_output=True, text=True).stdout
    assert a["id"] in out and "-r--r-----" in out
    names = os.listdir(os.path.join(mnt, "by-name"))
    # The first created (created_at, then id) keeps the plain name; others get ~<id8>.
    first, second = sorted([a, b], key=lambda i: (i["created_at"], i["id"]))
    assert "tree-image" in names and "tree-image~" + second["id"][:8] in names
    assert "odd_name" in names  # "/" cannot be in a file name
    assert os.readlink(os.path.join(mnt, "by-name", "tree-image")) == "../by-id/" + first["id"]
    with open(os.path.join(mnt, "by-name", "tree-image"), "rb") as f:
        assert f.read() == (data if first is a else b"y" * 1000)
    proj = os.path.join(mnt, "by-project", "_none", a["id"])
    assert os.path.realpath(proj) == os.path.realpath(by_id(mnt, a["id"]))


def test_xattrs_show_metadata(env):
    server, api, mnt, _ = env
    img = api.active(b"meta" * 1000, name="with-meta", os_distro="debian")
    path = by_id(mnt, img["id"])
    assert wait_for(lambda: os.path.exists(path))
    assert os.getxattr(path, "user.glint.checksum").decode() == img["checksum"]
    assert os.getxattr(path, "user.glint.os_hash_value").decode() == img["os_hash_value"]
    assert os.getxattr(path, "user.glint.disk_format").decode() == "raw"
    assert os.getxattr(path, "user.glint.os_distro").decode() == "debian"
    assert "user.glint.owner" not in os.listxattr(path)  # owner is null for the bootstrap admin
    need("getfattr")
    out = subprocess.run(["getfattr", "-d", path], capture_output=True, text=True).stdout
    assert 'user.glint.name="with-meta"' in out


def test_sha512_random_preads_and_concurrent_readers(env):
    server, api, mnt, _ = env
    data = os.urandom(24 << 20)
    img = api.active(data, name="reads")
    path = by_id(mnt, img["id"])
    assert wait_for(lambda: os.path.exists(path))
    out = subprocess.run(["sha512sum", path], capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == img["os_hash_value"]
    rng = random.Random(7)
    fd = os.open(path, os.O_RDONLY)
    try:
        for _ in range(300):
            off = rng.randrange(0, len(data))
            size = rng.choice([1, 511, 4096, 65536, 131073, 1 << 20, 3 << 20])
            assert os.pread(fd, size, off) == data[off:off + size]
    finally:
        os.close(fd)
    errors = []

    def reader(seed):
        r = random.Random(seed)
        try:
            with open(path, "rb") as f:
                for _ in range(50):
                    off = r.randrange(0, len(data))
                    f.seek(off)
                    if f.read(100000) != data[off:off + 100000]:
                        errors.append("mismatch at %d" % off)
        except OSError as e:
            errors.append(str(e))
    threads = [threading.Thread(target=reader, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_kernel_readahead_raised_for_sequential_readers(env):
    """The kernel's read-ahead for a FUSE mount starts at 128 KiB; glint-fs raises it to
    4 MiB (--kernel-readahead-kb) once the session is up, so streaming readers get big
    requests in flight."""
    server, api, mnt, _ = env
    img = api.active(os.urandom(1 << 20), name="ra")
    path = by_id(mnt, img["id"])
    assert wait_for(lambda: os.path.exists(path))
    with open(path, "rb") as f:
        f.read(4096)
    st = os.stat(mnt)
    with open("/sys/class/bdi/%d:%d/read_ahead_kb" % (os.major(st.st_dev), os.minor(st.st_dev))) as f:
        assert f.read().strip() == "4096"


def test_o_direct_reads(env):
    server, api, mnt, _ = env
    data = os.urandom(4 << 20)
    img = api.active(data, name="direct")
    path = by_id(mnt, img["id"])
    assert wait_for(lambda: os.path.exists(path))
    p = subprocess.run(["dd", "if=" + path, "iflag=direct", "bs=1M", "status=none"], capture_output=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout == data


def test_seek_data_and_hole_on_sparse_image(env):
    server, api, mnt, _ = env
    mib = 1 << 20
    data = bytearray(16 * mib)
    data[0:mib] = os.urandom(mib)
    data[8 * mib:9 * mib] = os.urandom(mib)
    img = api.active(bytes(data), name="sparse")
    path = by_id(mnt, img["id"])
    assert wait_for(lambda: os.path.exists(path))
    fd = os.open(path, os.O_RDONLY)
    try:
        assert os.lseek(fd, 0, os.SEEK_DATA) == 0
        hole = os.lseek(fd, 0, os.SEEK_HOLE)
        assert hole == mib
        assert os.lseek(fd, hole, os.SEEK_DATA) == 8 * mib
        assert os.lseek(fd, 8 * mib, os.SEEK_HOLE) == 9 * mib
        with pytest.raises(OSError) as e:
            os.lseek(fd, 9 * mib, os.SEEK_DATA)
        assert e.value.errno == errno.ENXIO
        assert os.pread(fd, 16 * mib, 0) == bytes(data)
    finally:
        os.close(fd)


def test_qemu_tools_read_through_the_mount(env, tmp_path):
    need("qemu-img")
    server, api, mnt, _ = env
    raw = tmp_path / "src.raw"
    with open(raw, "wb") as f:
        f.write(os.urandom(2 << 20))
        f.seek(30 << 20)
        f.write(os.urandom(1 << 20))
    qcow = tmp_path / "src.qcow2"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow)], check=True)
    img = api.active(qcow.read_bytes(), name="qcow", disk_format="qcow2")
    assert img["virtual_size"] == os.path.getsize(raw)
    path = by_id(mnt, img["id"])
    assert wait_for(lambda: os.path.exists(path))
    info = subprocess.run(["qemu-img", "info", "--output=json", "-f", "qcow2", path],
                          capture_output=True, text=True, check=True).stdout
    assert '"virtual-size": %d' % os.path.getsize(raw) in info
    subprocess.run(["qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", path, str(qcow)], check=True)
    out = tmp_path / "out.raw"
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", path, str(out)], check=True)
    assert out.read_bytes() == raw.read_bytes()


def test_freshness_upload_deactivate_delete(env):
    server, api, mnt, _ = env
    data = os.urandom(1 << 20)
    img = api.active(data, name="fresh")
    path = by_id(mnt, img["id"])
    t = time.time()
    assert wait_for(lambda: listed(mnt, img["id"])), "a new image did not appear"
    print("appeared after %.1fs" % (time.time() - t))
    assert wait_for(lambda: "fresh" in os.listdir(os.path.join(mnt, "by-name")))

    # Deactivated: leaves the tree; a file opened before keeps reading.
    f = open(path, "rb")
    api.action(img["id"], "deactivate")
    assert wait_for(lambda: img["id"] not in os.listdir(os.path.join(mnt, "by-id")))
    assert wait_for(lambda: not os.path.exists(path))
    f.seek(0)
    assert f.read() == data
    f.close()
    api.action(img["id"], "reactivate")
    assert wait_for(lambda: listed(mnt, img["id"]))

    # Deleted: leaves the tree. A file opened before is read by the kernel from the store's
    # own file (passthrough): it keeps reading the bytes it had, as an unlinked local file
    # does, never other bytes (without passthrough it errors: below).
    f = open(path, "rb", buffering=0)
    api.delete(img["id"])
    assert wait_for(lambda: not os.path.exists(path))
    assert wait_for(lambda: "fresh" not in os.listdir(os.path.join(mnt, "by-name")))
    os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    assert os.pread(f.fileno(), len(data), 0) == data
    f.close()


def test_deleted_image_errors_without_passthrough(env):
    """Read through glint-fs (--no-passthrough), an open file of a deleted image errors
    instead of serving the deleted image's bytes."""
    server, api, _, _ = env
    data = os.urandom(1 << 20)
    img = api.active(data, name="deleted-no-passthrough")
    mnt = tempfile.mkdtemp(prefix="glint-mnt-")
    fsm = glint_server.GlintFsMount(server, mnt, args=["--store-dir", server.store_dir, "--no-passthrough"]).start()
    try:
        path = by_id(mnt, img["id"])
        assert wait_for(lambda: os.path.exists(path))
        with open(path, "rb", buffering=0) as f:
            assert os.pread(f.fileno(), 4096, 0) == data[:4096]
            api.delete(img["id"])
            assert wait_for(lambda: not os.path.exists(path))
            with pytest.raises(OSError):
                os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
                os.pread(f.fileno(), 4096, 4096)
    finally:
        fsm.stop()
        glint_server.remove_mountpoint(mnt)


def test_unlisted_images_open_by_id(env):
    server, api, mnt, _ = env
    hidden = api.active(b"h" * 4096, name="hidden", os_hidden=True)
    assert hidden["id"] not in os.listdir(os.path.join(mnt, "by-id"))
    with open(by_id(mnt, hidden["id"]), "rb") as f:  # looked up in the API at once
        assert f.read() == b"h" * 4096
    assert not os.path.exists(by_id(mnt, "00000000-0000-4000-8000-000000000000"))
    queued = api.create(name="queued")
    assert not os.path.exists(by_id(mnt, queued))


@pytest.mark.parametrize("call", ["open_write", "create", "unlink", "rename", "mkdir", "chmod",
                                  "truncate", "setxattr", "symlink", "rmdir"])
def test_write_calls_fail(env, call):
    server, api, mnt, _ = env
    img = api.active(b"ro" * 100, name="readonly")
    path = by_id(mnt, img["id"])
    assert wait_for(lambda: os.path.exists(path))
    ops = {
        "open_write": lambda: os.open(path, os.O_WRONLY),
        "create": lambda: os.open(os.path.join(mnt, "by-id", "new"), os.O_CREAT | os.O_WRONLY),
        "unlink": lambda: os.unlink(path),
        "rename": lambda: os.rename(path, path + ".x"),
        "mkdir": lambda: os.mkdir(os.path.join(mnt, "by-id", "d")),
        "chmod": lambda: os.chmod(path, 0o644),
        "truncate": lambda: os.truncate(path, 0),
        "setxattr": lambda: os.setxattr(path, "user.glint.name", b"x"),
        "symlink": lambda: os.symlink(path, os.path.join(mnt, "by-name", "l")),
        "rmdir": lambda: os.rmdir(os.path.join(mnt, "by-id")),
    }
    with pytest.raises(OSError) as e:
        ops[call]()
    assert e.value.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
    assert api.show(img["id"])["status"] == "active"
    with open(path, "rb") as f:
        assert f.read() == b"ro" * 100


def test_http_fallback_reads_through_api(env):
    server, api, mnt, _ = env
    data = os.urandom(5 << 20)
    img = api.active(data, name="via-http")
    mnt2 = tempfile.mkdtemp(prefix="glint-mnt-http-")
    fsm = glint_server.GlintFsMount(server, mnt2, args=["--http"]).start()
    try:
        path = by_id(mnt2, img["id"])
        assert wait_for(lambda: os.path.exists(path))
        out = subprocess.run(["sha512sum", path], capture_output=True, text=True, check=True).stdout
        assert out.split()[0] == img["os_hash_value"]
        fd = os.open(path, os.O_RDONLY)
        assert os.pread(fd, 1000, 12345) == data[12345:13345]
        os.close(fd)
    finally:
        fsm.stop()
        glint_server.remove_mountpoint(mnt2)


def test_api_down_keeps_serving_and_recovers(env):
    require_fuse()
    server = glint_server.GlintServer.start_default()
    api = Api(server)
    mnt = tempfile.mkdtemp(prefix="glint-mnt-down-")
    fsm = glint_server.GlintFsMount(server, mnt).start()
    try:
        data = os.urandom(2 << 20)
        img = api.active(data, name="survivor")
        path = by_id(mnt, img["id"])
        assert wait_for(lambda: listed(mnt, img["id"]))
        port = server.port
        server.kill()
        time.sleep(2.5)  # a couple of failed polls
        assert img["id"] in os.listdir(os.path.join(mnt, "by-id"))
        with open(path, "rb") as f:
            assert f.read() == data
        server.start(port=port)
        later = api.active(b"later" * 10, name="after-restart")
        assert wait_for(lambda: listed(mnt, later["id"]), timeout=10)
    finally:
        fsm.stop()
        server.stop()
        glint_server.remove_mountpoint(mnt)


def test_admin_all_view_includes_other_projects_community_images(env):
    server, api, mnt, _ = env
    img = api.active(b"c" * 2048, name="community-of-p9", visibility="community", owner="p9")
    time.sleep(2.5)  # more than a refresh period
    assert not listed(mnt, img["id"])  # the default list leaves other projects' community out
    mnt2 = tempfile.mkdtemp(prefix="glint-mnt-all-")
    fsm = glint_server.GlintFsMount(server, mnt2, args=["--store-dir", server.store_dir, "--all"]).start()
    try:
        assert wait_for(lambda: listed(mnt2, img["id"]))
    finally:
        fsm.stop()
        glint_server.remove_mountpoint(mnt2)



def test_a_stop_asked_by_a_signal_is_a_clean_exit(env):
    """systemd and other service managers count a nonzero status after SIGTERM as a failed
    stop; libfuse ends its loop with the signal's number, which glint-fs must not pass on."""
    server, _, _, _ = env
    for sig in (signal.SIGTERM, signal.SIGINT):
        mnt2 = tempfile.mkdtemp(prefix="glint-mnt-sig-")
        fsm = glint_server.GlintFsMount(server, mnt2).start()
        try:
            fsm.proc.send_signal(sig)
            assert fsm.proc.wait(20) == 0
            assert not glint_server.is_mounted(mnt2)
        finally:
            fsm.stop()
            glint_server.remove_mountpoint(mnt2)

# ---- Least privilege: what another local account on the host can do with a mount ----

NOBODY = 65534


def as_user(cmd, groups=None):
    """Runs `cmd` as uid/gid nobody, with exactly `groups` as supplementary groups (none
    by default): another local account, not root, on the hypervisor."""
    need("setpriv")
    ids = ["--reuid=%d" % NOBODY, "--regid=%d" % NOBODY]
    ids += ["--groups=" + ",".join(str(g) for g in groups)] if groups else ["--clear-groups"]
    return subprocess.run(["setpriv"] + ids + ["--"] + cmd, capture_output=True)


def can_read(path, groups=None):
    p = as_user(["cat", path], groups)
    return p.returncode == 0, p.stdout, p.stderr.decode(errors="replace")


def can_list(path, groups=None):
    p = as_user(["ls", path], groups)
    return p.returncode == 0, p.stderr.decode(errors="replace")


@pytest.fixture
def host_group():
    """A fresh local group, like the one qemu runs under; removed afterwards."""
    need("groupadd")
    name = "glintq%d" % random.randrange(10 ** 6)
    subprocess.run(["groupadd", name], check=True)
    import grp
    try:
        yield name, grp.getgrnam(name).gr_gid
    finally:
        subprocess.run(["groupdel", name], check=False)


def extra_mount(server, args):
    mnt = tempfile.mkdtemp(prefix="glint-mnt-perm-")
    os.chmod(mnt, 0o755)  # the mount root's own mode is glint-fs's to set, not the directory's
    return mnt, glint_server.GlintFsMount(server, mnt, args=["--store-dir", server.store_dir] + args).start()


def test_default_mount_is_private_to_its_owner(env):
    server, api, mnt, _ = env
    img = api.active(b"secret" * 1000, name="private")
    path = by_id(mnt, img["id"])
    assert wait_for(lambda: listed(mnt, img["id"]))
    st = os.stat(path)
    assert oct(st.st_mode & 0o7777) == "0o440"
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
    assert oct(os.stat(os.path.join(mnt, "by-id")).st_mode & 0o7777) == "0o550"
    # Another local account: no listing, no stat, no read, not even by name or by id.
    ok, err = can_list(mnt)
    assert not ok and "Permission denied" in err, err
    assert not can_list(os.path.join(mnt, "by-id"))[0]
    for p in (path, os.path.join(mnt, "by-name", "private")):
        ok, out, err = can_read(p)
        assert not ok and out == b"" and "Permission denied" in err, err
    assert as_user(["stat", path]).returncode != 0
    # Not even with the mount's group: without --allow-other only the owner gets in.
    assert not can_read(path, groups=[os.getgid()])[0]
    with open(path, "rb") as f:  # the owner still reads
        assert f.read() == b"secret" * 1000


def test_allow_other_with_group_lets_only_members_read(env, host_group):
    server, api, _, _ = env
    group, gid = host_group
    data = os.urandom(1 << 20)
    img = api.active(data, name="for-qemu")
    mnt, fsm = extra_mount(server, ["--allow-other", "--group", group])
    try:
        path = by_id(mnt, img["id"])
        assert wait_for(lambda: listed(mnt, img["id"]))
        st = os.stat(path)
        assert st.st_gid == gid and oct(st.st_mode & 0o7777) == "0o440"
        # A member of the group (qemu): lists, reads, follows by-name links.
        assert can_list(os.path.join(mnt, "by-id"), groups=[gid])[0]
        ok, out, err = can_read(path, groups=[gid])
        assert ok, err
        assert hashlib.sha512(out).hexdigest() == img["os_hash_value"]
        ok, out, _ = can_read(os.path.join(mnt, "by-name", "for-qemu"), groups=[gid])
        assert ok and out == data
        # Anyone else: nothing.
        ok, err = can_list(os.path.join(mnt, "by-id"))
        assert not ok and "Permission denied" in err, err
        ok, out, err = can_read(path)
        assert not ok and out == b"" and "Permission denied" in err, err
        assert not can_read(path, groups=[gid + 1])[0]
    finally:
        fsm.stop()
        glint_server.remove_mountpoint(mnt)


def test_allow_other_alone_is_not_world_readable(env):
    server, api, _, _ = env
    img = api.active(b"w" * 4096, name="not-world")
    mnt, fsm = extra_mount(server, ["--allow-other"])
    try:
        path = by_id(mnt, img["id"])
        assert wait_for(lambda: listed(mnt, img["id"]))
        assert oct(os.stat(path).st_mode & 0o7777) == "0o440"
        assert not can_list(os.path.join(mnt, "by-id"))[0]
        ok, out, err = can_read(path)
        assert not ok and out == b"" and "Permission denied" in err, err
    finally:
        fsm.stop()
        glint_server.remove_mountpoint(mnt)


def test_file_mode_and_owner_flags(env):
    """--file-mode widens on purpose (0444: every account may read); --uid takes a name."""
    server, api, _, _ = env
    img = api.active(b"o" * 4096, name="opened-up")
    mnt, fsm = extra_mount(server, ["--allow-other", "--file-mode", "0444", "--uid", "nobody"])
    try:
        path = by_id(mnt, img["id"])
        assert wait_for(lambda: listed(mnt, img["id"]))
        st = os.stat(path)
        assert oct(st.st_mode & 0o7777) == "0o444" and st.st_uid == NOBODY
        assert oct(os.stat(os.path.join(mnt, "by-id")).st_mode & 0o7777) == "0o555"
        ok, out, err = can_read(path)
        assert ok and out == b"o" * 4096, err
    finally:
        fsm.stop()
        glint_server.remove_mountpoint(mnt)


@pytest.mark.parametrize("bad", [["--file-mode", "0644"], ["--file-mode", "rw"], ["--uid", "no-such-user-x"],
                                 ["--group", "no-such-group-x"]])
def test_bad_permission_flags_refuse_to_mount(env, bad):
    server, _, _, _ = env
    mnt = tempfile.mkdtemp(prefix="glint-mnt-bad-")
    try:
        p = subprocess.run([glint_server.binary("glint-fs"), mnt, "--api", server.url, "--token", server.token,
                            "--store-dir", server.store_dir] + bad, capture_output=True, text=True, timeout=20)
        assert p.returncode != 0 and not glint_server.is_mounted(mnt), p.stderr
    finally:
        if glint_server.is_mounted(mnt):
            subprocess.run(["fusermount3", "-u", "-z", mnt], check=False)
        glint_server.remove_mountpoint(mnt)


def test_missing_ids_are_cached_briefly(env):
    """A miss under by-id/ is remembered by the kernel for about a second, so repeated
    misses do not each cost an API call: with the API gone, the remembered miss still
    answers ENOENT at once, while a fresh miss has to ask the API (and fails with EIO)."""
    require_fuse()
    server = glint_server.GlintServer.start_default()
    mnt = tempfile.mkdtemp(prefix="glint-mnt-neg-")
    fsm = glint_server.GlintFsMount(server, mnt).start()
    missing = by_id(mnt, "00000000-0000-4000-8000-00000000abcd")
    try:
        assert not os.path.exists(missing)
        server.kill()
        with pytest.raises(FileNotFoundError):
            os.stat(missing)  # the kernel's negative entry: no API call
        with pytest.raises(OSError) as e:
            os.stat(by_id(mnt, "00000000-0000-4000-8000-00000000abce"))
        assert e.value.errno == errno.EIO  # a fresh miss does ask the API
        time.sleep(1.5)
        with pytest.raises(OSError) as e:
            os.stat(missing)
        assert e.value.errno == errno.EIO  # the negative entry expired
    finally:
        fsm.stop()
        server.stop()
        glint_server.remove_mountpoint(mnt)
