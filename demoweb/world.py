"""The demo web's world: sites, stories, and where each story's copies land, from (seed, i) alone.

Nothing here renders HTML. Every random draw comes from a `random.Random` seeded through
`seed_int` (blake2b), never from Python's salted `hash()`, so two processes agree byte for byte.
Story i's metadata, text and copy placements are computed from (seed, i) on demand; only the
per-site listing indexes (in web.py) look at all stories, and they are built lazily.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from demoweb import text

BASE_DATE = datetime(2026, 11, 1, tzinfo=UTC)
# Default stories are published in the two weeks up to the end of day 1.
HISTORY = timedelta(days=14)
MAX_VARIANTS = 64  # page id = story * MAX_VARIANTS + variant

HOST_A = (
    "harbor valley summit river prairie coastal metro lakeside granite pinecrest union frontier "
    "capital northern bayside highland midland riverbend seaboard copper maple evening"
).split()
HOST_B = (
    "ledger courier gazette post tribune dispatch herald chronicle sentinel observer times "
    "bulletin review record wire press"
).split()

SECTION_DEFS: dict[str, tuple[str, ...]] = {
    "local": ("city-council", "courts", "transit"),
    "politics": ("city-council", "courts"),
    "business": ("business", "technology"),
    "health": ("health",),
    "education": ("schools",),
    "environment": ("environment", "weather"),
    "sport": ("sports",),
    "culture": ("culture",),
    "science": ("science", "technology"),
    "weather": ("weather",),
}
COPY_KINDS = ("verbatim", "excerpt", "edited", "ads_inserted")
# A planted network of outlets run by one operator, as researchers find them: the sites at these
# positions (in host order) share a tag manager and an AdSense account, the template and header
# of the first of them, and a line about the network in their articles. Each keeps its own
# analytics id, name, sections and editorial habits, and copies stories as any site does.
NETWORK = "lakeshore-community-news"
NETWORK_SITES = (5, 8, 10)  # not 1 or 7: those carry the briefs
NETWORK_LINE = "This newsroom is part of the Lakeshore Community News network."


def seed_int(*parts: object) -> int:
    """A 64-bit seed from any parts; stable across processes (unlike hash())."""
    key = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")


def rng_for(*parts: object) -> random.Random:
    """A private random stream for one purpose (e.g. ('prose', seed, story, family))."""
    return random.Random(seed_int(*parts))


def hash_s(s: str) -> int:
    """Stable small hash of a string (FNV-1a; process independent, unlike hash())."""
    h = 2166136261
    for ch in s.encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return h


def day_of(t: datetime) -> int:
    """Day number of a timestamp: 2026-11-01 is day 1, earlier dates are <= 0."""
    return (t.date() - BASE_DATE.date()).days + 1


@dataclass(frozen=True)
class Site:
    """One publisher: its host, template family and editorial habits."""

    index: int
    host: str
    name: str
    template: int  # 0..11, see sites.py
    chrome: int  # header/footer variant
    url_scheme: int  # 0..5, see web.article_path
    date_format: int  # 0..3
    metadata: str  # jsonld, og, both, none
    feeds: tuple[str, ...]  # ("rss",), ("atom",) or both
    rss_path: str
    atom_path: str
    paginate_with_path: bool  # /page/2/ instead of ?page=2
    tag_prefix: str  # "/tag/" or "/topics/"
    sections: tuple[str, ...]
    topic_section: dict[str, str] = field(hash=False)
    disallow_extra: str  # a second disallowed path family (besides /search)
    canonical: str  # self, original (copies point at the original), none
    based_on: bool  # JSON-LD isBasedOn on copies
    credit_rate: float  # share of copies carrying a "first appeared on" line
    copy_weights: tuple[float, float, float, float]  # verbatim, excerpt, edited, ads_inserted
    brief_site: bool
    weight: float  # how many originals it publishes, relatively
    furniture: dict[str, float] = field(hash=False)  # furniture kind -> probability per page
    blend: float  # probability that a leaky furniture kind uses the plain paragraph markup
    leaky: tuple[str, ...]  # furniture kinds this site sometimes marks up like body text
    credit_boxed: bool  # credit line inside a "syndication" container instead of a plain <p>
    popular_searches: tuple[str, ...] = ()
    # Accounts its pages load (sites.py puts them in <head>): analytics and tag manager ids, an
    # AdSense publisher id. The sites of a planted network share some (see NETWORK).
    analytics: tuple[str, ...] = ()
    ad_client: str | None = None
    network: str | None = None  # the planted network it belongs to (ground truth)


@dataclass(frozen=True)
class Placement:
    """One article page of a story: which site, which copy kind, which copy family, when."""

    variant: int  # 0 = the original
    site: int
    copy_kind: str  # original, verbatim, excerpt, edited, ads_inserted, rewrite, brief
    family: int  # 0 = the original's family, r >= 1 = the r-th independent rewrite
    published: datetime
    credit: bool = False
    excerpt_paragraphs: int = 0


@dataclass(frozen=True)
class StoryMeta:
    """Everything about story i except its prose: cheap enough to compute for a million stories."""

    story: int
    brief: bool
    published: datetime
    placements: tuple[Placement, ...]
    theme_group: int | None  # block id when this story shares topic and place with neighbours
    edited_at: datetime | None  # a later correction of the original, if any


def make_sites(seed: int, n: int) -> list[Site]:
    """The publisher sites of a web, sorted by host so hosts[i] == sites[i].host."""
    if not 12 <= n <= 40:
        raise ValueError(f"sites must be between 12 and 40, got {n}")
    rng = rng_for("sites", seed)
    pairs = [(a, b) for a in HOST_A for b in HOST_B]
    rng.shuffle(pairs)
    chosen: list[tuple[str, str]] = []
    used_a: set[str] = set()
    for a, b in pairs:  # first prefixes unique while possible, so outlet names look distinct
        if a not in used_a or len(used_a) == len(HOST_A):
            chosen.append((a, b))
            used_a.add(a)
        if len(chosen) == n:
            break
    chosen.sort(key=lambda ab: ab[0] + ab[1])
    sites = []
    brief_hosts = {1, 7}  # two sites carry short briefs (positions in sorted order)
    for k, (a, b) in enumerate(chosen):
        r = rng_for("site", seed, a, b)
        host = f"{a}{b}.test"
        name = f"The {a.title()} {b.title()}" if r.random() < 0.5 else f"{a.title()} {b.title()}"
        section_names = ["news"] + r.sample(sorted(SECTION_DEFS), r.randint(4, 6))
        topic_section = {}
        for topic in text.TOPIC_NAMES:
            owners = [s for s in section_names[1:] if topic in SECTION_DEFS[s]]
            topic_section[topic] = owners[0] if owners else "news"
        feeds = [("rss",), ("atom",), ("rss", "atom")][k % 3]
        tag_prefix = r.choice(["/tag/", "/topics/"])
        if k % 2:
            disallow_extra = tag_prefix
        else:
            disallow_extra = f"/section/{r.choice(section_names[1:])}/"
        furniture_kinds = {
            "sponsor": r.choice([0.0, 0.3, 0.6]),
            "ads": r.choice([0.4, 0.7, 0.9]),
            "read_more": r.choice([0.2, 0.5, 0.8]),
            "newsletter": r.choice([0.3, 0.6, 0.9]),
            "share": r.choice([0.3, 0.8]),
            "social": r.choice([0.1, 0.3]),
            "image": r.choice([0.4, 0.8]),
            "disclaimer": r.choice([0.0, 0.2, 0.5]),
            "related": r.choice([0.3, 0.6, 0.9]),
        }
        weights = [r.uniform(0.2, 1.0) for _ in COPY_KINDS]
        if k % 4 == 3:  # aggregators: mostly excerpts
            weights[1] += 2.0
        sites.append(
            Site(
                index=k,
                host=host,
                name=name,
                template=k % 12,
                chrome=r.randrange(4),
                url_scheme=(k * 5 + seed) % 6,
                date_format=(k + seed) % 4,
                metadata=["jsonld", "og", "both", "none"][(k * 3 + seed) % 4],
                feeds=feeds,
                rss_path=r.choice(["/feed/", "/rss.xml", "/feeds/latest.rss"]),
                atom_path=r.choice(["/atom.xml", "/feed/atom/", "/feeds/latest.atom"]),
                paginate_with_path=r.random() < 0.5,
                tag_prefix=tag_prefix,
                sections=tuple(section_names),
                topic_section=topic_section,
                disallow_extra=disallow_extra,
                canonical=["self", "original", "self", "none", "original", "self"][k % 6],
                based_on=k % 3 == 1,
                credit_rate=r.choice([0.0, 0.3, 0.6, 0.9]),
                copy_weights=(weights[0], weights[1], weights[2], weights[3]),
                brief_site=k in brief_hosts,
                weight=r.uniform(0.5, 2.0),
                furniture=furniture_kinds,
                blend=r.choice([0.3, 0.5, 0.7]),
                leaky=tuple(sorted(r.sample(sorted(furniture_kinds), 2))),
                credit_boxed=r.random() < 0.5,
                popular_searches=tuple(
                    sorted(
                        r.sample(sorted({t for v in text.TOPICS.values() for t in v["tags"]}), 3)
                    )
                ),
            )
        )
    return _with_accounts(seed, sites)


def _with_accounts(seed: int, sites: list[Site]) -> list[Site]:
    """Give each site its analytics and ad accounts and plant the network (NETWORK).

    The ids come from a stream of their own, so every other property of a site is what it was
    before sites had accounts."""
    r = rng_for("accounts", seed)

    def code(n: int) -> str:
        while True:
            value = "".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(n))
            if any(ch.isdigit() for ch in value):
                return value

    def pub() -> str:
        return "ca-pub-" + "".join(r.choice("0123456789") for _ in range(16))

    shared_gtm, shared_pub = f"GTM-{code(7)}", pub()
    lead = sites[NETWORK_SITES[0]]
    out = []
    for site in sites:
        ids = [f"UA-{r.randrange(10**6, 10**8)}-{r.randint(1, 3)}"]
        if r.random() < 0.7:
            ids.append(f"G-{code(10)}")
        own_gtm = f"GTM-{code(7)}" if r.random() < 0.4 else None
        own_pub = pub() if r.random() < 0.5 else None
        if site.index in NETWORK_SITES:
            site = dataclasses.replace(
                site,
                analytics=(*ids, shared_gtm),
                ad_client=shared_pub,
                network=NETWORK,
                template=lead.template,
                chrome=lead.chrome,
            )
        else:
            site = dataclasses.replace(
                site, analytics=(*ids, *([own_gtm] if own_gtm else [])), ad_client=own_pub
            )
        out.append(site)
    return out


def n_copies(rng: random.Random, max_copies: int) -> int:
    """Heavy-tailed number of copies: most stories 0-3, a few reach every other site."""
    r = rng.random()
    if r < 0.30:
        n = 0
    elif r < 0.55:
        n = 1
    elif r < 0.72:
        n = 2
    elif r < 0.82:
        n = 3
    elif r < 0.91:
        n = rng.randint(4, 6)
    elif r < 0.97:
        n = rng.randint(7, 12)
    else:
        n = rng.randint(13, 40)
    return min(n, max_copies)


def copy_delay(rng: random.Random) -> timedelta:
    """Copies follow the original after hours, sometimes days."""
    r = rng.random()
    if r < 0.65:
        return timedelta(seconds=rng.randint(3600, 12 * 3600))
    if r < 0.9:
        return timedelta(seconds=rng.randint(12 * 3600, 48 * 3600))
    return timedelta(seconds=rng.randint(48 * 3600, 5 * 86400))


class World:
    """Sites plus story metadata for one (seed, sites, stories, day)."""

    def __init__(self, seed: int, n_sites: int, n_stories: int, day: int) -> None:
        if n_stories < 1:
            raise ValueError("stories must be >= 1")
        if day < 1:
            raise ValueError("day must be >= 1")
        self.seed = seed
        self.n_stories = n_stories
        self.day = day
        self.sites = make_sites(seed, n_sites)
        self.site_by_host = {s.host: s for s in self.sites}
        self.brief_sites = [s.index for s in self.sites if s.brief_site]
        self.site_weights = [s.weight for s in self.sites]
        # Later days each add a tenth of the default number of stories.
        self.per_day = max(1, n_stories // 10)
        self.total_stories = n_stories + (day - 1) * self.per_day
        self._meta_cache: dict[int, StoryMeta] = {}

    def story_day(self, i: int) -> int:
        """Day on which story i is first published (1 for the default stories)."""
        return 1 if i < self.n_stories else 2 + (i - self.n_stories) // self.per_day

    def is_brief(self, i: int) -> bool:
        return seed_int("kind", self.seed, i) % 1000 < 120

    def theme_group(self, i: int) -> int | None:
        """Stories 0-2 of each block of 10 share topic and place (same-topic hard negatives)."""
        block, pos = divmod(i, 10)
        if pos > 2 or self.is_brief(i):
            return None
        mates = [j for j in range(block * 10, block * 10 + 3) if j < self.total_stories]
        full = [j for j in mates if not self.is_brief(j)]
        return block if len(full) >= 2 else None

    def meta(self, i: int) -> StoryMeta:
        """Story i's metadata and copy placements, cached."""
        m = self._meta_cache.get(i)
        if m is None:
            if len(self._meta_cache) > 50_000:
                self._meta_cache.clear()
            m = self._compute_meta(i)
            self._meta_cache[i] = m
        return m

    def _compute_meta(self, i: int) -> StoryMeta:
        if not 0 <= i < self.total_stories:
            raise KeyError(i)
        rng = rng_for("meta", self.seed, i)
        d = self.story_day(i)
        if d == 1:
            start = BASE_DATE + timedelta(days=1) - HISTORY
            published = start + timedelta(seconds=rng.randrange(int(HISTORY.total_seconds())))
        else:
            published = BASE_DATE + timedelta(days=d - 1, seconds=rng.randrange(86400))
        published = published.replace(microsecond=0)
        n_sites = len(self.sites)
        brief = self.is_brief(i)
        if brief:
            origin = self.brief_sites[rng.randrange(len(self.brief_sites))]
            placements = (Placement(0, origin, "brief", 0, published),)
            return StoryMeta(i, True, published, placements, None, None)
        origin = rng.choices(range(n_sites), weights=self.site_weights)[0]
        placements = [Placement(0, origin, "original", 0, published)]
        others = [k for k in range(n_sites) if k != origin]
        rng.shuffle(others)
        n = n_copies(rng, len(others))
        n_rewrites = 0
        r = rng.random()
        if r < 0.05:
            n_rewrites = 2
        elif r < 0.20:
            n_rewrites = 1
        n_rewrites = min(n_rewrites, max(0, len(others) - n))
        variant = 1
        for k in others[:n]:
            site = self.sites[k]
            kind = rng.choices(COPY_KINDS, weights=site.copy_weights)[0]
            credit = rng.random() < site.credit_rate
            excerpt_n = rng.randint(1, 3) if kind == "excerpt" else 0
            placements.append(
                Placement(variant, k, kind, 0, published + copy_delay(rng), credit, excerpt_n)
            )
            variant += 1
        for fam, k in enumerate(others[n : n + n_rewrites], start=1):
            delay = timedelta(seconds=rng.randint(3600, 30 * 3600))
            placements.append(Placement(variant, k, "rewrite", fam, published + delay))
            variant += 1
        edited_at = None
        if rng.random() < 0.05:
            edited_at = published + timedelta(seconds=rng.randint(86400, 3 * 86400))
        return StoryMeta(i, False, published, tuple(placements), self.theme_group(i), edited_at)

    def visible(self, t: datetime) -> bool:
        """Whether something dated t is published by the end of the web's current day."""
        return day_of(t) <= self.day

    def visible_placements(self, i: int) -> list[Placement]:
        return [p for p in self.meta(i).placements if self.visible(p.published)]
