"""The demo web over real HTTP: what a crawler behind ``http_proxy`` sees.

Every request goes through the server subprocess (tests/conftest.py) in proxy form, the way
Scrapy and ``curl -x`` send it; the in-process DemoWeb with the same parameters is the
reference for what each URL should answer.
"""

from __future__ import annotations

import gzip
import http.client
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pyarrow.parquet as pq
import pytest
from lxml import etree

from demoweb.server import ResponseCache, _Entry, accepts_gzip, fault_for, normalise_target
from tests.conftest import REPO_ROOT, DemoWebProcess, start_demo_web

SAMPLE_PER_KIND = 6


# ---------------------------------------------------------------------------------------------
# helpers


class Fetched:
    """One HTTP answer as the client saw it (body already de-chunked, not decompressed)."""

    def __init__(self, response: http.client.HTTPResponse, body: bytes) -> None:
        self.status = response.status
        self.headers = response.headers
        self.body = body

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()


def fetch(
    conn: http.client.HTTPConnection, url: str, method: str = "GET", **headers: str
) -> Fetched:
    """Send `url` in proxy form on `conn` (absolute URL on the request line)."""
    conn.request(method, url, headers={k.replace("_", "-"): v for k, v in headers.items()})
    response = conn.getresponse()
    return Fetched(response, response.read())


def connect(demo: DemoWebProcess) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(demo.host, demo.port, timeout=30)


@pytest.fixture(scope="module")
def truth_rows(demo_web: DemoWebProcess, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    from demoweb.truth import write_truth

    path = tmp_path_factory.mktemp("truth") / "truth.parquet"
    write_truth(demo_web.web, path)
    return pq.read_table(path).to_pylist()


def by_kind(rows: list[dict]) -> dict[str, list[dict]]:
    kinds: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        kinds[row["page_kind"]].append(row)
    return kinds


def spread(items: list, n: int) -> list:
    """`n` items spread evenly over `items` (first, last and between): a fixed sample."""
    if len(items) <= n:
        return list(items)
    return [items[round(k * (len(items) - 1) / (n - 1))] for k in range(n)]


def xml_links(body: bytes) -> list[str]:
    """URLs an RSS feed, Atom feed, sitemap or sitemap index lists."""
    root = etree.fromstring(body)
    urls = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = etree.QName(element).localname
        if name == "loc" and element.text:
            urls.append(element.text.strip())
        elif name == "link":
            if element.get("href"):  # Atom
                if element.get("rel", "alternate") == "alternate":
                    urls.append(element.get("href").strip())
            elif element.text and element.text.strip():  # RSS
                urls.append(element.text.strip())
    return urls


def expected_content_type(url: str, kind: str) -> str:
    path = urlsplit(url).path
    if path == "/robots.txt":
        return "text/plain"
    if any(word in kind for word in ("feed", "rss", "atom", "sitemap")) or path.endswith(".xml"):
        return "xml"
    return "text/html"


def an_article_url(demo: DemoWebProcess, rows: list[dict]) -> str:
    kinds = by_kind(rows)
    for name in ("article", "original", "copy"):
        for kind, kind_rows in sorted(kinds.items()):
            if name in kind:
                return kind_rows[0]["url"]
    return demo.web.home_urls()[0]


# ---------------------------------------------------------------------------------------------
# pure parts of the server


def test_normalise_target_proxy_and_origin_forms_agree() -> None:
    assert normalise_target("http://Site.TEST:80/a?b=1", None) == "http://site.test/a?b=1"
    assert normalise_target("/a?b=1", "site.test") == "http://site.test/a?b=1"
    assert normalise_target("/a", "site.test:8080") == "http://site.test:8080/a"
    assert normalise_target("http://site.test", None) == "http://site.test/"
    assert normalise_target("/a", None) is None
    assert normalise_target("site.test:443", None) is None  # CONNECT authority form


def test_accepts_gzip_reads_q_values() -> None:
    assert accepts_gzip("gzip, deflate, br")
    assert accepts_gzip("deflate;q=1.0, gzip;q=0.5")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("identity")
    assert not accepts_gzip(None)


def test_fault_for_is_deterministic_and_near_the_asked_share() -> None:
    urls = [f"http://site{k % 7}.test/story/{k}.html" for k in range(6000)]
    faults = [fault_for(url, 0.3) for url in urls]
    assert faults == [fault_for(url, 0.3) for url in urls]
    share = sum(f is not None for f in faults) / len(urls)
    assert 0.27 < share < 0.33
    for kind in ("error", "slow", "cut"):
        assert 0.08 < faults.count(kind) / len(urls) < 0.12
    assert all(fault_for(url, 0.0) is None for url in urls)
    assert all(fault_for(url, 1.0) is not None for url in urls)
    assert fault_for("http://site1.test/robots.txt", 1.0) is None
    # a higher rate keeps every fault of a lower one: raising it only adds failures
    assert all(fault_for(u, 0.6) is not None for u, f in zip(urls, faults, strict=True) if f)


def test_response_cache_is_bounded_by_bytes_and_least_recently_used() -> None:
    cache = ResponseCache(max_bytes=3 * 1200)
    for k in range(3):
        cache.put((f"u{k}", None, None), _Entry(200, b"", b"x" * 1000))
    assert cache.get(("u0", None, None)) is not None  # u0 now most recently used
    cache.put(("u3", None, None), _Entry(200, b"", b"x" * 1000))
    assert cache.get(("u1", None, None)) is None
    assert cache.get(("u0", None, None)) is not None
    assert len(cache) == 3 and cache.bytes_held <= cache.max_bytes


# ---------------------------------------------------------------------------------------------
# the served web


def test_every_page_kind_answers_like_the_web_itself(
    demo_web: DemoWebProcess, truth_rows: list[dict]
) -> None:
    kinds = by_kind(truth_rows)
    assert len(kinds) >= 2, f"truth lists too few page kinds: {sorted(kinds)}"
    conn = connect(demo_web)
    checked = 0
    for kind, rows in sorted(kinds.items()):
        for row in spread(rows, SAMPLE_PER_KIND):
            url = row["url"]
            expected = demo_web.web.respond(url)
            got = fetch(conn, url)
            assert got.status == expected.status, (kind, url)
            assert got.status in (200, 301), (kind, url, got.status)
            assert got.body == expected.body, (kind, url)
            if got.status == 200:
                assert expected_content_type(url, kind) in got.content_type, (kind, url)
                assert got.header("Content-Length") == str(len(expected.body))
            checked += 1
    conn.close()
    assert checked >= 2 * len(kinds) or checked == len(truth_rows)


def test_robots_txt_on_every_host(demo_web: DemoWebProcess) -> None:
    conn = connect(demo_web)
    for host in demo_web.web.hosts:
        got = fetch(conn, f"http://{host}/robots.txt")
        assert got.status == 200
        assert got.content_type == "text/plain"
        assert b"user-agent" in got.body.lower()
        assert got.body == demo_web.web.respond(f"http://{host}/robots.txt").body
    conn.close()


def test_feeds_and_sitemaps_parse_and_every_listed_url_answers(demo_web: DemoWebProcess) -> None:
    web = demo_web.web
    listings = list(web.feed_urls()) + list(web.sitemap_urls())
    assert listings, "the web lists no feeds or sitemaps"
    conn = connect(demo_web)
    seen: set[str] = set()
    pending = list(listings)
    listed_pages: set[str] = set()
    while pending:
        url = pending.pop()
        if url in seen:
            continue
        seen.add(url)
        got = fetch(conn, url)
        assert got.status == 200, url
        assert "xml" in got.content_type, (url, got.content_type)
        links = xml_links(got.body)
        assert links, f"{url} lists nothing"
        for link in links:
            if link.endswith(".xml") or "sitemap" in urlsplit(link).path:
                pending.append(link)
            else:
                listed_pages.add(link)
    for url in sorted(listed_pages):
        got = fetch(conn, url)
        assert got.status == 200, url
        assert got.content_type == "text/html", url
    conn.close()
    assert listed_pages


def test_conditional_get_answers_304(demo_web: DemoWebProcess, truth_rows: list[dict]) -> None:
    url = an_article_url(demo_web, truth_rows)
    conn = connect(demo_web)
    first = fetch(conn, url)
    assert first.status == 200
    etag, last_modified = first.header("ETag"), first.header("Last-Modified")
    assert etag and last_modified

    by_etag = fetch(conn, url, If_None_Match=etag)
    assert by_etag.status == 304 and by_etag.body == b""
    assert by_etag.header("ETag") == etag
    by_date = fetch(conn, url, If_Modified_Since=last_modified)
    assert by_date.status == 304 and by_date.body == b""

    changed = fetch(conn, url, If_None_Match='"not-the-etag"')
    assert changed.status == 200 and changed.body == first.body
    long_ago = formatdate(0, usegmt=True)
    older = fetch(conn, url, If_Modified_Since=long_ago)
    assert older.status == 200 and older.body == first.body
    # the connection survived a bodiless 304 (no stray bytes in the stream)
    assert fetch(conn, url).body == first.body
    conn.close()


def test_gzip_only_when_asked(demo_web: DemoWebProcess, truth_rows: list[dict]) -> None:
    url = an_article_url(demo_web, truth_rows)
    conn = connect(demo_web)
    plain = fetch(conn, url)
    packed = fetch(conn, url, Accept_Encoding="gzip, deflate")
    refused = fetch(conn, url, Accept_Encoding="gzip;q=0, identity")
    conn.close()
    assert plain.header("Content-Encoding") is None
    assert refused.header("Content-Encoding") is None and refused.body == plain.body
    assert packed.header("Content-Encoding") == "gzip"
    assert "accept-encoding" in (packed.header("Vary") or "").lower()
    assert "accept-encoding" in (plain.header("Vary") or "").lower()
    assert packed.header("Content-Length") == str(len(packed.body))
    assert gzip.decompress(packed.body) == plain.body
    assert len(packed.body) < len(plain.body)


def redirect_candidates(demo: DemoWebProcess, rows: list[dict]) -> list[str]:
    """URLs a real site redirects: /index.html, a section without its trailing slash.

    Ground truth lists only pages that answer 200, so the candidates are derived from them
    and kept when the in-process web says 301.
    """
    urls = [u + "index.html" for u in demo.web.home_urls()]
    urls += [
        r["url"].rstrip("/") for r in rows if r["url"].endswith("/") and r["url"].count("/") > 3
    ]
    return [u for u in dict.fromkeys(urls) if demo.web.respond(u).status == 301]


def test_redirects_lead_to_a_page(demo_web: DemoWebProcess, truth_rows: list[dict]) -> None:
    candidates = redirect_candidates(demo_web, truth_rows)
    assert candidates, "the demo web has no redirecting URL to test"
    conn = connect(demo_web)
    for url in spread(candidates, 2 * SAMPLE_PER_KIND):
        got = fetch(conn, url)
        assert got.status == 301, url
        location = got.header("Location")
        assert location, url
        target = urljoin(url, location)
        assert target != url
        final = fetch(conn, target)
        assert final.status == 200, (url, target)
        assert final.body == demo_web.web.respond(target).body
    conn.close()


def test_unknown_host_and_path_answer_404(demo_web: DemoWebProcess) -> None:
    conn = connect(demo_web)
    assert fetch(conn, "http://no-such-site.test/").status == 404
    host = demo_web.web.hosts[0]
    assert fetch(conn, f"http://{host}/no/such/page-{time.time_ns()}.html").status == 404
    # the connection stays usable after a 404
    assert fetch(conn, f"http://{host}/robots.txt").status == 200
    conn.close()


def test_head_sends_headers_only(demo_web: DemoWebProcess, truth_rows: list[dict]) -> None:
    url = an_article_url(demo_web, truth_rows)
    conn = connect(demo_web)
    get = fetch(conn, url)
    head = fetch(conn, url, method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.header("Content-Length") == get.header("Content-Length")
    assert head.header("ETag") == get.header("ETag")
    conn.close()

    # on a raw socket: a body after HEAD would show up before the next response
    with socket.create_connection((demo_web.host, demo_web.port), timeout=30) as sock:
        host = urlsplit(url).netloc
        sock.sendall(
            f"HEAD {url} HTTP/1.1\r\nHost: {host}\r\n\r\n"
            f"GET http://{host}/robots.txt HTTP/1.1\r\nHost: {host}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        data = _read_all(sock)
    first_end = data.index(b"\r\n\r\n") + 4
    assert data.startswith(b"HTTP/1.1 200")
    assert data[first_end:].startswith(b"HTTP/1.1 200"), data[first_end : first_end + 80]


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_keep_alive_serves_several_requests_on_one_connection(
    demo_web: DemoWebProcess,
) -> None:
    host = demo_web.web.hosts[0]
    conn = connect(demo_web)
    first = fetch(conn, f"http://{host}/robots.txt")
    sock = conn.sock
    assert sock is not None and first.header("Connection") == "keep-alive"
    second = fetch(conn, f"http://{host}/")
    assert conn.sock is sock, "the server closed a keep-alive connection"
    assert first.status == 200 and second.status == 200
    conn.close()

    # pipelined on a raw socket, answered in order
    with socket.create_connection((demo_web.host, demo_web.port), timeout=30) as raw:
        raw.sendall(
            f"GET http://{host}/robots.txt HTTP/1.1\r\nHost: {host}\r\n\r\n"
            f"GET http://no-such-site.test/ HTTP/1.1\r\nHost: no-such-site.test\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        data = _read_all(raw)
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert data.index(b"HTTP/1.1 404 Not Found") > 0


def test_urllib_proxy_handler_and_origin_form(
    demo_web: DemoWebProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    url = demo_web.web.home_urls()[0]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": demo_web.proxy_url}))
    with opener.open(url, timeout=30) as response:
        via_proxy = response.read()
    assert via_proxy == demo_web.web.respond(url).body

    conn = connect(demo_web)
    parts = urlsplit(url)
    conn.request("GET", parts.path or "/", headers={"Host": parts.netloc})
    origin = conn.getresponse()
    assert origin.status == 200 and origin.read() == via_proxy
    conn.close()


def test_bad_requests_get_clear_errors(demo_web: DemoWebProcess) -> None:
    host = demo_web.web.hosts[0]
    conn = connect(demo_web)
    post = fetch(conn, f"http://{host}/", method="POST")
    assert post.status == 405 and "GET" in (post.header("Allow") or "")
    conn.close()
    with socket.create_connection((demo_web.host, demo_web.port), timeout=30) as raw:
        raw.sendall(b"GARBAGE\r\n\r\n")
        assert _read_all(raw).startswith(b"HTTP/1.1 400")
    with socket.create_connection((demo_web.host, demo_web.port), timeout=30) as raw:
        raw.sendall(b"GET /robots.txt HTTP/1.1\r\n\r\n")  # origin form without Host
        assert _read_all(raw).startswith(b"HTTP/1.1 400")


# ---------------------------------------------------------------------------------------------
# fault mode


FAULT_RATE = 0.6
FAULT_DELAY = 0.3


def test_fault_mode_produces_the_faults_it_says(tmp_path: Path) -> None:
    with start_demo_web(tmp_path, faults=FAULT_RATE, fault_delay=FAULT_DELAY) as demo:
        web = demo.web
        urls = [f"http://{h}/robots.txt" for h in web.hosts] + list(web.home_urls())
        urls += list(web.feed_urls()) + list(web.sitemap_urls())
        expected = {url: fault_for(url, FAULT_RATE) for url in urls}
        kinds_present = set(expected.values())
        assert {"error", "slow", "cut", None} <= kinds_present, kinds_present
        seen: dict[str, str | None] = {}
        for url in urls:
            seen[url] = _observe_fault(demo, url)
        assert seen == {u: ("ok" if f is None else f) for u, f in expected.items()}
        # deterministic: the same URL fails the same way again
        failing = next(u for u, f in expected.items() if f == "cut")
        assert _observe_fault(demo, failing) == "cut"


def _observe_fault(demo: DemoWebProcess, url: str) -> str:
    """Classify what a fresh connection sees for `url`: ok, error, slow or cut."""
    reference = demo.web.respond(url)
    conn = connect(demo)
    started = time.monotonic()
    try:
        conn.request("GET", url)
        response = conn.getresponse()
        body = response.read()
    except http.client.IncompleteRead as exc:
        assert 0 < len(exc.partial) < len(reference.body)
        return "cut"
    finally:
        conn.close()
    elapsed = time.monotonic() - started
    if response.status == 500:
        return "error"
    assert response.status == reference.status and body == reference.body, url
    # a slow URL waits at least the delay (a lower bound, so no timing flake)
    return "slow" if elapsed >= FAULT_DELAY else "ok"


# ---------------------------------------------------------------------------------------------
# command line


def _run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "demoweb", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cli_refuses_a_port_in_use(demo_web: DemoWebProcess) -> None:
    done = _run_cli("serve", "--port", str(demo_web.port), "--stories", "5")
    assert done.returncode == 2
    assert "already in use" in done.stderr


def test_cli_rejects_bad_arguments() -> None:
    bad_arguments = (
        ["--port", "70000"],
        ["--port", "x"],
        ["--faults", "1.5"],
        ["--sites", "0"],
        ["--sites", "5000"],  # the web refuses it, the CLI says so
        ["--fault-delay", "-1"],
    )
    for bad in bad_arguments:
        done = _run_cli("serve", *bad)
        assert done.returncode == 2, bad
        assert "error:" in done.stderr, bad


def test_cli_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    with start_demo_web(tmp_path, stories=10) as demo:
        process = demo.process
        process.terminate()
        assert process.wait(timeout=10) == 0
    log = demo.log()
    assert f"at proxy {demo.proxy_url}" in log and "curl -x" in log
    assert "Demo web stopped." in log


def test_cli_writes_truth(tmp_path: Path) -> None:
    out = tmp_path / "truth.parquet"
    done = _run_cli("truth", "--out", str(out), "--stories", "10")
    assert done.returncode == 0, done.stderr
    table = pq.read_table(out)
    assert table.num_rows > 0 and "page_kind" in table.column_names
