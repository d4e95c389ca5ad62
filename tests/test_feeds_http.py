"""Feeds over real HTTP, from a server on the loopback interface (no outside network)."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from signals.errors import FeedError
from signals.feeds import read_feeds

SAMPLE_FEED = Path(__file__).resolve().parents[1] / "data" / "sample" / "wallstreetcn-2026-01-29.xml"
RELEASE = threading.Event()  # the stalling endpoint holds its answer until the test is over


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/feed.xml":
            self._send(200, "application/rss+xml; charset=utf-8", SAMPLE_FEED.read_bytes())
        elif self.path in ("/feed.xml.gz", "/bomb.xml.gz"):  # a gzipped file served as it is
            body = SAMPLE_FEED.read_bytes() if self.path == "/feed.xml.gz" else b"<rss>" + b" " * 3_000_000
            self._send(200, "application/gzip", gzip.compress(body))
        elif self.path == "/page.html":
            self._send(200, "text/html; charset=utf-8", b"<!DOCTYPE html><html><body>news</body></html>")
        elif self.path == "/missing.xml":
            self._send(404, "text/plain", b"not found")
        elif self.path == "/to-file":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
        elif self.path == "/stall":
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"<?xml version='1.0'?><rss version='2.0'><channel>")
            self.wfile.flush()
            RELEASE.wait(30)  # a server that stops talking mid-body

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        RELEASE.set()
        server.shutdown()
        server.server_close()


def test_a_feed_url_reads_like_the_file(base_url: str) -> None:
    from_url = list(read_feeds(f"{base_url}/feed.xml"))
    from_file = list(read_feeds(str(SAMPLE_FEED)))
    assert len(from_url) == 52
    assert [(a.id, a.title, a.published_utc) for a in from_url] == \
           [(a.id, a.title, a.published_utc) for a in from_file]


def test_a_gzipped_feed_file_served_as_it_is_reads_like_the_file(base_url: str) -> None:
    # files and stdin were decompressed when they start like gzip, URLs only with a Content-Encoding:
    # a .xml.gz on a server failed with `not valid utf-8 text (byte offset 1)`
    from_url = list(read_feeds(f"{base_url}/feed.xml.gz"))
    assert [(a.id, a.body) for a in from_url] == [(a.id, a.body) for a in read_feeds(str(SAMPLE_FEED))]
    with pytest.raises(FeedError, match="larger than the 1,000,000-byte limit"):  # capped decompressed
        list(read_feeds(f"{base_url}/bomb.xml.gz", max_bytes=1_000_000))


def test_an_html_page_is_not_a_feed(base_url: str) -> None:
    with pytest.raises(FeedError, match="HTML page"):
        list(read_feeds(f"{base_url}/page.html"))


def test_an_http_error_names_the_status(base_url: str) -> None:
    with pytest.raises(FeedError, match="HTTP 404"):
        list(read_feeds(f"{base_url}/missing.xml"))


def test_a_redirect_to_a_local_file_is_refused(base_url: str) -> None:
    with pytest.raises(FeedError, match="file:///etc/passwd"):  # refused, never read
        list(read_feeds(f"{base_url}/to-file"))


def test_a_server_that_stops_talking_is_given_up_on(base_url: str) -> None:
    with pytest.raises(FeedError, match=str(f"{base_url}/stall")):
        list(read_feeds(f"{base_url}/stall", timeout=0.5))
