"""The fetcher against a loopback server: limits, SSRF guard, conditional GET, concurrency."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from vigil.adapters.feeds.parse import parse_feed
from vigil.adapters.http import fetch as fetch_module
from vigil.adapters.http.fetch import (
    ALLOW_PRIVATE_ENV,
    Fetcher,
    FetchJob,
    FetchOptions,
    FetchResult,
    address_problem,
    fetch_many,
    parse_retry_after,
)
from vigil.domain.addresses import BLOCKED_REASON, shareable_error
from vigil.domain.models import Source
from vigil.runtime.local import fetch_options

from tests.adapters.feedserver import ETAG, LAST_MODIFIED, FeedServer

# Short limits keep the suite fast; the loopback server is the only thing contacted.
FAST = FetchOptions(
    connect_timeout=0.5, total_timeout=1.0, max_bytes=256 * 1024, backoff=0.01, allow_private=True
)
# The guard on, with only the test server's address let through: private targets of
# redirects are then refused before any connection is attempted.
GUARDED = FetchOptions(
    connect_timeout=0.5, total_timeout=1.0, max_bytes=256 * 1024, backoff=0.01,
    allow_private=False, allowed_networks=("127.0.0.1/32",),
)


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        yield srv


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    f = Fetcher(FAST)
    yield f
    f.close()


def fetch(fetcher: Fetcher, server: FeedServer, path: str, **job: str) -> FetchResult:
    return fetcher.fetch(FetchJob(path, server.url(path), **job))


# ---------------------------------------------------------------- SSRF guard


def test_loopback_source_is_refused_with_a_clear_reason_and_no_request(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the guard on (the environment variable unset)
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)
    path = "/feed/guarded-loopback"
    guarded = Fetcher(FetchOptions(total_timeout=1.0))
    # When a source on loopback is fetched
    result = fetch(guarded, server, path)
    # Then it fails, says why and how to allow it, and no request reached the server
    assert not result.ok
    assert "127.0.0.1" in result.error and "loopback" in result.error
    assert ALLOW_PRIVATE_ENV in result.error
    assert result.attempts == 1
    assert server.hits(path) == 0


def test_environment_variable_allows_private_networks(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    result = fetch(Fetcher(fetch_options(total_timeout=1.0)), server, "/feed/env-allowed")
    assert result.ok and result.status == 200


def test_the_fetcher_takes_the_switch_from_its_options_not_the_environment(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the variable set, but a fetcher built without the runtime's options
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    # When it fetches a loopback source
    result = fetch(Fetcher(FetchOptions(total_timeout=1.0)), server, "/feed/options-decide")
    # Then the guard is on: only the options (set by vigil.runtime) turn it off
    assert not result.ok and "loopback" in result.error
    assert server.hits("/feed/options-decide") == 0


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://10.0.0.1/feed", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::ffff:169.254.169.254]/latest/meta-data/", "link-local"),
        ("http://0.0.0.0:80/", "unspecified"),
    ],
)
def test_redirect_to_a_private_address_is_refused(server: FeedServer, target: str, reason: str) -> None:
    result = fetch(Fetcher(GUARDED), server, f"/redirect?to={target}")
    assert not result.ok
    assert result.error.startswith("refused:") and reason in result.error
    assert result.attempts == 1


def test_redirect_to_a_name_resolving_to_metadata_is_refused(server: FeedServer) -> None:
    resolved: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        resolved.append(host)
        return ["127.0.0.1"] if host == "127.0.0.1" else ["169.254.169.254"]

    result = Fetcher(GUARDED, resolver=resolver).fetch(
        FetchJob("meta", server.url("/redirect?to=http://metadata.internal.test/latest/"))
    )
    assert resolved == ["127.0.0.1", "metadata.internal.test"]
    assert "metadata.internal.test resolves to 169.254.169.254 (link-local)" in result.error
    # The addresses are for operators; what every member sees in /vigil status names none.
    assert shareable_error(result.error) == BLOCKED_REASON


def test_connects_to_the_address_that_was_checked(server: FeedServer) -> None:
    # A rebinding DNS server answers with a public-looking address first and a private
    # one afterwards; the fetcher must resolve once and connect to what it checked.
    answers = iter([["127.0.0.1"], ["10.0.0.1"], ["10.0.0.1"]])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    fetcher = Fetcher(GUARDED, resolver=rebinding)
    result = fetcher.fetch(FetchJob("rebind", f"http://feeds.rebind.test:{server.port}/feed/rebind"))
    assert result.ok, result.error
    assert calls == ["feeds.rebind.test"]
    host_header = next(h["host"] for p, h in server.requests if p == "/feed/rebind")
    assert host_header == f"feeds.rebind.test:{server.port}"


def test_only_http_and_https_are_fetched(fetcher: Fetcher, server: FeedServer) -> None:
    assert "unsupported url scheme 'file'" in fetcher.fetch(FetchJob("f", "file:///etc/passwd")).error
    redirected = fetch(fetcher, server, "/redirect?to=file:///etc/passwd")
    assert "unsupported url scheme 'file'" in redirected.error


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not globally routable"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:1", "private"),
        ("2002:7f00:1::1", "loopback"),
    ],
)
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    assert address_problem(ipaddress.ip_address(address)).startswith(reason)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) == ""


# ---------------------------------------------------------------- politeness


def test_conditional_get_turns_an_unchanged_feed_into_a_304(fetcher: Fetcher, server: FeedServer) -> None:
    first = fetch(fetcher, server, "/feed/conditional")
    assert first.status == 200 and first.body
    assert (first.etag, first.modified) == (ETAG, LAST_MODIFIED)

    second = fetch(fetcher, server, "/feed/conditional", etag=first.etag, modified=first.modified)

    assert second.not_modified and second.body is None
    assert (second.etag, second.modified) == (ETAG, LAST_MODIFIED)
    sent = [h for p, h in server.requests if p == "/feed/conditional"][-1]
    assert sent["if-none-match"] == ETAG and sent["if-modified-since"] == LAST_MODIFIED


def test_requests_name_the_bot_and_accept_compression(fetcher: Fetcher, server: FeedServer) -> None:
    fetch(fetcher, server, "/feed/headers")
    sent = next(h for p, h in server.requests if p == "/feed/headers")
    assert sent["user-agent"].startswith("Vigil/") and "+https://github.com/vigil-news/vigil" in sent["user-agent"]
    assert "gzip" in sent["accept-encoding"] and "deflate" in sent["accept-encoding"]


def test_gzip_bodies_are_decoded(fetcher: Fetcher, server: FeedServer) -> None:
    result = fetch(fetcher, server, "/gzip/compressed")
    assert result.ok and result.body and result.body.startswith(b"<?xml")


# ---------------------------------------------------------------- limits


def test_a_server_that_never_answers_hits_the_timeout(fetcher: Fetcher, server: FeedServer) -> None:
    result = fetch(fetcher, server, "/slow")
    assert "timed out" in result.error
    assert result.elapsed < 2.0  # one attempt: a crawling server is not retried


def test_a_slow_drip_server_hits_the_total_deadline(fetcher: Fetcher, server: FeedServer) -> None:
    started = time.monotonic()
    result = fetch(fetcher, server, "/drip")
    assert "timed out" in result.error and "total" in result.error
    assert time.monotonic() - started < 1.8


def test_a_server_dribbling_header_lines_cannot_outlive_the_total_timeout(server: FeedServer) -> None:
    # Given a server that sends a header line every 0.3 s and never ends the headers
    fetcher = Fetcher(FetchOptions(total_timeout=2.0, backoff=0.01, allow_private=True))
    # When it is fetched with a 2 s budget
    started = time.monotonic()
    result = fetcher.fetch(FetchJob("dribble", server.url("/dribble-headers")))
    fetcher.close()
    # Then the fetch ends near the deadline (generous margin), as a timeout, not retried
    assert time.monotonic() - started < 2.0 + 1.5
    assert "timed out" in result.error and "total timeout" in result.error
    assert result.body is None and result.attempts == 1


@pytest.mark.parametrize("path", ["/huge", "/huge-declared", "/gzip-bomb"])
def test_bodies_stop_at_the_size_cap(fetcher: Fetcher, server: FeedServer, path: str) -> None:
    result = fetch(fetcher, server, path)
    assert result.error.startswith("body too large")
    assert result.body is None
    assert result.elapsed < 1.0


def test_redirect_loops_are_cut(fetcher: Fetcher, server: FeedServer) -> None:
    assert "redirect loop" in fetch(fetcher, server, "/loop-a").error


def test_five_redirects_are_followed_and_a_sixth_is_refused(fetcher: Fetcher, server: FeedServer) -> None:
    five = fetch(fetcher, server, "/chain/5")
    assert five.ok and five.final_url.endswith("/chain/0")
    assert "too many redirects" in fetch(fetcher, server, "/chain/6").error


# ---------------------------------------------------------------- retries


def test_rate_limit_with_retry_after_defers_without_retrying(fetcher: Fetcher, server: FeedServer) -> None:
    result = fetch(fetcher, server, "/429")
    assert result.status == 429 and result.retry_after == 120
    assert "429" in result.error
    assert result.attempts == 1 and server.hits("/429") == 1


def test_unavailable_with_retry_after_defers_without_retrying(fetcher: Fetcher, server: FeedServer) -> None:
    result = fetch(fetcher, server, "/503")
    assert result.retry_after == 30 and result.attempts == 1


def test_a_server_error_is_retried_then_succeeds(fetcher: Fetcher, server: FeedServer) -> None:
    result = fetch(fetcher, server, "/flaky/once")
    assert result.ok and result.body
    assert result.attempts == 2


def test_client_errors_are_not_retried(fetcher: Fetcher, server: FeedServer) -> None:
    result = fetch(fetcher, server, "/status/404")
    assert result.error == "HTTP 404" and result.attempts == 1


def test_connection_refused_is_retried_and_reported(fetcher: Fetcher) -> None:
    with FeedServer() as gone:
        url = gone.url("/feed/x")
    result = fetcher.fetch(FetchJob("gone", url))
    assert result.attempts == 3 and "connection failed" in result.error


@pytest.mark.parametrize(
    ("value", "seconds"), [("120", 120.0), ("0", 0.0), ("Thu, 01 Jan 1970 00:02:00 GMT", 60.0), ("soon", None)]
)
def test_retry_after_accepts_seconds_and_dates(value: str, seconds: float | None) -> None:
    assert parse_retry_after(value, now=60.0) == seconds


# ---------------------------------------------------------------- many sources


def test_a_slow_host_does_not_hold_back_the_others(server: FeedServer) -> None:
    jobs = [FetchJob(p, server.url(p)) for p in ("/slow", "/feed/fast-1", "/feed/fast-2")]
    order = [r.source_id for r in fetch_many(jobs, FAST)]
    assert order[-1] == "/slow"


def test_per_host_limit_bounds_concurrent_requests() -> None:
    def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    with FeedServer() as srv:
        fetcher = Fetcher(FetchOptions(total_timeout=2.0, allow_private=True, per_host=1), resolver=resolver)
        jobs = [
            FetchJob(f"{host}-{i}", f"http://{host}:{srv.port}/delay/150/{host}-{i}")
            for host in ("a.test", "b.test") for i in range(3)
        ]
        results = list(fetcher.fetch_many(jobs))
    assert all(r.ok for r in results)
    # Two hosts, one request each at a time.
    assert srv.max_in_flight == 2


def test_a_host_that_asks_for_spacing_gets_one_request_at_a_time_that_far_apart() -> None:
    def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    spacing = 0.3
    with FeedServer() as srv:
        options = FetchOptions(total_timeout=2.0, allow_private=True, host_intervals={"spaced.test": spacing})
        fetcher = Fetcher(options, resolver=resolver)
        jobs = [FetchJob(f"{host}-{i}", f"http://{host}:{srv.port}/feed/{host}-{i}")
                for host in ("spaced.test", "other.test") for i in range(3)]
        results = list(fetcher.fetch_many(jobs))
    assert all(r.ok for r in results)
    spaced = [t for t, path in srv.arrivals if "spaced.test" in path]
    others = [t for t, path in srv.arrivals if "other.test" in path]
    assert len(spaced) == 3 and all(b - a >= spacing * 0.95 for a, b in pairwise(spaced))
    assert max(others) < spaced[-1], "other hosts are not held up by the spaced one"
    assert FetchOptions().host_intervals == {"api.gdeltproject.org": 5.0}, "GDELT's guidance by default"


BAD_SOURCES = [
    ("/slow", "timed out"),
    ("/drip", "timed out"),
    ("/huge", "body too large"),
    ("/gzip-bomb", "body too large"),
    ("/loop-a", "redirect loop"),
    ("/redirect?to=http://10.0.0.1/feed", "refused"),
    ("/invalid-xml", ""),  # best effort: items despite the malformed XML
    ("/billion-laughs", "entity expansion"),
    ("/wrong-encoding", ""),  # best effort: parsed with a warning
    ("/html", "HTML page"),
    ("/429", "HTTP 429"),
    ("/flaky/cycle", ""),  # 500 then 200
]


@pytest.mark.parametrize(("path", "reason"), BAD_SOURCES)
def test_one_bad_source_never_stops_the_others(server: FeedServer, path: str, reason: str) -> None:
    # Given a cycle with one misbehaving source among good ones
    paths = [path, "/feed/good-1", "/gzip/good-2"]
    sources = {p: Source(p, server.url(p)) for p in paths}
    # When every source is fetched and parsed
    outcome: dict[str, str] = {}
    items: dict[str, int] = {}
    for result in fetch_many([FetchJob(p, server.url(p)) for p in paths], GUARDED):
        error = result.error
        if result.ok and result.body is not None:
            parsed = parse_feed(result.body, result.headers, sources[result.source_id])
            error, items[result.source_id] = parsed.error, len(parsed.items)
        outcome[result.source_id] = error
    # Then the good ones succeed and the bad one is reported with its reason
    assert outcome["/feed/good-1"] == "" and items["/feed/good-1"] == 3
    assert outcome["/gzip/good-2"] == "" and items["/gzip/good-2"] == 3
    if reason:
        assert reason in outcome[path]
    else:
        assert outcome[path] == "" and items[path] > 0


def test_many_instant_refusals_on_one_host_never_deadlock(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the guard on, and many sources on one refused host: each job finishes before
    # its completion callback is attached, which once deadlocked the host scheduler
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)
    jobs = [FetchJob(f"s{i}", f"http://127.0.0.1:9/feed{i}.xml") for i in range(2000)]
    # When all are fetched (bounded by a watchdog thread, not a timing assertion)
    results: list[FetchResult] = []
    worker = threading.Thread(target=lambda: results.extend(fetch_many(jobs)), daemon=True)
    worker.start()
    worker.join(timeout=60)
    # Then every one is reported as refused
    assert not worker.is_alive(), "fetch_many deadlocked"
    assert len(results) == 2000
    assert all("loopback" in r.error for r in results)


def test_a_hung_dns_lookup_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hung_getaddrinfo(*args: object, **kwargs: object) -> list[object]:
        release.wait(5)
        return []

    monkeypatch.setattr(fetch_module, "DNS_TIMEOUT", 0.2)
    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", hung_getaddrinfo)
    started = time.monotonic()
    result = Fetcher(FetchOptions(allow_private=True, retries=0)).fetch(FetchJob("dns", "http://feeds.hung.test/"))
    release.set()
    assert "dns lookup failed for feeds.hung.test: timed out" in result.error
    assert time.monotonic() - started < 1


def test_a_dns_lookup_gets_only_what_is_left_of_the_total_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hung_getaddrinfo(*args: object, **kwargs: object) -> list[object]:
        release.wait(10)
        return []

    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", hung_getaddrinfo)
    started = time.monotonic()
    options = FetchOptions(total_timeout=0.3, allow_private=True, retries=0)
    result = Fetcher(options).fetch(FetchJob("dns", "http://feeds.hung.test/"))
    release.set()
    assert "dns lookup failed for feeds.hung.test: timed out" in result.error
    assert time.monotonic() - started < 1.5  # not DNS_TIMEOUT (5 s)


# ---------------------------------------------------------------- TLS to the checked address


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for feeds.tls.test (its own CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "feeds.tls.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("feeds.tls.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


def _loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def test_https_connects_to_the_checked_address_and_verifies_the_name(tls_files: tuple[str, str]) -> None:
    with FeedServer(tls=tls_files) as tls_server:
        options = FetchOptions(total_timeout=2.0, retries=0, allow_private=True, ca_certs=tls_files[0])
        fetcher = Fetcher(options, resolver=_loopback)
        good = fetcher.fetch(FetchJob("tls", f"https://feeds.tls.test:{tls_server.port}/feed/tls"))
        wrong_name = fetcher.fetch(FetchJob("tls", f"https://other.tls.test:{tls_server.port}/feed/tls"))
    assert good.ok and good.body, good.error
    assert wrong_name.error.startswith("tls error") and "other.tls.test" in wrong_name.error
    assert wrong_name.attempts == 1  # certificate problems are not retried


def test_https_with_an_untrusted_certificate_fails(tls_files: tuple[str, str]) -> None:
    with FeedServer(tls=tls_files) as tls_server:
        fetcher = Fetcher(FetchOptions(total_timeout=2.0, allow_private=True), resolver=_loopback)
        result = fetcher.fetch(FetchJob("tls", f"https://feeds.tls.test:{tls_server.port}/feed/tls"))
    assert result.error.startswith("tls error") and "certificate verify failed" in result.error


def test_https_connections_share_one_tls_context(tls_files: tuple[str, str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # Each context loads the whole trust store (~20 ms of CPU): one per fetcher, not per connection.
    made: list[object] = []
    create = fetch_module.create_urllib3_context
    monkeypatch.setattr(fetch_module, "create_urllib3_context", lambda **kw: made.append(kw) or create(**kw))
    with FeedServer(tls=tls_files) as tls_server:
        options = FetchOptions(total_timeout=2.0, retries=0, allow_private=True, ca_certs=tls_files[0], per_host=1)
        fetcher = Fetcher(options, resolver=_loopback)
        jobs = [FetchJob(f"tls{i}", f"https://feeds.tls.test:{tls_server.port}/feed/tls{i}") for i in range(4)]
        results = list(fetcher.fetch_many(jobs))
        wrong_name = fetcher.fetch(FetchJob("tls", f"https://other.tls.test:{tls_server.port}/feed/tls"))
        fetcher.close()
    assert all(r.ok and r.body for r in results), [r.error for r in results]
    assert wrong_name.error.startswith("tls error") and "other.tls.test" in wrong_name.error
    assert len(made) == 1
