"""The catalog database as an operator meets it: `glint-manage db-sync` / `db-version`, and
glint-api refusing a database whose schema it does not know (none yet on MariaDB, or a newer
one). Runs on the suite's engine: SQLite by default, MariaDB in `blackbox_mariadb`."""
import os
import sqlite3
import subprocess

import pytest

import conftest
import glint_server

pytestmark = pytest.mark.skipif(conftest._SERVER is None, reason="starts its own glint-api nodes")


def manage(config, data_dir, *args):
    cmd = [glint_server.binary("glint-manage"), "--data-dir", data_dir]
    if config:
        cmd += ["--config-file", config]
    return subprocess.run(cmd + list(args), capture_output=True, text=True)


def run_sql(server, statement):
    """One statement on `server`'s catalog database, whatever its engine."""
    if server.db_url:
        rest = server.db_url.split("://", 1)[1]
        cred, hostdb = rest.rsplit("@", 1)
        user, password = cred.split(":", 1)
        hostport, db = hostdb.split("/", 1)
        host, port = hostport.rsplit(":", 1)
        subprocess.run(["mariadb", "--no-defaults", "-h", host, "-P", port, "-u", user, "-p" + password, db,
                        "-e", statement], check=True, capture_output=True)
    else:
        with sqlite3.connect(os.path.join(server.data_dir, "glint.db")) as c:
            c.execute(statement)


def test_db_version_reports_the_synced_schema_and_db_sync_is_idempotent():
    s = glint_server.GlintServer.start_default()
    try:
        config = s.effective_config()
        version = manage(config, s.data_dir, "db-version")
        assert version.returncode == 0, version.stderr
        lines = version.stdout.splitlines()
        assert lines[0].startswith("catalog ") and lines[1].startswith("identity ")
        catalog, latest = lines[0].split()[1], lines[0].split()[-1].rstrip(")")
        assert int(catalog) == int(latest) >= 3
        sync = manage(config, s.data_dir, "db-sync")
        assert sync.returncode == 0, sync.stderr
        assert "catalog schema at version %s" % catalog in sync.stdout
    finally:
        s.stop()


def test_a_schema_newer_than_glint_knows_is_refused_with_a_clear_message():
    s = glint_server.GlintServer.start_default()
    try:
        s.proc.terminate()
        s.proc.wait(30)
        run_sql(s, "INSERT INTO glint_schema (version) VALUES (999)")
        with pytest.raises(RuntimeError) as e:
            s.start()
        assert "newer than this Glint knows" in str(e.value)
        sync = manage(s.effective_config(), s.data_dir, "db-sync")
        assert sync.returncode != 0 and "newer than this Glint knows" in sync.stderr
    finally:
        s.stop()


@pytest.mark.skipif(glint_server.test_engine() != "mariadb", reason="SQLite creates its schema at start")
def test_an_unsynced_mariadb_database_is_refused_until_db_sync(tmp_path):
    d = str(tmp_path)
    url = glint_server.scratch_mariadb_database()
    # The password from a file, not the configuration (which other users could read).
    rest = url.split("://", 1)[1]
    cred, hostdb = rest.rsplit("@", 1)
    user, password = cred.split(":", 1)
    with open(os.path.join(d, "pw"), "w") as f:
        f.write(password + "\n")
    config = os.path.join(d, "glint.conf")
    with open(config, "w") as f:
        f.write("[database]\nconnection = mysql+pymysql://%s@%s?charset=utf8\nconnection_password_file = %s\n"
                % (user, hostdb, os.path.join(d, "pw")))
    s = glint_server.GlintServer(d, config=config)
    os.environ["GLINT_TEST_ENGINE_SAVED"] = glint_server.test_engine()
    os.environ["GLINT_TEST_ENGINE"] = "sqlite"  # this node's config is given as it is
    try:
        with pytest.raises(RuntimeError) as e:
            s.start()
        assert "run `glint-manage db-sync`" in str(e.value)
        version = manage(config, d, "db-version")
        assert version.returncode == 0 and version.stdout.startswith("catalog 0"), version.stdout + version.stderr
        sync = manage(config, d, "db-sync")
        assert sync.returncode == 0, sync.stderr
        s.start()
        assert s.proc.poll() is None
        assert password not in s.read_log() and ":***@" in s.read_log()  # redacted
    finally:
        os.environ["GLINT_TEST_ENGINE"] = os.environ.pop("GLINT_TEST_ENGINE_SAVED")
        s.stop()
