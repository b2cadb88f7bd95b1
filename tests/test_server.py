"""dcgan-serve's limits: slow headers are cut off, too many connections get 503."""

import socket
import time

import httpx
import pytest

from tests.conftest import serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(models_dir):
    env = {
        "DCGAN_MODELS_DIR": str(models_dir),
        "DCGAN_HEADER_TIMEOUT": "1",
        "DCGAN_LIMIT_CONCURRENCY": "20",
    }
    with serving(env) as url:
        yield url


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def test_half_sent_headers_are_cut_off(server):
    slow = connect(server)
    slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    started = time.monotonic()
    assert slow.recv(1024) == b""  # closed by the server
    assert 0.5 < time.monotonic() - started < 5
    # a keep-alive connection's next request gets the same deadline
    kept = connect(server)
    kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while not answer.endswith(b'{"status":"ok"}'):
        answer += kept.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200")
    kept.sendall(b"GET /healthz HTTP/1.1\r\n")
    started = time.monotonic()
    assert kept.recv(1024) == b"" and time.monotonic() - started < 5
    assert httpx.get(f"{server}/healthz").status_code == 200  # and others are served


def test_connections_beyond_the_limit_get_503(server):
    held = [connect(server) for _ in range(25)]
    try:
        status = httpx.get(f"{server}/healthz").status_code
    finally:
        for s in held:
            s.close()
    assert status == 503
    deadline = time.monotonic() + 10
    while httpx.get(f"{server}/healthz").status_code != 200:
        assert time.monotonic() < deadline
