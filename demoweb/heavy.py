"""The weight of real news pages, for `DemoWeb(heavy=True)`: everything outside the article.

Real article pages weigh 60-200 KB, most of it not the story: consent-manager, analytics and
ad-loader scripts in <head>, inline stylesheets, a JSON state blob for the client-side app, a
mega menu of a hundred and more links, a comment thread, teasers with summaries of other stories
and a related-stories list. This module renders those parts; sites.py puts them on the page.

Everything is drawn from private seeded streams (`rng_for`): the scripts, styles and menu once
per (seed, host), the comments once per page URL, a teaser summary once per story. A light web
(heavy off) never calls anything here, so its pages are byte for byte what they were.

Visible text that an extractor could keep (comments, teaser headlines and summaries, related
headlines, long menu labels) is returned to the caller, which records it as furniture.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from html import escape

from demoweb import text
from demoweb.world import Site, hash_s, rng_for


def _esc(s: str) -> str:
    return escape(s, quote=False)


def _attr(s: str) -> str:
    return escape(s, quote=True)


def _json(obj: object) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).replace("</", "<\\/")


@dataclass(frozen=True)
class Teaser:
    """Another story of the site, as a teaser shows it."""

    title: str
    url: str
    summary: str
    author: str
    published: str  # ISO timestamp
    section: str


@dataclass
class HeavyPage:
    """What web.py knows that the heavy parts of one article page need."""

    facts: text.Facts
    teasers: list[Teaser] = field(default_factory=list)  # teaser grid ("More from ...")
    related: list[Teaser] = field(default_factory=list)  # related-stories list
    page_id: int = 0


# ---------------------------------------------------------------- scripts

_SYL = (
    "ad an ar be bo ca co da de di el en fa fi ga go ha in ka la le li lo ma mi mo na ne no".split()
)
_SYL += "or pa pe pi po ra re ri ro sa se si so ta te ti to ul va ve vi ya za ze zo".split()
_VERBS = "get set load init track push read write apply check parse build resolve flush emit"
_NOUNS = "Consent Vendor Slot Event Cookie Config Queue Beacon Frame Token Purpose Session User"
_NOUNS += " Page Targeting Bid Metric Viewport Storage Signal Region Layer Tag Experiment"
_EVENTS = "load scroll click visibilitychange resize message pagehide focus keydown".split()
_KEYS = "euconsent-v2 _ga _gid __gads _pbjs_userid _fbp ab_bucket nl_seen cmp_ts _sp_id uid"

STATEMENTS = (
    "var {a}=d.createElement('script');{a}.async=!0;{a}.src='{url}';"
    "(d.head||d.documentElement).appendChild({a});",
    "if(!{a}||typeof {a}!=='object'){{return {b};}}",
    "for(var {i}=0;{i}<{a}.length;{i}++){{if({a}[{i}]&&{a}[{i}].id==={n}){{{b}.push({a}[{i}]);}}}}",
    "w.addEventListener('{ev}',function({e}){{{f}({e}&&{e}.detail||{{}});}},{{passive:!0}});",
    "try{{{a}=JSON.parse(w.localStorage.getItem('{key}')||'{{}}');}}catch({e}){{{a}={{}};}}",
    "w.dataLayer=w.dataLayer||[];w.dataLayer.push({{event:'{ev}',ts:Date.now(),v:{n}}});",
    "return String({a}).replace(/[^a-z0-9_-]/gi,'').slice(0,{n});",
    "var {a}=Math.floor(Math.random()*{n})+1,{b}={a}%{m};",
    "d.cookie='{key}='+encodeURIComponent({a})+';path=/;max-age={n}000;SameSite=Lax';",
    "{a}=Object.assign({{}},{b},{{ready:!0,ts:+new Date,retries:{m}}});",
    "if({a}.readyState==='complete'){{{f}();}}else{{{a}.addEventListener('{ev}',{f});}}",
    "var {a}=new XMLHttpRequest();{a}.open('POST','{url}',!0);"
    "{a}.setRequestHeader('Content-Type','text/plain');{a}.send(JSON.stringify({b}));",
    "{a}.forEach(function({e}){{{b}[{e}.name]={e}.value||null;}});",
    "return {a}?{b}.filter(function({e}){{return {e}.purposes.indexOf({m})>-1;}}):[];",
    "setTimeout(function(){{{f}({a},{b});}},{n});",
    "var {a}=w.performance&&w.performance.now?w.performance.now():Date.now();",
    "if(w.navigator&&w.navigator.sendBeacon){{w.navigator.sendBeacon('{url}',{a});}}",
    "{a}.style.minHeight={n}+'px';{a}.setAttribute('data-slot','{key}');",
    "switch({a}.type){{case '{ev}':{b}++;break;case 'gdpr':{b}--;break;default:{b}={m};}}",
)


def _ident(r: random.Random, long: bool) -> str:
    if long:
        return r.choice(_VERBS.split()) + r.choice(_NOUNS.split())
    return r.choice("abcdefghijklmnopqrstuvwxyz") + r.choice("abcdefghijklmnopqrstuvwxyz0123456789")


def _cdn(r: random.Random, host: str) -> str:
    sub = r.choice(["cdn", "static", "assets", "js", "tags", "sdk", "c"])
    name = "".join(r.choice(_SYL) for _ in range(r.randint(2, 3)))
    tld = r.choice(["com", "net", "io"])
    path = "/".join("".join(r.choice(_SYL) for _ in range(2)) for _ in range(r.randint(1, 3)))
    return f"https://{sub}.{name}.{tld}/{path}/{r.randint(1, 9)}.{r.randint(0, 40)}.js?h={host}"


def _function(r: random.Random, host: str, long_names: bool) -> str:
    name = _ident(r, True) if long_names else _ident(r, False)
    a, b = _ident(r, False), _ident(r, False)
    body = []
    for _ in range(r.randint(3, 8)):
        body.append(
            r.choice(STATEMENTS).format(
                a=_ident(r, False),
                b=r.choice([a, b, _ident(r, False)]),
                i=r.choice("ijk"),
                e=r.choice("etn"),
                f=_ident(r, long_names),
                n=r.randint(2, 9999),
                m=r.randint(1, 12),
                ev=r.choice(_EVENTS),
                key=r.choice(_KEYS.split()),
                url=_cdn(r, host),
            )
        )
    return f"function {name}({a},{b}){{{''.join(body)}}}"


def _vendor_list(r: random.Random) -> list[dict[str, object]]:
    out = []
    for k in range(r.randint(30, 60)):
        name = "".join(r.choice(_SYL) for _ in range(r.randint(2, 4))).title()
        name += r.choice(["", " Media", " Ads", " Analytics", " Technologies", " Group", " Ltd"])
        out.append(
            {
                "id": k + r.randint(1, 9) + 3 * k,
                "name": name,
                "purposes": sorted(r.sample(range(1, 11), r.randint(1, 6))),
                "legIntPurposes": sorted(r.sample(range(2, 11), r.randint(0, 3))),
                "features": sorted(r.sample(range(1, 4), r.randint(0, 2))),
                "policyUrl": f"https://{name.split()[0].lower()}.example/privacy",
                "cookieMaxAgeSeconds": r.choice([86400, 2592000, 31536000, 63072000]),
            }
        )
    return out


@dataclass(frozen=True)
class SiteHeavy:
    """The parts of a heavy page that are the same on every page of a site."""

    scripts: str  # <script> blocks for <head>
    style: str  # <style> blocks
    tail_scripts: str  # scripts and tracking pixels at the end of <body>
    menu_html: str
    menu_labels: tuple[str, ...]
    menu_links: int
    footer_html: str
    footer_labels: tuple[str, ...]
    state_kind: str  # next (a __NEXT_DATA__ element) or window (window.__STATE__ = ...)
    gtm: str


_SITES: dict[tuple[int, str], SiteHeavy] = {}


def site_heavy(seed: int, site: Site) -> SiteHeavy:
    """Scripts, styles, menu and footer of a site's heavy pages, drawn once per (seed, host)."""
    key = (seed, site.host)
    got = _SITES.get(key)
    if got is None:
        got = _build_site(rng_for("heavy-site", seed, site.host), site)
        _SITES[key] = got
    return got


def _build_site(r: random.Random, site: Site) -> SiteHeavy:
    host = site.host
    gtm = "GTM-" + "".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(7))
    ga = f"G-{r.randrange(10**9, 10**10):X}"
    blocks = []
    # consent manager: a vendor list and its functions
    vendors = _vendor_list(r)
    funcs = "".join(_function(r, host, True) for _ in range(r.randint(6, 12)))
    blocks.append(
        '<script id="cmp-stub">(function(w,d){"use strict";var cmp=w.__tcfapi_cfg||{};'
        f"cmp.version='2.{r.randint(0, 9)}.{r.randint(0, 40)}';cmp.gdprApplies=!0;"
        f"cmp.vendorListVersion={r.randint(100, 400)};cmp.vendors={_json(vendors)};"
        f"{funcs}w.__tcfapi_cfg=cmp;}})(window,document);</script>"
    )
    # tag manager and analytics
    blocks.append(
        "<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),"
        "event:'gtm.js'});var f=d.getElementsByTagName(s)[0],j=d.createElement(s),"
        "dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src='https://tags.example/gtm.js?id='+i+dl;"
        f"f.parentNode.insertBefore(j,f);}})(window,document,'script','dataLayer','{gtm}');"
        f"window.gtagId='{ga}';</script>"
    )
    for _ in range(r.randint(2, 4)):  # analytics, ad loader, paywall, experiments: minified
        mod = _ident(r, True)
        funcs = "".join(_function(r, host, False) for _ in range(r.randint(8, 18)))
        blocks.append(
            f'<script>!function(w,d){{"use strict";var {mod}={{v:{r.randint(1, 99)},'
            f"q:[],cfg:{{site:'{host}',sample:{r.randint(1, 100)}/100}}}};{funcs}"
            f"w.{mod}={mod};}}(window,document);</script>"
        )
    slots = [
        {
            "id": f"div-gpt-ad-{r.randrange(10**12, 10**13)}-{k}",
            "path": f"/{r.randrange(10**7, 10**8)}/{host.split('.')[0]}/{r.choice(site.sections)}",
            "sizes": r.sample([[300, 250], [728, 90], [970, 250], [320, 50], [300, 600]], 2),
            "lazy": r.random() < 0.6,
        }
        for k in range(r.randint(4, 9))
    ]
    blocks.append(f"<script>window.adSlots={_json(slots)};</script>")
    scripts = "\n".join(blocks)

    # styles: a few hundred rules of a component library
    prefix = r.choice(["c", "o", "u", "js", "nw", "ui", host[:2]])
    blocks_ = [
        "".join(r.choice(_SYL) for _ in range(r.randint(1, 3))) for _ in range(r.randint(30, 60))
    ]
    props = (
        "display:flex|display:block|display:none|display:grid|position:relative|"
        "position:absolute|margin:0 auto|padding:{n}px {m}px|font-size:{f}rem|line-height:1.{m}|"
        "color:#{c}|background:#{c}|border:1px solid #{c}|border-radius:{m}px|"
        "max-width:{n}0px|width:100%|grid-template-columns:repeat({m},1fr)|gap:{m}px|"
        "font-weight:{w}00|text-transform:uppercase|letter-spacing:.0{m}em|opacity:.{m}|"
        "transition:opacity .{m}s ease-in-out|z-index:{n}|overflow:hidden|"
        "box-shadow:0 {m}px {n}px rgba(0,0,0,.1{m})|align-items:center|"
        "justify-content:space-between"
    ).split("|")

    def rule(sel: str) -> str:
        decl = ";".join(
            r.choice(props).format(
                n=r.randint(1, 99),
                m=r.randint(1, 9),
                f=f"{r.randint(0, 2)}.{r.randint(0, 9)}",
                c=f"{r.randrange(16**6):06x}",
                w=r.randint(3, 9),
            )
            for _ in range(r.randint(2, 7))
        )
        return f"{sel}{{{decl}}}"

    rules = []
    for _ in range(r.randint(120, 300)):
        b = r.choice(blocks_)
        sel = f".{prefix}-{b}"
        if r.random() < 0.5:
            sel += f"__{r.choice(blocks_)}"
        if r.random() < 0.25:
            sel += f"--{r.choice(['active', 'open', 'lg', 'sm', 'dark', 'hidden', 'sticky'])}"
        if r.random() < 0.2:
            sel += r.choice([":hover", ":focus", " a", " > li", "::before", ":not(:last-child)"])
        rules.append(rule(sel))
    media = []
    for w in (640, 768, 1024, 1280):
        inner = "".join(rule(f".{prefix}-{r.choice(blocks_)}") for _ in range(r.randint(10, 30)))
        media.append(f"@media (min-width:{w}px){{{inner}}}")
    half = len(rules) // 2
    style = (
        f'<style id="critical-css">:root{{--brand:#{r.randrange(16**6):06x};'
        f"--ink:#1{r.randrange(16**5):05x};--gap:{r.randint(8, 24)}px}}{''.join(rules[:half])}"
        f"</style>\n<style>{''.join(rules[half:])}{''.join(media)}</style>"
    )

    # mega menu: every section with its subsections, their pages, the services and the towns
    menu_parts, labels, n_links = [], [], 0
    pool = list(MENU_LABELS)
    r.shuffle(pool)
    towns = sorted({r.choice(text.PLACE_A) + r.choice(text.PLACE_B) for _ in range(40)})
    target = r.randint(110, 190)
    cols = [*site.sections, "services", "towns"]
    per = max(4, target // len(cols))
    for name in cols:
        items = []
        for k in range(per):
            if name == "towns":
                lbl = f"{towns[k % len(towns)]} news"
                url = f"/towns/{text.slugify(towns[k % len(towns)])}/"
            else:
                lbl = pool[(n_links + k) % len(pool)]
                url = (
                    f"/section/{name}/{text.slugify(lbl)}/"
                    if name != "services"
                    else "/" + (text.slugify(lbl))
                )
            sub = ""
            if name != "towns" and r.random() < 0.25:
                subs = [f"{lbl}: {x}" for x in r.sample(MENU_SUB, r.randint(2, 3))]
                sub = (
                    "<ul>"
                    + "".join(
                        f'<li><a href="{_attr(url)}{text.slugify(s)}/">{_esc(s)}</a></li>'
                        for s in subs
                    )
                    + "</ul>"
                )
                labels.extend(subs)
                n_links += len(subs)
            items.append(f'<li><a href="{_attr(url)}">{_esc(lbl)}</a>{sub}</li>')
            labels.append(lbl)
            n_links += 1
        title = name.title()
        menu_parts.append(
            f'<li class="mega-col"><a class="mega-head" href="/section/{name}/">{_esc(title)}</a>'
            f'<ul class="mega-list">{"".join(items)}</ul></li>'
        )
    menu_html = (
        '<nav class="mega-menu" id="mega-menu" aria-label="All sections">'
        '<button class="mega-toggle" aria-expanded="false">Menu</button>'
        f'<ul class="mega-cols">{"".join(menu_parts)}</ul></nav>\n'
    )

    foot = r.sample(FOOTER_LINKS, r.randint(18, len(FOOTER_LINKS)))
    footer_html = (
        '<div class="site-map-footer"><ul>'
        + "".join(f'<li><a href="/{text.slugify(x)}/">{_esc(x)}</a></li>' for x in foot)
        + "</ul></div>\n"
    )
    pixel = r.randrange(10**14, 10**15)
    tail = (
        f'<noscript><img height="1" width="1" style="display:none" alt="" '
        f'src="https://px.example/tr?id={pixel}&amp;ev=PageView&amp;noscript=1"></noscript>\n'
        f"<script>{''.join(_function(r, host, False) for _ in range(r.randint(2, 5)))}</script>\n"
    )
    return SiteHeavy(
        scripts=scripts,
        style=style,
        tail_scripts=tail,
        menu_html=menu_html,
        menu_labels=tuple(labels),
        menu_links=n_links,
        footer_html=footer_html,
        footer_labels=tuple(foot),
        state_kind="next" if site.template == 6 or r.random() < 0.4 else "window",
        gtm=gtm,
    )


MENU_LABELS = (
    "Local News|Crime|Courts|Schools|Weather|Traffic|Obituaries|Opinion|Letters to the Editor|"
    "Editorials|High School Sports|College Sports|Business|Real Estate|Jobs|Classifieds|Events|"
    "Food and Drink|Restaurants|Arts|Music|Theatre|Books|Puzzles|Crosswords|Podcasts|Video|"
    "Photos|Newsletters|E-Edition|Archives|Contact Us|Advertise|Subscribe|Manage My Account|"
    "Health|Science|Environment|Climate|Elections|State Politics|National|World|Technology|"
    "Personal Finance|Markets|Small Business|Agriculture|Education|Transportation|Housing|"
    "Public Safety|Fire and Rescue|Community|Faith|Weddings|Anniversaries|Births|Nightlife|"
    "Travel|Outdoors|Fishing and Hunting|Gardening|Home and Garden|Pets|Lottery Results|"
    "Things to Do This Weekend|Best of the Region|Readers' Choice Awards|Sponsored Content|"
    "Public Notices|Legal Notices|Send Us a News Tip|Submit an Event|Corrections|Staff Directory|"
    "Careers|Help Centre|Frequently Asked Questions|Gift Subscriptions|Delivery Issues|"
    "Print Replica|Mobile Apps|Alexa Briefing|RSS Feeds|Sitemap|Columnists|Cartoons|Reviews"
).split("|")
MENU_SUB = "Latest|Most Read|Analysis|Explainers|Archive|Photo Galleries|Live Updates".split("|")
FOOTER_LINKS = (
    "About Us|Our Newsroom|Ethics Policy|Corrections Policy|Terms of Service|Privacy Policy|"
    "Cookie Settings|Accessibility|Do Not Sell My Personal Information|Contact the Newsroom|"
    "Advertise With Us|Media Kit|Careers|Subscriber Services|Manage Subscription|Newsletters|"
    "E-Edition|Archives|Site Map|Help|Licensing and Reprints|Submit a Letter|Obituary Submissions|"
    "Public Notices|Digital Access FAQ|Community Guidelines|Comment Policy|Partner Content"
).split("|")


# ---------------------------------------------------------------- per-page parts


def head_extra(sh: SiteHeavy, state: dict[str, object]) -> str:
    """What a heavy page adds to <head>: scripts, styles and its JSON state."""
    if sh.state_kind == "next":
        blob = f'<script type="application/json" id="__NEXT_DATA__">{_json(state)}</script>'
    else:
        blob = f"<script>window.__STATE__ = {_json(state)};</script>"
    return f"\n{sh.scripts}\n{sh.style}\n{blob}\n"


def state_of(page_url: str, title: str, items: list[Teaser], extra: dict[str, object]) -> dict:
    """The page's client-side state: its own metadata and that of the stories it links to."""
    return {
        "props": {
            "pageProps": {
                "url": page_url,
                "title": title,
                **extra,
                "related": [
                    {
                        "headline": t.title,
                        "url": t.url,
                        "summary": t.summary,
                        "author": {"name": t.author},
                        "datePublished": t.published,
                        "section": t.section,
                        "image": {
                            "src": f"/img/{abs(hash_s(t.url)) % 10**6}.jpg",
                            "width": 1200,
                            "height": 675,
                        },
                    }
                    for t in items
                ],
            }
        },
        "page": "/article",
        "buildId": "b" + str(hash_s(page_url) % 10**8),
        "isFallback": False,
    }


COMMENT_OPENERS = (
    "As someone who has lived in {P} for {n} years, I can tell you this is not new.",
    "Honestly, I expected the {O} to do exactly this.",
    "Thank you for covering this, nobody else in {P} did.",
    "I was at the meeting and the room was far more divided than this story suggests.",
    "Here we go again.",
    "Good reporting, but I wish you had asked the {O} about the cost.",
    "My neighbours and I have been saying this for months.",
    "Can someone explain what this actually means for renters in {P}?",
    "This is the first sensible thing I have read about it all week.",
    "I disagree with most of the comments here.",
    "Not surprised in the slightest.",
    "Does anyone know when the next public meeting is?",
)
COMMENT_CLOSERS = (
    "We will see how it plays out.",
    "Just my two cents.",
    "Vote accordingly next time.",
    "Keep up the good work.",
    "I hope someone is keeping track of this.",
    "",
    "",
)
AGES = ("{n} minutes ago", "{h} hours ago", "1 day ago", "{d} days ago")


def comments(f: text.Facts, r: random.Random) -> tuple[str, list[str]]:
    """A comment thread on the page's story: (html, the text of each comment)."""
    n = r.randint(4, 11)
    items, lines = [], []
    for k in range(n):
        who = f"{r.choice(text.FIRST_NAMES)}{r.choice(['', '_', '.'])}{r.choice(text.LAST_NAMES)}"
        if r.random() < 0.4:
            who = who.lower() + str(r.randint(1, 99))
        body = r.choice(COMMENT_OPENERS).format(P=f.place, O=f.org, n=r.randint(3, 40))
        for _ in range(r.randint(1, 3)):
            body += " " + text.body_sentence(f, r)
        closer = r.choice(COMMENT_CLOSERS)
        if closer:
            body += " " + closer
        age = r.choice(AGES).format(n=r.randint(2, 59), h=r.randint(2, 23), d=r.randint(2, 6))
        cid = r.randrange(10**6, 10**7)
        likes = r.randint(0, 140)
        reply = ' class="comment reply"' if k and r.random() < 0.3 else ' class="comment"'
        items.append(
            f'<li{reply} id="comment-{cid}"><div class="comment-author"><img class="avatar" '
            f'src="/avatars/{cid % 997}.png" alt="" width="40" height="40">'
            f'<span class="comment-author-name">{_esc(who)}</span> '
            f'<time class="comment-date">{_esc(age)}</time></div>'
            f'<div class="comment-content"><p>{_esc(body)}</p></div>'
            f'<div class="comment-actions"><button class="comment-like" data-count="{likes}">'
            f'Like ({likes})</button> <button class="comment-reply">Reply</button> '
            '<button class="comment-report">Report</button></div></li>'
        )
        lines.append(body)
    html = (
        f'<section id="comments" class="comments-area comments" data-count="{n}">'
        f'<h2 class="comments-title">{n} comments</h2>'
        '<div class="comment-form"><textarea name="comment" placeholder="Join the discussion">'
        '</textarea><button type="submit">Post comment</button></div>'
        f'<ol class="comment-list">{"".join(items)}</ol>'
        '<button class="comments-more">Load more comments</button></section>\n'
    )
    return html, lines


def teaser_summary(f: text.Facts, r: random.Random) -> str:
    """A 20-40 word summary of a story from its facts, as a teaser under a headline shows."""
    out = text.body_sentence(f, r)
    while len(out.split()) < 20:
        out += " " + text.body_sentence(f, r)
    toks = out.split()
    if len(toks) > 40:
        out = " ".join(toks[:40]).rstrip(".,;:") + "..."
    return out


def after_article(site_name: str, hp: HeavyPage) -> tuple[str, str, list[str]]:
    """(related list html, teaser grid html, their visible lines to record as furniture)."""
    lines: list[str] = []
    rel = "".join(
        f'<li class="related-item"><a href="{_attr(t.url)}">{_esc(t.title)}</a>'
        f'<span class="related-section">{_esc(t.section)}</span></li>'
        for t in hp.related
    )
    lines.extend(t.title for t in hp.related)
    related_html = (
        f'<aside class="related-stories" id="related"><h2>Related stories</h2><ul>{rel}</ul>'
        "</aside>\n"
        if hp.related
        else ""
    )
    cards = []
    for t in hp.teasers:
        cards.append(
            f'<article class="teaser-card"><a class="teaser-link" href="{_attr(t.url)}">'
            f'<img src="/img/{hash_s(t.url) % 10**6}-thumb.jpg" alt="" loading="lazy" '
            f'width="320" height="180"><h3 class="teaser-title">{_esc(t.title)}</h3></a>'
            f'<p class="teaser-summary">{_esc(t.summary)}</p>'
            f'<span class="teaser-byline">{_esc(t.author)}</span></article>'
        )
        lines.extend([t.title, t.summary])
    heading = f"<h2>More from {_esc(site_name)}</h2>"
    grid = f'<div class="teaser-grid">{"".join(cards)}</div>'
    teaser_html = f'<aside class="more-stories">{heading}{grid}</aside>\n' if cards else ""

    return related_html, teaser_html, lines
