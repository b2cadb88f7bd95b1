"""dcgan-serve's protocol extends a private uvicorn class; without it, uvicorn's own serves."""

import os
import pickle
import socket
import sys
import types

import httpx
import pytest
from uvicorn.protocols.http import httptools_impl

from app.api.server import HOOKS, HeaderTimeout, HttpProtocol, http_protocol
from tests.conftest import QUIET_TF, Server, free_port, wait_ready


def test_the_installed_uvicorn_gets_the_header_timeout():
    protocol = http_protocol(httptools_impl)
    assert issubclass(protocol, HeaderTimeout) and issubclass(
        protocol, httptools_impl.HttpToolsProtocol
    )
    assert HttpProtocol is not None and issubclass(HttpProtocol, HeaderTimeout)
    # uvicorn's worker processes (--workers 2) receive it pickled: by name
    assert pickle.loads(pickle.dumps(HttpProtocol)) is HttpProtocol


def test_a_uvicorn_without_the_class_or_one_of_its_methods_gets_none():
    assert http_protocol(None) is None  # uvicorn without httptools: the module does not import
    assert http_protocol(types.ModuleType("httptools_impl")) is None  # the class moved
    for missing in HOOKS:
        methods = {name: lambda self, *args: None for name in HOOKS if name != missing}
        module = types.SimpleNamespace(HttpToolsProtocol=type("HttpToolsProtocol", (), methods))
        assert http_protocol(module) is None, missing


# `import httptools` fails, as where uvicorn is installed without [standard]
WITHOUT_HTTPTOOLS = """
import sys
sys.modules["httptools"] = None
from app.api.server import serve
serve(sys.argv[1:])
"""


@pytest.mark.slow
def test_without_httptools_dcgan_serve_warns_once_and_serves_with_uvicorns_protocol(models_dir):
    port = free_port()
    command = [sys.executable, "-c", WITHOUT_HTTPTOOLS, "--host", "127.0.0.1", "--port", str(port)]
    env = {
        **os.environ,
        **QUIET_TF,
        "DCGAN_MODELS_DIR": str(models_dir),
        "DCGAN_HEADER_TIMEOUT": "1",
    }
    proc, url = Server(command, env), f"http://127.0.0.1:{port}"
    try:
        wait_ready(proc, url)
        assert httpx.get(f"{url}/generate?n=4&seed=1").status_code == 200
        slow = socket.create_connection(("127.0.0.1", port), timeout=3)
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        with pytest.raises(TimeoutError):  # no header timeout: still open after 3 s
            slow.recv(1024)
        slow.close()
    finally:
        proc.kill()
        proc.wait()
    warnings = [line for line in proc.log.splitlines() if "DCGAN_HEADER_TIMEOUT" in line]
    assert len(warnings) == 1 and warnings[0].startswith("WARNING:"), proc.log[-2000:]
