"""HTML templates of the demo web's publisher sites, and the furniture they put on a page.

Every site has one of twelve template families with really different markup (semantic
<article>, div soup, a table layout, BEM classes, hashed CSS-in-JS classes, paragraphs straight
under <body>, ...). Furniture is injected *inside* the article container between body
paragraphs. Part of it uses the same markup as a body paragraph (`blend`), which is what makes a
general extractor keep it; the rest sits in containers whose class names give it away.

Rendering returns the HTML and the list of furniture lines (text of each boilerplate block with
at least four words) so the ground truth knows exactly what a perfect extractor must drop.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from demoweb import heavy as hv
from demoweb.text import FIRST_NAMES, LAST_NAMES, PLACE_A, PLACE_B
from demoweb.world import NETWORK_LINE, Site, hash_s, rng_for

MONTHS = (
    "January February March April May June July August September October November December"
).split()
MONTH_ABBR = "Jan. Feb. March April May June July Aug. Sept. Oct. Nov. Dec.".split()


def fmt_date(t: datetime, style: int) -> str:
    """The site's visible date format: ISO, '23 November 2026', 'Nov. 23, 2026 4:05 PM', US."""
    if style == 0:
        return t.strftime("%Y-%m-%d %H:%M")
    if style == 1:
        return f"{t.day} {MONTHS[t.month - 1]} {t.year}"
    if style == 2:
        hour = t.hour % 12 or 12
        ampm = "AM" if t.hour < 12 else "PM"
        return f"{MONTH_ABBR[t.month - 1]} {t.day}, {t.year} {hour}:{t.minute:02d} {ampm}"
    return f"{t.month:02d}/{t.day:02d}/{t.year}"


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def esc(s: str) -> str:
    return escape(s, quote=False)


def attr(s: str) -> str:
    return escape(s, quote=True)


def words(s: str) -> int:
    return len(s.split())


@dataclass
class ArticlePage:
    """What an article page shows; web.py fills it, render_article turns it into HTML."""

    url: str
    title: str
    author: str
    published: datetime
    modified: datetime
    section: tuple[str, str]  # (label, url)
    tags: list[tuple[str, str]]
    paragraphs: list[str]
    copy_kind: str
    page_seed: int
    dek: str = ""
    credit_line: str | None = None
    canonical: str | None = None
    based_on: str | None = None  # JSON-LD isBasedOn
    excerpt_of: tuple[str, str] | None = None  # (original url, original outlet)
    related: list[tuple[str, str]] = field(default_factory=list)
    topic: str = ""
    heavy: hv.HeavyPage | None = None  # DemoWeb(heavy=True): the page's weight (see heavy.py)


@dataclass
class ListingPage:
    """A home, section, tag or search page: teasers and pagination links."""

    url: str
    kind: str  # home, section, tag, search
    heading: str
    items: list[tuple[str, str, datetime, str]]  # (title, url, published, dek)
    prev_url: str | None = None
    next_url: str | None = None
    page_no: int = 1
    section_links: list[tuple[str, str]] = field(default_factory=list)
    tag_links: list[tuple[str, str]] = field(default_factory=list)
    search_links: list[tuple[str, str]] = field(default_factory=list)
    feed_links: list[tuple[str, str]] = field(default_factory=list)  # (type, url)
    query: str = ""
    heavy: bool = False  # DemoWeb(heavy=True): scripts, styles, state and a mega menu


# ---------------------------------------------------------------- per-site furniture pools

AD_TEMPLATES = [
    "{P} homeowners are switching to this {J} solar plan",
    "The {n} kitchen gadgets everyone in {P} is buying this year",
    "Doctors are surprised by this simple habit for better sleep",
    "Retirees near {P} should check this pension rule before December",
    "This little-known savings account now pays {k} percent interest",
    "Why drivers in {P} are quietly dropping their car insurance",
    "See the {n} best-rated walking shoes of the season",
    "Winter getaways to the coast you can still book this month",
    "Tired of high energy bills? Try this {J} trick tonight",
    "The mattress that hotel guests keep asking about",
    "How one {P} family paid off their mortgage in {n} years",
    "Stop scrolling: these garden tools are half price this week",
    "A financial planner explains the {J} mistake most savers make",
    "The hearing aid that nobody notices is finally affordable",
    "Local roofers in {P} hate this {J} gutter cover",
    "Play the strategy game that thousands of adults cannot put down",
]
AD_BODY_TEMPLATES = [
    "Looking for a smarter way to save this winter? Customers of {S} in {P} cut their heating "
    "bills by a third last year, and a free assessment takes only ten minutes.",
    "Advertisement: {S} is hiring drivers and warehouse staff across the region. Flexible "
    "shifts, weekly pay and a signing bonus for applications received before the holidays.",
    "Planning a kitchen remodel? {S} offers free design visits to homes in {P} this month, "
    "with no obligation and a price guarantee on every cabinet.",
    "Sponsored content: thousands of readers already trust {S} with their savings. Open an "
    "account online in minutes and earn a welcome bonus on your first deposit.",
    "Paid post: the new seasonal menu at {S} is here, with locally sourced ingredients and a "
    "family deal every weekday evening until the end of the year.",
    "Get {k} percent off your first order from {S}. Fresh groceries delivered to your door "
    "anywhere in {P}, with free returns and no subscription required.",
]
SPONSOR_A = "Bright North Summit Keystone Evergreen Blue Harbor Silver Prairie Oak".split()
SPONSOR_B = (
    "Energy|Credit Union|Hardware|Insurance Group|Dental Care|Home Services|Motors|Grocers"
).split("|")
SOCIAL_TEXTS = [
    "Standing room only at the {P} hearing tonight, never seen it this full",
    "Big news for {P} this week and I am still reading the fine print",
    "Thread on what today's decision means for everyone in {P} below",
    "Just left the meeting, long night but a real result for {P}",
    "Photos from this morning in {P}, what a turnout for a weekday",
]
CAPTIONS = [
    "A view of the main street in {P} on a quiet weekday morning",
    "Residents gather outside the town hall in {P} before the meeting",
    "The site in {P} where work is expected to begin next year",
    "Members of the public listen during the hearing in {P}",
    "Traffic moves past the old depot in {P} earlier this autumn",
]
AGENCIES = ["Staff", "Pool Photo", "Press Association", "Contributed", "City Handout"]
NEWSLETTER_LINES = [
    "Sign up for the {O} morning briefing and never miss a story",
    "Get the best of {O} delivered to your inbox every weekday",
    "Like this story? Our free newsletter brings you more every morning",
    "Join thousands of readers who start their day with {O}",
]
SHARE_LINES = [
    "Share this article with a friend",
    "Share this story on your favourite network",
    "Found this useful? Pass it on to someone who cares",
    "Send this story to a friend or colleague",
]
READ_MORE_LINES = [
    "Click here to read more from {O}",
    "Read more local news from {O} here",
    "For more stories like this, visit {O} every day",
    "Click here to read more stories from {O}",
]
DISCLAIMERS = [
    "{N} is a contributing writer. The views expressed are the author's own.",
    "{N} is a freelance journalist based in {P}. Opinions are the author's own.",
    "This article reflects reporting by a community contributor and has been lightly edited.",
    "{O} is committed to accuracy. If you spot an error, please tell our standards editor.",
]
CREDIT_LINES = [
    "This article first appeared on {X}.",
    "Republished with permission from {X}.",
    "This story was originally published by {X} and is republished here with permission.",
    "Originally published by {X}. Reprinted under a content-sharing agreement.",
]
EXCERPT_LINES = [
    "Read the full article here",
    "Continue reading the full story at {X}",
    "Read the full article at {X}",
    "This is an excerpt. Read the rest of the story on {X}",
]
BRIEF_BOILERPLATE = [
    "Community notices are compiled by the {O} news desk from information supplied by local "
    "organisations and public agencies.",
    "To submit a notice for this column, email the community desk at least five working days "
    "before your event, including a contact name and a daytime phone number.",
    "Notices are published free of charge as a service to our readers and may be edited for "
    "length, clarity and style.",
]
COOKIE_LINES = [
    "We use cookies to improve your experience and to show you relevant advertising.",
    "This site uses cookies. By continuing to browse you agree to our use of cookies.",
    "Cookies help us deliver our services. Manage your preferences at any time.",
    "We and our partners store information on your device to personalise content.",
]
TAGLINES = [
    "Independent news for {R} since {Y}",
    "Your trusted source for local news and views",
    "News, sport and culture from across the region",
    "Reporting without fear or favour since {Y}",
]
FOOTER_LINES = [
    "Copyright 2026 {O}. All rights reserved.",
    "Reproduction without written permission is prohibited.",
    "Contact the newsroom with tips and corrections",
    "Privacy policy and terms of use apply to this site",
    "{O} is a member of the regional press council",
    "Advertise with us and reach readers across the region",
]


@dataclass(frozen=True)
class SitePools:
    """Rotating furniture of one site: ad headlines, sponsors, its tagline and footer."""

    ads: tuple[str, ...]
    ad_bodies: tuple[str, ...]
    sponsors: tuple[str, ...]
    tagline: str
    cookie: str
    footer: tuple[str, ...]
    handle_seed: int


_POOLS: dict[tuple[int, str], SitePools] = {}


def pools(seed: int, site: Site) -> SitePools:
    """The site's furniture pools, drawn once per (seed, host)."""
    key = (seed, site.host)
    p = _POOLS.get(key)
    if p is None:
        r = rng_for("pools", seed, site.host)
        place = r.choice(PLACE_A) + r.choice(PLACE_B)
        sponsors = tuple(f"{r.choice(SPONSOR_A)} {r.choice(SPONSOR_B)}" for _ in range(4))

        def fill(t: str) -> str:
            return t.format(
                P=place,
                J=r.choice(["clever", "simple", "odd", "new", "little-known"]),
                n=r.choice(["five", "seven", "ten", "twelve"]),
                k=r.choice([4, 5, 15, 20, 30]),
                S=r.choice(sponsors),
                O=site.name,
                R=f"the {place} area",
                Y=r.randint(1921, 2004),
            )

        p = SitePools(
            ads=tuple(fill(t) for t in r.sample(AD_TEMPLATES, 10)),
            ad_bodies=tuple(fill(t) for t in r.sample(AD_BODY_TEMPLATES, 4)),
            sponsors=sponsors,
            tagline=fill(r.choice(TAGLINES)),
            cookie=r.choice(COOKIE_LINES),
            footer=tuple(fill(t) for t in r.sample(FOOTER_LINES, 3)),
            handle_seed=r.randrange(1 << 30),
        )
        _POOLS[key] = p
    return p


class Doc:
    """HTML under construction plus the furniture lines it contains."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.furniture: list[str] = []

    def add(self, *s: str) -> None:
        self.parts.extend(s)

    def furn(self, line: str) -> None:
        """Record a boilerplate line (its visible text) if it is long enough to matter."""
        line = " ".join(line.split())
        if words(line) >= 4 and line not in self.furniture:
            self.furniture.append(line)

    def html(self) -> str:
        return "".join(self.parts)


# ---------------------------------------------------------------- template families

# Markup of one body paragraph per template (open, close) and the article container.
P_WRAP = {
    0: ("<p>", "</p>"),
    1: ('<div class="para">', "</div>"),
    2: ("<p>", "</p>"),
    3: ('<p class="story-p">', "</p>"),
    4: ('<div class="c-paragraph"><p class="c-paragraph__text">', "</p></div>"),
    5: ("<p>", "</p>"),
    6: ('<p class="css-p0o9i8 e1xfvim30">', "</p>"),
    7: ("<p>", "</p>"),
    8: ("<p>", "</p>"),
    9: ('<p class="bodytext">', "</p>"),
    10: ("<p>", "</p>"),
    11: ('<div class="txt"><span>', "</span></div>"),
}
TEMPLATE_NAMES = {
    0: "semantic-article",
    1: "div-soup",
    2: "table-layout",
    3: "sections",
    4: "bem-components",
    5: "wordpress",
    6: "css-in-js",
    7: "bootstrap-grid",
    8: "bare-body",
    9: "wire-ids",
    10: "magazine-chunks",
    11: "span-blocks",
}


def _head(
    doc: Doc, site: Site, title: str, canonical: str | None, extra: str = "", heavy: str = ""
) -> None:
    doc.add(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)} | {esc(site.name)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
    )
    for ident in site.analytics:  # the accounts a real page loads (world._with_accounts)
        if ident.startswith("GTM-"):
            doc.add(
                "<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':"
                "new Date().getTime(),event:'gtm.js'});})(window,document,'script',"
                f"'dataLayer','{ident}');</script>"
            )
        else:
            doc.add(
                f'<script async src="https://www.googletagmanager.com/gtag/js?id={ident}"></script>'
            )
    if site.ad_client:
        doc.add(
            '<script async src="https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js'
            f'?client={site.ad_client}" crossorigin="anonymous"></script>'
        )
    if canonical:
        doc.add(f'<link rel="canonical" href="{attr(canonical)}">')
    doc.add(extra, heavy, f'<link rel="stylesheet" href="/static/{site.template}.css"></head>\n')


def _chrome_top(doc: Doc, site: Site, p: SitePools, sections: list[tuple[str, str]]) -> None:
    doc.furn(p.tagline)
    doc.furn(p.cookie)
    nav = "".join(f'<li><a href="{attr(u)}">{esc(lbl)}</a></li>' for lbl, u in sections)
    cookie = (
        f'<div class="cookie-notice" id="cookie-consent"><p>{esc(p.cookie)}</p>'
        "<button>Accept</button> <button>Settings</button></div>\n"
    )
    if site.chrome == 0:
        doc.add(
            cookie,
            f'<header class="site-header"><a class="logo" href="/">{esc(site.name)}</a>',
            f'<p class="brand-bar">{esc(p.tagline)}</p><nav><ul>{nav}</ul></nav></header>\n',
        )
    elif site.chrome == 1:
        doc.add(
            f'<div id="top"><div class="brand"><a href="/">{esc(site.name)}</a>',
            f'<span class="slogan-bar">{esc(p.tagline)}</span></div>',
            f'<div class="menu-main"><ul>{nav}</ul></div></div>\n',
            cookie,
        )
    elif site.chrome == 2:
        doc.add(
            '<table class="masthead" width="100%"><tr>',
            f'<td><a href="/"><b>{esc(site.name)}</b></a><br>',
            f'<span class="tagline-bar">{esc(p.tagline)}</span></td>',
            f'<td class="topnav"><ul>{nav}</ul></td></tr></table>\n',
            cookie,
        )
    else:
        doc.add(
            f'<div class="gdpr-bar" role="dialog"><span>{esc(p.cookie)}</span></div>\n',
            f'<div class="hdr"><h3><a href="/">{esc(site.name)}</a></h3>',
            f'<div class="topbar">{esc(p.tagline)}</div>',
            f'<div class="navbar"><ul>{nav}</ul></div></div>\n',
        )


def _chrome_bottom(doc: Doc, site: Site, p: SitePools, search_links: list[tuple[str, str]]) -> None:
    for line in p.footer:
        doc.furn(line)
    lines = "".join(f"<p>{esc(line)}</p>" for line in p.footer)
    searches = "".join(f'<a href="{attr(u)}">{esc(lbl)}</a> ' for lbl, u in search_links)
    form = (
        '<form action="/search" method="get"><input name="q" type="text">'
        "<button>Search</button></form>"
    )
    if site.chrome in (0, 3):
        doc.add(
            f'<footer class="site-footer">{form}<div class="popular">Popular: {searches}</div>',
            f"{lines}</footer>\n</body></html>\n",
        )
    else:
        doc.add(
            f'<div id="footer" class="ftr">{form}<div>Trending searches: {searches}</div>',
            f"{lines}</div>\n</body></html>\n",
        )


def _body_open(site: Site) -> str:
    return f'<body class="t{site.template} c{site.chrome}">\n'


# ---------------------------------------------------------------- furniture injection


def _pick(r: random.Random, seq: tuple[str, ...] | list[str]) -> str:
    return seq[r.randrange(len(seq))]


def _furniture_blocks(
    site: Site, page: ArticlePage, p: SitePools, r: random.Random, brief: bool
) -> tuple[list[tuple[int, str, str, str]], list[tuple[str, str, str]]]:
    """Furniture to inject: (position, plain text, inner html, container html) per block.

    Position k means "after body paragraph k". Each block either blends (rendered with the body
    paragraph markup) or keeps a tell-tale container; returns (mid-body blocks, end blocks).
    """
    n = len(page.paragraphs)
    place = _pick(r, PLACE_A) + _pick(r, PLACE_B)
    prob = dict(site.furniture)
    if brief:  # briefs carry heavy furniture on purpose (hard negatives)
        prob = {k: min(1.0, v + 0.5) for k, v in prob.items()}
    mid: list[tuple[int, str, str, str]] = []
    end: list[tuple[str, str, str]] = []

    def pos() -> int:
        return r.randint(1, max(1, n - 1)) if n > 1 else 1

    def blends(kind: str) -> bool:
        # Briefs blend everything a site has: two briefs then share most of their visible text.
        return (brief or kind in site.leaky) and r.random() < site.blend

    def block(kind: str, plain: str, inner: str, cls: str) -> tuple[str, str, str]:
        container = "" if blends(kind) else f'<div class="{cls}">{inner}</div>'
        return plain, inner, container

    if r.random() < prob["sponsor"]:
        s = _pick(r, p.sponsors)
        plain = r.choice(
            [f"This story is sponsored by {s}.", f"Presented by {s}, proudly local since 1990."]
        )
        mid.append((0, *block("sponsor", plain, f"<em>{esc(plain)}</em>", "sponsor-ad-label")))
    if r.random() < prob["ads"]:
        for ad in r.sample(p.ads, r.randint(1, 3)):
            inner = f'<a href="/promo/{hash_s(ad) % 9999}" rel="sponsored">{esc(ad)}</a>'
            mid.append((pos(), *block("ads", ad, inner, "ad-slot")))
    if r.random() < prob["image"]:
        cap = _pick(r, CAPTIONS).format(P=place)
        credit = f"Photo: {_pick(r, FIRST_NAMES)} {_pick(r, LAST_NAMES)} / {_pick(r, AGENCIES)}"
        plain = f"{cap}. {credit}"
        if blends("image"):
            mid.append((pos(), plain, f"<em>{esc(cap)}.</em> {esc(credit)}", ""))
        else:
            fig = (
                f'<div class="image-embed"><figure><img src="/img/{r.randrange(10**6)}.jpg" '
                f'alt=""><figcaption>{esc(cap)}. <span>{esc(credit)}</span></figcaption>'
                "</figure></div>"
            )
            mid.append((pos(), plain, "", fig))
    if r.random() < prob["social"]:
        first = _pick(r, FIRST_NAMES)
        handle = f"@{first.lower()}{r.randrange(10, 99)}"
        txt = _pick(r, SOCIAL_TEXTS).format(P=place)
        quote = f"<blockquote><p>{esc(txt)}</p>&#8212; {esc(first)} ({esc(handle)})</blockquote>"
        if not blends("social"):
            quote = f'<div class="embed-social">{quote}</div>'
        mid.append((pos(), txt, "", quote))
    if r.random() < prob["read_more"]:
        line = _pick(r, READ_MORE_LINES).format(O=site.name)
        inner = f'<a href="/"><strong>{esc(line)}</strong></a>'
        mid.append((pos(), *block("read_more", line, inner, "more-on-site")))
    if r.random() < prob["newsletter"]:
        line = _pick(r, NEWSLETTER_LINES).format(O=site.name)
        inner = f'<strong>{esc(line)}</strong> <a href="/newsletter">Subscribe</a>'
        mid.append((pos(), *block("newsletter", line + " Subscribe", inner, "newsletter-box")))
    if r.random() < prob["related"] and page.related:
        if blends("related"):
            for title, url in page.related:
                inner = f'<strong>Read also:</strong> <a href="{attr(url)}">{esc(title)}</a>'
                mid.append((pos(), f"Read also: {title}", inner, ""))
        else:
            items = "".join(f'<li><a href="{attr(u)}">{esc(t)}</a></li>' for t, u in page.related)
            box = f'<div class="related-links"><h4>Related coverage</h4><ul>{items}</ul></div>'
            end.append(("\n".join(t for t, _ in page.related), "", box))
    if r.random() < prob["share"]:
        line = _pick(r, SHARE_LINES)
        end.append(block("share", line, esc(line), "share-tools"))
    if r.random() < prob["disclaimer"]:
        line = _pick(r, DISCLAIMERS).format(N=page.author, P=place, O=site.name)
        end.append(block("disclaimer", line, f"<em>{esc(line)}</em>", "article-meta-note"))
    if brief:  # the same column furniture on every brief of the site, plain paragraphs
        lines = [t.format(O=site.name) for t in BRIEF_BOILERPLATE]
        mid.append((0, lines[0], esc(lines[0]), ""))
        for line in lines[1:] + list(p.ad_bodies[:2]):
            end.append((line, esc(line), ""))
    if page.copy_kind == "ads_inserted":
        bodies = r.sample(p.ad_bodies, r.randint(2, 3))
        for k, ad in enumerate(bodies):
            at = max(1, (k + 1) * n // (len(bodies) + 1))
            mid.append((at, ad, esc(ad), ""))
    if site.network and r.random() < 0.9:  # the planted network's line (world.NETWORK_LINE),
        mid.append((pos(), NETWORK_LINE, esc(NETWORK_LINE), ""))  # marked up as body text
    return mid, end


# ---------------------------------------------------------------- metadata


def _metadata(site: Site, page: ArticlePage) -> str:
    out = []
    if site.metadata in ("jsonld", "both"):
        ld: dict[str, object] = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": page.title,
            "datePublished": iso(page.published),
            "dateModified": iso(page.modified),
            "author": {"@type": "Person", "name": page.author},
            "publisher": {"@type": "Organization", "name": site.name},
            "mainEntityOfPage": page.url,
        }
        if page.based_on:
            ld["isBasedOn"] = page.based_on
        out.append(
            '<script type="application/ld+json">'
            + json.dumps(ld, sort_keys=True).replace("</", "<\\/")
            + "</script>"
        )
    if site.metadata in ("og", "both"):
        out.append(
            f'<meta property="og:type" content="article">'
            f'<meta property="og:title" content="{attr(page.title)}">'
            f'<meta property="og:url" content="{attr(page.url)}">'
            f'<meta property="og:site_name" content="{attr(site.name)}">'
            f'<meta property="article:published_time" content="{iso(page.published)}">'
            f'<meta name="author" content="{attr(page.author)}">'
        )
    return "".join(out)


# ---------------------------------------------------------------- article rendering


def render_article(
    seed: int,
    site: Site,
    page: ArticlePage,
    sections: list[tuple[str, str]],
    search_links: list[tuple[str, str]],
) -> tuple[str, list[str]]:
    """Render one article page; returns (html, furniture lines in page order)."""
    p = pools(seed, site)
    r = random.Random(page.page_seed)
    doc = Doc()
    brief = page.copy_kind == "brief"
    sh = hv.site_heavy(seed, site) if page.heavy else None
    heavy_head = ""
    if page.heavy and sh:
        state = hv.state_of(
            page.url,
            page.title,
            page.heavy.related + page.heavy.teasers,
            {"section": page.section[0], "author": page.author, "pageId": page.heavy.page_id},
        )
        heavy_head = hv.head_extra(sh, state)
    _head(doc, site, page.title, page.canonical, _metadata(site, page), heavy_head)
    doc.add(_body_open(site))
    _chrome_top(doc, site, p, sections)
    if sh:
        _heavy_menu(doc, sh)
    mid, end = _furniture_blocks(site, page, p, r, brief)
    po, pc = P_WRAP[site.template]

    # Credit line and excerpt link are part of the article container, like body text.
    top: list[str] = []
    bottom: list[str] = []
    if page.credit_line:
        credit_html = f"{po}<em>{esc(page.credit_line)}</em>{pc}"
        if site.credit_boxed:
            credit_html = f'<div class="syndication-credit">{credit_html}</div>'
        if r.random() < 0.4:
            top.append(credit_html)
        else:
            bottom.append(credit_html)
        doc.furn(page.credit_line)
    body: list[str] = list(top)
    by_pos: dict[int, list[tuple[str, str, str]]] = {}
    for at, plain, inner, container in mid:
        by_pos.setdefault(at, []).append((plain, inner, container))
    for k, para in enumerate(page.paragraphs):
        for plain, inner, container in by_pos.pop(k, []):
            body.append(container if container else f"{po}{inner}{pc}")
            for line in plain.split("\n"):
                doc.furn(line)
        body.append(f"{po}{esc(para)}{pc}")
    for at in sorted(by_pos):
        for plain, inner, container in by_pos[at]:
            body.append(container if container else f"{po}{inner}{pc}")
            for line in plain.split("\n"):
                doc.furn(line)
    if page.excerpt_of:
        orig_url, outlet = page.excerpt_of
        line = _pick(r, EXCERPT_LINES).format(X=outlet)
        link = f'{po}<a href="{attr(orig_url)}">{esc(line)}</a>{pc}'
        body.append(link if r.random() < 0.5 else f'<div class="next-read">{link}</div>')
        doc.furn(line)
    body.extend(bottom)
    for plain, inner, container in end:
        body.append(container if container else f"{po}{inner}{pc}")
        for line in plain.split("\n"):
            doc.furn(line)
    body_html = "\n".join(body)

    date_txt = fmt_date(page.published, site.date_format)
    date_html = f'<time datetime="{iso(page.published)}">{esc(date_txt)}</time>'
    byline = f"By {page.author}"
    tags_html = " ".join(f'<a href="{attr(u)}">{esc(lbl)}</a>' for lbl, u in page.tags)
    sec_lbl, sec_url = page.section
    dek = f'<p class="dek">{esc(page.dek)}</p>' if page.dek else ""
    if page.dek:
        doc.furn(page.dek)
    t = site.template
    title = esc(page.title)
    if t == 0:
        doc.add(
            f'<main><article class="post"><header><a href="{attr(sec_url)}">{esc(sec_lbl)}</a>',
            f'<h1>{title}</h1>{dek}<p class="byline">{esc(byline)}</p>{date_html}</header>\n',
            f'<div class="entry-content">\n{body_html}\n</div>',
            f'<footer class="entry-footer">Tags: {tags_html}</footer></article></main>\n',
        )
    elif t == 1:
        doc.add(
            '<div class="c1"><div class="c2"><div class="crumbs">',
            f'<a href="/">Home</a> &gt; <a href="{attr(sec_url)}">{esc(sec_lbl)}</a></div>',
            f'<div class="headline-wrap"><h2 class="hl">{title}</h2></div>{dek}',
            f'<div class="dl">{esc(date_txt)} &middot; {esc(byline)}</div>',
            f'<div class="story-txt">\n{body_html}\n</div>',
            f'<div class="kw">{tags_html}</div></div></div>\n',
        )
    elif t == 2:
        side = "".join(f'<p><a href="{attr(u)}">{esc(lbl)}</a></p>' for lbl, u in sections)
        doc.add(
            '<table width="100%" cellpadding="4"><tr>',
            f'<td class="left" width="160" valign="top">{side}</td>',
            f'<td class="main" valign="top"><font size="5"><b>{title}</b></font><br>',
            f"<i>{esc(date_txt)}</i> | {esc(byline)}<br>{dek}\n{body_html}\n",
            f"<br>Filed under: {tags_html}</td>",
            '<td class="right" width="200" valign="top">&nbsp;</td></tr></table>\n',
        )
    elif t == 3:
        doc.add(
            f'<main><section class="story-head"><h1>{title}</h1>{dek}',
            f'<div class="story-meta">{esc(byline)} &middot; {date_html}</div></section>\n',
            f'<section class="story-body">\n{body_html}\n</section>',
            f'<section class="story-foot">{tags_html}</section></main>\n',
        )
    elif t == 4:
        doc.add(
            '<div class="l-page"><article class="c-article">',
            f'<div class="c-article__kicker"><a href="{attr(sec_url)}">{esc(sec_lbl)}</a></div>',
            f'<h1 class="c-article__title">{title}</h1>{dek}',
            f'<div class="c-article__meta"><span>{esc(byline)}</span> {date_html}</div>',
            f'<div class="c-article__body">\n{body_html}\n</div>',
            f'<div class="c-article__topics">{tags_html}</div></article></div>\n',
        )
    elif t == 5:
        pid = page.page_seed % 99991
        doc.add(
            '<div id="page" class="site"><div id="content" class="site-content">',
            '<div id="primary" class="content-area"><main id="main" class="site-main">',
            f'<article id="post-{pid}" class="post-{pid} post type-post status-publish">',
            f'<header class="entry-header"><h1 class="entry-title">{title}</h1>',
            f'<div class="entry-meta"><span class="posted-on">{date_html}</span>',
            f'<span class="byline">{esc(byline)}</span></div></header>{dek}',
            f'<div class="entry-content">\n{body_html}\n</div>',
            f'<footer class="entry-footer"><span class="cat-links">{tags_html}</span></footer>',
            "</article></main></div></div></div>\n",
        )
    elif t == 6:
        doc.add(
            '<div id="__next"><div class="css-1a2b3c e1"><div class="css-9x8y7z e2">',
            f'<h1 class="css-k4j5h6 e3">{title}</h1>{dek}',
            f'<div class="css-m3n4b5"><span>{esc(byline)}</span><span>{esc(date_txt)}</span></div>',
            f'<div class="css-q1w2e3 e4" data-testid="story-body">\n{body_html}\n</div>',
            f'<div class="css-t6y7u8">{tags_html}</div></div></div></div>\n',
        )
    elif t == 7:
        most = "".join(f'<li><a href="{attr(u)}">{esc(lbl)}</a></li>' for lbl, u in sections)
        doc.add(
            '<div class="container"><div class="row"><div class="col-md-8">',
            f'<h1>{title}</h1>{dek}<span class="dateline">{esc(date_txt)}</span>',
            f" <span>{esc(byline)}</span>",
            f'<div class="article-text">\n{body_html}\n</div><div>{tags_html}</div></div>',
            f'<div class="col-md-4"><div class="sidebar"><ul>{most}</ul></div></div>',
            "</div></div>\n",
        )
    elif t == 8:
        doc.add(
            f"<h1>{title}</h1>{dek}<p><i>{esc(byline)}, {esc(date_txt)}</i></p><hr>\n",
            f"{body_html}\n<hr><p>{tags_html}</p>\n",
        )
    elif t == 9:
        doc.add(
            f'<div id="story"><h1 id="headline">{title}</h1>{dek}',
            f'<div id="dateline">{esc(date_txt)} ({esc(site.name)}) - {esc(byline)}</div>',
            f'<div id="bodytext">\n{body_html}\n</div>',
            f'<div id="keywords">{tags_html}</div></div>\n',
        )
    elif t == 10:
        chunks = body_html.split("\n")
        step = max(2, len(chunks) // 3)
        grouped = "\n".join(
            '<section class="chunk">' + "".join(chunks[i : i + step]) + "</section>"
            for i in range(0, len(chunks), step)
        )
        doc.add(
            f'<article><div class="hero"><h1>{title}</h1>{dek}',
            f'<p class="standfirst-meta">{esc(byline)} | {esc(date_txt)}</p></div>',
            f'<div class="body">\n{grouped}\n</div><div class="topics">{tags_html}</div>',
            "</article>\n",
        )
    else:
        doc.add(
            f'<div class="wrapper"><div class="inner"><div class="ttl"><b>{title}</b></div>{dek}',
            f'<div class="pubdate">{esc(date_txt)}</div><div class="writer">{esc(byline)}</div>',
            f'<div class="storytext">\n{body_html}\n</div>',
            f'<div class="labels">{tags_html}</div></div></div>\n',
        )
    if page.heavy and sh:
        related_html, teaser_html, lines = hv.after_article(site.name, page.heavy)
        comments_html, comment_lines = hv.comments(
            page.heavy.facts, rng_for("heavy-comments", seed, page.url)
        )
        doc.add(related_html, comments_html, teaser_html)
        for line in (
            lines[: len(page.heavy.related)] + comment_lines + lines[len(page.heavy.related) :]
        ):
            doc.furn(line)
        _heavy_footer(doc, sh)
    _chrome_bottom(doc, site, p, search_links)
    return doc.html(), doc.furniture


def _heavy_menu(doc: Doc, sh: hv.SiteHeavy) -> None:
    doc.add(sh.menu_html)
    for label in sh.menu_labels:
        doc.furn(label)


def _heavy_footer(doc: Doc, sh: hv.SiteHeavy) -> None:
    doc.add(sh.footer_html, sh.tail_scripts)
    for label in sh.footer_labels:
        doc.furn(label)


# ---------------------------------------------------------------- listing rendering


def render_listing(
    seed: int,
    site: Site,
    page: ListingPage,
    sections: list[tuple[str, str]],
    canonical: str | None,
) -> tuple[str, list[str]]:
    """Render a home, section, tag or search page: teasers and pagination, little prose."""
    p = pools(seed, site)
    doc = Doc()
    feeds = "".join(
        f'<link rel="alternate" type="application/{kind}+xml" href="{attr(u)}">'
        for kind, u in page.feed_links
    )
    sh = hv.site_heavy(seed, site) if page.heavy else None
    heavy_head = ""
    if sh:
        state = {
            "props": {
                "pageProps": {
                    "url": page.url,
                    "kind": page.kind,
                    "heading": page.heading,
                    "items": [
                        {"headline": t, "url": u, "datePublished": iso(d), "dek": dek}
                        for t, u, d, dek in page.items
                    ],
                }
            },
            "page": f"/{page.kind}",
        }
        heavy_head = hv.head_extra(sh, state)
    _head(doc, site, page.heading, canonical, feeds, heavy_head)
    doc.add(_body_open(site))
    _chrome_top(doc, site, p, sections)
    if sh:
        _heavy_menu(doc, sh)
    t = site.template
    items = []
    for title, url, published, dek in page.items:
        d = esc(fmt_date(published, site.date_format))
        if t == 2:
            items.append(f'<tr><td><a href="{attr(url)}">{esc(title)}</a></td><td>{d}</td></tr>')
        elif t in (1, 6, 11):
            items.append(
                f'<div class="card"><a class="card-link" href="{attr(url)}">{esc(title)}</a>'
                f'<div class="card-date">{d}</div><div class="card-dek">{esc(dek)}</div></div>'
            )
        else:
            items.append(
                f'<li><h3><a href="{attr(url)}">{esc(title)}</a></h3><span>{d}</span>'
                f"<p>{esc(dek)}</p></li>"
            )
    if t == 2:
        listing = f'<table class="list">{"".join(items)}</table>'
    elif t in (1, 6, 11):
        listing = f'<div class="cards">{"".join(items)}</div>'
    else:
        listing = f'<ul class="teasers">{"".join(items)}</ul>'
    if not page.items:
        listing = "<p>No stories found.</p>"
    pager = []
    if page.prev_url:
        pager.append(f'<a rel="prev" href="{attr(page.prev_url)}">Newer stories</a>')
    if page.next_url:
        pager.append(f'<a rel="next" href="{attr(page.next_url)}">Older stories</a>')
    tag_html = "".join(f'<a href="{attr(u)}">{esc(lbl)}</a> ' for lbl, u in page.tag_links)
    search_form = ""
    if page.kind == "search":
        search_form = (
            f'<form action="/search"><input name="q" value="{attr(page.query)}"></form>'
            f"<p>{len(page.items)} results</p>"
        )
    doc.add(
        f'<main class="listing {page.kind}"><h1>{esc(page.heading)}</h1>{search_form}',
        listing,
        f'<div class="pager">{" ".join(pager)}</div>',
        f'<div class="topics-box">Topics: {tag_html}</div></main>\n',
    )
    if sh:
        _heavy_footer(doc, sh)
    _chrome_bottom(doc, site, p, page.search_links)
    return doc.html(), doc.furniture
