"""Fixtures of the notification suites (module scope): a throwaway RabbitMQ broker, an
oslo.messaging listener on it, and a Glint publishing to it."""
import pytest

from notify_support import need_dependencies, rabbitmq, start_glint


@pytest.fixture(scope="module")
def broker():
    need_dependencies()
    b = rabbitmq.Broker().start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def listener(broker):
    lst = rabbitmq.Listener(broker.url)
    yield lst
    lst.stop()


@pytest.fixture(scope="module")
def glint(broker):
    s = start_glint(broker.url)
    yield s
    s.stop()
