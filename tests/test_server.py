"""dcgan-serve's limits: slow headers are cut off, too many connections or event streams get
503."""

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
        "DCGAN_MAX_EVENT_STREAMS": "2",
        "DCGAN_RUN_JOBS": "off",  # its jobs stay queued: their streams stay open
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


def test_event_streams_beyond_their_cap_get_503_and_probes_still_get_through(server):
    job = httpx.post(f"{server}/jobs", json={"name": "streamed", "recipe": "tutorial"}).json()
    events = f"{server}/jobs/{job['id']}/events"
    with httpx.Client(timeout=10) as http:
        with http.stream("GET", events) as first, http.stream("GET", events) as second:
            assert first.status_code == second.status_code == 200
            refused = http.get(events)
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
            assert "2 event streams are open" in refused.json()["detail"]
            assert http.get(f"{server}/healthz").status_code == 200
        deadline = time.monotonic() + 10  # the closed ones give their places back
        while (status := http.get(f"{server}/jobs/{job['id']}").status_code) == 200:
            with http.stream("GET", events) as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "no place given back"
            time.sleep(0.2)
        assert status == 200
