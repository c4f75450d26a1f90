"""A TCP proxy that adds a fixed one-way delay to every byte it forwards (in both
directions), for benches that need a store a realistic round trip away on a loopback-only
machine (this kernel has no netem qdisc). Data keeps flowing while earlier data waits (a
delay line, not a stop-and-wait), so it adds latency, not a bandwidth cap beyond what one
Python thread forwards (several hundred MB/s).

It also counts what the client sends: occurrences of a marker (for example the request
line of an image's data) and the bytes it forwarded back.

    proxy = DelayProxy(("127.0.0.1", api_port), one_way_ms=0.5).start()
    proxy.url, proxy.count(b"GET /v2/images/ID/file"), proxy.bytes_down
"""
import asyncio
import threading
import time


class DelayProxy:
    def __init__(self, upstream, one_way_ms):
        self.upstream = upstream
        self.delay = one_way_ms / 1000.0
        self.port = None
        self.bytes_down = 0
        self._sent = bytearray()  # what clients sent (request heads only: small)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)
        return self

    def stop(self):
        self._loop.call_soon_threadsafe(self._loop.stop)

    def count(self, marker):
        with self._lock:
            return bytes(self._sent).count(marker)

    def reset(self):
        with self._lock:
            self._sent.clear()
            self.bytes_down = 0

    def _run(self):
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, creader, cwriter):
        try:
            ureader, uwriter = await asyncio.open_connection(*self.upstream)
        except OSError:
            cwriter.close()
            return
        await asyncio.gather(self._pump(creader, uwriter, up=True), self._pump(ureader, cwriter, up=False),
                             return_exceptions=True)

    async def _pump(self, reader, writer, up):
        queue = asyncio.Queue()

        async def deliver():
            while True:
                due, data = await queue.get()
                if data is None:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(256 << 10)
                if not data:
                    break
                with self._lock:
                    if up:
                        self._sent += data[:4096]  # request heads; bodies are not counted
                    else:
                        self.bytes_down += len(data)
                queue.put_nowait((time.monotonic() + self.delay, data))
        finally:
            queue.put_nowait((0, None))
            await sender
