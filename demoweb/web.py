"""The demo web's public API: URLs, routing, HTTP semantics (ETag, 304, redirects), ground truth.

`DemoWeb(seed, sites, stories, day, heavy)` is a pure function of its parameters: any process
renders the same bytes for the same URL. Article pages are generated on request from (seed,
story id); listing pages, feeds and sitemaps use per-site index arrays that are built on first use.

Page ids: an article page of story i, variant v (0 = the original) has pid = i * 64 + v; every
URL scheme carries the pid, so routing needs no lookup table, and wrong slugs redirect.

For benchmarks without HTTP: `story_text(i)` (clean text of story i's original) and
`article_pages(i)` (every page of story i with its clean text and ground truth).
"""

from __future__ import annotations

import functools
import hashlib
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from urllib.parse import parse_qs, quote_plus, urlsplit

import numpy as np

from demoweb import heavy as hv
from demoweb import sites as tpl
from demoweb import text
from demoweb.world import BASE_DATE, MAX_VARIANTS, Placement, Site, World, rng_for, seed_int

PAGE_SIZE = 20
FEED_SIZE = 20
NEWS_SITEMAP_SIZE = 50
SITEMAP_CHUNK = 1000
HTML = "text/html; charset=utf-8"
CONTENT_TYPES = {
    "article": HTML,
    "home": HTML,
    "section": HTML,
    "tag": HTML,
    "search": HTML,
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "feed": "application/xml; charset=utf-8",
    "sitemap_index": "application/xml; charset=utf-8",
    "sitemap": "application/xml; charset=utf-8",
    "robots": "text/plain; charset=utf-8",
}
ALL_TAGS = sorted(
    {t for v in text.TOPICS.values() for t in v["tags"]}
    | {n.replace("-", " ") for n in text.TOPIC_NAMES}
)
TAG_ID = {t: k for k, t in enumerate(ALL_TAGS)}
TAG_BY_SLUG = {text.slugify(t): t for t in ALL_TAGS}


@dataclass(frozen=True)
class Response:
    """One HTTP answer of the demo web; gzip and transport are the server's job."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Rendered:
    """A page with its ground truth, before HTTP semantics are applied."""

    kind: str  # a truth page_kind, or rss/atom for feeds
    body: bytes
    last_modified: datetime
    truth: dict


@dataclass
class SiteIndex:
    """Visible article pages of one site, newest first: compact arrays for a million stories."""

    pid: np.ndarray  # int64
    pub: np.ndarray  # int64 epoch seconds
    section: np.ndarray  # int16 index into site.sections
    tags: np.ndarray  # int16 (n, 3) ids into ALL_TAGS


def base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, d = divmod(n, 36)
        out = digits[d] + out
        if n == 0:
            return out


def http_date(t: datetime) -> str:
    return format_datetime(t.astimezone(UTC), usegmt=True)


class DemoWeb:
    """A deterministic news ecosystem of publisher sites under .test (see module docstring)."""

    def __init__(
        self, seed: int = 1, sites: int = 12, stories: int = 300, day: int = 1, heavy: bool = False
    ) -> None:
        self.seed = seed
        # heavy: every page also carries the weight of a real one (head scripts, styles, JSON
        # state, a mega menu, comments, teasers, related stories; see heavy.py), all furniture.
        self.heavy = heavy
        self.world = World(seed, sites, stories, day)
        self.day = day
        self.sites: list[Site] = self.world.sites
        self.hosts: list[str] = [s.host for s in self.sites]
        self._index: list[SiteIndex] | None = None
        self._render_cache: dict[str, Rendered | Response] = {}
        self.family_content = functools.lru_cache(maxsize=4096)(self._family_content)
        self.facts = functools.lru_cache(maxsize=65536)(self._facts)

    # ------------------------------------------------------------ entry points

    @property
    def n_stories(self) -> int:
        """Number of stories published by the end of `day`."""
        return self.world.total_stories

    def home_urls(self) -> list[str]:
        return [f"http://{h}/" for h in self.hosts]

    def feed_urls(self) -> list[str]:
        out = []
        for s in self.sites:
            if "rss" in s.feeds:
                out.append(f"http://{s.host}{s.rss_path}")
            if "atom" in s.feeds:
                out.append(f"http://{s.host}{s.atom_path}")
        return out

    def sitemap_urls(self) -> list[str]:
        return [f"http://{h}/sitemap_index.xml" for h in self.hosts]

    # ------------------------------------------------------------ story content

    def topic_tags(self, i: int) -> tuple[str, tuple[str, ...], str | None]:
        """(topic, tags, imposed place) of story i: cheap, so the site index can use it."""
        group = self.world.theme_group(i)
        place = None
        if group is not None:
            r = rng_for("theme", self.seed, group)
            topic = r.choice(text.TOPIC_NAMES)
            place = text.make_place(r)
        else:
            topic = text.TOPIC_NAMES[seed_int("topic", self.seed, i) % len(text.TOPIC_NAMES)]
        pool = text.TOPICS[topic]["tags"]
        h = seed_int("tags", self.seed, i)
        first = h % len(pool)
        second = (first + 1 + (h >> 8) % (len(pool) - 1)) % len(pool)
        return topic, (pool[first], pool[second], topic.replace("-", " ")), place

    def _facts(self, i: int) -> text.Facts:
        topic, tags, place = self.topic_tags(i)
        return text.make_facts(rng_for("facts", self.seed, i), topic, place, tags)

    def _family_content(self, i: int, family: int) -> tuple[str, tuple[str, ...], str]:
        """(headline, paragraphs, author) of story i's copy family (0) or r-th rewrite (r)."""
        f = self.facts(i)
        r = rng_for("prose", self.seed, i, family)
        author = f"{r.choice(text.FIRST_NAMES)} {r.choice(text.LAST_NAMES)}"
        if self.world.is_brief(i):
            return text.brief_headline(f, r), tuple(text.brief_paragraphs(f, r)), author
        title = text.headline(f, r)
        # Rewrites run longer: a write-up of a speech by a second outlet adds its own reporting.
        paras = text.article_paragraphs(f, r, r.randint(4, 12) if family == 0 else r.randint(7, 12))
        return title, tuple(paras), author

    def page_content(self, i: int, p: Placement) -> tuple[str, list[str], str]:
        """(title, clean paragraphs, author) of one article page, after its copy kind's edits."""
        title, paras, author = self.family_content(i, p.family)
        out = list(paras)
        if p.copy_kind == "excerpt":
            out = out[: p.excerpt_paragraphs]
        elif p.copy_kind == "edited":
            r = rng_for("edit", self.seed, i, p.variant)
            new_title = text.headline(self.facts(i), r)
            for _ in range(20):  # a new headline, not the original's by chance
                if new_title != title:
                    break
                new_title = text.headline(self.facts(i), r)
            title = new_title if new_title != title else f"{title}: What We Know"
            k = r.randrange(len(out))
            out[k] = text.edit_sentence(out[k], r)
            if len(out) >= 4 and r.random() < 0.5:
                del out[r.randrange(1, len(out))]
            else:
                splittable = [j for j, para in enumerate(out) if para.count(". ") >= 1]
                if splittable:
                    j = r.choice(splittable)
                    sentences = out[j].split(". ")
                    cut = r.randint(1, len(sentences) - 1)
                    out[j : j + 1] = [
                        ". ".join(sentences[:cut]) + ".",
                        ". ".join(sentences[cut:]),
                    ]
        elif p.copy_kind == "original":
            m = self.world.meta(i)
            if m.edited_at is not None and self.world.visible(m.edited_at):
                f = self.facts(i)
                r = rng_for("update", self.seed, i)
                out.append(
                    f"Update: The {f.org} confirmed on {f.weekday} that the figures above were "
                    f"revised after publication, and a further {r.randint(3, 90)} comments "
                    "were received."
                )
        return title, out, author

    def story_text(self, i: int) -> str:
        """Clean text of story i's original page (paragraphs joined by newlines)."""
        p = self.world.meta(i).placements[0]
        return "\n".join(self.page_content(i, p)[1])

    def article_pages(self, i: int) -> list[dict]:
        """Ground-truth rows of every visible page of story i (renders them)."""
        return [self._render_article(i, p).truth for p in self.world.visible_placements(i)]

    # ------------------------------------------------------------ URLs

    def site_of(self, p: Placement) -> Site:
        return self.sites[p.site]

    def article_path(self, i: int, p: Placement) -> str:
        site = self.sites[p.site]
        title = self.page_content_title(i, p)
        slug = text.slugify(title)
        pid = i * MAX_VARIANTS + p.variant
        t = p.published
        scheme = site.url_scheme
        if scheme == 0:
            return f"/{t.year}/{t.month:02d}/{t.day:02d}/{slug}-{pid}/"
        if scheme == 1:
            return f"/news/{pid}-{slug}.html"
        if scheme == 2:
            return f"/story?id={pid}"
        if scheme == 3:
            return f"/a/{slug}-{base36(pid)}"
        if scheme == 4:
            return f"/articles/{pid}/{slug}/"
        section = site.topic_section[self.facts(i).topic]
        return f"/{section}/{slug}-{pid}.html"

    def page_content_title(self, i: int, p: Placement) -> str:
        if p.copy_kind == "edited":
            return self.page_content(i, p)[0]
        return self.family_content(i, p.family)[0]

    def article_url(self, i: int, p: Placement) -> str:
        return f"http://{self.sites[p.site].host}{self.article_path(i, p)}"

    def _pid_from_path(self, site: Site, path: str, query: dict[str, list[str]]) -> int | None:
        s = site.url_scheme
        m = None
        if s == 0:
            m = re.fullmatch(r"/\d{4}/\d{2}/\d{2}/[a-z0-9-]*?-?(\d+)/?", path)
        elif s == 1:
            m = re.fullmatch(r"/news/(\d+)-[a-z0-9-]*\.html", path)
        elif s == 2:
            if path == "/story" and query.get("id", [""])[0].isdigit():
                return int(query["id"][0])
            return None
        elif s == 3:
            m = re.fullmatch(r"/a/[a-z0-9-]*?-?([0-9a-z]+)", path)
            if m:
                return int(m.group(1), 36)
            return None
        elif s == 4:
            m = re.fullmatch(r"/articles/(\d+)(?:/[a-z0-9-]*)?/?", path)
        else:
            m = re.fullmatch(r"/[a-z]+/[a-z0-9-]*?-?(\d+)\.html", path)
        return int(m.group(1)) if m else None

    def _placement(self, site: Site, pid: int) -> tuple[int, Placement] | None:
        i, v = divmod(pid, MAX_VARIANTS)
        if not 0 <= i < self.world.total_stories:
            return None
        for p in self.world.meta(i).placements:
            if p.variant == v and p.site == site.index and self.world.visible(p.published):
                return i, p
        return None

    def _listing_path(self, base: str, site: Site, page: int) -> str:
        if page <= 1:
            return base
        if site.paginate_with_path:
            return f"{base}page/{page}/"
        return f"{base}?page={page}"

    def section_url(self, site: Site, name: str) -> str:
        return f"http://{site.host}/section/{name}/"

    def tag_path(self, site: Site, tag: str) -> str:
        return f"{site.tag_prefix}{text.slugify(tag)}/"

    def search_path(self, q: str) -> str:
        return f"/search?q={quote_plus(q)}"

    def is_disallowed(self, site: Site, path: str) -> bool:
        return path.startswith("/search") or path.startswith(site.disallow_extra)

    # ------------------------------------------------------------ site index

    def index(self) -> list[SiteIndex]:
        """Per-site arrays of visible article pages, newest first; built on first use."""
        if self._index is None:
            n = len(self.sites)
            pids = [array("q") for _ in range(n)]
            pubs = [array("q") for _ in range(n)]
            secs = [array("h") for _ in range(n)]
            tags = [array("h") for _ in range(n)]
            for i in range(self.world.total_stories):
                # Uncached on purpose: a million stories must not fill the caches.
                topic, story_tags, _ = self.topic_tags(i)
                tag_ids = [TAG_ID[t] for t in story_tags]
                for p in self.world._compute_meta(i).placements:
                    if not self.world.visible(p.published):
                        continue
                    site = self.sites[p.site]
                    pids[p.site].append(i * MAX_VARIANTS + p.variant)
                    pubs[p.site].append(int(p.published.timestamp()))
                    secs[p.site].append(site.sections.index(site.topic_section[topic]))
                    tags[p.site].extend(tag_ids)
            out = []
            for k in range(n):
                pid = np.frombuffer(pids[k], dtype=np.int64)
                pub = np.frombuffer(pubs[k], dtype=np.int64)
                order = np.lexsort((-pid, -pub))
                out.append(
                    SiteIndex(
                        pid=pid[order].copy(),
                        pub=pub[order].copy(),
                        section=np.frombuffer(secs[k], dtype=np.int16)[order].copy(),
                        tags=np.frombuffer(tags[k], dtype=np.int16).reshape(-1, 3)[order].copy(),
                    )
                )
            self._index = out
        return self._index

    def _teaser(self, pid: int) -> tuple[str, str, datetime, str]:
        i, v = divmod(int(pid), MAX_VARIANTS)
        p = next(q for q in self.world.meta(i).placements if q.variant == v)
        f = self.facts(i)
        dek = f"{f.place}: the {f.org} {f.act} {f.thing}."
        return self.page_content_title(i, p), self.article_url(i, p), p.published, dek

    def _site_tags(self, site: Site) -> list[str]:
        """Tags that have at least one article on the site, most used first."""
        idx = self.index()[site.index]
        counts = np.bincount(idx.tags.ravel(), minlength=len(ALL_TAGS))
        order = sorted((-int(c), t) for t, c in enumerate(counts) if c > 0)
        return [ALL_TAGS[t] for _, t in order]

    # ------------------------------------------------------------ rendering

    def _sections_nav(self, site: Site) -> list[tuple[str, str]]:
        return [("Home", "/")] + [(name.title(), f"/section/{name}/") for name in site.sections]

    def _search_links(self, site: Site) -> list[tuple[str, str]]:
        return [(q, self.search_path(q)) for q in site.popular_searches]

    def _related(self, i: int, site: Site, before: datetime) -> list[tuple[str, str]]:
        """Up to three earlier stories with a page on this site published before this page.

        Only pages older than the current one qualify, so the list never changes on later days.
        """
        out = []
        for j in range(i - 1, max(-1, i - 60), -1):
            for p in self.world.meta(j).placements:
                if p.site == site.index and p.published < before:
                    out.append((self.page_content_title(j, p), self.article_url(j, p)))
                    break
            if len(out) == 3:
                break
        return out

    def _heavy_pool(self, i: int, site: Site, before: datetime) -> list[hv.Teaser]:
        """Up to 11 earlier stories of the site for a heavy page's related list and teasers.

        Like _related, only pages published before this one qualify (stable across days).
        """
        out: list[hv.Teaser] = []
        for j in range(i - 1, max(-1, i - 150), -1):
            for q in self.world.meta(j).placements:
                if q.site == site.index and q.published < before:
                    fj = self.facts(j)
                    summary = hv.teaser_summary(
                        fj, rng_for("heavy-teaser", self.seed, j, q.variant)
                    )
                    out.append(
                        hv.Teaser(
                            title=self.page_content_title(j, q),
                            url=self.article_url(j, q),
                            summary=summary,
                            author=self.family_content(j, q.family)[2],
                            published=tpl.iso(q.published),
                            section=site.topic_section[fj.topic].title(),
                        )
                    )
                    break
            if len(out) == 11:
                break
        return out

    def _render_article(self, i: int, p: Placement) -> Rendered:
        site = self.sites[p.site]
        meta = self.world.meta(i)
        f = self.facts(i)
        title, paras, author = self.page_content(i, p)
        url = self.article_url(i, p)
        orig_p = next(q for q in meta.placements if q.family == p.family)
        original_url = self.article_url(i, orig_p)
        orig_site = self.sites[orig_p.site]
        is_copy = p.copy_kind in ("verbatim", "excerpt", "edited", "ads_inserted")
        r = rng_for("page", self.seed, i, p.variant)
        credit_line = None
        if is_copy and p.credit:
            credit_line = r.choice(tpl.CREDIT_LINES).format(X=orig_site.name)
        if site.canonical == "none":
            canonical = None
        elif site.canonical == "original" and is_copy:
            canonical = original_url
        else:
            canonical = url
        modified = p.published
        if p.copy_kind == "original" and meta.edited_at and self.world.visible(meta.edited_at):
            modified = meta.edited_at
        section = site.topic_section[f.topic]
        page = tpl.ArticlePage(
            url=url,
            title=title,
            author=author,
            published=p.published,
            modified=modified,
            section=(section.title(), f"/section/{section}/"),
            tags=[(t, self.tag_path(site, t)) for t in f.tags],
            paragraphs=paras,
            copy_kind=p.copy_kind,
            page_seed=rng_for("furniture", self.seed, i, p.variant).randrange(1 << 62),
            credit_line=credit_line,
            canonical=canonical,
            based_on=original_url if (is_copy and site.based_on) else None,
            excerpt_of=(original_url, orig_site.name) if p.copy_kind == "excerpt" else None,
            related=self._related(i, site, p.published),
            topic=f.topic,
        )
        if self.heavy:
            pool = self._heavy_pool(i, site, p.published)
            page.heavy = hv.HeavyPage(
                facts=f,
                related=pool[:5],
                teasers=pool[5:] if len(pool) > 8 else pool[:6],
                page_id=i * MAX_VARIANTS + p.variant,
            )
        html, furniture = tpl.render_article(
            self.seed, site, page, self._sections_nav(site), self._search_links(site)
        )
        if meta.brief:
            hard = f"briefs-{site.host}"
        elif meta.theme_group is not None:
            hard = f"theme-{meta.theme_group}"
        else:
            hard = None
        truth = {
            "url": url,
            "site": site.host,
            "page_kind": "article",
            "disallowed": self.is_disallowed(site, urlsplit(url).path),
            "story_id": i,
            "family_id": f"s{i}-f{p.family}",
            "copy_kind": p.copy_kind,
            "original_url": original_url,
            "title": title,
            "clean_text": "\n".join(paras),
            "furniture": furniture,
            "credit_line": credit_line,
            "canonical_url": canonical,
            "published_at": p.published,
            "hard_negative_group": hard,
            "topic": f.topic,
            "author": author,
            "variant": p.variant,
            "template": tpl.TEMPLATE_NAMES[site.template],
        }
        return Rendered("article", html.encode(), modified, truth)

    def _listing(
        self,
        site: Site,
        kind: str,
        base: str,
        heading: str,
        mask: np.ndarray | None,
        page_no: int,
        query: str = "",
    ) -> Rendered | None:
        idx = self.index()[site.index]
        rows = np.flatnonzero(mask) if mask is not None else None
        total = len(rows) if rows is not None else len(idx.pid)
        size = 10 if kind == "search" else PAGE_SIZE
        n_pages = max(1, -(-total // size))
        if page_no < 1 or page_no > n_pages:
            return None
        lo, hi = (page_no - 1) * size, min(total, page_no * size)
        sel = rows[lo:hi] if rows is not None else np.arange(lo, hi)
        items = [self._teaser(idx.pid[k]) for k in sel]
        own = self._listing_path(base, site, page_no)
        url = f"http://{site.host}{own}"
        feed_links = []
        if "rss" in site.feeds:
            feed_links.append(("rss", site.rss_path))
        if "atom" in site.feeds:
            feed_links.append(("atom", site.atom_path))
        page = tpl.ListingPage(
            url=url,
            kind=kind,
            heading=heading + (f" (page {page_no})" if page_no > 1 else ""),
            items=items,
            prev_url=self._listing_path(base, site, page_no - 1) if page_no > 1 else None,
            next_url=self._listing_path(base, site, page_no + 1) if page_no < n_pages else None,
            page_no=page_no,
            tag_links=[(t, self.tag_path(site, t)) for t in self._site_tags(site)[:8]],
            search_links=self._search_links(site),
            feed_links=feed_links,
            query=query,
            heavy=self.heavy,
        )
        if kind == "search":
            url = f"http://{site.host}{base}"
        canonical = url
        html, furniture = tpl.render_listing(
            self.seed, site, page, self._sections_nav(site), canonical
        )
        newest = int(idx.pub[sel].max()) if len(sel) else int(BASE_DATE.timestamp())
        return Rendered(
            kind,
            html.encode(),
            datetime.fromtimestamp(newest, UTC),
            self._plain_truth(site, url, kind, page.heading, furniture, canonical),
        )

    def _plain_truth(
        self,
        site: Site,
        url: str,
        kind: str,
        title: str,
        furniture: list[str] | None = None,
        canonical: str | None = None,
    ) -> dict:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return {
            "url": url,
            "site": site.host,
            "page_kind": kind,
            "disallowed": self.is_disallowed(site, path),
            "story_id": None,
            "family_id": None,
            "copy_kind": None,
            "original_url": None,
            "title": title,
            "clean_text": None,
            "furniture": furniture or [],
            "credit_line": None,
            "canonical_url": canonical,
            "published_at": None,
            "hard_negative_group": None,
            "topic": None,
            "author": None,
            "variant": None,
            "template": tpl.TEMPLATE_NAMES[site.template],
        }

    def _robots(self, site: Site) -> Rendered:
        body = (
            "# robots.txt for " + site.host + "\n"
            "User-agent: *\n"
            "Disallow: /search\n"
            f"Disallow: {site.disallow_extra}\n"
            "\n"
            "User-agent: BadBot\n"
            "Disallow: /\n"
            "\n"
            f"Sitemap: http://{site.host}/sitemap_index.xml\n"
        )
        url = f"http://{site.host}/robots.txt"
        return Rendered(
            "robots", body.encode(), BASE_DATE, self._plain_truth(site, url, "robots", "robots.txt")
        )

    def _latest(self, site: Site, n: int) -> list[int]:
        return [int(x) for x in self.index()[site.index].pid[:n]]

    def _feed(self, site: Site, kind: str) -> Rendered:
        items = [self._teaser(pid) for pid in self._latest(site, FEED_SIZE)]
        newest = max((t for _, _, t, _ in items), default=BASE_DATE)
        home = f"http://{site.host}/"
        if kind == "rss":
            url = f"http://{site.host}{site.rss_path}"
            entries = "".join(
                f"<item><title>{escape(t)}</title><link>{escape(u)}</link>"
                f'<guid isPermaLink="true">{escape(u)}</guid><pubDate>{http_date(d)}</pubDate>'
                f"<description>{escape(dek)}</description></item>\n"
                for t, u, d, dek in items
            )
            body = (
                '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
                'xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
                f"<title>{escape(site.name)}</title><link>{home}</link>"
                f"<description>Latest stories from {escape(site.name)}</description>"
                f'<atom:link href="{url}" rel="self" type="application/rss+xml"/>'
                f"<lastBuildDate>{http_date(newest)}</lastBuildDate>\n{entries}</channel></rss>\n"
            )
        else:
            url = f"http://{site.host}{site.atom_path}"
            entries = "".join(
                f'<entry><title>{escape(t)}</title><link href="{escape(u)}"/><id>{escape(u)}</id>'
                f"<published>{tpl.iso(d)}</published><updated>{tpl.iso(d)}</updated>"
                f"<summary>{escape(dek)}</summary></entry>\n"
                for t, u, d, dek in items
            )
            body = (
                '<?xml version="1.0" encoding="utf-8"?>\n'
                '<feed xmlns="http://www.w3.org/2005/Atom">'
                f"<title>{escape(site.name)}</title><id>{home}</id>"
                f'<link href="{home}"/><link rel="self" href="{url}"/>'
                f"<updated>{tpl.iso(newest)}</updated>\n{entries}</feed>\n"
            )
        return Rendered(
            kind, body.encode(), newest, self._plain_truth(site, url, "feed", f"{kind} feed")
        )

    def _sitemap_chunks(self, site: Site) -> int:
        return max(1, -(-len(self.index()[site.index].pid) // SITEMAP_CHUNK))

    def _sitemap_index(self, site: Site) -> Rendered:
        idx = self.index()[site.index]
        newest = datetime.fromtimestamp(int(idx.pub[0]), UTC) if len(idx.pub) else BASE_DATE
        names = ["sitemap-news.xml", "sitemap-pages.xml"] + [
            f"sitemap-articles-{k + 1}.xml" for k in range(self._sitemap_chunks(site))
        ]
        entries = "".join(
            f"<sitemap><loc>http://{site.host}/{n}</loc><lastmod>{tpl.iso(newest)}</lastmod>"
            "</sitemap>\n"
            for n in names
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{entries}</sitemapindex>\n"
        )
        url = f"http://{site.host}/sitemap_index.xml"
        return Rendered(
            "sitemap_index",
            body.encode(),
            newest,
            self._plain_truth(site, url, "sitemap_index", "sitemap index"),
        )

    def _sitemap(self, site: Site, name: str) -> Rendered | None:
        idx = self.index()[site.index]
        url = f"http://{site.host}/{name}"
        ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        newest = datetime.fromtimestamp(int(idx.pub[0]), UTC) if len(idx.pub) else BASE_DATE
        if name == "sitemap-news.xml":
            rows = []
            for pid in self._latest(site, NEWS_SITEMAP_SIZE):
                t, u, d, _ = self._teaser(pid)
                rows.append(
                    f"<url><loc>{escape(u)}</loc><news:news><news:publication>"
                    f"<news:name>{escape(site.name)}</news:name><news:language>en"
                    f"</news:language></news:publication><news:publication_date>{tpl.iso(d)}"
                    f"</news:publication_date><news:title>{escape(t)}</news:title>"
                    "</news:news></url>\n"
                )
            ns += ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
        elif name == "sitemap-pages.xml":
            locs = [f"http://{site.host}/"] + [self.section_url(site, s) for s in site.sections]
            rows = [f"<url><loc>{escape(u)}</loc></url>\n" for u in locs]
        else:
            m = re.fullmatch(r"sitemap-articles-(\d+)\.xml", name)
            if not m:
                return None
            k = int(m.group(1))
            if not 1 <= k <= self._sitemap_chunks(site):
                return None
            pids = idx.pid[(k - 1) * SITEMAP_CHUNK : k * SITEMAP_CHUNK]
            pubs = idx.pub[(k - 1) * SITEMAP_CHUNK : k * SITEMAP_CHUNK]
            if len(pubs):
                newest = datetime.fromtimestamp(int(pubs.max()), UTC)
            rows = []
            for pid in pids:
                i, v = divmod(int(pid), MAX_VARIANTS)
                p = next(q for q in self.world.meta(i).placements if q.variant == v)
                rows.append(
                    f"<url><loc>{escape(self.article_url(i, p))}</loc>"
                    f"<lastmod>{tpl.iso(p.published)}</lastmod></url>\n"
                )
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {ns}>\n{"".join(rows)}</urlset>\n'
        return Rendered(
            "sitemap", body.encode(), newest, self._plain_truth(site, url, "sitemap", name)
        )

    # ------------------------------------------------------------ routing

    def _route(self, url: str) -> Rendered | Response | None:
        parts = urlsplit(url)
        site = self.world.site_by_host.get((parts.hostname or "").lower())
        if site is None:
            return None
        path = parts.path or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        host = site.host

        if path == "/robots.txt":
            return self._robots(site)
        if "rss" in site.feeds and path == site.rss_path:
            return self._feed(site, "rss")
        if "atom" in site.feeds and path == site.atom_path:
            return self._feed(site, "atom")
        if path == "/sitemap_index.xml":
            return self._sitemap_index(site)
        if path.startswith("/sitemap-") and path.endswith(".xml"):
            return self._sitemap(site, path[1:])
        if path == "/search":
            q = query.get("q", [""])[0]
            tag = TAG_BY_SLUG.get(text.slugify(q))
            idx = self.index()[site.index]
            if tag is None:
                mask = np.zeros(len(idx.pid), dtype=bool)
            else:
                mask = (idx.tags == TAG_ID[tag]).any(axis=1)
            return self._listing(
                site, "search", self.search_path(q), f"Search results for {q}", mask, 1, q
            )
        m = re.fullmatch(r"/old/(\d+)/?", path)
        if m:
            found = self._placement(site, int(m.group(1)))
            return _redirect(self.article_url(*found)) if found else None

        # Listing pages: home, section, tag; pagination by path or by query.
        page_no = 1
        listing_path = path
        pm = re.fullmatch(r"(.*/)page/(\d+)/?", path)
        if pm:
            if not site.paginate_with_path:
                return None
            listing_path, page_no = pm.group(1), int(pm.group(2))
            if page_no == 1:
                return _redirect(f"http://{host}{listing_path}")
        elif "page" in query:
            if site.paginate_with_path or not query["page"][0].isdigit():
                return None
            page_no = int(query["page"][0])
            if page_no == 1:
                return _redirect(f"http://{host}{listing_path}")
        if listing_path in ("/", "/index.html"):
            if listing_path == "/index.html":
                return _redirect(f"http://{host}/")
            return self._listing(site, "home", "/", "Latest news", None, page_no)
        sm = re.fullmatch(r"/section/([a-z]+)(/?)", listing_path)
        if sm and sm.group(1) in site.sections:
            if not sm.group(2):
                return _redirect(f"http://{host}{listing_path}/")
            k = site.sections.index(sm.group(1))
            mask = self.index()[site.index].section == k
            return self._listing(site, "section", listing_path, sm.group(1).title(), mask, page_no)
        if listing_path.startswith(site.tag_prefix):
            tm = re.fullmatch(r"([a-z0-9-]+)(/?)", listing_path[len(site.tag_prefix) :])
            tag = TAG_BY_SLUG.get(tm.group(1)) if tm else None
            if tm and tag is not None:
                mask = (self.index()[site.index].tags == TAG_ID[tag]).any(axis=1)
                if not mask.any():
                    return None
                if not tm.group(2):
                    return _redirect(f"http://{host}{listing_path}/")
                return self._listing(site, "tag", listing_path, f"Tag: {tag}", mask, page_no)
            return None
        if page_no != 1:
            return None

        pid = self._pid_from_path(site, path, query)
        if pid is None:
            return None
        found = self._placement(site, pid)
        if found is None:
            return None
        canonical = self.article_url(*found)
        own = path + (f"?{parts.query}" if parts.query else "")
        if own != urlsplit(canonical).path + (
            f"?{urlsplit(canonical).query}" if urlsplit(canonical).query else ""
        ):
            return _redirect(canonical)
        return self._render_article(*found)

    def render(self, url: str) -> Rendered | Response | None:
        """Route and render one URL (cached); None for 404, Response for redirects."""
        hit = self._render_cache.get(url)
        if hit is None:
            hit = self._route(url)
            if hit is not None:
                if len(self._render_cache) > 2048:
                    self._render_cache.clear()
                self._render_cache[url] = hit
        return hit

    def respond(
        self, url: str, *, if_none_match: str | None = None, if_modified_since: str | None = None
    ) -> Response:
        """The HTTP answer for an absolute URL: 200, 301, 304 or 404 (see module docstring)."""
        r = self.render(url)
        if r is None:
            body = (
                b"<!DOCTYPE html><html><head><title>Not found</title></head><body>"
                b"<h1>404 Not Found</h1></body></html>\n"
            )
            return Response(404, {"Content-Type": HTML}, body)
        if isinstance(r, Response):
            return r
        etag = '"' + hashlib.blake2b(r.body, digest_size=10).hexdigest() + '"'
        headers = {
            "Content-Type": CONTENT_TYPES[r.kind],
            "ETag": etag,
            "Last-Modified": http_date(r.last_modified),
        }
        if _not_modified(etag, r.last_modified, if_none_match, if_modified_since):
            return Response(304, headers, b"")
        return Response(200, headers, r.body)

    # ------------------------------------------------------------ ground truth

    def listing_urls(self, site: Site) -> Iterator[str]:
        """Every home, section, tag and linked search page URL of a site that answers 200."""
        idx = self.index()[site.index]
        size = PAGE_SIZE

        def pages(base: str, total: int) -> Iterator[str]:
            for k in range(1, max(1, -(-total // size)) + 1):
                yield f"http://{site.host}{self._listing_path(base, site, k)}"

        yield from pages("/", len(idx.pid))
        for k, name in enumerate(site.sections):
            yield from pages(f"/section/{name}/", int((idx.section == k).sum()))
        for tag in self._site_tags(site):
            total = int((idx.tags == TAG_ID[tag]).any(axis=1).sum())
            yield from pages(self.tag_path(site, tag), total)
        for q in site.popular_searches:
            yield f"http://{site.host}{self.search_path(q)}"

    def truth_rows(self) -> Iterator[dict]:
        """One ground-truth row per URL the web serves with 200 (see truth.TRUTH_SCHEMA)."""
        for site in self.sites:
            yield self._robots(site).truth
            for u in self.feed_urls():
                if urlsplit(u).hostname == site.host:
                    yield self._route(u).truth  # type: ignore[union-attr]
            yield self._sitemap_index(site).truth
            names = ["sitemap-news.xml", "sitemap-pages.xml"] + [
                f"sitemap-articles-{k + 1}.xml" for k in range(self._sitemap_chunks(site))
            ]
            for n in names:
                yield self._sitemap(site, n).truth  # type: ignore[union-attr]
            for u in self.listing_urls(site):
                yield self._route(u).truth  # type: ignore[union-attr]
        for i in range(self.world.total_stories):
            yield from self.article_pages(i)


def _redirect(location: str) -> Response:
    body = f'<html><body>Moved to <a href="{escape(location)}">{escape(location)}</a></body></html>'
    return Response(301, {"Location": location, "Content-Type": HTML}, body.encode())


def _not_modified(
    etag: str, last_modified: datetime, if_none_match: str | None, if_modified_since: str | None
) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since when both are sent."""
    if if_none_match is not None:
        tags = [t.strip() for t in if_none_match.split(",")]
        return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return since >= last_modified.replace(microsecond=0)
    return False
