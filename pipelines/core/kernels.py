"""Compiled loops (numba) for the grouping's hottest steps, bit-identical to the Python path.

- ``oph_fingerprints``: the numpy path of ``fingerprint.batch_fingerprints_and_leads`` makes a
  dozen passes over every shingle of a batch (word bounds, prefix sums, the mix, bins, a sort
  for distinct counts, the character leads), each with its own temporary arrays; here the same
  arithmetic runs in one loop per text (0.021 against 0.084 ms per real-text document).
- ``line_shapes``: the furniture model's template key and own-word count of each line (mask,
  normalise, xxh64) in one loop per line, where the Python path takes an RE2 pass, the
  normalisation and a call per line (52 against 250 ms for 17,418 real lines).

The numpy and Python functions stay the definition and the path without numba;
tests/test_kernels.py checks that both give the same answers.

Compiled code is cached beside this file (numba's ``cache=True``), so a process compiles it
once per machine and later processes load it. ``SYNDICATION_NO_KERNELS=1`` in the environment,
or numba failing to import, leaves the numpy path in use (``enabled()``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from pipelines.core.fingerprint import _powers

_MASK32 = 0xFFFFFFFF


try:
    import numba
except ImportError:  # pragma: no cover - numba is pinned in requirements.lock
    numba = None

if numba is not None:
    # Module-level functions: numba's cache keys a closure by its cells, which differ from
    # process to process, so kernels made inside a function were compiled again each time.
    _njit = numba.njit(cache=True, nogil=True)
    _inline = numba.njit(cache=True, nogil=True, inline="always")  # no call per character
else:  # pragma: no cover

    def _njit(f: Any) -> Any:
        return f

    _inline = _njit


def enabled() -> bool:
    """Whether the compiled kernels are in use (numba importable, not switched off)."""
    return numba is not None and not os.environ.get("SYNDICATION_NO_KERNELS")


u64 = np.uint64
base = u64(0x9E3779B97F4A7C15)  # fingerprint._POLY_BASE
length_mult = u64(0xC2B2AE3D27D4EB4F)  # fingerprint._POLY_LENGTH
fmix_a, fmix_b = u64(0xFF51AFD7ED558CCD), u64(0xC4CEB9FE1A85EC53)
s32, s33 = u64(32), u64(33)
low32 = u64(_MASK32)
cap = np.uint32(_MASK32 - 1)  # all-max marks an empty bin
empty = np.uint32(_MASK32)
gap = np.uint32(0x9E3779B1)  # fingerprint._oph's densification step


@_inline
def fmix64(h):
    h ^= h >> s33
    h *= fmix_a
    h ^= h >> s33
    h *= fmix_b
    h ^= h >> s33
    return h


@_inline
def poly64(data, start, end):
    # sum((data[j] + 1) * B**(j - start)) + length * L mod 2**64, then fmix64 (Horner's
    # rule from the end: for the short character shingles of a lead).
    h = u64(0)
    for j in range(end - 1, start - 1, -1):
        h = h * base + u64(data[j]) + u64(1)
    return fmix64(h + u64(end - start) * length_mult)


@_njit
def distinct(values, table):
    # Distinct values by open addressing in a power-of-two table of value + 1 (0: free).
    size = table.size
    table[:] = 0
    out = 0
    for v in values:
        key = u64(v) + u64(1)
        slot = (u64(v) * u64(0x9E3779B1)) & u64(size - 1)
        while True:
            held = table[slot]
            if held == 0:
                table[slot] = key
                out += 1
                break
            if held == key:
                break
            slot = (slot + u64(1)) & u64(size - 1)
    return out


@_inline
def bid(out, h, mult, p):
    # Without a branch: a taken-or-not minimum per shingle cost a third of the kernel.
    b = np.intp(((h * mult) >> s32) * u64(p) >> s32)
    out[b] = min(out[b], min(np.uint32(h & low32), cap))


@_njit
def densify(out):
    # Empty bins take the next non-empty bin to the right, cyclically, plus the distance
    # times a constant (uint32 wrap), capped below all-max: fingerprint._oph.
    p = out.size
    filled = 0
    for j in range(p):
        if out[j] != empty:
            filled += 1
    if filled == 0 or filled == p:
        return
    src = out.copy()
    for j in range(p):
        if src[j] != empty:
            continue
        shift = 1
        while src[(j + shift) % p] == empty:
            shift += 1
        v = np.uint32(src[(j + shift) % p] + np.uint32(shift) * gap)
        out[j] = v if v < cap else cap


@_njit
def _oph_kernel(data, offsets, powers, inverse, k, p, mult, lead_bytes, lead_p, lead_k):
    n = offsets.size - 1
    sigs = np.full((n, p), empty, dtype=np.uint32)
    counts = np.zeros(n, dtype=np.int64)
    leads = np.full((n, lead_p), empty, dtype=np.uint32)
    starts = np.empty(0, dtype=np.int64)
    low = np.empty(0, dtype=np.uint32)
    prefix = np.empty(0, dtype=np.uint64)
    table = np.empty(0, dtype=np.uint64)
    for t in range(n):
        a, b = offsets[t], offsets[t + 1]
        if b <= a:
            continue
        # Word starts: a normalised text's words are joined by single spaces. Written
        # without a branch (each byte writes, a space moves on): a branch per space was
        # two thirds of the kernel's time.
        if starts.size < b - a + 2:
            starts = np.empty(2 * (b - a + 2), dtype=np.int64)
        starts[0] = a
        words = 1
        for j in range(a, b):
            starts[words] = j + 1
            words += data[j] == 32
        starts[words] = b + 1  # one past the end, as if a space followed the last word
        n_sh = words - k + 1 if words >= k else 1
        if low.size < n_sh:
            low = np.empty(2 * n_sh, dtype=np.uint32)
        # Prefix sums P[i] = sum_{j<i} (data[a+j] + 1) * B**j: a slice's polynomial is
        # (P[e] - P[s]) * B**-s (fingerprint._poly64_slices64).
        if prefix.size < b - a + 1:
            prefix = np.empty(2 * (b - a + 1), dtype=np.uint64)
        acc = u64(0)
        prefix[0] = acc
        for j in range(b - a):
            acc += (u64(data[a + j]) + u64(1)) * powers[j]
            prefix[j + 1] = acc
        row = sigs[t]
        for i in range(n_sh):
            s = starts[i] - a
            e = (starts[i + k] - 1 if words >= k else b) - a
            h = fmix64((prefix[e] - prefix[s]) * inverse[s] + u64(e - s) * length_mult)
            bid(row, h, mult, p)
            low[i] = np.uint32(h & low32)
        densify(row)
        size = 1
        while size < 2 * n_sh:
            size *= 2
        if table.size < size:
            table = np.empty(size, dtype=np.uint64)
        counts[t] = distinct(low[:n_sh], table[:size])
        if lead_bytes > 0:
            head = min(lead_bytes, b - a)
            lead = leads[t]
            n_lead = head - lead_k + 1 if head >= lead_k else 1
            for i in range(n_lead):
                s = a + i
                bid(lead, poly64(data, s, min(s + lead_k, a + head)), mult, lead_p)
            densify(lead)
    return sigs, counts, leads


def _compiled() -> Any:
    """The fingerprint kernel (compiled on first call, or loaded from numba's cache)."""
    return _oph_kernel


def oph_fingerprints(
    normalised: Sequence[bytes],
    *,
    shingle_size: int,
    num_perm: int,
    mult: int,
    lead_bytes: int,
    lead_perm: int,
    lead_shingle: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(signatures ``uint32[n, num_perm]``, distinct shingle counts ``int64[n]``, character
    leads ``uint32[n, lead_perm]``) of normalised, UTF-8 encoded texts: what
    ``fingerprint._batch_fingerprints`` gives for the ``oph`` scheme with ``lead_chars =
    lead_bytes``. ``mult`` is the one-permutation split constant of the seed (``_oph``)."""
    lengths = np.fromiter(map(len, normalised), dtype=np.int64, count=len(normalised))
    offsets = np.zeros(len(normalised) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.frombuffer(b"".join(normalised), dtype=np.uint8)
    return oph_fingerprints_joined(
        data,
        offsets,
        shingle_size=shingle_size,
        num_perm=num_perm,
        mult=mult,
        lead_bytes=lead_bytes,
        lead_perm=lead_perm,
        lead_shingle=lead_shingle,
    )


def oph_fingerprints_joined(
    data: np.ndarray,
    offsets: np.ndarray,
    *,
    shingle_size: int,
    num_perm: int,
    mult: int,
    lead_bytes: int,
    lead_perm: int,
    lead_shingle: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``oph_fingerprints`` of the texts ``data[offsets[i]:offsets[i + 1]]`` (uint8, int64)."""
    widths = np.diff(offsets)
    powers, inverse = _powers(int(widths.max(initial=0)) + 1)
    return _compiled()(
        data,
        offsets,
        powers,
        inverse,
        shingle_size,
        num_perm,
        np.uint64(mult),
        lead_bytes,
        lead_perm,
        lead_shingle,
    )


# -- line shapes: the furniture model's template keys ------------------------------------------
#
# ``furniture.line_shape`` masks a line's names, numbers, handles and links (``_VARIABLE``),
# normalises the masked line (``textnorm.normalise``) and keys it by xxh64; it also counts the
# template's own words. ``line_shapes`` does all of it in one compiled pass per line for the
# lines whose characters are "simple": in the Basic Multilingual Plane, no combining mark or
# Hangul jamo, each NFKC-stable or with an ASCII NFKC form of one character or of no word
# character, and casefolded to one character (so rules 1-4 of the normalisation act character
# by character, through one table). Other lines are left to the Python path.

_W, _S, _D, _SPLIT = 1, 2, 4, 8  # classes: re's \w, \s, \d; str.split()'s whitespace
# and: [\w.,:/-] (a number's run), what leaves no key (X . , : ; - space), what owns no word
# (X . , : ; - | @ ( )): one lookup answers each test of the mask and the template.
_RUN, _NOKEY, _NOOWN = 16, 32, 64
_COMPLEX, _DELETED = -2, -1  # the normalisation table's marks


@functools.cache
def _shape_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(classes uint8, normalised code int32, word character bool) of every BMP code point."""
    import re
    import unicodedata

    from pipelines.core import textnorm

    plane = "".join(map(chr, range(0x10000)))
    classes = np.zeros(0x10000, dtype=np.uint8)
    for pattern, bit in ((r"\w", _W), (r"\s", _S), (r"\d", _D)):
        classes[[m.start() for m in re.finditer(pattern, plane)]] |= bit
    classes[[c for c in range(0x10000) if chr(c).isspace()]] |= _SPLIT
    classes[[ord(c) for c in ".,:/-"]] |= _RUN
    classes[(classes & _W) != 0] |= _RUN
    classes[[ord(c) for c in "X .,:;-"]] |= _NOKEY
    classes[[ord(c) for c in "X.,:;-|@()"]] |= _NOOWN
    wordtab = textnorm._BMP_IS_WORD
    invisible = set(textnorm._INVISIBLE)
    unify = dict(textnorm._QUOTES_AND_DASHES)  # code point -> its replacement
    norm = np.full(0x10000, _COMPLEX, dtype=np.int32)
    for c in range(0x10000):
        ch = chr(c)
        if 0xD800 <= c < 0xE000 or 0x1100 <= c < 0x1200 or 0xA960 <= c < 0xA980:
            continue  # surrogates, Hangul jamo (NFKC composes them)
        if 0xD7B0 <= c < 0xD800 or unicodedata.category(ch).startswith("M"):
            continue
        if c in invisible:
            norm[c] = _DELETED
            continue
        nfkc = unicodedata.normalize("NFKC", ch)
        if nfkc != ch:
            # Forms in ASCII: one character ("\u00b2" -> "2", "\uff21" -> "a"), or two or more
            # that are no word characters ("\u2026" -> "..."), which no rule can join to a
            # word: they separate words as a space does ("\u00a0" -> " ").
            if not nfkc.isascii():
                continue
            to = "".join(unify.get(ord(f), f) for f in nfkc.casefold())
            if len(to) == 1:
                norm[c] = ord(to)
            elif not any(wordtab[ord(f)] for f in to):
                norm[c] = ord(" ")
            continue
        folded = ch.casefold()
        if len(folded) != 1:
            continue
        to = unify.get(ord(folded), folded)
        if len(to) != 1 or (ord(to) >= 0x80 and unicodedata.normalize("NFKC", to) != to):
            continue
        norm[c] = ord(to)
    return classes, norm, wordtab.copy()


u64 = np.uint64
p1, p2 = u64(0x9E3779B185EBCA87), u64(0xC2B2AE3D27D4EB4F)
p3, p4, p5 = u64(0x165667B19E3779F9), u64(0x85EBCA77C2B2AE63), u64(0x27D4EB2F165667C5)
v4_start = u64((1 << 64) - 0x9E3779B185EBCA87)  # seed 0 minus prime 1, mod 2**64
W, S, D, SPLIT = _W, _S, _D, _SPLIT
RUN, NOKEY, NOOWN = _RUN, _NOKEY, _NOOWN


@_njit
def rotl(x, r):
    return (x << u64(r)) | (x >> u64(64 - r))


@_njit
def read64(b, at):
    v = u64(0)
    for i in range(8):
        v |= u64(b[at + i]) << u64(8 * i)
    return v


@_njit
def xround(acc, lane):
    acc += lane * p2
    return rotl(acc, 31) * p1


@_njit
def xxh64(b, n):
    # XXH64 with seed 0 (the xxhash package's xxh64_intdigest) of b[:n].
    at = 0
    if n >= 32:
        v1, v2, v3, v4 = p1 + p2, p2, u64(0), v4_start
        while at + 32 <= n:
            v1 = xround(v1, read64(b, at))
            v2 = xround(v2, read64(b, at + 8))
            v3 = xround(v3, read64(b, at + 16))
            v4 = xround(v4, read64(b, at + 24))
            at += 32
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)
        for v in (v1, v2, v3, v4):
            h ^= xround(u64(0), v)
            h = h * p1 + p4
    else:
        h = p5
    h += u64(n)
    while at + 8 <= n:
        h ^= xround(u64(0), read64(b, at))
        h = rotl(h, 27) * p1 + p4
        at += 8
    if at + 4 <= n:
        lane = u64(b[at]) | (u64(b[at + 1]) << u64(8))
        lane |= (u64(b[at + 2]) << u64(16)) | (u64(b[at + 3]) << u64(24))
        h ^= lane * p1
        h = rotl(h, 23) * p2 + p3
        at += 4
    while at < n:
        h ^= u64(b[at]) * p5
        h = rotl(h, 11) * p1
        at += 1
    h ^= h >> u64(33)
    h *= p2
    h ^= h >> u64(29)
    h *= p3
    h ^= h >> u64(32)
    return h


@_inline
def is_joiner(c):
    # - ' . , : / @ &
    return c == 45 or c == 39 or c == 46 or c == 44 or c == 58 or c == 47 or c == 64 or c == 38


@_inline
def emit(c, out, size, at, pending, prev_word, held, wordtab):
    # Feed one prepared character (after rules 1-4) to the words of rules 5-6, writing
    # UTF-8 into out[at:]: a joining mark right after a word character is held until the
    # next character shows whether it joins two words. Returns the new state.
    if wordtab[c]:
        if held >= 0:
            out[size] = held
            size += 1
        elif pending and size > at:
            out[size] = 32
            size += 1
        if c < 0x80:
            out[size] = c
            size += 1
        elif c < 0x800:
            out[size] = 0xC0 | (c >> 6)
            out[size + 1] = 0x80 | (c & 0x3F)
            size += 2
        else:
            out[size] = 0xE0 | (c >> 12)
            out[size + 1] = 0x80 | ((c >> 6) & 0x3F)
            out[size + 2] = 0x80 | (c & 0x3F)
            size += 3
        return size, False, True, -1
    if prev_word and is_joiner(c):
        return size, pending, False, c
    return size, True, False, -1


@_njit
def is_simple(codes, a, b, norm):
    for j in range(a, b):
        if codes[j] > 0xFFFF or norm[codes[j]] == -2:
            return False
    return True


@_njit
def normalise_many(codes, offsets, norm, wordtab):
    # The normal forms of the simple lines, UTF-8, one line break after each line (an empty
    # form for a line left to Python), and their xxh64 keys.
    n = offsets.size - 1
    done = np.zeros(n, dtype=np.bool_)
    keys = np.zeros(n, dtype=np.uint64)
    out = np.empty(3 * codes.size + n + 1, dtype=np.uint8)
    size = 0
    for t in range(n):
        a, b = offsets[t], offsets[t + 1]
        if is_simple(codes, a, b, norm):
            start = size
            pending, prev_word, held = False, False, -1
            for j in range(a, b):
                to = norm[codes[j]]
                if to >= 0:
                    size, pending, prev_word, held = emit(
                        to, out, size, start, pending, prev_word, held, wordtab
                    )
            done[t] = True
            if size > start:
                keys[t] = xxh64(out[start:size], size - start)
        out[size] = 10
        size += 1
    return done, out[:size], keys


@_njit
def decode(data, n):
    # Code points of UTF-8 lines joined by line breaks, and each line's start and end.
    codes = np.empty(data.size, dtype=np.uint32)
    offsets = np.zeros(n + 1, dtype=np.int64)
    m = 0
    t = 0
    j = 0
    while j < data.size:
        x = np.uint32(data[j])
        if x == 10:
            t += 1
            offsets[t] = m
            j += 1
            continue
        if x < 0x80:
            c = x
            j += 1
        elif x < 0xE0:
            c = ((x & 0x1F) << 6) | (np.uint32(data[j + 1]) & 0x3F)
            j += 2
        elif x < 0xF0:
            c = ((x & 0x0F) << 12) | ((np.uint32(data[j + 1]) & 0x3F) << 6)
            c |= np.uint32(data[j + 2]) & 0x3F
            j += 3
        else:
            c = ((x & 0x07) << 18) | ((np.uint32(data[j + 1]) & 0x3F) << 12)
            c |= ((np.uint32(data[j + 2]) & 0x3F) << 6) | (np.uint32(data[j + 3]) & 0x3F)
            j += 4
        codes[m] = c
        m += 1
    offsets[n] = m
    return codes[:m], offsets


@_njit
def join_forms(forms, starts, ends, occurrences, keep, docs):
    # Each document's kept, non-empty forms (line i's is forms[starts[i]:ends[i]]) joined by
    # single spaces (endofrun's _normalised_text) as UTF-8, and each document's bounds.
    total = 0
    for i in range(occurrences.size):
        if keep[i]:
            total += ends[occurrences[i]] - starts[occurrences[i]] + 1
    out = np.empty(total + 1, dtype=np.uint8)
    offsets = np.zeros(docs.size, dtype=np.int64)
    size = 0
    for d in range(docs.size - 1):
        start = size
        for i in range(docs[d], docs[d + 1]):
            if not keep[i]:
                continue
            a, b = starts[occurrences[i]], ends[occurrences[i]]
            if b == a:
                continue
            if size > start:
                out[size] = 32
                size += 1
            out[size : size + b - a] = forms[a:b]
            size += b - a
        offsets[d + 1] = size
    return out[:size], offsets


@_njit
def shapes(codes, offsets, classes, norm, wordtab):
    n = offsets.size - 1
    kind = np.zeros(n, dtype=np.int8)  # 0: left to Python, 1: no key, 2: "s", 3: a hash
    hashes = np.zeros(n, dtype=np.uint64)
    own = np.zeros(n, dtype=np.int64)
    tokens = np.zeros(n, dtype=np.int64)
    longest = 0
    for t in range(n):
        longest = max(longest, offsets[t + 1] - offsets[t])
    out = np.empty(4 * longest + 4, dtype=np.uint8)
    for t in range(n):
        a, b = offsets[t], offsets[t + 1]
        if not is_simple(codes, a, b, norm):
            continue
        # Mask (@\w+ | https?://\S+ | \b[A-Z][\w'\-]* | \b(?=[\w.,:/\-]*\d)[\w.,:/\-]+),
        # each masked character fed on as it comes.
        key = False
        words = 0
        count = 0
        in_token = False
        owned = False
        size, pending, prev_word, held = 0, False, False, -1
        i = a
        run_end, run_digit = -1, -1  # the last number run scanned, and its last digit
        while i < b:
            c = codes[i]
            here = classes[c]
            word_before = i > a and (classes[codes[i - 1]] & W) != 0
            end = -1
            if c == 64 and i + 1 < b and (classes[codes[i + 1]] & W) != 0:
                end = i + 1
                while end < b and (classes[codes[end]] & W) != 0:
                    end += 1
            if end < 0 and c == 104 and i + 3 < b:
                # "http://" or "https://", then a run of at least one non-space
                k = i + 4
                if codes[i + 1] == 116 and codes[i + 2] == 116 and codes[i + 3] == 112:
                    if k < b and codes[k] == 115:
                        k += 1
                    if (
                        k + 3 < b
                        and codes[k] == 58
                        and codes[k + 1] == 47
                        and codes[k + 2] == 47
                        and (classes[codes[k + 3]] & S) == 0
                    ):
                        end = k + 3
                        while end < b and (classes[codes[end]] & S) == 0:
                            end += 1
            if end < 0 and ((here & W) != 0) != word_before:
                if 65 <= c <= 90:
                    end = i + 1
                    while end < b and (
                        (classes[codes[end]] & W) != 0 or codes[end] == 39 or codes[end] == 45
                    ):
                        end += 1
                elif (here & RUN) != 0:
                    # The maximal run from i holds a digit: within the run last scanned
                    # that is whether its last digit lies at or after i.
                    if i >= run_end:
                        run_end, run_digit = i, -1
                        while run_end < b and (classes[codes[run_end]] & RUN) != 0:
                            if (classes[codes[run_end]] & D) != 0:
                                run_digit = run_end
                            run_end += 1
                    if run_digit >= i:
                        end = run_end
            if end > i:
                c = 88  # X
                here = classes[88]
                i = end
            else:
                i += 1
            # The masked character: whether the line keeps a key (anything but X . , : ;
            # - and spaces), its tokens (str.split) and own words (tokens holding a
            # character outside X . , : ; - | @ ( )), and its normal form.
            key |= (here & NOKEY) == 0
            if (here & SPLIT) != 0:
                if in_token:
                    count += 1  # masking keeps the line's whitespace: its str.split()
                    if owned:
                        words += 1
                in_token = False
                owned = False
            else:
                in_token = True
                owned |= (here & NOOWN) == 0
            to = norm[c]
            if to >= 0:
                size, pending, prev_word, held = emit(
                    to, out, size, 0, pending, prev_word, held, wordtab
                )
        if in_token:
            count += 1
            if owned:
                words += 1
        own[t] = words
        tokens[t] = count
        if not key:
            kind[t] = 1
        elif size == 0:
            kind[t] = 2  # an empty normal form keys as "s" (furniture._key_of gives "")
        else:
            kind[t] = 3
            hashes[t] = xxh64(out, size)
    return kind, hashes, own, tokens


def _compiled_shapes() -> Any:
    """The line kernels: (shapes, normal forms, UTF-8 decoding, joined forms)."""
    return shapes, normalise_many, decode, join_forms


def line_shapes(lines: Sequence[str]) -> list[tuple[str, int] | None]:
    """``furniture.line_shape`` of each line (stripped, no line break), or None for a line the
    kernel leaves to the Python path (a character beyond the simple ones)."""
    if not lines:
        return []
    got = _codes(lines)
    if got is None:
        return [None] * len(lines)
    codes, offsets = got
    classes, norm, wordtab = _shape_tables()
    kind, hashes, own, _ = _compiled_shapes()[0](codes, offsets, classes, norm, wordtab)
    out: list[tuple[str, int] | None] = []
    for k, h, w in zip(kind.tolist(), hashes.tolist(), own.tolist(), strict=True):
        if k == 3:
            out.append((f"s{h:016x}", w))
        elif k == 0:
            out.append(None)
        else:
            out.append(("" if k == 1 else "s", w))
    return out


def _codes(lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """(code points of the joined lines, each line's start and end), None for a lone surrogate.
    UTF-8 decoded by the kernel: Python's UTF-32 encoder took 3 ns a character."""
    try:
        encoded = "\n".join(lines).encode("utf-8")
    except UnicodeEncodeError:
        return None
    return decode_lines(encoded, len(lines))


def decode_lines(encoded: bytes, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``_codes`` of ``n`` lines whose UTF-8, joined by line breaks, is ``encoded``."""
    return _compiled_shapes()[2](np.frombuffer(encoded, dtype=np.uint8), n)


def normalise_lines(lines: Sequence[str]) -> tuple[list[str | None], list[int]]:
    """(``textnorm.normalise`` of each line, or None for a line left to the Python path; the
    xxh64 of each form's UTF-8, 0 for an empty or left line). Lines hold no line break."""
    if not lines:
        return [], []
    index: dict[str, int] = {}  # furniture recurs from page to page: each line once
    at = [index.setdefault(ln, len(index)) for ln in lines]
    got = _codes(list(index))
    if got is None:
        return [None] * len(lines), [0] * len(lines)
    _, norm, wordtab = _shape_tables()
    done, out, keys = _compiled_shapes()[1](*got, norm, wordtab)
    split = out.tobytes().decode("utf-8").split("\n")
    forms = [f if d else None for f, d in zip(split, done.tolist(), strict=False)]
    if len(index) == len(lines):
        return forms, keys.tolist()
    hashes = keys.tolist()
    return [forms[i] for i in at], [hashes[i] for i in at]
