"""What the notification suites share: the check for RabbitMQ and oslo.messaging (a
failure in CI, a skip elsewhere) and a Glint started to publish to a broker."""
import importlib
import os
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import glint_server  # noqa: E402
import rabbitmq  # noqa: E402


def need_dependencies():
    missing = []
    if not rabbitmq.available():
        missing.append("rabbitmq-server")
    try:
        importlib.import_module("oslo_messaging")
        importlib.import_module("glance.notifier")
    except ImportError as e:
        missing.append(str(e))
    if missing:
        msg = "missing: %s (tools/install-deps.sh --test installs them)" % ", ".join(missing)
        if glint_server.in_ci():
            pytest.fail(msg)
        pytest.skip(msg)


def start_glint(broker_url, extra=""):
    d = tempfile.mkdtemp(prefix="glint-notify-")
    conf = os.path.join(d, "glint.conf")
    with open(conf, "w") as f:
        f.write("[DEFAULT]\n%s\n[oslo_messaging_notifications]\ndriver = messagingv2\ntransport_url = %s\n"
                % (extra, broker_url))
    os.chmod(conf, 0o600)
    s = glint_server.GlintServer(d, config=conf)
    s.owns_dir = True
    s.start()
    s.h = {"X-Auth-Token": s.token}
    return s
