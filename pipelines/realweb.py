"""Real pages at their own URLs on a loopback proxy, crawled by `make crawl`'s own runner.

`RealPagesServer` answers requests in proxy form (`GET http://host/path HTTP/1.1`), as the demo
web's server does, with the stored page of that URL (gzip-compressed files of a real-page set,
served as they were saved: bytes in their own encoding, `Content-Type: text/html` without a
charset). Every other URL (robots.txt included) is 404. The pages' https URLs are served as
http (a plain proxy cannot answer CONNECT with the site's certificate): host, path and query
stay as they were. Pages without a real URL (`hard::NAME`) live at `http://hard.realpages.test/NAME`.

`crawl_and_score` writes a sources file with the URLs as `start_urls` (`max_depth: 0`), runs
`python -m crawler.run` on it (politeness off: one loopback server), and scores the stored
`documents` and, on the stored pages of the same crawl, plain trafilatura
(pipelines/evaluate_real.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import yaml

from pipelines.core.urls import canonicalise_url
from pipelines.evaluate_real import RealPage, SnippetCounts, read_page

LOCAL_HOST = "realpages.test"


def served_url(url: str) -> str:
    """The http URL a page of the set is served at (scheme http, fragment dropped).

    A few entries have no real URL ("hard::NAME", "recall::NAME", a typo "xhttps://..."):
    they are served at http://<kind>.realpages.test/NAME, or with the typo mended.
    """
    if url.startswith("xhttp"):
        url = url[1:]
    if not url.startswith(("http://", "https://")):
        kind, _, name = url.partition("::")
        return f"http://{kind or 'page'}.{LOCAL_HOST}/{quote(name or kind)}"
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    netloc = host + (f":{parts.port}" if parts.port and parts.port != 443 else "")
    return urlunsplit(("http", netloc, parts.path or "/", parts.query, ""))


def url_key(url: str) -> str:
    """Host, path and query of a request or page URL: what the server looks pages up by."""
    return canonicalise_url(url)


class RealPagesServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # http.server's default backlog of 5 collapses a crawl

    def __init__(self, pages: dict[str, Path]) -> None:
        self.pages = pages
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else about 40 ms per keep-alive answer

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        target = self.path
        if target.startswith("/"):
            target = f"http://{self.headers.get('Host', '')}{target}"
        path = self.server.pages.get(url_key(target))  # type: ignore[attr-defined]
        if path is None:
            body, status, ctype = b"not found\n", 404, "text/plain"
        else:
            body, status, ctype = read_page(RealPage("", path, (), ())), 200, "text/html"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # one line per request is noise here


@contextmanager
def serve_pages(pages: Sequence[RealPage]) -> Iterator[tuple[str, dict[str, RealPage]]]:
    """Serve the pages in a thread; yield (proxy URL, served URL -> page)."""
    served = {served_url(p.url): p for p in pages}
    server = RealPagesServer({url_key(u): p.path for u, p in served.items()})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.proxy_url, served
    finally:
        server.shutdown()
        server.server_close()


def write_sources(path: Path, proxy: str, urls: Sequence[str]) -> list[str]:
    """A sources file with the URLs the config accepts; return those URLs."""
    from crawler.sources import SourcesError, parse_sources

    ok = []
    for u in urls:
        try:
            parse_sources({"sources": [{"name": "x", "start_urls": [u]}]})
        except SourcesError:
            continue
        ok.append(u)
    raw = {
        "proxy": proxy,
        "sources": [
            {"name": "realpages", "start_urls": ok, "max_depth": 0, "robots_sitemaps": False}
        ],
    }
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return ok


def crawl_and_score(
    pages: Sequence[RealPage], folder: Path, data_dir: Path, workers: int = 0
) -> dict[str, Any]:
    out = data_dir / "evaluation-real"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sources = out / "sources.yaml"
    with serve_pages(pages) as (proxy, served):
        urls = write_sources(sources, proxy, sorted(served))
        cmd = [sys.executable, "-m", "crawler.run", "--sources", str(sources)]
        cmd += ["--data", str(out / "data"), "--bench", "--quiet"]
        subprocess.run(cmd, check=True)
    return score_crawl(out / "data", {u: served[u] for u in urls}, workers)


def score_crawl(data_dir: Path, served: dict[str, RealPage], workers: int = 0) -> dict[str, Any]:
    """Snippet scores of a crawl's documents and of plain trafilatura on its stored pages."""
    from pipelines.evaluate import baseline_texts
    from pipelines.storage.store import read_table

    by_key = {url_key(u): p for u, p in served.items()}
    docs = {
        url_key(d["url"]): d["text"]
        for d in read_table(data_dir, "documents").select(["url", "text"]).to_pylist()
    }
    fetched: dict[str, dict[str, Any]] = {}
    for row in read_table(data_dir, "pages").to_pylist():
        if row["status"] == 200 and row["html"] is not None:
            fetched[url_key(row["url"])] = row
    keys = sorted(k for k in by_key if k in fetched)
    base = baseline_texts([(fetched[k]["html"], fetched[k]["content_type"]) for k in keys], workers)
    plain, ours = SnippetCounts(), SnippetCounts()
    for k, b in zip(keys, base, strict=True):
        plain.add(b, by_key[k], document=bool(b))
        ours.add(docs.get(k, ""), by_key[k], document=k in docs)
    return {
        "served": len(served),
        "fetched": len(keys),
        "trafilatura": plain.to_dict(),
        "pipeline": ours.to_dict(),
        "no_document": sorted(by_key[k].url for k in keys if k not in docs),
    }


if __name__ == "__main__":  # a quick look: serve the set until interrupted
    from pipelines.evaluate_real import DEFAULT_PAGES, load_pages

    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PAGES
    with serve_pages(load_pages(folder)) as (proxy, served):
        print(json.dumps({"proxy": proxy, "pages": len(served)}))
        threading.Event().wait()
