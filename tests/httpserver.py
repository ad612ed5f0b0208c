"""A small local HTTP server for tests: serves a directory on 127.0.0.1, port chosen by the OS.

Usage::

    with serve_directory(tmp_path) as server:
        url = server.url("clip.mp4")          # http://127.0.0.1:PORT/clip.mp4
        slow = server.url("big.mp4", slow=True)  # same file, sent in small throttled chunks
        hop = server.redirect(url)              # answers 302 with Location: url
        server.requests                        # paths requested so far (for assertions)

Nothing is reachable beyond 127.0.0.1; request logging is silenced and client disconnects
(a downloader closing the connection early) are not reported as errors.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import threading
import time
import urllib.parse
from functools import partial
from pathlib import Path
from typing import Iterator

# Throttled responses: this many bytes per chunk, this many seconds between chunks.
SLOW_CHUNK = 16 * 1024
SLOW_DELAY = 0.01


class _Handler(http.server.SimpleHTTPRequestHandler):
    server: "_Server"

    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        pass

    def do_GET(self):  # noqa: N802 - name from the base class
        self.server.requests.append(self.path)
        parsed = urllib.parse.urlsplit(self.path)
        if parsed.path.startswith("/slow/"):
            self._send_slow(parsed.path[len("/slow"):])
            return
        if parsed.path.startswith("/redirect"):
            target = urllib.parse.parse_qs(parsed.query).get("to", [""])[0]
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def _send_slow(self, path: str) -> None:
        local = Path(self.translate_path(path))
        if not local.is_file():
            self.send_error(404, "File not found")
            return
        size = local.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(local)))
        self.send_header("Content-Length", str(size))
        self.end_headers()
        try:
            with open(local, "rb") as f:
                while chunk := f.read(SLOW_CHUNK):
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    time.sleep(SLOW_DELAY)
                    if self.server.stopping.is_set():
                        return
        except (BrokenPipeError, ConnectionResetError):
            pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requests: list[str] = []
        self.stopping = threading.Event()

    def handle_error(self, request, client_address):
        # A client that hangs up mid-response (yt-dlp sniffing the first bytes) is normal here.
        pass


class LocalServer:
    def __init__(self, httpd: _Server):
        self._httpd = httpd
        host, port = httpd.server_address[:2]
        self.base = f"http://{host}:{port}"

    @property
    def requests(self) -> list[str]:
        return self._httpd.requests

    def url(self, name: str = "", slow: bool = False) -> str:
        quoted = urllib.parse.quote(name)
        return f"{self.base}/slow/{quoted}" if slow else f"{self.base}/{quoted}"

    def redirect(self, target: str, name: str = "redirect") -> str:
        """A URL answering 302 with Location: target (`name` becomes the last path segment)."""
        return f"{self.base}/redirect/{urllib.parse.quote(name)}?to={urllib.parse.quote(target, safe='')}"


@contextlib.contextmanager
def serve_directory(directory: str | os.PathLike) -> Iterator[LocalServer]:
    handler = partial(_Handler, directory=os.fspath(directory))
    httpd = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield LocalServer(httpd)
    finally:
        httpd.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
