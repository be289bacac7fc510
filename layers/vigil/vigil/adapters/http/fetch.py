"""HTTP fetching of feeds: polite (conditional GET, per-host limits), bounded and SSRF-guarded.

Every fetch resolves DNS itself, refuses non-public addresses (unless
`FetchOptions.allow_private`, which the runtime sets from VIGIL_ALLOW_PRIVATE_NETWORKS)
and then connects to exactly the address it checked, sending the original name as Host
header and TLS SNI, so a DNS answer cannot change between the check and the connection.
Redirects are followed by hand (at most 5) and each hop is checked again. Bodies are
capped while streaming, after decompression.
One deadline covers each attempt: DNS, connect, the status line, headers and body.
"""

from __future__ import annotations

import contextvars
import http.client
import io
import ipaddress
import queue
import random
import socket
import ssl
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.ssl_ import create_urllib3_context

from vigil import __version__
from vigil.domain.addresses import NOT_PUBLIC, IPAddress, address_problem
from vigil.domain.retry_after import parse_retry_after

USER_AGENT = f"Vigil/{__version__} (+https://github.com/vigil-news/vigil)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
# Named in the guard's refusal, so the message says how to allow a private feed.
ALLOW_PRIVATE_ENV = "VIGIL_ALLOW_PRIVATE_NETWORKS"
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024
DNS_TIMEOUT = 5.0

Resolver = Callable[[str, int], list[str]]

# When the fetch attempt running in this context must end (time.monotonic()); None
# outside one. Set for the whole attempt so that the DNS lookup and every socket read
# deep inside urllib3 and http.client get only what is left of it.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("vigil_fetch_deadline", default=None)


class FetchError(Exception):
    """A fetch failed for a reason worth reporting as is (no retry)."""


class RetryableError(FetchError):
    """A fetch failed in a way another attempt may fix (timeout, reset, 5xx)."""


class BlockedAddress(FetchError):
    """The SSRF guard refused the destination."""


@dataclass(frozen=True, slots=True)
class FetchJob:
    source_id: str
    url: str
    etag: str = ""
    modified: str = ""


@dataclass(slots=True)
class FetchResult:
    source_id: str
    url: str
    status: int = 0  # HTTP status of the last response; 0 when none arrived
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    etag: str = ""
    modified: str = ""
    error: str = ""
    retry_after: float | None = None  # seconds the server asked us to wait
    elapsed: float = 0.0
    final_url: str = ""
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return not self.error and self.status in (200, 304)

    @property
    def not_modified(self) -> bool:
        return not self.error and self.status == 304


HOST_INTERVALS: Mapping[str, float] = {"api.gdeltproject.org": 5.0}


@dataclass(frozen=True, slots=True)
class FetchOptions:
    connect_timeout: float = 5.0
    # Wall-clock budget for one attempt (DNS, connect, headers, whole body).
    total_timeout: float = 20.0
    max_bytes: int = 8 * 1024 * 1024
    max_redirects: int = 5
    retries: int = 2  # extra attempts after the first, for timeouts, resets and 5xx
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    max_workers: int = 128  # mostly waiting on the network; parsing runs elsewhere
    per_host: int = 2
    # Hosts that ask for spacing between requests: one request at a time, at least this
    # many seconds apart (GDELT's DOC API asks for about one request per 5 seconds).
    host_intervals: Mapping[str, float] = field(default_factory=lambda: dict(HOST_INTERVALS))
    # The guard's switch (VIGIL_ALLOW_PRIVATE_NETWORKS), passed in by the runtime: this
    # module reads no environment. Explicit networks are allowed even with the guard on
    # (an intranet feed, or a loopback test server).
    allow_private: bool = False
    allowed_networks: tuple[str, ...] = ()
    user_agent: str = USER_AGENT
    # Extra CA bundle (PEM file) for intranet feeds; None: the system's trust store.
    ca_certs: str | None = None


# ---------------------------------------------------------------- SSRF guard


def _system_resolver(host: str, port: int) -> list[str]:
    """getaddrinfo with a deadline: a hung resolver must not hold a fetch past its timeout."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]  # a literal address needs no lookup
    except ValueError:
        pass
    timeout = _dns_timeout()
    future = _dns_pool().submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=timeout)
    except FutureTimeout:
        raise OSError(f"timed out after {timeout:.2g}s") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _dns_timeout() -> float:
    deadline = _DEADLINE.get()
    if deadline is None:
        return DNS_TIMEOUT
    return max(0.0, min(DNS_TIMEOUT, deadline - time.monotonic()))


_DNS_POOL: ThreadPoolExecutor | None = None
_DNS_LOCK = threading.Lock()


def _dns_pool() -> ThreadPoolExecutor:
    # getaddrinfo cannot be cancelled; lookups run here so the caller can stop waiting.
    global _DNS_POOL
    with _DNS_LOCK:
        if _DNS_POOL is None:
            _DNS_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="vigil-dns")
        return _DNS_POOL


class AddressGuard:
    """Resolves a host once and picks an address the policy allows."""

    def __init__(
        self, *, allow_private: bool, allowed_networks: Iterable[str] = (),
        resolver: Resolver | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.allowed = tuple(ipaddress.ip_network(n, strict=False) for n in allowed_networks)
        self.resolver = resolver or _system_resolver

    def _problem(self, ip: IPAddress) -> str:
        if self.allow_private or any(ip in net for net in self.allowed):
            return ""
        return address_problem(ip)

    def pick(self, host: str, port: int) -> str:
        """The address to connect to; BlockedAddress/FetchError when there is none."""
        try:
            candidates = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise RetryableError(f"dns lookup failed for {host}: {exc}") from None
        if not candidates:
            raise RetryableError(f"dns lookup failed for {host}: no addresses")
        refused: list[tuple[str, str]] = []
        for text in candidates:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
            problem = self._problem(ip)
            if not problem:
                return str(ip)
            refused.append((str(ip), problem))
        if len(refused) == 1 and refused[0][0] == host.strip("[]"):
            where = f"{host} is {refused[0][1]}"  # a literal address in the URL
        else:
            where = f"{host} resolves to " + ", ".join(f"{ip} ({problem})" for ip, problem in refused)
        raise BlockedAddress(
            f"refused: {where}, {NOT_PUBLIC} "
            f"(set {ALLOW_PRIVATE_ENV}=1 to allow private networks)"
        )


# ---------------------------------------------------------------- the deadline on every read


class _DeadlineReader(io.RawIOBase):
    """Socket reads that each wait only for what is left of the attempt's deadline.

    A socket timeout bounds one recv, not a response: a server sending one header line
    (or one body byte) a second could otherwise hold a fetch as long as it liked.
    """

    def __init__(self, raw: io.RawIOBase, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._raw = raw
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("total timeout")
        self._sock.settimeout(remaining)
        return self._raw.readinto(buffer)

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        if not self.closed:
            self._raw.close()  # gives the socket's reference back, as http.client's own reader does
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    """http.client's response, reading status line, headers and body under the attempt's deadline."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        deadline = _DEADLINE.get()
        if deadline is not None:
            self.fp = io.BufferedReader(_DeadlineReader(self.fp.detach(), sock, deadline))


class _HTTPConnection(HTTPConnection):
    response_class = _DeadlineResponse


class _HTTPSConnection(HTTPSConnection):
    response_class = _DeadlineResponse


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


# ---------------------------------------------------------------- body reading


class _Decoder:
    """Incremental gzip/deflate decoding that never produces more than asked for.

    urllib3's own decoders inflate a whole network chunk at once, so a 64 KB chunk of
    a gzip bomb could become 64 MB in memory before any cap is checked.
    """

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding.strip().lower()
        self._raw_fallback = False
        if self.encoding in ("gzip", "x-gzip"):
            self._z: zlib._Decompress | None = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding == "deflate":
            self._z = zlib.decompressobj()  # zlib wrapper; raw deflate handled on error
            self._raw_fallback = True
        elif self.encoding in ("", "identity"):
            self._z = None
        else:
            raise FetchError(f"unsupported content-encoding {encoding!r}")

    def feed(self, data: bytes, limit: int) -> bytes:
        """Decode `data`, returning at most `limit` bytes; more pending raises FetchError."""
        if self._z is None:
            return data
        try:
            out = self._z.decompress(data, limit)
        except zlib.error as exc:
            if self._raw_fallback:
                # Some servers send raw deflate despite RFC 9110; retry once that way.
                self._raw_fallback = False
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.feed(data, limit)
            raise FetchError(f"bad {self.encoding} body: {exc}") from None
        self._raw_fallback = False
        if self._z.unconsumed_tail:
            # Input is left over because `limit` bytes came out: the body exceeds the cap.
            raise FetchError(f"body too large: more than {limit - 1} bytes after decompression")
        return out


def _read_body(
    resp: urllib3.BaseHTTPResponse, deadline: float, max_bytes: int
) -> bytes:
    length = resp.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"body too large: content-length {length} exceeds {max_bytes} bytes")
    decoder = _Decoder(resp.headers.get("content-encoding", ""))
    parts: list[bytes] = []
    size = 0
    while True:
        # Each read is bounded by the deadline too (_DeadlineReader); this check names it.
        if time.monotonic() >= deadline:
            raise RetryableError("timed out reading the body (total timeout)")
        chunk = resp.read1(CHUNK)
        if not chunk:
            break
        data = decoder.feed(chunk, max_bytes - size + 1)
        size += len(data)
        if size > max_bytes:
            raise FetchError(f"body too large: more than {max_bytes} bytes")
        parts.append(data)
    return b"".join(parts)


# ---------------------------------------------------------------- the fetcher


@dataclass(slots=True)
class _Hop:
    status: int
    headers: dict[str, str]
    body: bytes | None
    location: str = ""


class Fetcher:
    """Fetches feeds; keeps connection pools so warm Lambdas and later cycles reuse them."""

    def __init__(self, options: FetchOptions | None = None, *, resolver: Resolver | None = None) -> None:
        self.options = options or FetchOptions()
        self.guard = AddressGuard(
            allow_private=self.options.allow_private,
            allowed_networks=self.options.allowed_networks,
            resolver=resolver,
        )
        self._pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}
        self._pools_lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None

    @property
    def _total(self) -> str:
        return f"{self.options.total_timeout:g}"

    def close(self) -> None:
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    # one URL ------------------------------------------------------------------

    def fetch(self, job: FetchJob) -> FetchResult:
        """Fetch one feed with retries; never raises."""
        started = time.monotonic()
        attempts = 1 + max(0, self.options.retries)
        for attempt in range(attempts):
            tried = time.monotonic()
            result, retryable = self._attempt(job)
            result.attempts = attempt + 1
            # An attempt that used most of its budget (a crawling server) is not
            # repeated: retrying would only multiply the time one source holds a worker.
            slow = time.monotonic() - tried > self.options.total_timeout / 2
            if not retryable or slow or attempt + 1 == attempts:
                break
            # Jitter keeps many failing sources from retrying in lockstep.
            time.sleep(self.options.backoff * (2**attempt) * random.uniform(0.8, 1.2))
        result.elapsed = time.monotonic() - started
        return result

    def _attempt(self, job: FetchJob) -> tuple[FetchResult, bool]:
        """One try (following redirects) and whether another try may help."""
        result = FetchResult(job.source_id, job.url, final_url=job.url, etag=job.etag, modified=job.modified)
        deadline = time.monotonic() + self.options.total_timeout
        token = _DEADLINE.set(deadline)
        try:
            hop, url = self._follow(job, deadline)
        except RetryableError as exc:
            result.error = str(exc)
            return result, True
        except FetchError as exc:
            result.error = str(exc)
            return result, False
        except Exception as exc:  # a bug or odd server must cost one source, not the cycle
            result.error = f"unexpected error: {type(exc).__name__}: {exc}"
            return result, False
        finally:
            _DEADLINE.reset(token)
        result.final_url = url
        result.status = hop.status
        result.headers = hop.headers
        self._interpret(result, hop)
        # 429/503 with Retry-After: the caller defers the source instead.
        return result, hop.status >= 500 and result.retry_after is None

    def _interpret(self, result: FetchResult, hop: _Hop) -> None:
        status, headers = hop.status, hop.headers
        if status == 200:
            result.body = hop.body
            result.etag = headers.get("etag", "")
            result.modified = headers.get("last-modified", "")
        elif status == 304:
            # Keep the validators we sent unless the server rotated them.
            result.etag = headers.get("etag", result.etag)
            result.modified = headers.get("last-modified", result.modified)
        elif status in (429, 503) and "retry-after" in headers:
            result.retry_after = parse_retry_after(headers["retry-after"])
            wait = "" if result.retry_after is None else f" (retry after {result.retry_after:.0f}s)"
            result.error = f"HTTP {status}{wait}"
        elif status in REDIRECT_CODES:
            result.error = f"HTTP {status} redirect without a usable location"
        else:
            result.error = f"HTTP {status}"

    def _follow(self, job: FetchJob, deadline: float) -> tuple[_Hop, str]:
        url = job.url
        visited = {url}
        for _ in range(self.options.max_redirects + 1):
            hop = self._request(url, job, deadline)
            if hop.status not in REDIRECT_CODES or not hop.location:
                return hop, url
            url = urljoin(url, hop.location)
            if url in visited:
                raise FetchError(f"redirect loop at {url}")
            visited.add(url)
        raise FetchError(f"too many redirects (more than {self.options.max_redirects})")

    def _request(self, url: str, job: FetchJob, deadline: float) -> _Hop:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise FetchError(f"unsupported url scheme {parts.scheme!r} in {url}")
        host = parts.hostname
        if not host:
            raise FetchError(f"no host in url {url}")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise FetchError(f"bad port in url {url}") from None
        ip = self.guard.pick(host, port)
        pool = self._pool(scheme, ip, port, host)
        default_port = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
        host_header = (f"[{host}]" if ":" in host else host) + ("" if default_port else f":{port}")
        headers = self._request_headers(job, host_header)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RetryableError("timed out before connecting (total timeout)")
        timeout = urllib3.Timeout(
            connect=min(self.options.connect_timeout, remaining), read=remaining
        )
        return self._exchange(pool, path, headers, timeout, deadline)

    def _request_headers(self, job: FetchJob, host_header: str) -> dict[str, str]:
        headers = {
            "Host": host_header,
            "User-Agent": self.options.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": "gzip, deflate",
        }
        if job.etag:
            headers["If-None-Match"] = job.etag
        if job.modified:
            headers["If-Modified-Since"] = job.modified
        return headers

    def _exchange(
        self, pool: urllib3.HTTPConnectionPool, path: str, headers: dict[str, str],
        timeout: urllib3.Timeout, deadline: float,
    ) -> _Hop:
        try:
            resp = pool.urlopen(
                "GET", path, headers=headers, timeout=timeout, retries=False, redirect=False,
                preload_content=False, decode_content=False, assert_same_host=False,
            )
        except NewConnectionError as exc:  # a subclass of ConnectTimeoutError, so first
            raise RetryableError(f"connection failed: {_describe(exc)}") from None
        except ConnectTimeoutError:
            raise RetryableError(f"timed out connecting (limit {timeout.connect_timeout}s)") from None
        except ReadTimeoutError:
            raise RetryableError(f"timed out waiting for the response (total timeout {self._total}s)") from None
        except SSLError as exc:  # a bad certificate stays bad: no retry
            raise FetchError(f"tls error: {_describe(exc)}") from None
        except Urllib3Error as exc:
            raise RetryableError(f"connection failed: {_describe(exc)}") from None
        complete = False
        try:
            resp_headers = {k.lower(): v for k, v in resp.headers.items()}
            body = None
            if resp.status == 200:
                body = _read_body(resp, deadline, self.options.max_bytes)
                complete = True
            elif resp.status in (204, 304) or _small(resp):
                resp.drain_conn()
                complete = True
            return _Hop(resp.status, resp_headers, body, resp_headers.get("location", ""))
        except (ReadTimeoutError, TimeoutError):
            raise RetryableError(f"timed out reading the body (total timeout {self._total}s)") from None
        except (ProtocolError, Urllib3Error, OSError) as exc:
            raise RetryableError(f"connection broken: {_describe(exc)}") from None
        finally:
            if not complete:
                resp.close()  # an unread or aborted body must not go back to the pool
            resp.release_conn()

    def _pool(self, scheme: str, ip: str, port: int, host: str) -> urllib3.HTTPConnectionPool:
        key = (scheme, ip, port, host.lower())
        with self._pools_lock:
            pool = self._pools.get(key)
            if pool is None:
                if len(self._pools) >= 1024:
                    self._evict_oldest()
                pool = self._new_pool(scheme, ip, port, host)
                self._pools[key] = pool
            return pool

    def _evict_oldest(self) -> None:
        oldest = next(iter(self._pools))
        self._pools.pop(oldest).close()

    def _new_pool(self, scheme: str, ip: str, port: int, host: str) -> urllib3.HTTPConnectionPool:
        size = max(1, self.options.per_host)
        if scheme == "https":
            # Connect to the checked IP, but present and verify the real name.
            return _HTTPSPool(
                ip, port, maxsize=size, block=False, cert_reqs="CERT_REQUIRED",
                ssl_context=self._tls_context(), server_hostname=host, assert_hostname=host,
            )
        return _HTTPPool(ip, port, maxsize=size, block=False)

    def _tls_context(self) -> ssl.SSLContext:
        """One TLS context for every connection (called under the pools lock).

        Without one, urllib3 builds a context per connection and loads the whole trust
        store into it: ~20 ms of CPU per new connection, most of a fetch batch's CPU
        (feed servers close idle connections between cycles, so every cycle connects
        anew). The same settings as urllib3's own: certificate and host name required
        (the pools check the name), the system's trust store or `ca_certs` instead.
        """
        if self._tls is None:
            context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
            if self.options.ca_certs:
                context.load_verify_locations(cafile=self.options.ca_certs)
            else:
                context.load_default_certs()
            self._tls = context
        return self._tls

    # many URLs -----------------------------------------------------------------

    def fetch_many(self, jobs: Iterable[FetchJob]) -> Iterator[FetchResult]:
        """Fetch concurrently; yield results as they finish (slow hosts come last)."""
        scheduler = _HostScheduler(self, list(jobs))
        yield from scheduler.run()


def _small(resp: urllib3.BaseHTTPResponse) -> bool:
    length = resp.headers.get("content-length", "")
    return length.isdigit() and int(length) <= CHUNK


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = str(reason or exc)
    # urllib3 messages embed the pool object; keep the part an operator can read.
    return text.split(": ", 1)[-1] if "Pool(" in text else text


class _HostScheduler:
    """Runs jobs on a bounded pool, at most `per_host` at a time for any one host.

    Jobs waiting for their host stay in a per-host queue rather than blocking a worker,
    so a slow host with many feeds cannot occupy the whole pool.
    """

    def __init__(self, fetcher: Fetcher, jobs: list[FetchJob]) -> None:
        self.fetcher = fetcher
        self.jobs = jobs
        self.per_host = max(1, fetcher.options.per_host)
        self.intervals = fetcher.options.host_intervals
        self.next_start: dict[str, float] = {}
        self.waiting: dict[str, deque[FetchJob]] = {}
        self.running: dict[str, int] = {}
        self.lock = threading.Lock()
        self.done: queue.SimpleQueue[FetchResult] = queue.SimpleQueue()
        # add_done_callback runs the callback at once, in the calling thread, when the job
        # already finished (an instant SSRF refusal). Such a callback only notes its host
        # here and the loop in _start_ready picks it up: no lock is held while callbacks
        # run, and a long run of instant failures cannot recurse deeper and deeper.
        self._local = threading.local()

    def run(self) -> Iterator[FetchResult]:
        if not self.jobs:
            return
        workers = max(1, min(self.fetcher.options.max_workers, len(self.jobs)))
        with ThreadPoolExecutor(workers, thread_name_prefix="vigil-fetch") as self.pool:
            for job in self.jobs:
                self.waiting.setdefault(_host_key(job.url), deque()).append(job)
            for host in list(self.waiting):
                self._start_ready(host)
            for _ in range(len(self.jobs)):
                yield self.done.get()

    def _start_ready(self, host: str) -> None:
        if getattr(self._local, "hosts", None) is not None:
            self._local.hosts.add(host)  # re-entered from an inline callback: loop below
            return
        self._local.hosts = {host}
        try:
            while self._local.hosts:
                ready = self._take_ready(self._local.hosts.pop())
                for job, host_key, future in ready:
                    future.add_done_callback(
                        lambda f, j=job, h=host_key: self._finished(f, j, h)
                    )
        finally:
            self._local.hosts = None

    def _take_ready(self, host: str) -> list[tuple[FetchJob, str, Future[FetchResult]]]:
        started = []
        with self.lock:
            waiting = self.waiting[host]
            limit = 1 if host in self.intervals else self.per_host
            while waiting and self.running.get(host, 0) < limit:
                job = waiting.popleft()
                self.running[host] = self.running.get(host, 0) + 1
                started.append((job, host, self.pool.submit(self._fetch_spaced, job, host)))
        return started

    def _fetch_spaced(self, job: FetchJob, host: str) -> FetchResult:
        interval = self.intervals.get(host)
        if interval:
            # One request at a time for such a host, so only this worker waits for its turn.
            wait = self.next_start.get(host, 0.0) - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.next_start[host] = time.monotonic() + interval
        return self.fetcher.fetch(job)

    def _finished(self, future: Future[FetchResult], job: FetchJob, host: str) -> None:
        try:
            result = future.result()
        except Exception as exc:  # fetch() never raises; this guards against bugs
            result = FetchResult(job.source_id, job.url, error=f"unexpected error: {exc}")
        with self.lock:
            self.running[host] -= 1
        self.done.put(result)
        self._start_ready(host)


def _host_key(url: str) -> str:
    try:
        return (urlsplit(url).hostname or url).lower()
    except ValueError:
        return url


def fetch_many(
    jobs: Iterable[FetchJob], options: FetchOptions | None = None, *, fetcher: Fetcher | None = None
) -> Iterator[FetchResult]:
    """Fetch jobs concurrently, yielding each result as soon as it is ready."""
    own = fetcher is None
    active = fetcher or Fetcher(options)
    try:
        yield from active.fetch_many(jobs)
    finally:
        if own:
            active.close()
