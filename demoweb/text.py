"""English-like news prose from word lists and sentence templates (all written for this project).

Facts (place, people, organisation, quotes) and prose come from separate random streams so that an
independent rewrite of one event can share the quotes and names while every sentence around them
is new: the way two outlets write up one speech.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

FIRST_NAMES = (
    "Amara Bella Calder Dana Elio Farah Gideon Hana Ines Jonas Keira Lionel Mara Nolan Odile Priya "
    "Quentin Rosa Soren Talia Umar Vera Wren Xavier Yara Zane Ada Bruno Celia Dmitri Esme Felix "
    "Greta Hugo Ilse Jude Kofi Lena Milo Nadia Otto Pilar Rafael Sabine Tobias Una Viktor Willa"
).split()
LAST_NAMES = (
    "Abernathy Balogun Castellano Delacroix Eberhart Fairweather Galloway Hargreave Iverson "
    "Jankowski Kettering Lindqvist Marchetti Nakamura Okonkwo Petrakis Quinlan Rasmussen Sorensen "
    "Thornbury Underhill Valdivia Whitlock Yamamoto Zielinski Achebe Brannigan Corrigan Dunmore "
    "Ellsworth Fennimore Grisham Holloway Ibarra Jessup Kowalczyk Lockhart Montague Northcott "
    "Oyelaran Pennington Ravensworth Stavros Trevelyan Vasquez Wexford"
).split()
PLACE_A = (
    "Ash Bel Cedar Dun East Fair Glen Hart Iron Kings Lark Maple North Oak Pine Red Stone West"
).split()
PLACE_B = (
    "brook bury field ford haven hollow mere mont port ridge stead vale water wick wood".split()
)

ADJ = (
    "sweeping modest contested overdue ambitious cautious unexpected lengthy heated narrow "
    "long-awaited costly temporary revised preliminary detailed bipartisan informal"
).split()
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
TIMES = (
    "late on {wd}|early on {wd}|on {wd} evening|on {wd} morning|this week|on {wd}|"
    "earlier this month|after a long session on {wd}"
).split("|")
NUM_WORDS = "two three four five six seven eight nine ten dozen".split()

# Per topic: organisations, the things events are about, verbs of action, tags, headline patterns.
TOPICS: dict[str, dict[str, list[str]]] = {
    "city-council": {
        "org": ["city council", "planning board", "zoning commission", "mayor's office"],
        "thing": [
            "a downtown parking plan",
            "a new library wing",
            "the harbour redevelopment",
            "a rent stabilisation ordinance",
            "the riverside bike lanes",
            "a budget amendment",
        ],
        "act": ["approved", "delayed", "rejected", "sent back", "narrowly passed", "reopened"],
        "tags": ["local government", "budget", "housing", "zoning"],
        "role": ["council member", "city manager", "planning director", "deputy mayor"],
    },
    "transit": {
        "org": ["transit authority", "regional rail board", "port commission", "roads department"],
        "thing": [
            "a late-night bus route",
            "the light rail extension",
            "a fare freeze",
            "the ferry terminal upgrade",
            "weekend track repairs",
            "a congestion charge",
        ],
        "act": ["announced", "postponed", "expanded", "scaled back", "funded", "paused"],
        "tags": ["transport", "commuting", "infrastructure", "rail"],
        "role": ["transit director", "board chair", "union steward", "chief engineer"],
    },
    "health": {
        "org": ["county health department", "regional hospital", "nurses' union", "clinic network"],
        "thing": [
            "a walk-in vaccination drive",
            "new maternity ward hours",
            "a mental health hotline",
            "the emergency room expansion",
            "free dental screenings",
            "a flu season plan",
        ],
        "act": ["launched", "extended", "criticised", "defended", "reviewed", "doubled"],
        "tags": ["public health", "hospitals", "nursing", "wellbeing"],
        "role": ["chief medical officer", "head nurse", "epidemiologist", "hospital spokesperson"],
    },
    "schools": {
        "org": ["school board", "teachers' association", "parent council", "education office"],
        "thing": [
            "a later school start time",
            "the new reading curriculum",
            "free breakfast programmes",
            "a four-day week trial",
            "the science lab upgrade",
            "summer tutoring classes",
        ],
        "act": ["backed", "voted down", "piloted", "questioned", "adopted", "paused"],
        "tags": ["education", "teachers", "students", "classrooms"],
        "role": ["superintendent", "head teacher", "board trustee", "parent organiser"],
    },
    "technology": {
        "org": [
            "start-up incubator",
            "data centre operator",
            "software cooperative",
            "broadband consortium",
        ],
        "thing": [
            "a rural fibre network",
            "an open data portal",
            "a cyber security drill",
            "the municipal app relaunch",
            "a chip assembly plant",
            "a coding bootcamp",
        ],
        "act": ["unveiled", "delayed", "tested", "shelved", "financed", "rolled out"],
        "tags": ["technology", "broadband", "data", "innovation"],
        "role": ["chief technology officer", "founder", "security analyst", "product lead"],
    },
    "business": {
        "org": ["chamber of commerce", "credit union", "shipping firm", "family bakery chain"],
        "thing": [
            "a warehouse expansion",
            "the quarterly earnings",
            "a hiring freeze",
            "a merger proposal",
            "the new export route",
            "a wage agreement",
        ],
        "act": ["reported", "confirmed", "ruled out", "negotiated", "finalised", "revised"],
        "tags": ["economy", "jobs", "retail", "trade"],
        "role": ["chief executive", "finance director", "economist", "store owner"],
    },
    "weather": {
        "org": [
            "weather service",
            "emergency management office",
            "coast guard",
            "flood control district",
        ],
        "thing": [
            "a coastal storm warning",
            "the river flood barriers",
            "a heat advisory",
            "snow clearing crews",
            "the drought restrictions",
            "evacuation routes",
        ],
        "act": ["issued", "lifted", "extended", "tested", "deployed", "upgraded"],
        "tags": ["weather", "storms", "climate", "emergency"],
        "role": ["meteorologist", "emergency coordinator", "fire chief", "harbour master"],
    },
    "environment": {
        "org": ["conservation trust", "water utility", "parks department", "wildlife agency"],
        "thing": [
            "a wetland restoration",
            "the plastic bag ban",
            "a tree planting drive",
            "the river clean-up",
            "a wind farm permit",
            "wolf monitoring collars",
        ],
        "act": ["completed", "challenged", "expanded", "suspended", "approved", "audited"],
        "tags": ["environment", "wildlife", "energy", "conservation"],
        "role": ["ecologist", "park ranger", "utility manager", "campaign director"],
    },
    "courts": {
        "org": ["district court", "appeals panel", "public defender's office", "county prosecutor"],
        "thing": [
            "a landlord negligence case",
            "the ballot access lawsuit",
            "a fraud trial",
            "the records request dispute",
            "a noise complaint ruling",
            "a plea agreement",
        ],
        "act": ["heard", "dismissed", "upheld", "adjourned", "overturned", "settled"],
        "tags": ["courts", "justice", "law", "trials"],
        "role": ["judge", "defence lawyer", "prosecutor", "court clerk"],
    },
    "sports": {
        "org": ["rowing club", "football academy", "county cricket side", "marathon committee"],
        "thing": [
            "the stadium lease",
            "a youth league",
            "the autumn regatta",
            "a new training ground",
            "the charity half marathon",
            "floodlight repairs",
        ],
        "act": ["celebrated", "cancelled", "rescheduled", "sponsored", "won", "lost"],
        "tags": ["sport", "football", "athletics", "clubs"],
        "role": ["head coach", "team captain", "club secretary", "race director"],
    },
    "culture": {
        "org": ["city museum", "community theatre", "film festival", "public radio station"],
        "thing": [
            "a retrospective exhibition",
            "the winter programme",
            "a mural project",
            "the archive digitisation",
            "a late-night opening",
            "a touring orchestra",
        ],
        "act": ["opened", "postponed", "announced", "restored", "funded", "previewed"],
        "tags": ["arts", "museums", "music", "film"],
        "role": ["curator", "artistic director", "festival producer", "archivist"],
    },
    "science": {
        "org": ["state university", "marine laboratory", "observatory", "seed bank"],
        "thing": [
            "a coral survey",
            "the comet observation campaign",
            "a drought-hardy wheat trial",
            "the bat population study",
            "a soil carbon project",
            "the new telescope mirror",
        ],
        "act": ["published", "completed", "paused", "replicated", "presented", "extended"],
        "tags": ["science", "research", "universities", "space"],
        "role": ["lead researcher", "professor", "lab director", "doctoral student"],
    },
}
TOPIC_NAMES = sorted(TOPICS)

# Prose building blocks. {P}=place, {O}=organisation, {T}=thing, {A}=act, {N}=person surname,
# {R}=role, {W}=time phrase, {J}=adjective, {K}=number, {Q}=number word.
OPENERS = [
    "The {P} {O} {A} {T} {W}, ending weeks of {J} debate.",
    "{T_cap} was {A} by the {P} {O} {W}.",
    "After {Q} months of talks, the {O} in {P} has {A} {T}.",
    "Officials in {P} {A} {T} {W}, a move that surprised few observers.",
    "In a {J} decision {W}, the {O} {A} {T}.",
    "Residents of {P} learned {W} that the {O} had {A} {T}.",
    "The fate of {T} was settled {W} when the {O} {A} it.",
    "A {J} plan for {T} moved ahead in {P} {W}.",
]
BODY = [
    "The {O} said about {K} people would be affected in the first year.",
    "Supporters argued that {T} had been put off for too long.",
    "Critics said the {J} timetable left little room for public comment.",
    "{N}, who has followed the issue for years, called the outcome {J}.",
    "Figures released by the {O} put the cost at roughly {K} thousand dollars.",
    "Several neighbours in {P} said they had not been consulted.",
    "The proposal drew {Q} speakers at a packed public hearing.",
    "A smaller group urged the {O} to wait for an independent review.",
    "Turnout at the meeting was unusually high for a {wd} night.",
    "The {O} plans to publish a {J} report before the end of the year.",
    "Local shop owners were split over what the change would mean for trade.",
    "A petition opposing the measure gathered about {K} signatures.",
    "The vote followed a {J} presentation by outside consultants.",
    "Staff will return with a revised estimate within {Q} weeks.",
    "Similar measures have been tried in at least {Q} nearby towns.",
    "The decision can still be appealed by any resident of {P}.",
    "Funding is expected to come partly from a regional grant.",
    "Some members wanted stronger safeguards written into the final text.",
    "An earlier version of the plan was withdrawn last spring.",
    "Few details were given about how progress would be measured.",
    "{N} said the {O} had listened to most of the objections raised.",
    "The next step is a round of site visits planned for {wd}.",
    "Observers expect the issue to return during the next budget cycle.",
    "Opponents have promised to keep pressing the {O} on the details.",
    "The {O} declined to say how many staff would be reassigned.",
    "Work on {T} could begin as early as next month, officials said.",
    "Records show the idea was first floated {Q} years ago.",
    "Volunteers in {P} have offered to help with the first phase.",
    "The chair thanked residents for what she called a {J} discussion.",
    "A spokesperson said questions would be answered at the next meeting.",
    "The measure passed with {Q} votes in favour.",
    "Budget documents list the project among the top priorities for {P}.",
    "A union representative asked for guarantees on working hours.",
    "The {O} will hold an open house so people can ask questions in person.",
    "Nobody at the meeting disputed that something had to change.",
    "Insurance costs were mentioned by several speakers as a concern.",
    "The original deadline had already slipped twice.",
    "Local radio carried the entire session live.",
    "Engineers warned that delays would push the cost higher.",
    "A final report on {T} is due in the spring.",
]
QUOTE_TEMPLATES = [
    "We owe the people of {P} a clear answer, and today we gave one",
    "This is not the end of the conversation about {t}",
    "I have never seen this many neighbours turn up for anything",
    "We will watch every dollar and report back in public",
    "Nobody gets everything they want, but this is a fair result",
    "The numbers simply did not add up the first time",
    "If we wait another year, the problem only gets bigger",
    "People deserve to know who decided this and why",
    "We heard the objections, and we changed the plan because of them",
    "It is a small step, but it is the right one for {P}",
    "Our members were ready to walk away from the table",
    "There is still a lot of work ahead of us",
    "I would ask everyone to read the full report before judging it",
    "This was the hardest vote I have cast in {Q} years",
]
SAID = ["said", "told reporters", "said in a statement", "said after the vote", "added"]
# A small sentence grammar: opener + subject + verb + clause, each drawn from its own list, so
# two stories (or an original and a rewrite) rarely share five consecutive words by chance.
G_OPENERS = [
    "",
    "",
    "",
    "",
    "On {wd}, ",
    "Earlier this year, ",
    "By most accounts, ",
    "In the end, ",
    "Behind closed doors, ",
    "At the hearing, ",
    "For now, ",
    "In a letter to members, ",
    "Throughout the autumn, ",
    "Speaking afterwards, ",
    "As of this week, ",
    "Privately, ",
    "Two years ago, ",
    "Until recently, ",
    "In public filings, ",
    "Over coffee on {wd}, ",
    "According to people familiar with the talks, ",
    "In {P}, ",
    "Meanwhile, ",
    "Even so, ",
]
G_SUBJECTS = [
    "the {O}",
    "{N}",
    "several residents",
    "a group of neighbours from {P}",
    "local business owners",
    "two former officials",
    "the opposition bloc",
    "supporters of the measure",
    "a coalition of tenant groups",
    "regional lawmakers",
    "the independent auditor",
    "parents from a nearby school",
    "the finance committee",
    "staff at the {O}",
    "volunteer organisers",
    "a retired engineer from {P}",
    "the {R}",
    "union representatives",
    "church leaders in {P}",
    "a handful of critics",
    "shopkeepers along the high street",
    "the county treasurer",
    "younger voters",
    "the neighbourhood association",
    "an outside consultant",
    "environmental groups",
    "long-time residents of {P}",
    "the local newspaper's readers",
    "farmers east of {P}",
]
G_SAID = [
    "said",
    "argued",
    "warned",
    "insisted",
    "pointed out",
    "acknowledged",
    "complained",
    "suggested",
    "noted",
    "conceded",
    "claimed",
    "stressed",
    "predicted",
    "feared",
    "told the meeting",
    "wrote in a submission",
]
G_SUBJECTS2 = [
    "the plan",
    "{t}",
    "the budget",
    "the timetable",
    "the final bill",
    "the whole process",
    "the next phase",
    "the agreement",
    "the new rules",
    "the review",
    "the contract",
    "the vote",
    "the {O}",
    "the town",
    "the deal",
    "the project",
]
G_MODALS = ["would", "could", "might", "should", "will", "was likely to", "may yet", "had to"]
G_VPS = [
    "cost more than the original estimate",
    "take at least {Q} more years to finish",
    "need a second round of public hearings",
    "be paid for through a new levy",
    "leave older residents without a real alternative",
    "survive a legal challenge",
    "set a precedent for neighbouring towns",
    "be revisited after the election",
    "bring {K} new jobs to the area",
    "put pressure on already stretched services",
    "ease congestion on the ring road",
    "depend on money that has not been promised",
    "protect the riverbank from further damage",
    "favour larger landlords over tenants",
    "run into the same problems as the last attempt",
    "be finished ahead of schedule",
    "require staff to work longer shifts",
    "raise property taxes by a small margin",
    "open the door to private investors",
    "be scaled down within months",
    "make {P} a test case for the region",
    "split the community for years",
    "pay for itself within a decade",
    "draw visitors from across the county",
]
G_PAST_VPS = [
    "voted to delay a final decision until the new year",
    "asked for a full breakdown of the costs",
    "spent {Q} hours going through the paperwork",
    "walked out before the second reading",
    "filed a formal objection with the county",
    "handed in a petition with {K} signatures",
    "requested an independent review of the figures",
    "held a series of meetings in church halls and school gyms",
    "published a rival proposal of their own",
    "quietly dropped an earlier demand for a referendum",
    "commissioned a traffic study that was never released",
    "set up a phone line for questions from the public",
    "wrote to every household in the district",
    "met privately with the {R} last month",
    "raised concerns about noise and parking",
    "sent a delegation to the regional capital",
    "promised to publish the minutes in full",
    "struggled to explain where the money would come from",
    "organised a march from the station to the town hall",
    "pointed to a similar scheme that failed in a nearby town",
    "hired a law firm to look at their options",
    "collected {K} written comments during the consultation",
    "lobbied for a smaller, cheaper version of the plan",
    "praised the {O} for keeping the process open",
]
G_STATS = [
    "About {K} households {stat_verb} {stat_when}.",
    "Roughly {K} people {stat_verb} {stat_when}.",
    "Some {K} applications {stat_verb2} {stat_when}.",
    "Nearly {Q} in ten respondents {stat_verb3} {stat_when}.",
    "The {O} counted {K} complaints {stat_when}.",
    "Attendance rose to {K} {stat_when}, organisers said.",
]
G_STAT_VERB = ["wrote in", "signed up", "were affected", "turned out", "asked to be kept informed"]
G_STAT_VERB2 = ["were received", "were approved", "were turned down", "remain under review"]
G_STAT_VERB3 = ["backed the idea", "opposed it outright", "said they had no opinion"]
G_STAT_WHEN = [
    "in the first month",
    "by the end of the consultation",
    "over the summer",
    "since the plan was announced",
    "last year alone",
    "in the past fortnight",
    "before the deadline",
    "during the pilot",
]
G_CONJ = ["but", "while", "and", "although", "even though", "whereas"]


def body_sentence(f: Facts, rng: random.Random) -> str:
    """One sentence from the grammar above, filled with the event's facts."""
    kind = rng.random()
    opener = rng.choice(G_OPENERS)
    subj = rng.choice(G_SUBJECTS)
    if kind < 0.35:
        s = (
            f"{opener}{subj} {rng.choice(G_SAID)} {rng.choice(G_SUBJECTS2)} "
            f"{rng.choice(G_MODALS)} {rng.choice(G_VPS)}."
        )
    elif kind < 0.65:
        s = f"{opener}{subj} {rng.choice(G_PAST_VPS)}."
    elif kind < 0.8:
        s = (
            rng.choice(G_STATS)
            .replace("{stat_verb}", rng.choice(G_STAT_VERB))
            .replace("{stat_verb2}", rng.choice(G_STAT_VERB2))
            .replace("{stat_verb3}", rng.choice(G_STAT_VERB3))
            .replace("{stat_when}", rng.choice(G_STAT_WHEN))
        )
    else:
        s = (
            f"{opener}{subj} {rng.choice(G_PAST_VPS)}, {rng.choice(G_CONJ)} "
            f"{rng.choice(G_SUBJECTS)} {rng.choice(G_SAID)} {rng.choice(G_SUBJECTS2)} "
            f"{rng.choice(G_MODALS)} {rng.choice(G_VPS)}."
        )
    return _cap(_fill(s, f, rng))


CLOSERS = [
    "The {O} meets again on {wd}.",
    "A further update is expected next week.",
    "The full minutes will be posted online.",
    "Public comment remains open until the end of the month.",
    "More hearings are scheduled for the coming weeks.",
]
# Headline patterns: {P} place, {O_cap} organisation, {T} thing, {A} act.
HEADLINES = [
    "{P} {O_cap} {A} {T}",
    "{T_cap} {A} after {J} debate in {P}",
    "What the {P} vote on {t} means for residents",
    "{P} {O_cap} {A} {T} despite objections",
    "{N_full} on why {P} {A} {t}",
    "After {Q} months, {P} {A} {T}",
    "{T_cap}: {P} {O_cap} makes its call",
    "Inside the {J} fight over {t} in {P}",
]
BRIEF_WHAT = [
    "The library branch on {S}",
    "The farmers' market",
    "Road resurfacing on {S}",
    "A blood donation clinic at the {O}",
    "The community pool",
    "Recycling collection on {S}",
    "A free bike repair workshop",
    "The senior centre lunch club",
    "Water service on {S}",
    "A public meeting on {t}",
    "The weekly food bank",
    "Evening parking on {S}",
    "The youth football trials",
    "A charity book sale",
    "Bus stops along {S}",
    "The walk-in flu clinic",
    "Street cleaning on {S}",
    "The craft fair at the old mill",
]
BRIEF_ACTION = [
    "will close early",
    "moves to a new location",
    "is postponed by one week",
    "reopens after repairs",
    "will run on a reduced timetable",
    "starts an hour later",
    "is cancelled because of the forecast",
    "returns after a two-year break",
    "is looking for more volunteers",
    "will be held outdoors",
    "is extended until month end",
    "will be free of charge",
    "is limited to residents",
]
BRIEF_WHEN = [
    "on {wd}",
    "from next {wd}",
    "this weekend",
    "until further notice",
    "for the rest of the month",
    "starting {wd} morning",
    "over the holiday period",
    "after {wd}'s inspection",
]
BRIEF_EXTRA = [
    "Organisers asked residents to check the noticeboard for changes.",
    "Details are posted at the front desk.",
    "Call the main office with any questions.",
    "No booking is required.",
    "Entry is free for children under twelve.",
    "Drivers should allow extra time.",
    "Volunteers can sign up at the door.",
    "Tea and coffee will be provided.",
    "Bring proof of address if you are new to {P}.",
    "The work is expected to take {Q} days.",
    "Last year's event raised {K} dollars.",
    "About {K} people used the service last winter.",
    "Diversion signs will be in place.",
    "The {O} apologised for the short notice.",
    "Dogs on leads are welcome.",
]
STREETS = (
    "Mill Lane|Church Street|Station Road|Harbour Way|Elm Avenue|Quarry Road|High Street".split("|")
)


@dataclass(frozen=True)
class Person:
    """A named speaker; the same person is quoted by every outlet covering the event."""

    first: str
    last: str
    role: str

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class Facts:
    """What happened: shared by an original, its copies and its independent rewrites."""

    topic: str
    place: str
    org: str
    thing: str
    act: str
    people: tuple[Person, ...]
    quotes: tuple[tuple[int, str], ...]  # (index into people, quote text)
    number: int
    weekday: str
    tags: tuple[str, ...]


def make_place(rng: random.Random) -> str:
    """An invented town name such as 'Larkwick'."""
    return rng.choice(PLACE_A) + rng.choice(PLACE_B)


def make_facts(
    rng: random.Random,
    topic: str | None = None,
    place: str | None = None,
    tags: tuple[str, ...] | None = None,
) -> Facts:
    """Draw the facts of one event; topic, place and tags may be imposed by the caller."""
    topic = topic or rng.choice(TOPIC_NAMES)
    vocab = TOPICS[topic]
    place = place or make_place(rng)
    people = tuple(
        Person(rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), rng.choice(vocab["role"]))
        for _ in range(rng.randint(2, 3))
    )
    n_quotes = rng.randint(2, 3)
    templates = rng.sample(QUOTE_TEMPLATES, n_quotes)
    thing = rng.choice(vocab["thing"])
    quotes = tuple(
        (
            k % len(people),
            q.format(P=place, t=_strip_article(thing), Q=rng.choice(NUM_WORDS[:6])),
        )
        for k, q in enumerate(templates)
    )
    if tags is None:
        tags = tuple(rng.sample(vocab["tags"], 2)) + (topic.replace("-", " "),)
    return Facts(
        topic=topic,
        place=place,
        org=rng.choice(vocab["org"]),
        thing=thing,
        act=rng.choice(vocab["act"]),
        people=people,
        quotes=quotes,
        number=rng.randint(12, 980),
        weekday=rng.choice(WEEKDAYS),
        tags=tags,
    )


def _strip_article(thing: str) -> str:
    for prefix in ("a ", "an ", "the "):
        if thing.startswith(prefix):
            return thing[len(prefix) :]
    return thing


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _title_case(s: str) -> str:
    small = {"a", "an", "the", "of", "on", "in", "for", "after", "by", "to", "and", "why", "over"}
    words = s.split()
    return " ".join(
        w if (i and w in small) else (w[:1].upper() + w[1:]) for i, w in enumerate(words)
    )


_AN = re.compile(r"\b([Aa]) (?=[aeiouAEIOU](?!n[iy]|ni|s[eu]))")


def fix_articles(s: str) -> str:
    """'a unexpected' -> 'an unexpected' (but 'a union', 'a user')."""
    return _AN.sub(lambda m: m.group(1) + "n ", s)


def _fill(template: str, f: Facts, rng: random.Random) -> str:
    return fix_articles(_fill_raw(template, f, rng))


def _fill_raw(template: str, f: Facts, rng: random.Random) -> str:
    person = rng.choice(f.people)
    return template.format(
        P=f.place,
        O=f.org,
        O_cap=_title_case(f.org),
        T=f.thing,
        T_cap=_cap(f.thing),
        t=_strip_article(f.thing),
        A=f.act,
        N=person.last,
        N_full=person.full,
        R=person.role,
        W=rng.choice(TIMES).format(wd=f.weekday),
        wd=f.weekday,
        J=rng.choice(ADJ),
        K=rng.randint(3, 900),
        Q=rng.choice(NUM_WORDS),
    )


def headline(f: Facts, rng: random.Random) -> str:
    """A headline for the event; each family draws its own from its own stream."""
    return _title_case(_fill(rng.choice(HEADLINES), f, rng))


def quote_paragraph(f: Facts, k: int, rng: random.Random, first_mention: bool) -> str:
    """A quote paragraph: the quote is fixed by the facts, the attribution varies with prose."""
    who_idx, text = f.quotes[k]
    who = f.people[who_idx]
    said = rng.choice(SAID)
    if rng.random() < 0.5:
        who_said = f"{who.full}, the {who.role}, {said}" if first_mention else f"{who.last} {said}"
        para = f'"{text}," {who_said}.'
    else:
        attribution = f"{who.full}, the {who.role}," if first_mention else who.last
        para = f'{_cap(attribution)} {said}: "{text}."'
    for _ in range(rng.randint(1, 2)):
        para += " " + body_sentence(f, rng)
    return para


def article_paragraphs(f: Facts, rng: random.Random, n_paragraphs: int) -> list[str]:
    """Body paragraphs: a lead, prose with quotes spread through it, sometimes a closing line."""
    body_pool = rng.sample(BODY, len(BODY))
    pos = 0

    def prose(n: int) -> str:
        nonlocal pos
        out = []
        for _ in range(n):
            if rng.random() < 0.1:
                out.append(_fill(body_pool[pos % len(body_pool)], f, rng))
                pos += 1
            else:
                out.append(body_sentence(f, rng))
        return " ".join(out)

    paras = [_fill(rng.choice(OPENERS), f, rng) + " " + prose(rng.randint(1, 2))]
    slots = list(range(1, n_paragraphs))
    quote_at = sorted(rng.sample(slots, min(len(f.quotes), len(slots))))
    mentioned: set[int] = set()
    q = 0
    for i in range(1, n_paragraphs):
        if q < len(quote_at) and i == quote_at[q]:
            who = f.quotes[q][0]
            paras.append(quote_paragraph(f, q, rng, who not in mentioned))
            mentioned.add(who)
            q += 1
        else:
            paras.append(prose(rng.randint(3, 5)))
    if rng.random() < 0.5:
        paras[-1] = paras[-1] + " " + _fill(rng.choice(CLOSERS), f, rng)
    return paras


def brief_paragraphs(f: Facts, rng: random.Random) -> list[str]:
    """A 40-90 word brief: one or two short paragraphs."""
    while True:
        sentences = []
        for _ in range(rng.randint(2, 3)):
            what = rng.choice(BRIEF_WHAT).replace("{S}", rng.choice(STREETS))
            sentences.append(
                _fill(f"{what} {rng.choice(BRIEF_ACTION)} {rng.choice(BRIEF_WHEN)}.", f, rng)
            )
        sentences += [_fill(s, f, rng) for s in rng.sample(BRIEF_EXTRA, rng.randint(1, 3))]
        rng.shuffle(sentences)
        words = sum(len(s.split()) for s in sentences)
        if 40 <= words <= 90:
            break
    cut = rng.randint(1, len(sentences) - 1) if rng.random() < 0.6 else len(sentences)
    paras = [" ".join(sentences[:cut])]
    if cut < len(sentences):
        paras.append(" ".join(sentences[cut:]))
    return paras


def brief_headline(f: Facts, rng: random.Random) -> str:
    """Short headline for a brief."""
    return _title_case(
        rng.choice(
            [
                f"{f.place} notice for {f.weekday}",
                f"Around {f.place}: {f.weekday} update",
                f"{f.place} briefing",
                f"In brief: {f.place} {_strip_article(f.org)}",
            ]
        )
    )


def edit_sentence(paragraph: str, rng: random.Random) -> str:
    """Change one sentence of a paragraph the way a copy editor would (for 'edited' copies)."""
    sentences = paragraph.split(". ")
    k = rng.randrange(len(sentences))
    s = sentences[k]
    swaps = [
        ("said", "noted"),
        ("about", "around"),
        ("people", "residents"),
        ("meeting", "session"),
        ("plan", "proposal"),
        ("the ", "this "),
    ]
    for a, b in rng.sample(swaps, len(swaps)):
        if a in s:
            sentences[k] = s.replace(a, b, 1)
            break
    else:
        sentences[k] = "Notably, " + s[:1].lower() + s[1:]
    return ". ".join(sentences)


def slugify(title: str, max_words: int = 8) -> str:
    """URL slug from a headline."""
    keep = []
    for w in title.lower().replace("'", "").split():
        w = "".join(c for c in w if c.isalnum() or c == "-").strip("-")
        if w:
            keep.append(w)
    return "-".join(keep[:max_words])
