"""Downloads to clients that leave in the middle, against a real glint-api.

A reader that half-closes its connection and then goes away (a killed glint-fs, a
crashed qemu-img, anyone on the network) makes the server's next send fail with EPIPE.
For a socket write that would raise SIGPIPE, whose default action ends the process: the
whole API would go down with one client. What must hold: the server keeps serving.
"""
import os
import socket
import struct
import sys
import time

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402
from test_integrity import chunk, make_image  # noqa: E402


@pytest.fixture
def server():
    s = glint_server.GlintServer.start_default()
    yield s
    s.stop()


def upload(server, image_id, data):
    r = requests.put(server.url + "/v2/images/%s/file" % image_id, data=data,
                     headers={"X-Auth-Token": server.token, "Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text


def start_download(server, image_id, range_header=""):
    s = socket.create_connection(("127.0.0.1", server.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(("GET /v2/images/%s/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n%s\r\n"
               % (image_id, server.token, range_header)).encode())
    head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 20"), head
    return s


def leave_half_closed(s):
    """FIN first (the server's side goes to CLOSE_WAIT), then an RST for the data still
    arriving: the server's next send fails with EPIPE, not ECONNRESET."""
    s.shutdown(socket.SHUT_WR)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


@pytest.mark.parametrize("range_header", ["", "Range: bytes=4194304-12582911\r\n"])
def test_clients_leaving_mid_download_do_not_stop_the_server(server, range_header):
    image_id = make_image(server)
    data = b"".join(chunk(i) for i in range(32))
    upload(server, image_id, data)
    for _ in range(20):
        try:
            leave_half_closed(start_download(server, image_id, range_header))
        except OSError:
            break  # the server is gone: said below
    time.sleep(0.2)
    assert server.proc.poll() is None, "glint-api ended (%s):\n%s" % (server.proc.returncode, server.read_log())
    r = requests.get(server.url + "/v2/images/%s/file" % image_id, headers={"X-Auth-Token": server.token})
    assert r.status_code == 200 and r.content == data
