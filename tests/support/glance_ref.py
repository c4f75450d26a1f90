"""Starts Debian's real glance-api (file store, SQLite, no Keystone) in a private dir, as
../shared/GLANCE-API.md describes: the reference for benchmarks and adoption tests."""
import os
import shutil
import socket
import subprocess
import time

import pytest
import requests

import glint_server


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class GlanceServer:
    def __init__(self, d, port=None, connection=None, store_conf=None, default_conf=""):
        if not shutil.which("glance-api") or not shutil.which("glance-manage"):
            if glint_server.in_ci():
                pytest.fail("Debian's glance-api is not installed")
            pytest.skip("Debian's glance-api is not installed")
        self.d, self.port = d, port or free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.images_dir = os.path.join(d, "images")
        self.db = os.path.join(d, "glance.sqlite")
        self.connection = connection or "sqlite:///" + self.db
        os.makedirs(self.images_dir, exist_ok=True)
        os.makedirs(os.path.join(d, "staging"), exist_ok=True)
        self.conf = os.path.join(d, "glance-api.conf")
        with open(self.conf, "w") as f:
            stores = store_conf or ("stores = file\ndefault_store = file\nfilesystem_store_datadir = %s/\n"
                                    % self.images_dir)
            f.write("[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = %d\nworkers = 2\nlog_file = %s/api.log\n"
                    % (self.port, d) + default_conf +
                    "[database]\nconnection = %s\n[glance_store]\n%s[paste_deploy]\nflavor =\n"
                    "[os_glance_staging_store]\nfilesystem_store_datadir = %s/staging/\n"
                    % (self.connection, stores, d))
        subprocess.run(["glance-manage", "--config-file", self.conf, "db_sync"], check=True, capture_output=True)
        self.proc = subprocess.Popen(["glance-api", "--config-file", self.conf, "--config-file",
                                      "/etc/glance/glance-api-paste.ini"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                if requests.get(self.url + "/healthcheck", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError("glance-api did not start")

    def stop(self):
        glint_server.terminate(self.proc)
