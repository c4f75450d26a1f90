"""Graceful drain on SIGTERM: /healthcheck answers 503 first while requests are still
served for drain_delay seconds, a request in flight finishes, then the node exits."""
import os
import signal
import sys
import threading
import time

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402


def test_sigterm_drains_health_first_then_in_flight_requests(tmp_path):
    conf = tmp_path / "glint.conf"
    conf.write_text("[DEFAULT]\ndrain_delay = 2\ndrain_timeout = 20\n")
    s = glint_server.GlintServer(str(tmp_path), config=str(conf)).start()
    h = {"X-Auth-Token": s.token}
    try:
        r = requests.post(s.url + "/v2/images", headers=h, json={"disk_format": "raw", "container_format": "bare"})
        image_id = r.json()["id"]
        data = os.urandom(1 << 20)
        result = {}

        def slow_body():  # an upload in flight across the whole drain
            for i in range(16):
                yield data[i << 16:(i + 1) << 16]
                time.sleep(0.25)

        def upload():
            result["r"] = requests.put(s.url + "/v2/images/%s/file" % image_id, data=slow_body(),
                                       headers=dict(h, **{"Content-Type": "application/octet-stream"}))
        t = threading.Thread(target=upload)
        t.start()
        time.sleep(0.5)
        t_term = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        r = requests.get(s.url + "/healthcheck")
        assert (r.status_code, r.text) == (503, "DRAINING")
        r = requests.get(s.url + "/v2/images", headers=h)  # still served, then the connection closes
        assert r.status_code == 200 and r.headers.get("Connection", "").lower() == "close"
        t.join(30)
        assert result["r"].status_code == 204, result["r"].text
        s.proc.wait(20)
        assert time.monotonic() - t_term >= 2  # not before drain_delay
        assert s.proc.returncode == 0
        try:
            requests.get(s.url + "/healthcheck", timeout=2)
            raise AssertionError("still accepting after the drain")
        except requests.ConnectionError:
            pass
        s.start()
        r = requests.get(s.url + "/v2/images/" + image_id, headers=h).json()
        assert r["status"] == "active" and r["size"] == len(data)
    finally:
        s.stop()
