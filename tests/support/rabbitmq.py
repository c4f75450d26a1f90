"""A throwaway RabbitMQ broker for a test (Debian's rabbitmq-server, as in
shared/RABBITMQ-LOCAL.md): its own directories, node name and ports, stopped with the
test. The broker runs as the `rabbitmq` user, so its directory belongs to that user."""
import os
import shutil
import socket
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available():
    return shutil.which("rabbitmq-server") is not None and shutil.which("rabbitmqctl") is not None


class Broker:
    def __init__(self, port=None):
        self.port = port or free_port()
        self.dist_port = free_port()
        self.node = "glinttest%d_%d@localhost" % (os.getpid(), self.port)
        self.dir = tempfile.mkdtemp(prefix="glint-rabbit-")
        self.proc = None

    @property
    def url(self):
        return "rabbit://guest:guest@127.0.0.1:%d/" % self.port

    def env(self):
        e = dict(os.environ)
        e.update(RABBITMQ_MNESIA_BASE=os.path.join(self.dir, "mnesia"), RABBITMQ_LOG_BASE=os.path.join(self.dir, "log"),
                 RABBITMQ_FEATURE_FLAGS_FILE=os.path.join(self.dir, "mnesia", "ff"),
                 RABBITMQ_NODE_PORT=str(self.port), RABBITMQ_DIST_PORT=str(self.dist_port),
                 RABBITMQ_NODENAME=self.node, RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
                 ERL_EPMD_ADDRESS="127.0.0.1")  # an epmd the node starts listens on loopback only
        return e

    def start(self, timeout=60):
        for sub in ("mnesia", "log"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", self.dir], check=True)
        self.log = open(os.path.join(self.dir, "out.log"), "ab")
        # The node starts Erlang's port mapper (epmd) if none runs; it outlives the node, so
        # stop() stops it again when this broker started it.
        self.own_epmd = subprocess.run(["epmd", "-names"], env=self.env(), capture_output=True).returncode != 0
        self.proc = subprocess.Popen(["rabbitmq-server"], env=self.env(), stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("rabbitmq-server exited: " + self.tail())
            r = subprocess.run(["rabbitmqctl", "-n", self.node, "await_startup"], env=self.env(),
                               capture_output=True, timeout=timeout)
            if r.returncode == 0:
                return self
            time.sleep(0.5)
        raise RuntimeError("rabbitmq-server did not start: " + self.tail())

    def tail(self):
        try:
            with open(os.path.join(self.dir, "out.log"), "rb") as f:
                return f.read()[-2000:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            subprocess.run(["rabbitmqctl", "-n", self.node, "stop"], env=self.env(), capture_output=True, timeout=60)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        if getattr(self, "own_epmd", False):
            subprocess.run(["epmd", "-kill"], env=self.env(), capture_output=True, timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


class Listener:
    """A real oslo.messaging notification listener, as Ceilometer-style services consume
    Glance's notifications: topic `notifications` on the `glance` exchange."""

    def __init__(self, url, exchange="glance", topic="notifications"):
        import threading

        import oslo_messaging as om
        from oslo_config import cfg

        conf = cfg.ConfigOpts()
        conf([])
        self.events = []
        self.lock = threading.Lock()
        self.transport = om.get_notification_transport(conf, url=url)
        listener_self = self

        class Endpoint:
            def _got(self, priority, publisher_id, event_type, payload, metadata):
                with listener_self.lock:
                    listener_self.events.append(dict(priority=priority, publisher_id=publisher_id,
                                                     event_type=event_type, payload=payload, metadata=metadata))

            def info(self, ctxt, publisher_id, event_type, payload, metadata):
                self._got("info", publisher_id, event_type, payload, metadata)

            def warn(self, ctxt, publisher_id, event_type, payload, metadata):
                self._got("warn", publisher_id, event_type, payload, metadata)

            def error(self, ctxt, publisher_id, event_type, payload, metadata):
                self._got("error", publisher_id, event_type, payload, metadata)

        self.listener = om.get_notification_listener(
            self.transport, [om.Target(topic=topic, exchange=exchange)], [Endpoint()], executor="threading")
        self.listener.start()

    def wait_for(self, predicate, timeout=30):
        """The events seen so far, once `predicate(events)` holds (else AssertionError)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                snapshot = list(self.events)
            if predicate(snapshot):
                return snapshot
            time.sleep(0.05)
        with self.lock:
            raise AssertionError("timed out; events so far: %s" % [e["event_type"] for e in self.events])

    def stop(self):
        self.listener.stop()
        self.listener.wait()
        self.transport.cleanup()
