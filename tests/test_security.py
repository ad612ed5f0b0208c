"""The served app: its WebSocket (what drives every page) answers only localhost names, so a
DNS-rebinding page cannot drive the folder or Supervisely path fields; no Deploy button and no
tracebacks in the browser."""
import base64
import http.client
import os
import tomllib
from urllib.parse import urlparse

from core.base.workspace import PROJECT_ROOT
from tests.browser import running_app


def upgrade_status(url: str, host: str) -> int:
    u = urlparse(url)
    con = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    con.request("GET", "/_stcore/stream", headers={
        "Host": host, "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()})
    status = con.getresponse().status
    con.close()
    return status


def test_the_websocket_refuses_other_host_headers(tmp_path):
    with running_app(tmp_path / "ws") as url:
        port = urlparse(url).port
        assert upgrade_status(url, f"127.0.0.1:{port}") == 101
        assert upgrade_status(url, f"localhost:{port}") == 101
        assert upgrade_status(url, "attacker.example") == 403
        assert upgrade_status(url, f"rebind.attacker.example:{port}") == 403


def test_a_local_tool_shows_no_deploy_button_and_no_tracebacks():
    cfg = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["client"]["toolbarMode"] == "minimal"
    assert cfg["client"]["showErrorDetails"] not in ("full", "stacktrace", True)
