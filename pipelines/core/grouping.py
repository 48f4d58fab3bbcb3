"""Group copies of one article: LSH candidates, verified pairs, union-find, stable cluster ids.

Why verification: the LSH index is tuned for a low Jaccard threshold so that edited and truncated
copies become candidates at all, and at such thresholds chance candidates are common. Joining on
candidates alone chains unrelated documents into giant clusters (FIELD-NOTES: precision
0.03-0.4). Every candidate is therefore checked with the signatures' estimated Jaccard and the
estimated containment both ways before any union.

Containment from Jaccard: for sets A and B with J = |A∩B| / |A∪B| and |A∪B| = |A| + |B| - |A∩B|,
|A∩B| = J (|A| + |B|) / (1 + J). The distinct shingle counts are exact, so only J is estimated.

Cluster ids never change meaning: a cluster's id comes from the document that founded it
(``"c" + sha1(doc_id)[:16]``); when clusters merge, the one founded earlier keeps its id and the
merge is recorded. Clusters never split: a document whose page changed keeps its cluster, and its
new text can only add edges.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from array import array
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from datasketch import MinHashLSH
from datasketch.lsh import _optimal_param
from datasketch.storage import OrderedStorage, UnorderedStorage

from pipelines.core.config import GroupingConfig, IncompatibleStateError

DUPLICATE = "duplicate"
EXCERPT = "excerpt"
STATE_FORMAT = 1
# A fixed name: with a random one (datasketch's default) a persisted index finds nothing on rerun.
_LSH_BASENAME = b"syndication_tracker"


# ---------------------------------------------------------------------------------------------
# The maths, as plain functions.


def estimate_intersection(jaccard: float, n_a: int, n_b: int) -> float:
    """|A∩B| from Jaccard and the set sizes: J (|A| + |B|) / (1 + J)."""
    return jaccard * (n_a + n_b) / (1.0 + jaccard)


def containments(jaccard: float, n_a: int, n_b: int) -> tuple[float, float]:
    """Estimated (share of A inside B, share of B inside A), each clipped to [0, 1].

    Clipping is needed because J is an estimate: a small excerpt's estimated intersection can
    exceed its own size.
    """
    inter = estimate_intersection(jaccard, n_a, n_b)
    a_in_b = min(1.0, inter / n_a) if n_a else 0.0
    b_in_a = min(1.0, inter / n_b) if n_b else 0.0
    return a_in_b, b_in_a


def classify(
    jaccard: float, n_a: int, n_b: int, config: GroupingConfig
) -> tuple[str | None, float, float]:
    """(relation or None, a_in_b, b_in_a) for a candidate pair under ``config``'s thresholds.

    A pair is joined when its Jaccard reaches ``duplicate_jaccard`` or when the shorter text
    (with enough shingles) is contained in the longer one. It is labelled ``excerpt`` when the
    containment is one-sided (the shorter is inside the longer but not the other way round),
    even if its Jaccard also passes; otherwise ``duplicate``. At the low default Jaccard
    threshold a half-length excerpt would else be called a duplicate.
    """
    a_in_b, b_in_a = containments(jaccard, n_a, n_b)
    if n_a == 0 or n_b == 0:
        return None, a_in_b, b_in_a
    # Judge containment on a lower confidence bound of J: at small J the estimate's relative
    # error is large, and a short text of another story that shares stock phrases can look
    # contained (seen on the demo web: exact containment 0.39 estimated as 0.73).
    sigma = math.sqrt(max(jaccard * (1.0 - jaccard), 0.0) / config.num_perm)
    low_a, low_b = containments(max(0.0, jaccard - config.excerpt_z * sigma), n_a, n_b)
    (shorter_in, shorter_n), (longer_in, _) = sorted([(low_a, n_a), (low_b, n_b)], key=_by_size)
    c = config.excerpt_containment
    if shorter_in >= c and longer_in < c and shorter_n >= config.excerpt_min_shingles:
        return EXCERPT, a_in_b, b_in_a
    if jaccard >= config.duplicate_jaccard:
        return DUPLICATE, a_in_b, b_in_a
    return None, a_in_b, b_in_a


def classify_lead(lead_jaccard: float, n_a: int, n_b: int, config: GroupingConfig) -> str | None:
    """Relation of a pair the full signatures did not join, from their openings.

    Two texts with the same opening are copies of one article; the shorter one is an excerpt
    (or a truncated copy) when it is clearly shorter. Both need ``excerpt_min_shingles``
    shingles, so a few shared stock words cannot join two short texts.
    """
    if lead_jaccard < config.lead_jaccard or min(n_a, n_b) < config.excerpt_min_shingles:
        return None
    return EXCERPT if min(n_a, n_b) < 0.8 * max(n_a, n_b) else DUPLICATE


def verify(
    jaccard: float, lead_jaccard: float | None, n_a: int, n_b: int, config: GroupingConfig
) -> tuple[str | None, float, float]:
    """(relation or None, a_in_b, b_in_a) of a candidate pair: the one rule every grouper uses.

    ``classify`` on the full signatures first; a pair it does not join is judged on its
    openings when both documents have a lead signature (``lead_jaccard`` not None).
    """
    relation, a_in_b, b_in_a = classify(jaccard, n_a, n_b, config)
    if relation is None and lead_jaccard is not None:
        relation = classify_lead(lead_jaccard, n_a, n_b, config)
    return relation, a_in_b, b_in_a


def verify_many(
    jaccards: np.ndarray,
    lead_jaccards: np.ndarray,
    with_leads: np.ndarray,
    n_a: np.ndarray,
    n_b: np.ndarray,
    config: GroupingConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``verify`` of many candidate pairs at once: (relation codes, a_in_b, b_in_a), the code
    0 for no relation, 1 for ``duplicate``, 2 for ``excerpt`` (``RELATIONS``). The same
    float64 operations in the same order as ``verify``, so the same answers
    (tests/test_grouping.py compares them)."""
    j = np.asarray(jaccards, dtype=np.float64)
    na = np.asarray(n_a, dtype=np.int64)
    nb = np.asarray(n_b, dtype=np.int64)

    def contained(jj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inter = jj * (na + nb) / (1.0 + jj)
        with np.errstate(divide="ignore", invalid="ignore"):
            a_in = np.where(na > 0, np.minimum(1.0, inter / np.maximum(na, 1)), 0.0)
            b_in = np.where(nb > 0, np.minimum(1.0, inter / np.maximum(nb, 1)), 0.0)
        return a_in, b_in

    a_in_b, b_in_a = contained(j)
    sigma = np.sqrt(np.maximum(j * (1.0 - j), 0.0) / config.num_perm)
    low_a, low_b = contained(np.maximum(0.0, j - config.excerpt_z * sigma))
    a_shorter = na <= nb  # sorted() by size is stable: a first on a tie
    shorter_in = np.where(a_shorter, low_a, low_b)
    longer_in = np.where(a_shorter, low_b, low_a)
    shorter_n = np.minimum(na, nb)
    longer_n = np.maximum(na, nb)
    c = config.excerpt_containment
    excerpt = (shorter_in >= c) & (longer_in < c) & (shorter_n >= config.excerpt_min_shingles)
    relation = np.where(excerpt, 2, np.where(j >= config.duplicate_jaccard, 1, 0))
    relation[(na == 0) | (nb == 0)] = 0
    lead = (
        (relation == 0)
        & np.asarray(with_leads, dtype=bool)
        & (np.asarray(lead_jaccards, dtype=np.float64) >= config.lead_jaccard)
        & (shorter_n >= config.excerpt_min_shingles)
    )
    relation[lead] = np.where(shorter_n[lead] < 0.8 * longer_n[lead], 2, 1)
    return relation, a_in_b, b_in_a


RELATIONS = (None, DUPLICATE, EXCERPT)
# Candidate pairs from which verify_many beats verify pair by pair (about 2.5 us a pair against
# 35 us of numpy calls per batch: even at 13 pairs).
_VERIFY_AT_ONCE = 16


def _by_size(item: tuple[float, int]) -> int:
    return item[1]


def cluster_id_for(doc_id: Hashable) -> str:
    """Id of a cluster founded by ``doc_id``: ``"c"`` + 16 hex digits of sha1(str(doc_id))."""
    return "c" + hashlib.sha1(str(doc_id).encode("utf-8")).hexdigest()[:16]


@functools.lru_cache(maxsize=16)
def lsh_params(threshold: float, num_perm: int, weights: tuple[float, float]) -> tuple[int, int]:
    """(bands, rows) datasketch's optimiser picks; cached because it takes about a second."""
    return _optimal_param(threshold, num_perm, weights[0], weights[1])


# ---------------------------------------------------------------------------------------------
# Union-find.


class UnionFind:
    """Disjoint sets over arbitrary hashable keys: union by size, iterative path compression."""

    def __init__(self) -> None:
        self._parent: dict[Hashable, Hashable] = {}
        self._size: dict[Hashable, int] = {}

    def add(self, x: Hashable) -> None:
        """Make ``x`` a singleton set if it is not known yet."""
        if x not in self._parent:
            self._parent[x] = x
            self._size[x] = 1

    def __contains__(self, x: Hashable) -> bool:
        return x in self._parent

    def __len__(self) -> int:
        return len(self._parent)

    def find(self, x: Hashable) -> Hashable:
        """Root of ``x``'s set (``KeyError`` for an unknown key). Iterative: no recursion limit."""
        parent = self._parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: Hashable, b: Hashable) -> Hashable:
        """Join the sets of ``a`` and ``b`` (added if unknown); returns the new root."""
        self.add(a)
        self.add(b)
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._size[ra] += self._size.pop(rb)
        return ra

    @classmethod
    def from_roots(cls, keys: Iterable[Hashable], roots: Iterable[Hashable]) -> UnionFind:
        """Rebuild from each key's root (as ``find`` gave them), e.g. after loading saved state."""
        uf = cls()
        for key, root in zip(keys, roots, strict=True):
            uf._parent[key] = root
            uf._size[root] = uf._size.get(root, 0) + 1
        missing = [root for root in uf._size if uf._parent.get(root) != root]
        if missing:
            raise ValueError(f"roots {missing[:5]} are not their own root")
        return uf

    def set_size(self, x: Hashable) -> int:
        return self._size[self.find(x)]

    def groups(self) -> dict[Hashable, list[Hashable]]:
        """Root -> members, members in the order they were added."""
        out: dict[Hashable, list[Hashable]] = {}
        for x in self._parent:
            out.setdefault(self.find(x), []).append(x)
        return out


# ---------------------------------------------------------------------------------------------
# The incremental grouper.


class CompactBuckets(UnorderedStorage):
    """In-memory LSH bucket table that stores a lone key without a ``set`` around it.

    At a low LSH threshold almost every bucket holds one document, and datasketch's dict storage
    spends an empty-ish ``set`` (about 200 bytes) on each: measured 13.4 KB per document at 37
    bands against 5.2 KB with this table (``bench/measure_fingerprint.py``). A bucket value
    is the key itself, or a tuple when several keys share the bucket. Keys must not be tuples.
    """

    def __init__(self) -> None:
        self._d: dict[bytes, Hashable] = {}

    def keys(self) -> Iterable[bytes]:
        return self._d.keys()

    def get(self, key: bytes) -> tuple[Hashable, ...]:
        value = self._d.get(key, ())
        return value if type(value) is tuple else (value,)

    def insert(self, key: bytes, *vals: Hashable, **kwargs: object) -> None:
        for val in vals:
            current = self._d.get(key, ())
            members = current if type(current) is tuple else (current,)
            if val in members:
                continue
            self._d[key] = val if not members else (*members, val)

    def remove(self, *keys: bytes, **kwargs: object) -> None:
        for key in keys:
            self._d.pop(key, None)

    def remove_val(self, key: bytes, val: Hashable, **kwargs: object) -> None:
        rest = tuple(v for v in self.get(key) if v != val)
        self._d[key] = rest[0] if len(rest) == 1 else rest

    def size(self) -> int:
        return len(self._d)

    def itemcounts(self, **kwargs: object) -> dict[bytes, int]:
        return {key: len(self.get(key)) for key in self._d}

    def has_key(self, key: bytes) -> bool:
        return key in self._d

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def __getitem__(self, key: bytes) -> tuple[Hashable, ...]:
        return self.get(key)


# Slot states of ArrayBuckets' value array; values >= 0 are a lone member, values <= _MULTI
# point into the list of multi-member buckets.
_FREE, _EMPTIED, _MULTI = -1, -2, -3
_GOLDEN64 = 0x9E3779B97F4A7C15
_MIX_TAIL = 0xC2B2AE3D27D4EB4F  # odd: a bijection mod 2^64
_MASK64 = (1 << 64) - 1


class ArrayBuckets(UnorderedStorage):
    """LSH bucket table of one band in flat arrays: no Python object per bucket.

    ``CompactBuckets`` still spends about 90 bytes per (document, band) on a dict entry and a
    ``bytes`` key, about 3.3 KB per document at 37 bands, which does not fit a million documents
    in 6 GB. Here a bucket is one slot of an open-addressing table (linear probing, at most 2/3
    full): the key's first 8 bytes as an integer tag, the rest of its bytes, and its member, in
    three flat arrays (20 bytes a slot for datasketch's 12-byte band hashes, about 40 bytes per
    (document, band) on average). Keys must be fixed-width ``bytes`` (datasketch's band hashes
    are) and members non-negative ints (the grouper's row numbers). A bucket with several
    members keeps them as a tuple in a side list; at a low LSH threshold almost every bucket has
    one. Emptied buckets stay as tombstones until the table grows, so probe chains never break.
    """

    def __init__(self, capacity: int = 1024) -> None:
        cap = 1 << max(4, (capacity - 1).bit_length())
        self._width = 0  # key length, fixed by the first insert
        self._tail_width = 0  # key bytes beyond the 8-byte tag
        # array.array, not numpy: reading one slot gives a plain int, several times faster.
        self._vals = array("q", [_FREE]) * cap
        self._tags = array("Q", [0]) * cap
        self._tails = bytearray()
        self._used = 0  # slots not free (live buckets and tombstones)
        self._live = 0
        self._multi: list[tuple[int, ...] | None] = []
        self._multi_free: list[int] = []
        self._set_capacity(cap)

    def _set_capacity(self, cap: int) -> None:
        self._cap = cap
        self._mask = cap - 1
        self._shift = 64 - (cap.bit_length() - 1)

    def _find(self, key: bytes) -> int:
        """Slot of ``key``, or the free slot where it would go."""
        if len(key) != self._width:
            raise ValueError(f"ArrayBuckets keys are {self._width} bytes, got {len(key)}")
        tag = int.from_bytes(key[:8], "little")
        vals, tags, mask, tw = self._vals, self._tags, self._mask, self._tail_width
        # Fibonacci hashing of the tag mixed with the rest of the key: MinHash values are
        # minima, so their high bits are mostly zero and the tag's low bits alone would crowd a
        # few slots; and keys that share their first values (character leads of openings that
        # share a frequent 5-gram: 10% of one band's keys had one first value) must not share
        # a probe chain.
        mixed = tag
        if tw:
            for at in range(8, 8 + tw, 8):
                mixed ^= (int.from_bytes(key[at : at + 8], "little") * _MIX_TAIL) & _MASK64
        i = (((mixed ^ (mixed >> 31)) * _GOLDEN64) & _MASK64) >> self._shift
        if tw:
            tail, tails = key[8:], self._tails
            while True:
                if vals[i] == _FREE or (tags[i] == tag and tails[i * tw : i * tw + tw] == tail):
                    return i
                i = (i + 1) & mask
        while True:
            if vals[i] == _FREE or tags[i] == tag:
                return i
            i = (i + 1) & mask

    def _members(self, slot: int) -> tuple[int, ...]:
        v = self._vals[slot]
        if v >= 0:
            return (v,)
        if v <= _MULTI:
            return self._multi[_MULTI - v]  # type: ignore[return-value]
        return ()

    def _store(self, slot: int, members: tuple[int, ...]) -> None:
        old = self._vals[slot]
        if old <= _MULTI:
            self._multi[_MULTI - old] = None
            self._multi_free.append(_MULTI - old)
        if not members:
            self._vals[slot] = _EMPTIED
        elif len(members) == 1:
            self._vals[slot] = members[0]
        else:
            if self._multi_free:
                idx = self._multi_free.pop()
                self._multi[idx] = members
            else:
                idx = len(self._multi)
                self._multi.append(members)
            self._vals[slot] = _MULTI - idx

    def _key_at(self, slot: int) -> bytes:
        tw = self._tail_width
        head = self._tags[slot].to_bytes(8, "little")[: self._width]
        return head + bytes(self._tails[slot * tw : slot * tw + tw])

    def _live_slots(self) -> np.ndarray:
        vals = np.frombuffer(self._vals, dtype=np.int64)
        return np.flatnonzero((vals >= 0) | (vals <= _MULTI))

    # -- the storage API datasketch calls ------------------------------------------------------

    def keys(self) -> Iterable[bytes]:
        return [self._key_at(int(i)) for i in self._live_slots()]

    def get(self, key: bytes) -> tuple[int, ...]:
        if not self._width:
            return ()
        return self._members(self._find(key))

    def insert(self, key: bytes, *vals: int, **kwargs: object) -> None:
        if not self._width:
            if not key:
                raise ValueError("ArrayBuckets keys must not be empty")
            self._width = len(key)
            self._tail_width = max(0, len(key) - 8)
            self._tails = bytearray(self._cap * self._tail_width)
        for val in vals:
            if type(val) is not int or val < 0:
                raise TypeError(f"ArrayBuckets members are non-negative ints, got {val!r}")
            slot = self._find(key)
            state = self._vals[slot]
            if state == _FREE:
                tw = self._tail_width
                self._tags[slot] = int.from_bytes(key[:8], "little")
                if tw:
                    self._tails[slot * tw : slot * tw + tw] = key[8:]
                self._vals[slot] = val
                self._used += 1
                self._live += 1
                if 3 * self._used > 2 * self._cap:
                    self._grow()
                continue
            members = self._members(slot)
            if val in members:
                continue
            if not members:
                self._live += 1
            self._store(slot, (*members, val))

    def remove(self, *keys: bytes, **kwargs: object) -> None:
        for key in keys:
            if not self._width:
                return
            slot = self._find(key)
            if self._members(slot):
                self._live -= 1
                self._store(slot, ())

    def remove_val(self, key: bytes, val: int, **kwargs: object) -> None:
        if not self._width:
            return
        slot = self._find(key)
        members = self._members(slot)
        if val in members:
            rest = tuple(m for m in members if m != val)
            if not rest:
                self._live -= 1
            self._store(slot, rest)

    def size(self) -> int:
        return self._live

    def itemcounts(self, **kwargs: object) -> dict[bytes, int]:
        return {key: len(self.get(key)) for key in self.keys()}

    def has_key(self, key: bytes) -> bool:
        return bool(self._width) and bool(self._members(self._find(key)))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, bytes) and self.has_key(key)

    def nbytes(self) -> int:
        """Bytes held by the arrays (not counting the rare multi-member tuples)."""
        return len(self._tails) + 16 * self._cap

    # -- growth --------------------------------------------------------------------------------

    def _grow(self) -> None:
        """Double the table and re-place every live bucket, vectorised (tombstones dropped).

        Placement in rounds: each round puts every key whose probe position is free and that
        is the first to want it; the others move one slot on. A key thus lands only after an
        occupied run from its home slot, which is what linear probing's lookups rely on.
        """
        tw = self._tail_width
        live = self._live_slots()
        old_tags = np.frombuffer(self._tags, dtype=np.uint64)[live]
        old_vals = np.frombuffer(self._vals, dtype=np.int64)[live]
        old_tails = np.frombuffer(bytes(self._tails), dtype=np.uint8).reshape(self._cap, tw)[live]
        cap = self._cap * 2
        self._set_capacity(cap)
        with np.errstate(over="ignore"):
            mixed = old_tags.copy()
            if tw:  # the rest of each key in 8-byte words, zero-padded, as _find reads it
                padded = np.zeros((live.size, -(-tw // 8) * 8), dtype=np.uint8)
                padded[:, :tw] = old_tails
                for word in padded.view("<u8").T:
                    mixed ^= word * np.uint64(_MIX_TAIL)
            mixed ^= mixed >> np.uint64(31)
            pos = (mixed * np.uint64(_GOLDEN64)) >> np.uint64(self._shift)
        pos = pos.astype(np.int64)
        vals = np.full(cap, _FREE, dtype=np.int64)
        tags = np.zeros(cap, dtype=np.uint64)
        tails = np.zeros((cap, tw), dtype=np.uint8)
        todo = np.arange(live.size)
        while todo.size:
            p = pos[todo]
            free = vals[p] == _FREE
            slots, first = np.unique(p[free], return_index=True)
            winners = todo[free][first]
            vals[slots], tags[slots], tails[slots] = (
                old_vals[winners],
                old_tags[winners],
                old_tails[winners],
            )
            placed = np.zeros(live.size, dtype=bool)
            placed[winners] = True
            todo = todo[~placed[todo]]
            pos[todo] = (pos[todo] + 1) & self._mask
        self._vals = array("q", vals.tobytes())
        self._tags = array("Q", tags.tobytes())
        self._tails = bytearray(tails.tobytes())
        self._used = self._live = int(live.size)


class RowKeys(OrderedStorage):
    """MinHashLSH's key table for the grouper: which rows are indexed, not their band hashes.

    datasketch keeps, for every key, the list of its band hashes (to remove it later): about
    450 bytes per document. The grouper already keeps every signature, so the hashes are
    recomputed from it when a row is removed, and only one byte per row says it is indexed.
    ``band_hashes(row)`` must give the hashes the row was inserted with (the grouper removes a
    row before it overwrites its signature).
    """

    def __init__(self, band_hashes: Callable[[int], list[bytes]]) -> None:
        self._band_hashes = band_hashes
        self._present = bytearray()
        self._n = 0

    def keys(self) -> Iterable[int]:
        return np.flatnonzero(np.frombuffer(bytes(self._present), dtype=np.uint8)).tolist()

    def get(self, key: int) -> list[bytes]:
        return self._band_hashes(key) if self.has_key(key) else []

    def insert(self, key: int, *vals: bytes, **kwargs: object) -> None:
        if type(key) is not int or key < 0:
            raise TypeError(f"RowKeys keys are non-negative ints, got {key!r}")
        if key >= len(self._present):
            self._present.extend(bytes(max(key + 1 - len(self._present), len(self._present))))
        if not self._present[key]:
            self._present[key] = 1
            self._n += 1

    def remove(self, *keys: int, **kwargs: object) -> None:
        for key in keys:
            if self.has_key(key):
                self._present[key] = 0
                self._n -= 1

    def remove_val(self, key: int, val: bytes, **kwargs: object) -> None:
        raise NotImplementedError("RowKeys derives band hashes from signatures; remove the key")

    def size(self) -> int:
        return self._n

    def itemcounts(self, **kwargs: object) -> dict[int, int]:
        return {key: len(self._band_hashes(key)) for key in self.keys()}

    def has_key(self, key: object) -> bool:
        return type(key) is int and 0 <= key < len(self._present) and bool(self._present[key])

    def __contains__(self, key: object) -> bool:
        return self.has_key(key)


@dataclass(frozen=True)
class Edge:
    """A verified pair. ``doc_a`` was indexed before ``doc_b``; containments are estimates.

    ``lag_seconds`` is ``published_at(doc_b) - published_at(doc_a)`` when both are known.
    """

    doc_a: Hashable
    doc_b: Hashable
    jaccard: float
    a_in_b: float
    b_in_a: float
    relation: str
    lag_seconds: float | None = None


def _timestamp(value: datetime | float | int | None) -> float:
    """Seconds since the epoch; a naive datetime is taken as UTC (never as the machine's zone)."""
    if value is None:
        return math.nan
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"published_at must be a datetime, epoch seconds or None, got {value!r}")


def _band_keys(values: np.ndarray, lsh: MinHashLSH) -> list[bytes]:
    """The band hashes ``lsh`` gives a MinHash with these values, all bands at once.

    datasketch's ``MinHashLSH`` hashes band ``(start, end)`` as ``bytes(hv[start:end].byteswap()
    .data)``; one byteswap of the whole signature and byte slices give the same keys, without a
    numpy call per band (tests/test_grouping.py compares both).
    """
    data = values.byteswap().tobytes()
    width = values.itemsize
    return [data[start * width : end * width] for start, end in lsh.hashranges]


def _lsh_query(lsh: MinHashLSH, keys: list[bytes]) -> set[int]:
    """``lsh.query`` given the band hashes: the keys of every bucket they fall in."""
    found: set[int] = set()
    for key, table in zip(keys, lsh.hashtables, strict=True):
        found.update(table.get(key))
    return found


def _lsh_insert(lsh: MinHashLSH, row: int, keys: list[bytes]) -> None:
    """``lsh.insert(row, ...)`` given the band hashes (one computation serves query and insert)."""
    lsh.keys.insert(row, *keys)
    for key, table in zip(keys, lsh.hashtables, strict=True):
        table.insert(key, row)


_BAND_MIX = np.uint64(0x9E3779B97F4A7C15)


def band_pairs(values: np.ndarray, hashranges: Sequence[tuple[int, int]]) -> np.ndarray:
    """Pairs ``(i, j)``, ``i < j``, of rows of ``values`` equal on every row of some band.

    The candidates a ``MinHashLSH`` with these bands would give, for all rows at once: each band
    is reduced to one uint64 per row, rows are sorted by it, and every pair within a run of equal
    keys is taken (then checked on the band's values, so a collision of the reduction adds
    nothing). Returned as ``int64[k, 2]``, sorted by ``(j, i)``, without repeats.
    """
    m = values.shape[0]
    found = []
    for start, end in hashranges:
        band = values[:, start:end]
        key = band[:, 0].astype(np.uint64)
        with np.errstate(over="ignore"):
            for c in range(1, end - start):
                key = key * _BAND_MIX + band[:, c].astype(np.uint64)
        order = np.argsort(key)  # any order within a run: every pair of it is taken
        ordered = key[order]
        new_run = np.ones(m, dtype=bool)
        new_run[1:] = ordered[1:] != ordered[:-1]
        if new_run.all():
            continue
        run_start = np.maximum.accumulate(np.where(new_run, np.arange(m), 0))
        before = np.arange(m) - run_start  # earlier members of the run
        total = int(before.sum())
        later = np.repeat(np.arange(m), before)
        first = np.repeat(run_start, before)
        step = np.arange(total) - np.repeat(np.cumsum(before) - before, before)
        a, b = order[first + step], order[later]
        same = np.all(values[a, start:end] == values[b, start:end], axis=1)
        found.append(np.stack([np.minimum(a, b)[same], np.maximum(a, b)[same]], axis=1))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.concatenate(found).astype(np.int64)
    code = np.sort(pairs[:, 1] * m + pairs[:, 0])
    keep = np.ones(code.size, dtype=bool)
    keep[1:] = code[1:] != code[:-1]
    code = code[keep]
    return np.stack([code % m, code // m], axis=1)


class Grouper:
    """Incremental grouping of documents by MinHash signature.

    ``add`` queries an in-memory datasketch ``MinHashLSH`` for candidates, verifies each one,
    unions verified pairs and then indexes the document. Signatures live in one growing
    ``uint32[n, num_perm]`` array; the LSH index keys are row numbers (small ints).

    ``storage`` picks the index's tables: ``"array"`` (the default) uses ``ArrayBuckets`` and
    ``RowKeys``, about 1.5 KB of index per document at the default 37 bands (a million documents
    fit in a few GB); ``"tuple"`` uses ``CompactBuckets`` (about 5 KB); ``"datasketch"`` keeps
    datasketch's own dict storage (about 13 KB), for comparison.
    All three give the same candidates, so the same edges and clusters.
    """

    def __init__(self, config: GroupingConfig, *, storage: str = "array") -> None:
        self.config = config
        self.bands, self.rows_per_band = lsh_params(
            config.lsh_threshold, config.num_perm, config.lsh_weights
        )
        self._lsh = MinHashLSH(
            num_perm=config.num_perm,
            params=(self.bands, self.rows_per_band),
            storage_config={"type": "dict", "basename": _LSH_BASENAME},
        )
        if storage == "array":
            self._lsh.hashtables = [ArrayBuckets() for _ in range(self.bands)]
            self._lsh.keys = RowKeys(self._band_hashes)
        elif storage == "tuple":
            self._lsh.hashtables = [CompactBuckets() for _ in range(self.bands)]
        elif storage != "datasketch":
            raise ValueError(f"storage must be array, tuple or datasketch, got {storage!r}")
        self.storage = storage
        self._lead_lsh: MinHashLSH | None = None
        if config.lead_words > 0:
            lead_params = lsh_params(config.lead_threshold, config.lead_perm, config.lsh_weights)
            self._lead_lsh = MinHashLSH(
                num_perm=config.lead_perm,
                params=lead_params,
                storage_config={"type": "dict", "basename": _LSH_BASENAME + b"_lead"},
            )
            if storage == "array":
                self._lead_lsh.hashtables = [ArrayBuckets() for _ in range(lead_params[0])]
                self._lead_lsh.keys = RowKeys(self._lead_band_hashes)
            elif storage == "tuple":
                self._lead_lsh.hashtables = [CompactBuckets() for _ in range(lead_params[0])]
        self._leads = np.zeros((1024, config.lead_perm), dtype=np.uint32)
        self._has_lead = np.zeros(1024, dtype=bool)
        self._sigs = np.empty((1024, config.num_perm), dtype=np.uint32)
        self._n_shingles = np.empty(1024, dtype=np.int64)
        self._published = np.empty(1024, dtype=np.float64)
        self._ids: list[Hashable] = []
        self._row_of: dict[Hashable, int] = {}
        self._uf = UnionFind()
        self._root_cluster: dict[int, str] = {}
        self._cluster_seq: dict[str, int] = {}  # every id ever issued -> founding order
        self.merges: list[tuple[str, str]] = []  # (absorbed_id, surviving_id), in order
        # Rows added by add_many but not yet in the LSH tables: inserted when a later add needs
        # the index (a corpus grouped in one batch never pays for building it).
        self._unindexed: list[int] = []

    # -- queries ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, doc_id: Hashable) -> bool:
        return doc_id in self._row_of

    @property
    def n_clusters(self) -> int:
        return len(self._root_cluster)

    def cluster_of(self, doc_id: Hashable) -> str:
        """Current cluster id of ``doc_id`` (``KeyError`` when unknown)."""
        return self._root_cluster[self._uf.find(self._row_of[doc_id])]

    def cluster_size(self, cluster_id: str) -> int:
        for root, cid in self._root_cluster.items():
            if cid == cluster_id:
                return self._uf.set_size(root)
        raise KeyError(cluster_id)

    def clusters(self) -> dict[str, list[Hashable]]:
        """Cluster id -> doc ids (in the order they were first added), clusters by founding."""
        by_cluster: dict[str, list[Hashable]] = {}
        for root, rows in self._uf.groups().items():
            by_cluster[self._root_cluster[root]] = [self._ids[r] for r in rows]
        return dict(sorted(by_cluster.items(), key=lambda kv: self._cluster_seq[kv[0]]))

    def assignments(self) -> dict[Hashable, str]:
        """Doc id -> cluster id for every document, in the order first added."""
        return {doc: self._root_cluster[self._uf.find(row)] for doc, row in self._row_of.items()}

    def signature(self, doc_id: Hashable) -> np.ndarray:
        return self._sigs[self._row_of[doc_id]].copy()

    # -- updates ------------------------------------------------------------------------------

    def add(
        self,
        doc_id: Hashable,
        signature: np.ndarray,
        n_shingles: int,
        published_at: datetime | float | None = None,
        lead: np.ndarray | None = None,
    ) -> list[Edge]:
        """Verify ``doc_id`` against its LSH candidates, join verified pairs, index it.

        ``lead`` is the document's lead signature (``fingerprint.lead_signature``); without it
        the document takes part in the lead index neither as query nor as entry.

        Re-adding a known ``doc_id`` replaces its signature (a changed page): its old LSH entry
        is removed first, and its cluster stays as it was (clusters never split).
        Returns the verified edges, ordered by when the other document was first added.
        """
        sig = np.asarray(signature, dtype=np.uint32)
        if sig.shape != (self.config.num_perm,):
            raise ValueError(
                f"expected a signature of shape ({self.config.num_perm},), got {sig.shape}"
            )
        if n_shingles < 0:
            raise ValueError(f"n_shingles must be >= 0, got {n_shingles}")
        published = _timestamp(published_at)  # before any change: a bad value leaves no trace
        self._index_pending()
        row = self._row_of.get(doc_id)
        is_new = row is None
        if row is None:
            row = self._append(doc_id)
        else:
            if row in self._lsh:
                self._lsh.remove(row)
            if self._lead_lsh is not None and row in self._lead_lsh:
                self._lead_lsh.remove(row)
        has_lead = lead is not None and self._lead_lsh is not None and n_shingles > 0
        if has_lead:
            self._leads[row] = np.asarray(lead, dtype=np.uint32)
        self._has_lead[row] = has_lead
        self._sigs[row] = sig
        self._n_shingles[row] = n_shingles
        self._published[row] = published

        keys = self._band_hashes(row) if n_shingles > 0 else []
        lead_keys = self._lead_band_hashes(row) if has_lead else []
        edges = self._verified_edges(row, keys, lead_keys) if n_shingles > 0 else []
        self._join(row, [self._row_of[e.doc_a] for e in edges], found=is_new)
        if keys:
            # An empty text's all-max signature would match every other empty text.
            _lsh_insert(self._lsh, row, keys)
        if lead_keys:
            assert self._lead_lsh is not None
            _lsh_insert(self._lead_lsh, row, lead_keys)
        return edges

    def add_many(
        self,
        doc_ids: Sequence[Hashable],
        signatures: np.ndarray,
        n_shingles: Sequence[int] | np.ndarray,
        published_at: Sequence[datetime | float | None] | None = None,
        leads: np.ndarray | None = None,
    ) -> list[Edge]:
        """``add`` each document in order, with the candidates among them found in one batch.

        The same edges (in the same order) and clusters as ``add`` called once per document:
        a pair of new documents is a candidate when their signatures agree on a whole band, as
        in the LSH; pairs with documents added earlier come from the index as in ``add``. The
        new documents enter the LSH tables only when a later ``add`` needs them. Known or
        repeated doc ids (changed pages) take ``add`` one by one.
        """
        n = len(doc_ids)
        sigs = np.asarray(signatures, dtype=np.uint32)
        counts = np.asarray(n_shingles, dtype=np.int64)
        if sigs.shape != (n, self.config.num_perm) or counts.shape != (n,):
            raise ValueError(
                f"expected {n} signatures of {self.config.num_perm} values and {n} shingle "
                f"counts, got {sigs.shape} and {counts.shape}"
            )
        dates = list(published_at) if published_at is not None else [None] * n
        lead_rows = None if leads is None else np.asarray(leads, dtype=np.uint32)
        if len(set(doc_ids)) != n or any(d in self._row_of for d in doc_ids):
            return [
                edge
                for i, doc_id in enumerate(doc_ids)
                for edge in self.add(
                    doc_id,
                    sigs[i],
                    int(counts[i]),
                    dates[i],
                    None if lead_rows is None else lead_rows[i],
                )
            ]
        if (counts < 0).any():
            raise ValueError(f"n_shingles must be >= 0, got {int(counts.min())}")
        published = np.array([_timestamp(d) for d in dates], dtype=np.float64)
        self._index_pending()
        first = len(self._ids)
        had_index = first > 0
        self.reserve(first + n)
        for doc_id in doc_ids:
            self._append(doc_id)
        rows = np.arange(first, first + n)
        self._sigs[rows] = sigs
        self._n_shingles[rows] = counts
        self._published[rows] = published
        has_lead = np.zeros(n, dtype=bool)
        if lead_rows is not None and self._lead_lsh is not None:
            has_lead = counts > 0
            self._leads[rows] = lead_rows
        self._has_lead[rows] = has_lead

        # Candidates: (earlier row, later row), from the batch and from the index.
        indexed = np.flatnonzero(counts > 0)
        found = [first + indexed[band_pairs(sigs[indexed], self._lsh.hashranges)]]
        if self._lead_lsh is not None:
            with_lead = np.flatnonzero(has_lead)
            lead_pairs = band_pairs(self._leads[first + with_lead], self._lead_lsh.hashranges)
            found.append(first + with_lead[lead_pairs])
        if had_index:
            for i in indexed.tolist():
                row = first + i
                old = _lsh_query(self._lsh, self._band_hashes(row))
                if has_lead[i]:
                    old.update(_lsh_query(self._lead_lsh, self._lead_band_hashes(row)))
                if old:
                    found.append(np.array([[a, row] for a in sorted(old)], dtype=np.int64))
        pairs = np.concatenate(found) if found else np.empty((0, 2), dtype=np.int64)
        if pairs.size:
            code = np.sort(pairs[:, 1] * (first + n) + pairs[:, 0])
            keep = np.ones(code.size, dtype=bool)
            keep[1:] = code[1:] != code[:-1]
            code = code[keep]
            pairs = np.stack([code % (first + n), code // (first + n)], axis=1)
        edges = self._verify_pairs(pairs)
        partners: dict[int, list[int]] = {}
        for edge in edges:
            partners.setdefault(self._row_of[edge.doc_b], []).append(self._row_of[edge.doc_a])
        for row in rows.tolist():
            self._join(row, partners.get(row, []), found=True)
        self._unindexed.extend((first + indexed).tolist())
        return edges

    def _verify_pairs(self, pairs: np.ndarray) -> list[Edge]:
        """Edges of the candidate pairs ``(earlier, later)`` that pass verification, in order."""
        if not pairs.size:
            return []
        a, b = pairs[:, 0], pairs[:, 1]
        estimates = np.count_nonzero(self._sigs[a] == self._sigs[b], axis=1) / self.config.num_perm
        lead_estimates = (
            np.count_nonzero(self._leads[a] == self._leads[b], axis=1) / self.config.lead_perm
        )
        both_leads = self._has_lead[a] & self._has_lead[b]
        if a.size < _VERIFY_AT_ONCE:  # a document's few candidates: numpy's calls cost more
            return self._verify_each(a, b, estimates, lead_estimates, both_leads)
        relation, a_in_b, b_in_a = verify_many(
            estimates,
            lead_estimates,
            both_leads,
            self._n_shingles[a],
            self._n_shingles[b],
            self.config,
        )
        passed = np.flatnonzero(relation)
        lags = self._published[b[passed]] - self._published[a[passed]]
        edges = []
        for i, lag in zip(passed.tolist(), lags.tolist(), strict=True):
            edges.append(
                Edge(
                    doc_a=self._ids[int(a[i])],
                    doc_b=self._ids[int(b[i])],
                    jaccard=float(estimates[i]),
                    a_in_b=float(a_in_b[i]),
                    b_in_a=float(b_in_a[i]),
                    relation=RELATIONS[int(relation[i])],
                    lag_seconds=None if math.isnan(lag) else lag,
                )
            )
        return edges

    def _verify_each(
        self,
        a: np.ndarray,
        b: np.ndarray,
        estimates: np.ndarray,
        lead_estimates: np.ndarray,
        both_leads: np.ndarray,
    ) -> list[Edge]:
        """``_verify_pairs`` pair by pair with ``verify`` (the same answers as ``verify_many``)."""
        edges = []
        for other, row, j, lead_j, with_leads in zip(
            a.tolist(),
            b.tolist(),
            estimates.tolist(),
            lead_estimates.tolist(),
            both_leads.tolist(),
            strict=True,
        ):
            n_a, n_b = int(self._n_shingles[other]), int(self._n_shingles[row])
            relation, a_in_b, b_in_a = verify(
                j, lead_j if with_leads else None, n_a, n_b, self.config
            )
            if relation is None:
                continue
            lag = float(self._published[row] - self._published[other])
            edges.append(
                Edge(
                    doc_a=self._ids[other],
                    doc_b=self._ids[row],
                    jaccard=j,
                    a_in_b=a_in_b,
                    b_in_a=b_in_a,
                    relation=relation,
                    lag_seconds=None if math.isnan(lag) else lag,
                )
            )
        return edges

    def _index_pending(self) -> None:
        """Insert the rows ``add_many`` left out of the LSH tables."""
        for row in self._unindexed:
            _lsh_insert(self._lsh, row, self._band_hashes(row))
            if self._lead_lsh is not None and self._has_lead[row]:
                _lsh_insert(self._lead_lsh, row, self._lead_band_hashes(row))
        self._unindexed = []

    def _band_hashes(self, row: int) -> list[bytes]:
        """The LSH band hashes of a stored row, as datasketch's MinHashLSH computes them."""
        return _band_keys(self._sigs[row], self._lsh)

    def _lead_band_hashes(self, row: int) -> list[bytes]:
        """The lead LSH band hashes of a stored row (see _band_hashes)."""
        assert self._lead_lsh is not None
        return _band_keys(self._leads[row], self._lead_lsh)

    def reserve(self, n_docs: int) -> None:
        """Make room for ``n_docs`` documents in all: the per-document arrays grow once.

        Without it they grow by half as documents come, so at a million documents up to half of
        their 780 MB is headroom, and each growth briefly holds the old and the new arrays.
        """
        grow = n_docs - self._sigs.shape[0]
        if grow > 0:
            self._grow_rows(grow)

    def _grow_rows(self, grow: int) -> None:
        self._sigs = np.concatenate([self._sigs, np.empty((grow, self._sigs.shape[1]), np.uint32)])
        self._n_shingles = np.concatenate([self._n_shingles, np.empty(grow, np.int64)])
        self._published = np.concatenate([self._published, np.empty(grow, np.float64)])
        self._leads = np.concatenate(
            [self._leads, np.zeros((grow, self._leads.shape[1]), np.uint32)]
        )
        self._has_lead = np.concatenate([self._has_lead, np.zeros(grow, bool)])

    def _append(self, doc_id: Hashable) -> int:
        row = len(self._ids)
        if row == self._sigs.shape[0]:
            self._grow_rows(max(1024, row // 2))
        self._ids.append(doc_id)
        self._row_of[doc_id] = row
        self._uf.add(row)
        return row

    def _verified_edges(self, row: int, keys: list[bytes], lead_keys: list[bytes]) -> list[Edge]:
        found = _lsh_query(self._lsh, keys)
        if lead_keys:
            assert self._lead_lsh is not None
            found.update(_lsh_query(self._lead_lsh, lead_keys))
        found.discard(row)
        pairs = np.array([[other, row] for other in sorted(found)], dtype=np.int64)
        return self._verify_pairs(pairs.reshape(-1, 2))

    def _join(self, row: int, partners: list[int], *, found: bool) -> None:
        """Union ``row`` with its verified partners; the oldest cluster id among them survives."""
        roots = {self._uf.find(p) for p in partners}
        if not found:
            roots.add(self._uf.find(row))
        if not roots:
            cid = cluster_id_for(self._ids[row])
            if cid in self._cluster_seq:
                raise ValueError(f"cluster id {cid} was already issued (doc id {self._ids[row]!r})")
            self._cluster_seq[cid] = len(self._cluster_seq)
            self._root_cluster[row] = cid
            return
        ordered = sorted(roots, key=lambda r: self._cluster_seq[self._root_cluster[r]])
        cids = [self._root_cluster.pop(r) for r in ordered]
        surviving = cids[0]
        self.merges.extend((absorbed, surviving) for absorbed in cids[1:])
        new_root = ordered[0]
        for r in [*ordered[1:], row]:
            new_root = self._uf.union(new_root, r)
        self._root_cluster[new_root] = surviving

    # -- persistence --------------------------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The state as named arrays (``storage.state`` writes them to one ``.npz`` file).

        Doc ids must be ``str`` or ``int`` (they are kept as JSON). The LSH index itself is not
        kept: ``from_arrays`` rebuilds it from the signatures, which is faster than unpickling
        its many small buckets and cannot carry a stale band layout.
        """
        bad = [d for d in self._ids if not isinstance(d, str | int) or isinstance(d, bool)]
        if bad:
            raise TypeError(f"the state needs str or int doc ids, got {type(bad[0]).__name__}")
        n = len(self._ids)
        meta = {
            "format": STATE_FORMAT,
            "config": self.config.to_dict(),
            "config_str": str(self.config),
            "ids": self._ids,
            "cluster_ids_issued": sorted(self._cluster_seq, key=self._cluster_seq.__getitem__),
            "root_cluster": [[root, cid] for root, cid in self._root_cluster.items()],
            "merges": [list(m) for m in self.merges],
        }
        roots = np.fromiter((self._uf.find(r) for r in range(n)), dtype=np.int64, count=n)
        return {
            "meta": np.array(json.dumps(meta)),
            "signatures": self._sigs[:n],
            "n_shingles": self._n_shingles[:n],
            "published": self._published[:n],
            "leads": self._leads[:n],
            "has_lead": self._has_lead[:n],
            "roots": roots,
        }

    @classmethod
    def from_arrays(
        cls, data: Mapping[str, np.ndarray], config: GroupingConfig, name: str = "grouping state"
    ) -> Grouper:
        """Rebuild a grouper from ``to_arrays``'s output and its LSH index under ``config``.

        The verification thresholds and LSH threshold may differ from the saved ones (they apply
        to later additions); the signature parameters may not.
        """
        meta = json.loads(str(data["meta"]))
        if meta.get("format") != STATE_FORMAT:
            raise IncompatibleStateError(
                f"{name} has format {meta.get('format')!r}, this code reads "
                f"format {STATE_FORMAT}; rebuild it with `make reprocess`"
            )
        config.require_compatible(GroupingConfig.from_saved(meta["config"]), name)
        sigs = data["signatures"]
        n_shingles = data["n_shingles"]
        published = data["published"]
        leads = data["leads"]
        has_lead = data["has_lead"]
        roots = data["roots"]
        grouper = cls(config)
        n = len(meta["ids"])
        grouper._sigs = np.ascontiguousarray(sigs, dtype=np.uint32).reshape(n, config.num_perm)
        grouper._n_shingles = n_shingles.astype(np.int64)
        grouper._published = published.astype(np.float64)
        grouper._leads = np.ascontiguousarray(leads, dtype=np.uint32).reshape(n, config.lead_perm)
        grouper._has_lead = has_lead.astype(bool) & (grouper._lead_lsh is not None)
        grouper._ids = list(meta["ids"])
        grouper._row_of = {doc: row for row, doc in enumerate(grouper._ids)}
        grouper._uf = UnionFind.from_roots(range(n), roots.tolist())
        grouper._cluster_seq = {cid: i for i, cid in enumerate(meta["cluster_ids_issued"])}
        grouper._root_cluster = {int(root): cid for root, cid in meta["root_cluster"]}
        grouper.merges = [(a, b) for a, b in meta["merges"]]
        for row in np.flatnonzero(grouper._n_shingles > 0).tolist():
            _lsh_insert(grouper._lsh, row, grouper._band_hashes(row))
        if grouper._lead_lsh is not None:
            for row in np.flatnonzero(grouper._has_lead).tolist():
                _lsh_insert(grouper._lead_lsh, row, grouper._lead_band_hashes(row))
        return grouper
