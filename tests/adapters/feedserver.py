"""A loopback feed server with scripted misbehaviour, for fetch and parse tests.

Routes (GET only):
  /feed/<name>        a small RSS feed; ETag + Last-Modified, 304 when they match
  /gzip/<name>        the same feed, gzip-encoded
  /delay/<ms>/<name>  the feed after a delay
  /slow               headers only after 3 s
  /drip               headers at once, then one byte every 50 ms
  /dribble-headers    a 200 status line, then one header line every 0.3 s, never ending
  /huge               5 MB of body without Content-Length
  /huge-declared      declares a 100 MB Content-Length
  /gzip-bomb          20 MB of zeros, gzip-encoded (about 20 KB on the wire)
  /loop-a, /loop-b    redirect to each other
  /chain/<n>          n redirects, then a feed
  /redirect?to=URL    one 302 to URL (used for private and metadata addresses)
  /invalid-xml, /billion-laughs, /wrong-encoding, /no-charset, /html, /empty
  /quadratic-html     one item whose description makes html.parser quadratic
  /429, /503          with Retry-After
  /flaky/<key>        500 on the first request for <key>, then the feed
  /status/<code>      that status, no body
"""

from __future__ import annotations

import gzip
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

ETAG = '"v1"'
LAST_MODIFIED = "Mon, 06 Jan 2025 10:00:00 GMT"


def rss(name: str, items: int = 3, *, encoding: str = "utf-8", declare: str | None = "utf-8") -> bytes:
    decl = f'<?xml version="1.0" encoding="{declare}"?>\n' if declare else ""
    entries = "".join(
        f"<item><title>{name} item {i}</title><link>https://news.example.com/{name}/{i}</link>"
        f"<guid>{name}-{i}</guid><description>Story {i} from {name}.</description>"
        f"<pubDate>Mon, 06 Jan 2025 0{i % 10}:00:00 GMT</pubDate></item>"
        for i in range(items)
    )
    doc = (
        f"{decl}<rss version=\"2.0\"><channel><title>{name}</title>"
        f"<link>https://news.example.com/{name}</link><description>test feed</description>"
        f"{entries}</channel></rss>"
    )
    return doc.encode(encoding)


INVALID_XML = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Broken</title>'
    b"<item><title>Tom & Jerry <b>unclosed</title><link>https://news.example.com/broken/1</link>"
    b"</item><item><title>Second</titel></channel>"
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><link>https://news.example.com/lol</link>
<item><title>Laughs &lol9;</title><link>https://news.example.com/lol/1</link></item>
</channel></rss>"""

# One item whose description unescapes to `<a b="` 30,000 times: 263 KB, far under the
# size cap, yet minutes of html.parser work if it were parsed whole.
QUADRATIC_HTML = rss("quadratic", items=1).replace(b"Story 0 from quadratic.", b'&lt;a b="' * 30_000)

CYRILLIC_TITLE = "Москва и Пекин проводят учения"

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>Our news</h1>"
    b'<p>See <a href="/news">the news page</a>.</p></body></html>'
)

Route = Callable[["_Handler", str], None]


class FeedServer:
    """ThreadingHTTPServer on 127.0.0.1:<free port>; use as a context manager."""

    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        """`tls`: (certificate, key) PEM files to serve HTTPS instead of HTTP."""
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.arrivals: list[tuple[float, str]] = []  # (monotonic time, path) of each request
        self.in_flight = 0
        self.max_in_flight = 0
        self.flaky_seen: set[str] = set()
        self._lock = threading.Lock()
        self._bomb: bytes | None = None
        self.httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.httpd.request_queue_size = 128
        self.httpd.feed_server = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.scheme = "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for p, _ in self.requests if p == path)

    def gzip_bomb(self) -> bytes:
        with self._lock:
            if self._bomb is None:
                self._bomb = gzip.compress(b"\0" * (20 * 1024 * 1024), compresslevel=9)
            return self._bomb

    def enter(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((path, headers))
            self.arrivals.append((time.monotonic(), path))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def first_time(self, key: str) -> bool:
        with self._lock:
            fresh = key not in self.flaky_seen
            self.flaky_seen.add(key)
            return fresh


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients here abort on purpose (caps, timeouts); tests assert on the client side


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    @property
    def feeds(self) -> FeedServer:
        return self.server.feed_server  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.feeds.enter(path, {k.lower(): v for k, v in self.headers.items()})
        try:
            self._dispatch(path)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on purpose (size cap, timeout)
        finally:
            self.feeds.leave()

    def _dispatch(self, path: str) -> None:
        head, _, rest = path.lstrip("/").partition("/")
        route = ROUTES.get(head)
        if route is None:
            self.send(404, b"not found", "text/plain")
        else:
            route(self, rest)

    # helpers ------------------------------------------------------------------

    def send(
        self, status: int, body: bytes = b"", ctype: str = "application/rss+xml; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if body or status not in (204, 304):
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_feed(self, name: str, *, gzipped: bool = False) -> None:
        if self.headers.get("If-None-Match") == ETAG or self.headers.get("If-Modified-Since") == LAST_MODIFIED:
            self.send(304, headers={"ETag": ETAG})
            return
        body = rss(name)
        headers = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED}
        if gzipped:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        self.send(200, body, headers=headers)

    def redirect(self, location: str) -> None:
        self.send(302, b"", "text/plain", {"Location": location})


def _feed(h: _Handler, rest: str) -> None:
    h.send_feed(rest or "feed")


def _gzip(h: _Handler, rest: str) -> None:
    h.send_feed(rest or "gz", gzipped=True)


def _delay(h: _Handler, rest: str) -> None:
    ms, _, name = rest.partition("/")
    time.sleep(int(ms) / 1000)
    h.send_feed(name or "delayed")


def _slow(h: _Handler, rest: str) -> None:
    time.sleep(3)
    h.send_feed("slow")


def _drip(h: _Handler, rest: str) -> None:
    body = rss("drip", items=50)
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    for i in range(len(body)):
        h.wfile.write(body[i : i + 1])
        h.wfile.flush()
        time.sleep(0.05)


def _dribble_headers(h: _Handler, rest: str) -> None:
    # Each line arrives well inside any socket timeout; only a deadline on the whole
    # response stops the client. Stops when the client hangs up (or after 10 minutes).
    h.send_response(200)
    h.flush_headers()
    for n in range(2000):
        h.wfile.write(f"X-Filler-{n}: {n}\r\n".encode())
        h.wfile.flush()
        time.sleep(0.3)
    h.close_connection = True


def _huge(h: _Handler, rest: str) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Connection", "close")
    h.end_headers()
    chunk = b"<!-- padding -->" * 4096
    for _ in range(5 * 1024 * 1024 // len(chunk)):
        h.wfile.write(chunk)
    h.close_connection = True


def _huge_declared(h: _Handler, rest: str) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Length", str(100 * 1024 * 1024))
    h.end_headers()
    h.wfile.write(b"<rss>")
    h.close_connection = True


def _gzip_bomb(h: _Handler, rest: str) -> None:
    body = h.feeds.gzip_bomb()
    h.send(200, body, headers={"Content-Encoding": "gzip"})


def _loop_a(h: _Handler, rest: str) -> None:
    h.redirect("/loop-b")


def _loop_b(h: _Handler, rest: str) -> None:
    h.redirect(h.feeds.url("/loop-a"))


def _chain(h: _Handler, rest: str) -> None:
    left = int(rest or 0)
    if left <= 0:
        h.send_feed("chain")
    else:
        h.redirect(f"/chain/{left - 1}")


def _redirect(h: _Handler, rest: str) -> None:
    target = parse_qs(urlsplit(h.path).query).get("to", ["/feed/redirected"])[0]
    h.redirect(target)


def _invalid_xml(h: _Handler, rest: str) -> None:
    h.send(200, INVALID_XML)


def _billion_laughs(h: _Handler, rest: str) -> None:
    h.send(200, BILLION_LAUGHS, "application/xml")


def _quadratic_html(h: _Handler, rest: str) -> None:
    h.send(200, QUADRATIC_HTML)


def _wrong_encoding(h: _Handler, rest: str) -> None:
    # The header and the XML declaration both claim UTF-8; the bytes are windows-1251.
    body = rss("wrong", declare="utf-8").replace(b"wrong item 0", CYRILLIC_TITLE.encode("cp1251"))
    h.send(200, body, "application/rss+xml; charset=utf-8")


def _no_charset(h: _Handler, rest: str) -> None:
    body = rss("nocharset", declare=None).replace(b"nocharset item 0", CYRILLIC_TITLE.encode("utf-8"))
    h.send(200, body, "text/xml")


def _html(h: _Handler, rest: str) -> None:
    h.send(200, HTML_PAGE, "text/html; charset=utf-8")


def _empty(h: _Handler, rest: str) -> None:
    h.send(200, b"", "application/rss+xml")


def _too_many(h: _Handler, rest: str) -> None:
    h.send(429, b"slow down", "text/plain", {"Retry-After": "120"})


def _unavailable(h: _Handler, rest: str) -> None:
    h.send(503, b"maintenance", "text/plain", {"Retry-After": "30"})


def _flaky(h: _Handler, rest: str) -> None:
    if h.feeds.first_time(rest):
        h.send(500, b"oops", "text/plain")
    else:
        h.send_feed(f"flaky-{rest}")


def _status(h: _Handler, rest: str) -> None:
    h.send(int(rest), b"", "text/plain")


ROUTES: dict[str, Route] = {
    "feed": _feed,
    "gzip": _gzip,
    "delay": _delay,
    "slow": _slow,
    "drip": _drip,
    "dribble-headers": _dribble_headers,
    "huge": _huge,
    "huge-declared": _huge_declared,
    "gzip-bomb": _gzip_bomb,
    "loop-a": _loop_a,
    "loop-b": _loop_b,
    "chain": _chain,
    "redirect": _redirect,
    "invalid-xml": _invalid_xml,
    "billion-laughs": _billion_laughs,
    "quadratic-html": _quadratic_html,
    "wrong-encoding": _wrong_encoding,
    "no-charset": _no_charset,
    "html": _html,
    "empty": _empty,
    "429": _too_many,
    "503": _unavailable,
    "flaky": _flaky,
    "status": _status,
}
