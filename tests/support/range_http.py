"""A loopback HTTP server for one file that honours Range (206, Content-Range) as real web
servers do, for web-download imports and http-store locations in tests."""
import http.server
import threading


class RangeHttpServer:
    def __init__(self, data, path="/cirros.img"):
        body = data

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, with_body):
                if self.path != path:
                    self.send_error(404)
                    return
                first, last, status = 0, len(body) - 1, 200
                rng = self.headers.get("Range", "")
                if rng.startswith("bytes=") and "," not in rng:
                    a, _, b = rng[6:].partition("-")
                    try:
                        first = int(a) if a else max(0, len(body) - int(b))
                        last = min(int(b), len(body) - 1) if a and b else len(body) - 1
                    except ValueError:
                        first, last = 0, len(body) - 1
                    if first >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", "bytes */%d" % len(body))
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    self.send_header("Content-Range", "bytes %d-%d/%d" % (first, last, len(body)))
                self.send_header("Content-Length", str(last - first + 1))
                self.end_headers()
                if with_body:
                    self.wfile.write(body[first:last + 1])

            def do_GET(self):
                self._answer(True)

            def do_HEAD(self):
                self._answer(False)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
