"""The hostile corner of the demo web: what real servers do to crawlers, served on loopback.

Every demo-web server also answers for ``hostile.test`` and a few sub-hosts, which nothing in
the ordinary demo web links to (so `make crawl` never sees them). A sources file that lists
``http://hostile.test/`` crawls them all; the suite does, to test each case over real HTTP:

    /redirect-loop/a          302 -> /redirect-loop/b -> /redirect-loop/a ...
    /redirect-chain/0         302 -> /redirect-chain/1 -> ... -> /redirect-chain/30 (an article)
    /bomb-small.html          1 MB of gzip that expands to 1 GiB (Content-Encoding: gzip)
    /bomb.html                10 MB of gzip that expands to 10 GiB
    /cp1252.html              an article in windows-1252 with no charset anywhere
    /latin1.html              labelled iso-8859-1, with windows-1252 bytes (the euro sign)
    /mislabelled.html         meta says utf-8, the bytes are windows-1252
    /xhtml.html               XHTML that begins with <?xml version="1.0" encoding="utf-8"?>
    /nul.html                 an article with NUL bytes in its text
    /binary.html              random bytes served as text/html
    /calendar/2026/01         each month links to the next, for ever
    /retry-after/short        503 with Retry-After: 2 the first time, then an article
    /retry-after/long         always 503 with Retry-After: 120
    /query?b=2&a=1            an article only at this exact query (order kept), else 404
    /_hits                    JSON: every URL asked for so far -> the times it was asked
    robots500.hostile.test    robots.txt answers 500; its pages are articles
    hugerobots.hostile.test   a 2 MB robots.txt whose first rule disallows /private/

Answers that depend on earlier requests (retry-after) are marked ``cacheable=False`` for the
server; the bombs carry their own ``Content-Encoding`` (``encoded=True``).
"""

from __future__ import annotations

import gzip
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlsplit

HOST = "hostile.test"
ROBOTS_5XX_HOST = "robots500." + HOST
HUGE_ROBOTS_HOST = "hugerobots." + HOST
HOSTS = (HOST, ROBOTS_5XX_HOST, HUGE_ROBOTS_HOST)
HTML = "text/html; charset=utf-8"
RETRY_AFTER_SHORT = 2
RETRY_AFTER_LONG = 120
REDIRECT_CHAIN = 30
# The strings the charset cases must come back as (tests compare documents' text with them):
# one per page, so that the furniture model never sees one line on several pages.
CHARSET_PHRASES = {
    "cp1252": "The naïve café owner paid €5 for a crème brûlée – a “bargain”, she said.",
    "latin1": "In Zürich the señor’s piñata cost €12 — façade repairs cost more.",
    "mislabelled": "Ångström’s résumé listed “déjà vu” and a naïve €3 coöperative.",
}
XHTML_PHRASE = "This XHTML page declares its encoding in an XML declaration before the html."
NUL_PHRASE = "This page carries NUL bytes in the middle of its running text."


@dataclass
class HostileResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    cacheable: bool = True
    encoded: bool = False  # the body already carries its Content-Encoding


def is_hostile(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == HOST or host.endswith("." + HOST)


def article_html(title: str, paragraphs: list[str], *, head: str = "") -> str:
    """A plain news article page that any extractor can read (og:type article)."""
    body = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        "<!DOCTYPE html>\n<html><head>" + head + f"<title>{escape(title)}</title>"
        '<meta property="og:type" content="article">'
        f'<meta property="og:title" content="{escape(title)}">'
        "</head><body><header><a href='/'>Hostile Times</a></header>"
        f"<article><h1>{escape(title)}</h1>\n{body}\n</article>"
        "<footer>Hostile Times, a test site</footer></body></html>\n"
    )


def _paragraphs(topic: str, first: str | None = None) -> list[str]:
    rng = random.Random(topic)
    words = (
        "council budget river bridge school teachers parents vote mayor library road "
        "repairs summer festival market traders weather storm harbour ferry tickets "
        "hospital nurses clinic station trains timetable museum exhibition volunteers"
    ).split()
    out = [first] if first else []
    for k in range(5):
        sentence = " ".join(rng.choice(words) for _ in range(22))
        out.append(f"{topic.capitalize()} report, part {k + 1}: the {sentence}.")
    return out


@dataclass
class HostileWeb:
    """The hostile pages; ``respond`` has the DemoWeb signature so one server serves both."""

    hits: Counter[str] = field(default_factory=Counter)
    times: dict[str, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _bombs: dict[int, bytes] = field(default_factory=dict, repr=False)

    def respond(
        self, url: str, *, if_none_match: str | None = None, if_modified_since: str | None = None
    ) -> HostileResponse:
        parts = urlsplit(url)
        host, path = (parts.hostname or "").lower(), parts.path or "/"
        if path == "/_hits":  # for tests: when each URL was asked for (time.time() values)
            body = json.dumps(self.times, sort_keys=True).encode()
            return HostileResponse(200, {"Content-Type": "application/json"}, body, cacheable=False)
        with self._lock:
            self.hits[url] += 1
            self.times.setdefault(url, []).append(time.time())
            hit = self.hits[url]
        if host == ROBOTS_5XX_HOST:
            if path == "/robots.txt":
                return HostileResponse(500, {"Content-Type": HTML}, b"<h1>500 Server Error</h1>")
            return self._article(f"robots five hundred {path}")
        if host == HUGE_ROBOTS_HOST:
            if path == "/robots.txt":
                return HostileResponse(200, {"Content-Type": "text/plain"}, huge_robots())
            if path == "/":
                links = '<a href="/ok.html">ok</a> <a href="/private/secret.html">private</a>'
                return _html(200, f"<html><body>{links}</body></html>")
            return self._article(f"huge robots {path}")
        if path == "/robots.txt":
            return HostileResponse(
                200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"
            )
        if path == "/":
            return _html(200, index_html())
        if path.startswith("/redirect-loop/"):
            target = "/redirect-loop/b" if path.endswith("/a") else "/redirect-loop/a"
            return _redirect(target)
        if path.startswith("/redirect-chain/"):
            step = int(path.rsplit("/", 1)[1] or 0)
            if step < REDIRECT_CHAIN:
                return _redirect(f"/redirect-chain/{step + 1}")
            return self._article("redirect chain end")
        if path == "/bomb-small.html":
            return self._bomb(1)
        if path == "/bomb.html":
            return self._bomb(10)
        if path == "/cp1252.html":
            phrase = CHARSET_PHRASES["cp1252"]
            html = article_html("A windows-1252 page", _paragraphs("cp1252", phrase))
            return HostileResponse(200, {"Content-Type": "text/html"}, html.encode("cp1252"))
        if path == "/latin1.html":
            phrase = CHARSET_PHRASES["latin1"]
            html = article_html("A latin-1 label", _paragraphs("latin1", phrase))
            ct = "text/html; charset=iso-8859-1"
            return HostileResponse(200, {"Content-Type": ct}, html.encode("cp1252"))
        if path == "/mislabelled.html":
            head = '<meta charset="utf-8">'
            phrase = CHARSET_PHRASES["mislabelled"]
            html = article_html("Mislabelled", _paragraphs("mislabel", phrase), head=head)
            return HostileResponse(200, {"Content-Type": "text/html"}, html.encode("cp1252"))
        if path == "/xhtml.html":
            return HostileResponse(200, {"Content-Type": "application/xhtml+xml"}, xhtml_page())
        if path == "/nul.html":
            html = article_html("NUL bytes", _paragraphs("nul bytes", NUL_PHRASE))
            body = html.replace("running text", "running\x00 text\x00").encode("utf-8")
            return HostileResponse(200, {"Content-Type": HTML}, body)
        if path == "/binary.html":
            noise = random.Random(7).randbytes(50_000)
            return HostileResponse(200, {"Content-Type": HTML}, noise)
        if path == "/brief.html":  # short paragraphs only: its shape says "no article"
            return _html(200, brief_html())
        if path == "/feed.xml":  # announces the brief: an article by declaration
            item = f"<item><title>Brief</title><link>http://{HOST}/brief.html</link></item>"
            body = f'<?xml version="1.0"?><rss><channel>{item}</channel></rss>'.encode()
            return HostileResponse(200, {"Content-Type": "application/rss+xml"}, body)
        if path == "/broken-feed.xml":  # an HTML error page where the feed should be
            return _html(200, "<html><body><h1>Feed moved</h1></body></html>")
        if path == "/broken-sitemap.xml":  # a soft 404: an HTML page with status 200
            return _html(200, "<html><body><h1>Page not found</h1></body></html>")
        if path.startswith("/calendar/"):
            return _html(200, calendar_html(path))
        if path == "/retry-after/short":
            if hit == 1:
                return _unavailable(RETRY_AFTER_SHORT)
            return self._article("retry after short", cacheable=False)
        if path == "/retry-after/long":
            return _unavailable(RETRY_AFTER_LONG)
        if path == "/query":
            if parts.query == "b=2&a=1":
                return self._article("query order kept")
            return _html(
                404, "<html><body><h1>404: parameters in the wrong order</h1></body></html>"
            )
        return _html(404, "<html><body><h1>404 Not Found</h1></body></html>")

    def _article(self, topic: str, *, cacheable: bool = True) -> HostileResponse:
        html = article_html(topic.capitalize(), _paragraphs(topic))
        return HostileResponse(200, {"Content-Type": HTML}, html.encode(), cacheable=cacheable)

    def _bomb(self, megabytes: int) -> HostileResponse:
        """About ``megabytes`` MB of gzip that expands about 1,000 times (gzip members repeated)."""
        if megabytes not in self._bombs:
            member = gzip.compress(bytes(64 << 20), compresslevel=9, mtime=0)  # 64 MiB of zeros
            self._bombs[megabytes] = member * max(1, (megabytes << 20) // len(member))
        headers = {"Content-Type": HTML, "Content-Encoding": "gzip"}
        return HostileResponse(200, headers, self._bombs[megabytes], encoded=True)


def _html(status: int, html: str) -> HostileResponse:
    return HostileResponse(status, {"Content-Type": HTML}, html.encode("utf-8"))


def _redirect(location: str) -> HostileResponse:
    return HostileResponse(302, {"Location": location, "Content-Type": HTML}, b"moved")


def _unavailable(seconds: int) -> HostileResponse:
    headers = {"Content-Type": HTML, "Retry-After": str(seconds)}
    return HostileResponse(503, headers, b"<h1>503 busy</h1>", cacheable=False)


INDEX_LINKS = (
    "/brief.html",  # linked here before the feed that announces it is read
    "/redirect-loop/a",
    "/redirect-chain/0",
    "/bomb-small.html",
    "/bomb.html",
    "/cp1252.html",
    "/latin1.html",
    "/mislabelled.html",
    "/xhtml.html",
    "/nul.html",
    "/binary.html",
    "/calendar/2026/01",
    "/retry-after/short",
    "/retry-after/long",
    "/query?b=2&a=1&utm_source=newsletter",
    f"http://{ROBOTS_5XX_HOST}/a.html",
    f"http://{HUGE_ROBOTS_HOST}/",
)


def index_html() -> str:
    items = "\n".join(f'<li><a href="{escape(u)}">{escape(u)}</a></li>' for u in INDEX_LINKS)
    head = "<!DOCTYPE html><html><head><title>Hostile Times</title></head>"
    return f"{head}<body><ul>{items}</ul></body></html>"


BRIEF_PHRASE = "The ferry timetable changes on Monday"


def brief_html() -> str:
    """A news brief with no paragraph of 20 words: no og:type, no JSON-LD, only a feed says."""
    lines = [
        f"{BRIEF_PHRASE}, the harbour office said.",
        "Morning sailings leave ten minutes earlier than before.",
        "Evening sailings are unchanged for the summer season.",
        "Tickets bought before the change stay valid on every sailing.",
        "The office answers questions at the harbour desk until six.",
        "A printed timetable is available at the station and the library.",
    ]
    body = "".join(f"<p>{escape(line)}</p>" for line in lines)
    head = "<!DOCTYPE html><html><head><title>Ferry timetable changes</title></head>"
    return f"{head}<body><main><h1>Ferry timetable changes</h1>{body}</main></body></html>"


def calendar_html(path: str) -> str:
    """A month page that links to the next month, for ever (a classic crawler trap)."""
    try:
        year, month = (int(x) for x in path.strip("/").split("/")[1:3])
    except ValueError:
        year, month = 2026, 1
    nxt = (year + (month // 12), month % 12 + 1)
    link = f"/calendar/{nxt[0]}/{nxt[1]:02d}"
    return (
        f"<!DOCTYPE html><html><head><title>Events {year}-{month:02d}</title></head><body>"
        f"<h1>Events in {year}-{month:02d}</h1><p>No events.</p>"
        f'<a href="{link}">next month</a></body></html>'
    )


def xhtml_page() -> bytes:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in _paragraphs("xhtml", XHTML_PHRASE))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>An XHTML page</title>'
        '<meta property="og:type" content="article" /></head>'
        f"<body><article><h1>An XHTML page</h1>{paragraphs}</article></body></html>\n"
    ).encode()


_HUGE_ROBOTS: bytes | None = None


def huge_robots() -> bytes:
    """2 MB of robots.txt: the one rule that matters comes first, then 2 MB of noise."""
    global _HUGE_ROBOTS
    if _HUGE_ROBOTS is None:
        head = "User-agent: *\nDisallow: /private/\n"
        noise = "".join(
            f"# padding line {k:07d} of a robots.txt far too big\n" for k in range(45_000)
        )
        _HUGE_ROBOTS = (head + noise).encode()
    return _HUGE_ROBOTS
