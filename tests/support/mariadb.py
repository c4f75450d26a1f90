"""A throwaway MariaDB server (Debian's mariadb-server-core) in a private dir on a loopback
port, with one database and user, as a production Glance catalog runs on."""
import os
import shutil
import subprocess
import time

import pytest

import glance_ref
import glint_server


class MariaDB:
    def __init__(self, d, database="glance", user="glance", password="s3cret:@/pw"):
        if not shutil.which("mariadbd", path="/usr/sbin:/usr/bin") or not shutil.which("mariadb-install-db"):
            if glint_server.in_ci():
                pytest.fail("Debian's mariadb-server-core is not installed")
            pytest.skip("Debian's mariadb-server-core is not installed")
        self.d, self.port = d, glance_ref.free_port()
        self.socket = os.path.join(d, "mysqld.sock")
        os.makedirs(d, exist_ok=True)
        subprocess.run(["mariadb-install-db", "--no-defaults", "--datadir=" + os.path.join(d, "data"),
                        "--auth-root-authentication-method=normal", "--skip-test-db", "--user=root"],
                       check=True, capture_output=True)
        self.proc = subprocess.Popen(
            ["/usr/sbin/mariadbd", "--no-defaults", "--datadir=" + os.path.join(d, "data"),
             "--socket=" + self.socket, "--port=%d" % self.port, "--bind-address=127.0.0.1", "--user=root",
             "--log-error=" + os.path.join(d, "error.log"), "--skip-log-bin", "--innodb-buffer-pool-size=32M",
             "--pid-file=" + os.path.join(d, "mariadb.pid")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            if self.sql("SELECT 1", check=False).returncode == 0:
                break
            time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError("mariadbd did not start; see " + os.path.join(d, "error.log"))
        pw = password.replace("'", "''")
        self.sql("CREATE DATABASE %s CHARACTER SET utf8; CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'; "
                 "GRANT ALL ON %s.* TO '%s'@'127.0.0.1'" % (database, user, pw, database, user))
        quote = lambda s: "".join(c if c.isalnum() or c in "-._~" else "%%%02X" % ord(c) for c in s)
        # The URL Glance's [database] connection takes (SQLAlchemy, PyMySQL).
        self.url = "mysql+pymysql://%s:%s@127.0.0.1:%d/%s?charset=utf8" % (quote(user), quote(password),
                                                                            self.port, database)

    def sql(self, statements, check=True, database=None):
        args = ["mariadb", "--no-defaults", "-S", self.socket, "-uroot", "-N", "-B", "-e", statements]
        if database:
            args.append(database)
        return subprocess.run(args, capture_output=True, text=True, check=check)

    def stop(self):
        glint_server.terminate(self.proc)
