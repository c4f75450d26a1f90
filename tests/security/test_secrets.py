"""Secrets on disk and on the command line, as an unprivileged local user would look for
them: the data directory, catalog (with its token keys) and admin token are private to
Glint's user; the bootstrap admin token is opt-in; secrets given on argv are warned about."""
import os
import stat
import subprocess

import pytest
import requests

import glint_server

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def as_nobody_can_read(path):
    return subprocess.run(NOBODY + ["cat", path], capture_output=True).returncode == 0


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    # The parent is traversable by everyone, as /var/lib is: only Glint's own modes protect.
    os.chmod(tmp_path, 0o755)
    os.makedirs(str(d), mode=0o755)
    return str(d)


def test_data_dir_catalog_and_token_are_private(data_dir):
    s = glint_server.GlintServer(data_dir)
    s.start()
    try:
        assert requests.get(s.url + "/v2/images", headers={"X-Auth-Token": s.token}).status_code == 200
        assert mode(data_dir) & 0o077 == 0, oct(mode(data_dir))
        for name in ("glint.db", "glint.db-wal"):
            path = os.path.join(data_dir, name)
            if os.path.exists(path):
                assert mode(path) & 0o077 == 0, (name, oct(mode(path)))
        os.chmod(data_dir, 0o755)  # even with the directory opened up, the files stay private
        assert not as_nobody_can_read(os.path.join(data_dir, "glint.db"))
    finally:
        s.stop()


def test_key_material_left_readable_is_made_private_at_start(data_dir):
    s = glint_server.GlintServer(data_dir)
    s.start()
    s.stop()
    db = os.path.join(data_dir, "glint.db")
    os.chmod(db, 0o644)
    os.chmod(data_dir, 0o755)
    s.start()
    try:
        assert mode(db) & 0o077 == 0
        assert mode(data_dir) & 0o077 == 0
        assert "made it private" in s.read_log()
    finally:
        s.stop()


def test_the_bootstrap_admin_token_is_opt_in(data_dir):
    s = glint_server.GlintServer(data_dir, token=None)
    env_token = "not-enabled-token-123"
    os.environ["GLINT_ADMIN_TOKEN"] = env_token
    try:
        s.start()
        r = requests.get(s.url + "/v2/images", headers={"X-Auth-Token": env_token})
        assert r.status_code == 401, r.text
        assert not os.path.exists(os.path.join(data_dir, "admin-token"))
        assert "bootstrap_admin_token is off" in s.read_log()
    finally:
        del os.environ["GLINT_ADMIN_TOKEN"]
        s.stop()


def test_an_enabled_generated_token_file_is_private(data_dir):
    s = glint_server.GlintServer(data_dir, token=None, extra_args=["--bootstrap-admin-token"])
    s.start()
    try:
        path = os.path.join(data_dir, "admin-token")
        token = open(path).read().strip()
        assert mode(path) & 0o077 == 0
        assert requests.get(s.url + "/v2/images", headers={"X-Auth-Token": token}).status_code == 200
        assert not as_nobody_can_read(path)
    finally:
        s.stop()


def test_keystone_mode_refuses_the_admin_token_unless_enabled(data_dir, tmp_path):
    conf = tmp_path / "ks.conf"
    # Nothing listens on port 9: validation fails, but the admin token is decided first.
    conf.write_text("[paste_deploy]\nflavor = keystone\n[keystone_authtoken]\nauth_url = http://127.0.0.1:9/v3\n"
                    "username = glance\npassword = x\nproject_name = service\nhttp_connect_timeout = 1\n")
    os.environ["GLINT_ADMIN_TOKEN"] = "ks-mode-token-456"
    try:
        s = glint_server.GlintServer(data_dir, token=None, config=str(conf))
        s.start()
        try:
            r = requests.get(s.url + "/v2/images", headers={"X-Auth-Token": "ks-mode-token-456"}, timeout=30)
            assert r.status_code in (401, 503), r.text
        finally:
            s.stop()
        s = glint_server.GlintServer(data_dir, token=None, config=str(conf), extra_args=["--bootstrap-admin-token"])
        s.start()
        try:
            r = requests.get(s.url + "/v2/images", headers={"X-Auth-Token": "ks-mode-token-456"}, timeout=30)
            assert r.status_code == 200, r.text
        finally:
            s.stop()
    finally:
        del os.environ["GLINT_ADMIN_TOKEN"]


def test_secrets_on_argv_are_warned_about(data_dir, tmp_path):
    s = glint_server.GlintServer(data_dir, token=None,
                                 extra_args=["--bootstrap-admin-token", "--admin-token", "argv-token-789"])
    s.start()
    try:
        assert "--admin-token puts a secret on the command line" in s.read_log()
    finally:
        s.stop()
    manage = glint_server.binary("glint-manage")
    p = subprocess.run([manage, "--data-dir", data_dir, "bootstrap", "--bootstrap-password", "pw"],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "visible to every local user" in p.stderr
    pw = tmp_path / "pw"
    pw.write_text("pw-from-file\n")
    p = subprocess.run([manage, "--data-dir", data_dir, "user-create", "u9", "--password-file", str(pw)],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "visible" not in p.stderr, p.stderr
    s = glint_server.GlintServer(data_dir, token=None)
    s.start()
    try:
        s.token_for("admin", "pw", "admin")
    finally:
        s.stop()


def test_a_database_password_in_a_readable_config_is_warned_about(tmp_path):
    """A [database] connection with a password in a configuration file other users can read
    is warned about; the password file form is not. (The database does not exist: the node
    then fails to start, saying so, which is all this test needs.)"""
    d = tmp_path / "data"
    d.mkdir()
    config = tmp_path / "glint.conf"
    config.write_text("[database]\nconnection = mysql+pymysql://glint:hunter2@127.0.0.1:1/glint\n")
    os.chmod(config, 0o644)
    run = lambda: subprocess.run([glint_server.binary("glint-api"), "--data-dir", str(d), "--bind-port", "0",
                                  "--config-file", str(config)], capture_output=True, text=True, timeout=60)
    out = run()
    assert out.returncode != 0
    log = out.stdout + out.stderr
    assert "readable by every local user" in log and "connection_password_file" in log, log
    assert "cannot connect to the catalog database glint at 127.0.0.1:1" in log, log
    assert "hunter2" not in log  # the password itself is never logged
    (tmp_path / "pw").write_text("hunter2\n")
    config.write_text("[database]\nconnection = mysql+pymysql://glint@127.0.0.1:1/glint\n"
                      "connection_password_file = %s\n" % (tmp_path / "pw"))
    out = run()
    assert out.returncode != 0 and "readable by every local user" not in out.stdout + out.stderr
