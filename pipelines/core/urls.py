"""URL canonicalisation and the stable document id derived from it.

A document's id must not change when the same article is fetched again through a feed link
with tracking parameters, with an explicit default port, or with a fragment. The rules are
deliberately conservative: they only remove differences that never change which page a server
returns, so two different articles never share an id.

Rules applied by :func:`canonicalise_url`:

1. scheme and host are lowercased; a trailing dot on the host is dropped;
2. the default port is dropped (80 for http, 443 for https);
3. user info (``user:password@``) is dropped;
4. an empty path becomes ``/``; the path is otherwise kept as is (case-sensitive), except that
   percent-escapes are uppercased (``%2f`` -> ``%2F``);
5. the fragment (``#...``) is dropped;
6. tracking parameters are dropped: every ``utm_*`` key and the keys in
   :data:`TRACKING_PARAMS` (compared case-insensitively);
7. the remaining query parameters are sorted by key, then value (blank values are kept), and
   the ``?`` disappears when no parameter is left.

Not done on purpose: ``http`` and ``https`` stay different, ``www.`` is kept, trailing slashes
are kept (servers treat ``/a`` and ``/a/`` differently), and no redirect is followed.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Keys set by ad, e-mail and social platforms to attribute a click; they never select content.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wt.mc_id",
        "ocid",
        "cmpid",
        "s_cid",
    }
)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")


def is_tracking_param(key: str) -> bool:
    """True for query keys that only attribute a click (``utm_*`` and :data:`TRACKING_PARAMS`)."""
    lowered = key.lower()
    return lowered.startswith("utm_") or lowered in TRACKING_PARAMS


def canonicalise_url(url: str) -> str:
    """Return the canonical form of ``url`` (rules in the module docstring).

    Raises ``ValueError`` for a URL without scheme or host, since such a URL cannot name a page.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")  # .hostname is already lowercased
    if not scheme or not host:
        raise ValueError(f"cannot canonicalise {url!r}: it needs a scheme and a host")
    if ":" in host:  # IPv6 literal: keep the brackets
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"cannot canonicalise {url!r}: {exc}") from None
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    path = _PERCENT_ESCAPE.sub(lambda m: m.group(0).upper(), parts.path) or "/"
    params = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_param(key)
    ]
    query = urlencode(sorted(params))
    return urlunsplit((scheme, netloc, path, query, ""))


def canonical_doc_id(url: str) -> str:
    """Stable document id: the first 16 hex digits of the SHA-1 of the canonical URL.

    64 bits keep the chance of any collision below one in a million up to about 6 million
    documents; the id is a string so that it can grow later without a type change.
    """
    return doc_id_of_key(canonicalise_url(url))


def doc_id_of_key(key: str) -> str:
    """``canonical_doc_id`` of a URL whose canonical form ``key`` is already known."""
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def request_url(url: str) -> str:
    """The URL to request for a link: as linked, without its fragment and tracking parameters.

    Unlike :func:`canonicalise_url` the query keeps its order and spelling: some servers answer
    ``?b=2&a=1`` and not ``?a=1&b=2``. Deduplication keys use the canonical form.
    """
    parts = urlsplit(url.strip())
    if parts.query:
        kept = [p for p in parts.query.split("&") if p and not is_tracking_param(p.split("=")[0])]
        query = "&".join(kept)
    else:
        query = ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))
