"""MinHash signatures of documents, fast and bit-identical to datasketch 2.0.

datasketch's ``MinHash.update_batch`` calls the hash function once per shingle and then applies
the permutations; per-shingle ``update`` is far slower than extraction itself (FIELD-NOTES). Here
all shingles of a document are hashed at once and the ``affine32`` permutations are applied
with numpy. The default shingle hash, ``poly64``, is a prefix-sum polynomial hash chosen because
numpy computes it for every shingle of a text in a few array operations (no Python call per
shingle); ``xx64`` and ``sha1`` remain available. The result is the same uint32 vector that
``datasketch.MinHash(num_perm, seed, hashfunc=hashfunc(config), scheme="affine32")`` gives after
``update_batch`` of the shingles' UTF-8 bytes; the tests assert that.

Signatures are plain ``uint32`` arrays of length ``num_perm``: small to keep in memory, stored in
a ``fixed_size_binary(4 * num_perm)`` Parquet column via ``to_bytes``/``from_bytes``, and wrapped
as ``datasketch.LeanMinHash`` (``to_lean_minhash``) only where datasketch needs an object.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import numpy as np
import xxhash
from datasketch import LeanMinHash, MinHash
from datasketch.hashfunc import sha1_hash32

from pipelines.core.config import GroupingConfig
from pipelines.core.textnorm import normalise, shingles, tokens

_MASK32 = 0xFFFFFFFF
# The permutations of every k-permutation MinHash here (affine32 signatures, lead signatures).
MINHASH_SCHEME = "affine32"
# Texts per numpy batch of the one-permutation path: bounds its temporary arrays.
_BATCH = 4096
_EMPTY = np.uint32(_MASK32)
# Shingles per block of the (shingles x permutations) product: 256 KB at 128 permutations.
_BLOCK = 512


def xx64_hash32(data: bytes) -> int:
    """Low 32 bits of xxh64 (seed 0): datasketch's affine32 scheme wants 32-bit input hashes."""
    return xxhash.xxh64_intdigest(data) & _MASK32


# poly64: a polynomial hash mod 2^64 over the bytes (each plus one, so zero bytes count), plus
# the length times a constant, finished with MurmurHash3's fmix64; its low 32 bits. As a prefix
# sum it is computed for every shingle of a document in a few numpy operations over the text's
# bytes, with no call per shingle: about 2.5x faster than xxh64 per shingle from Python.
_POLY_BASE = 0x9E3779B97F4A7C15  # odd, so invertible mod 2^64: slices come from prefix sums
_POLY_BASE_INV = pow(_POLY_BASE, -1, 1 << 64)
_POLY_LENGTH = 0xC2B2AE3D27D4EB4F
_FMIX64 = (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53)
_MASK64 = (1 << 64) - 1


def poly64_hash32(data: bytes) -> int:
    """Low 32 bits of ``fmix64(sum((data[j] + 1) * B**j) + len(data) * L mod 2**64)``.

    The definition in plain Python (slow): the reference that ``_poly64_slices`` must equal,
    and the ``hashfunc`` that gives datasketch the same signatures.
    """
    raw, power = len(data) * _POLY_LENGTH, 1
    for byte in data:
        raw += (byte + 1) * power
        power = power * _POLY_BASE & _MASK64
    h = raw & _MASK64
    h ^= h >> 33
    h = h * _FMIX64[0] & _MASK64
    h ^= h >> 33
    h = h * _FMIX64[1] & _MASK64
    h ^= h >> 33
    return h & _MASK32


_HASHFUNCS: dict[str, Callable[[bytes], int]] = {
    "xx64": xx64_hash32,
    "sha1": sha1_hash32,
    "poly64": poly64_hash32,
}
_U1, _S33 = np.uint64(1), np.uint64(33)
_POLY_LENGTH_U = np.uint64(_POLY_LENGTH)
_FMIX64_U = tuple(np.uint64(c) for c in _FMIX64)
_POWERS = np.ones(1, dtype=np.uint64)  # B**j mod 2**64, grown on demand
_INVERSE_POWERS = np.ones(1, dtype=np.uint64)  # B**-j mod 2**64


def _power_table(base: int, size: int) -> np.ndarray:
    """``base**j mod 2**64`` for j < size (numpy's uint64 products wrap around)."""
    out = np.empty(size, dtype=np.uint64)
    out[0] = 1
    np.cumprod(np.full(size - 1, base, dtype=np.uint64), out=out[1:])
    out.flags.writeable = False
    return out


def _poly64_slices64(data: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The full 64-bit ``poly64`` values (after fmix64) of every slice ``data[starts[i]:ends[i]]``.

    Prefix sums ``P[i] = sum_{j<i} (data[j] + 1) * B**j`` give each slice's polynomial as
    ``(P[e] - P[s]) * B**-s``; all arithmetic is uint64 and wraps mod 2^64 like the definition.
    """
    n = len(data)
    powers, inverse = _powers(n + 1)
    terms = np.frombuffer(data, dtype=np.uint8).astype(np.uint64)
    terms += _U1
    terms *= powers[:n]
    prefix = np.empty(n + 1, dtype=np.uint64)
    prefix[0] = 0
    np.cumsum(terms, out=prefix[1:])
    h = prefix[ends]
    h -= prefix[starts]
    h *= inverse[starts]
    lengths = (ends - starts).astype(np.uint64)
    lengths *= _POLY_LENGTH_U
    h += lengths
    t = np.right_shift(h, _S33)
    for c in _FMIX64_U:
        h ^= t
        h *= c
        np.right_shift(h, _S33, out=t)
    h ^= t
    return h


def _poly64_slices(data: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``poly64_hash32`` of every slice at once: the low 32 bits of ``_poly64_slices64``."""
    return _poly64_slices64(data, starts, ends).astype(np.uint32)


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """At least ``n`` powers of the base and of its inverse (uint64 products wrap mod 2^64)."""
    global _POWERS, _INVERSE_POWERS
    if _POWERS.size < n:
        size = max(n, 2 * _POWERS.size, 1 << 14)
        _POWERS = _power_table(_POLY_BASE, size)
        _INVERSE_POWERS = _power_table(_POLY_BASE_INV, size)
    return _POWERS, _INVERSE_POWERS


def hashfunc(config: GroupingConfig) -> Callable[[bytes], int]:
    """The shingle hash function named by ``config.hash_function`` (a datasketch ``hashfunc``)."""
    return _HASHFUNCS[config.hash_function]


@functools.lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    # Taken from datasketch itself so that a change in its generator cannot go unnoticed.
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme=scheme).permutations
    a, b = a.astype(np.uint32), b.astype(np.uint32)
    a.flags.writeable = False
    b.flags.writeable = False
    return a, b


def permutations(config: GroupingConfig) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) uint32 parameters of the affine permutations, shared and read-only."""
    return _permutations(config.num_perm, config.seed, MINHASH_SCHEME)


_S16, _S13 = np.uint32(16), np.uint32(13)
_C1, _C2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)


def fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, element-wise (datasketch pre-mixes input hashes with it).

    In place on one copy with constants made once: numpy's per-call overhead, not the
    arithmetic, is most of the cost for a few hundred values.
    """
    h = values.astype(np.uint32, copy=True)
    t = np.right_shift(h, _S16)
    h ^= t
    h *= _C1
    np.right_shift(h, _S13, out=t)
    h ^= t
    h *= _C2
    np.right_shift(h, _S16, out=t)
    h ^= t
    return h


def shingles_of(text: str, config: GroupingConfig) -> list[str]:
    """The word shingles of ``text`` under ``config`` (normalised first)."""
    return shingles(tokens(text), config.shingle_size)


def hash_shingles(items: Iterable[str], config: GroupingConfig) -> np.ndarray:
    """uint32 hashes of the UTF-8 bytes of each shingle (duplicates kept)."""
    encoded = [s.encode("utf-8") for s in items]
    if config.hash_function == "poly64":
        lengths = np.fromiter(map(len, encoded), dtype=np.intp, count=len(encoded))
        ends = np.cumsum(lengths)
        return _poly64_slices(b"".join(encoded), ends - lengths, ends)
    return np.fromiter(map(hashfunc(config), encoded), dtype=np.uint32, count=len(encoded))


@functools.lru_cache(maxsize=8)
def _tiles(num_perm: int, seed: int, scheme: str, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` copies of a and of b, one per row, shared and read-only.

    A product with a broadcast row (``h[:, None] * a[None, :]``) runs a short strided inner
    loop per shingle; against a contiguous tile numpy uses its vector loop over the whole
    block: the permutation step fell from 31 to 22 us per 350-shingle document.
    """
    a, b = _permutations(num_perm, seed, scheme)
    a_tile, b_tile = np.tile(a, (rows, 1)), np.tile(b, (rows, 1))
    a_tile.flags.writeable = False
    b_tile.flags.writeable = False
    return a_tile, b_tile


def signature_from_hashes(hashes: np.ndarray, config: GroupingConfig) -> np.ndarray:
    """MinHash signature of a set given by its uint32 shingle hashes (all-max when empty)."""
    out = np.full(config.num_perm, _EMPTY, dtype=np.uint32)
    if hashes.size == 0:
        return out
    mixed = fmix32(hashes)
    # Blocks of (shingles x permutations) in one reused buffer: a whole-document temporary
    # (0.5 MB for 1,000 shingles) made the product about 5x slower through page faults. Rows
    # of permutations, so the minimum runs down contiguous rows: about 25% faster than
    # (permutations x shingles) with a minimum along each row (bench: 58 -> 44 us per
    # 400-shingle document).
    width = min(_BLOCK, mixed.size)
    a_tile, b_tile = _tiles(config.num_perm, config.seed, MINHASH_SCHEME, _BLOCK)
    buf = np.empty((width, config.num_perm), dtype=np.uint32)
    for start in range(0, mixed.size, width):
        block = mixed[start : start + width]
        n = block.size
        view = buf[:n]
        view[...] = block[:, None]
        # uint32 arithmetic wraps around: that is the "mod 2^32" of the affine32 scheme.
        np.multiply(view, a_tile[:n], out=view)
        np.add(view, b_tile[:n], out=view)
        np.minimum(out, np.minimum.reduce(view, axis=0), out=out)
    return out


def _distinct(hashes: np.ndarray) -> int:
    """Number of distinct values (a sort: about 4x faster than a Python set of 400 values)."""
    if hashes.size == 0:
        return 0
    ordered = np.sort(hashes)
    return int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1


class Fingerprint(NamedTuple):
    """A document's signature and the number of distinct shingles it was made from.

    The distinct shingle count turns an estimated Jaccard into estimated containment.
    """

    signature: np.ndarray
    n_shingles: int


def fingerprint(text: str, config: GroupingConfig) -> Fingerprint:
    """Signature and distinct shingle count of one document's text."""
    if config.scheme == "oph":
        sigs, counts, _ = batch_fingerprints_and_leads([text], config)
        return Fingerprint(sigs[0], int(counts[0]))
    hashes = _shingle_hashes(normalise(text), config)
    # Distinct shingles counted on 32-bit hashes: below 10^5 shingles per document a collision
    # shifts the count by one in about a million documents, far below the estimator's noise.
    return Fingerprint(signature_from_hashes(hashes, config), _distinct(hashes))


def _shingle_hashes(normalised: str, config: GroupingConfig) -> np.ndarray:
    """uint32 hashes of the shingles of a normalised text, in order, duplicates kept.

    ``normalise`` joins words with single spaces, so the shingles are the k-word windows of the
    encoded text's words joined by one space: the same UTF-8 bytes as
    ``" ".join(words[i : i + k])`` that datasketch hashes. Windows built with ``zip`` and
    ``map`` keep the per-shingle work in C (about 25% faster than slicing byte ranges).
    """
    data = normalised.encode("utf-8")
    if not data:
        return np.empty(0, dtype=np.uint32)
    k = config.shingle_size
    if config.hash_function == "poly64":
        return _poly64_slices(data, *_shingle_bounds(data, k))
    words = data.split(b" ")
    if len(words) <= k:  # at most k words: one shingle of all words
        items: Iterable[bytes] = [data]
    else:
        items = map(b" ".join, zip(*(words[i:] for i in range(k)), strict=False))
    if config.hash_function == "xx64":
        # The low 32 bits of each xxh64 value: the cast to uint32 truncates.
        values = np.fromiter(map(xxhash.xxh64_intdigest, items), dtype=np.uint64)
        return values.astype(np.uint32)
    return np.fromiter(map(sha1_hash32, items), dtype=np.uint32)


def _shingle_bounds(data: bytes, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Byte (start, end) of each k-word shingle of a normalised, encoded, non-empty text."""
    spaces = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 32)
    n = spaces.size - k + 2  # shingles: words - k + 1
    if n < 1:  # fewer than k + 1 words: one shingle of all words
        return np.zeros(1, dtype=np.intp), np.full(1, len(data), dtype=np.intp)
    starts = np.empty(n, dtype=np.intp)
    starts[0] = 0
    np.add(spaces[: n - 1], 1, out=starts[1:])
    ends = np.empty(n, dtype=np.intp)
    ends[:-1] = spaces[k - 1 :]
    ends[-1] = len(data)
    return starts, ends


def fingerprints(texts: Sequence[str], config: GroupingConfig) -> tuple[np.ndarray, np.ndarray]:
    """Signatures ``uint32[n, num_perm]`` and distinct shingle counts ``int64[n]`` of many texts."""
    if config.scheme == "oph":
        sigs, counts, _ = batch_fingerprints_and_leads(texts, config)
        return sigs, counts
    sigs = np.empty((len(texts), config.num_perm), dtype=np.uint32)
    counts = np.empty(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        sigs[i], counts[i] = fingerprint(text, config)
    return sigs, counts


def signatures(texts: Sequence[str], config: GroupingConfig) -> np.ndarray:
    """Signatures ``uint32[n, num_perm]`` of many texts (see ``fingerprints``)."""
    return fingerprints(texts, config)[0]


def datasketch_minhash(items: Iterable[str], config: GroupingConfig) -> MinHash:
    """Reference path: datasketch's own ``MinHash.update_batch`` over the shingles' UTF-8 bytes."""
    m = MinHash(
        num_perm=config.num_perm, seed=config.seed, hashfunc=hashfunc(config), scheme=MINHASH_SCHEME
    )
    m.update_batch([s.encode("utf-8") for s in items])
    return m


def to_lean_minhash(signature: np.ndarray, config: GroupingConfig) -> LeanMinHash:
    """Wrap stored values as a ``LeanMinHash`` without regenerating permutations.

    ``MinHash(hashvalues=...)`` rebuilds its permutations for every object (FIELD-NOTES: about
    4,400 objects/s); a ``LeanMinHash`` carries only seed, scheme and values.
    """
    values = np.asarray(signature)
    if values.shape != (config.num_perm,):
        raise ValueError(f"expected a signature of shape ({config.num_perm},), got {values.shape}")
    lean = object.__new__(LeanMinHash)
    lean.seed = config.seed
    # datasketch knows no "oph" scheme; its LSH uses only the values, so the field says affine32.
    lean.scheme = MINHASH_SCHEME
    lean.hashvalues = values.astype(np.uint32, copy=False)
    return lean


def signature_of(minhash: MinHash) -> np.ndarray:
    """The uint32 values of a datasketch ``MinHash``/``LeanMinHash`` of the affine32 scheme."""
    if minhash.scheme != "affine32":
        raise ValueError(f"expected an affine32 MinHash, got scheme {minhash.scheme!r}")
    return np.asarray(minhash.hashvalues, dtype=np.uint32)


def to_bytes(signature: np.ndarray) -> bytes:
    """Little-endian uint32 bytes of a signature: a ``fixed_size_binary(4 * num_perm)`` value."""
    return np.asarray(signature, dtype="<u4").tobytes()


def from_bytes(data: bytes, num_perm: int | None = None) -> np.ndarray:
    """Inverse of ``to_bytes``; checks the length when ``num_perm`` is given."""
    if len(data) % 4 or (num_perm is not None and len(data) != 4 * num_perm):
        expected = f"{4 * num_perm} bytes" if num_perm is not None else "a multiple of 4 bytes"
        raise ValueError(f"a signature needs {expected}, got {len(data)}")
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def from_bytes_many(column: Sequence[bytes], num_perm: int) -> np.ndarray:
    """``uint32[n, num_perm]`` from many stored signatures in one copy (fast index rebuilds)."""
    width = 4 * num_perm
    bad = [i for i, item in enumerate(column) if len(item) != width]
    if bad:
        raise ValueError(f"signatures need {width} bytes; rows {bad[:5]} differ")
    joined = b"".join(column)
    return np.frombuffer(joined, dtype="<u4").astype(np.uint32).reshape(len(column), num_perm)


def jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Estimated Jaccard similarity: the share of permutations whose minimum agrees."""
    if sig_a.shape != sig_b.shape:
        raise ValueError(f"signatures differ in shape: {sig_a.shape} vs {sig_b.shape}")
    return float(np.count_nonzero(sig_a == sig_b)) / sig_a.shape[-1]


def jaccard_many(sig: np.ndarray, sigs: np.ndarray) -> np.ndarray:
    """Estimated Jaccard of ``sig`` against every row of ``sigs``."""
    return np.count_nonzero(sigs == sig, axis=1) / sig.shape[-1]


LEAD_CHAR_SHINGLE = 5  # bytes per shingle of a character lead (GroupingConfig.lead_chars)


def char_leads(normalised: Sequence[bytes], config: GroupingConfig) -> np.ndarray:
    """``uint32[n, lead_perm]``: lead signatures of ``config.lead_chars > 0``.

    The one-permutation MinHash (``lead_perm`` bins, as ``oph_signatures``) of the byte
    ``LEAD_CHAR_SHINGLE``-shingles of the first ``lead_chars`` bytes of each normalised, UTF-8
    encoded text, hashed by ``poly64``; a shorter opening gives one shingle of all of it, an
    empty text all-max values. About 300 shingles fall into 64 bins: one pass over them, where
    ``lead_perm`` permutations cost three times the whole signature.
    """
    n = len(normalised)
    heads = [t[: config.lead_chars] for t in normalised]
    lengths = np.fromiter(map(len, heads), dtype=np.int64, count=n)
    per_text = np.where(lengths == 0, 0, np.maximum(lengths - LEAD_CHAR_SHINGLE + 1, 1))
    total = int(per_text.sum())
    if total == 0:
        return np.full((n, config.lead_perm), _EMPTY, dtype=np.uint32)
    text_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    first = np.concatenate([[0], np.cumsum(per_text)[:-1]])
    owner = np.repeat(np.arange(n), per_text)
    starts = text_starts[owner] + (np.arange(total) - first[owner])
    ends = np.minimum(starts + LEAD_CHAR_SHINGLE, (text_starts + lengths)[owner])
    hashes = _poly64_slices64(b"".join(heads), starts, ends)
    return _oph(hashes, per_text, config.lead_perm, config.seed)


def lead_signature(text: str, config: GroupingConfig) -> np.ndarray:
    """Signature of the opening ``lead_words`` words: the first ``lead_perm`` MinHash values
    (with ``lead_chars``: of the opening ``lead_chars`` bytes, ``char_leads``).

    Two copies that share their opening (an excerpt and its article) have nearly equal leads
    even when the excerpt is a tenth of the article. An empty text gives all-max values.
    """
    if config.lead_chars:
        return char_leads([normalise(text).encode("utf-8")], config)[0]
    lead = " ".join(tokens(text)[: config.lead_words])
    hashes = _shingle_hashes(lead, config)
    return signature_from_hashes(hashes, config)[: config.lead_perm].copy()


def fingerprints_and_leads(
    texts: Sequence[str], config: GroupingConfig, *, normalised: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``fingerprints`` and ``lead_signatures`` of many texts, normalising each text once
    (``normalised=True``: the texts are ``normalise``'s output already, not normalised again).

    The opening ``lead_words`` words give the first ``lead_words - shingle_size + 1`` shingles of
    the whole text (all of them when the text is shorter), so a lead signature is the MinHash
    of a prefix of the hashes already computed for the full signature: identical values to
    ``lead_signature``, without normalising and hashing the text a second time.
    """
    if config.scheme == "oph":
        return batch_fingerprints_and_leads(texts, config, normalised=normalised)
    n = len(texts)
    sigs = np.empty((n, config.num_perm), dtype=np.uint32)
    counts = np.empty(n, dtype=np.int64)
    leads = np.empty((n, config.lead_perm), dtype=np.uint32)
    k = config.shingle_size
    prefix = config.lead_words - k + 1 if config.lead_words >= k else None
    norms = list(texts) if normalised else [normalise(t) for t in texts]
    for i, (text, norm) in enumerate(zip(texts, norms, strict=True)):
        hashes = _shingle_hashes(norm, config)
        sigs[i] = signature_from_hashes(hashes, config)
        counts[i] = _distinct(hashes)
        if config.lead_chars:
            continue
        if prefix is None:  # a lead shorter than one shingle: one shingle of its words
            leads[i] = lead_signature(text, config)
        else:
            leads[i] = signature_from_hashes(hashes[:prefix], config)[: config.lead_perm]
    if config.lead_chars:
        leads = char_leads([norm.encode("utf-8") for norm in norms], config)
    return sigs, counts, leads


def lead_signatures(texts: Sequence[str], config: GroupingConfig) -> np.ndarray:
    """``uint32[n, lead_perm]`` lead signatures of many texts."""
    out = np.empty((len(texts), config.lead_perm), dtype=np.uint32)
    for i, text in enumerate(texts):
        out[i] = lead_signature(text, config)
    return out


# ---------------------------------------------------------------------------------------------
# Batch path: all texts of a run hashed in a few numpy passes, and one-permutation signatures.


def _batch_shingle_bounds(
    normalised: Sequence[bytes], k: int
) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray]:
    """(joined bytes, shingle starts, shingle ends, shingles per text) of many normalised texts.

    The texts are joined with one space; a shingle is k consecutive words of one text (a text of
    at most k words: one shingle of all its words), in text order, so each text's shingles are
    a contiguous run in order, as ``_shingle_bounds`` gives them one text at a time.
    """
    nonempty = [t for t in normalised if t]
    counts = np.zeros(len(normalised), dtype=np.int64)
    if not nonempty:
        empty = np.empty(0, dtype=np.intp)
        return b"", empty, empty, counts
    data = b" ".join(nonempty)
    spaces = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 32)
    word_starts = np.concatenate([[0], spaces + 1])
    word_ends = np.concatenate([spaces, [len(data)]])
    lengths = np.fromiter(map(len, nonempty), dtype=np.int64, count=len(nonempty))
    text_starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    # Words per text: the spaces inside it, plus one.
    first_word = np.searchsorted(word_starts, text_starts)
    n_words = np.diff(np.concatenate([first_word, [word_starts.size]]))
    text_of_word = np.repeat(np.arange(len(nonempty)), n_words)
    w = np.arange(word_starts.size)
    last = w + (k - 1)
    ok = last < word_starts.size
    ok[ok] &= text_of_word[last[ok]] == text_of_word[w[ok]]
    per_text = np.maximum(n_words - k + 1, 1)
    short = np.flatnonzero(n_words < k)
    # A short text: one shingle from its first word to its end.
    if short.size:
        ok[first_word[short]] = True
    starts_idx = np.flatnonzero(ok)
    ends_word = np.minimum(starts_idx + (k - 1), word_starts.size - 1)
    short_mask = np.zeros(word_starts.size, dtype=bool)
    short_mask[first_word[short]] = True
    owner = text_of_word[starts_idx]
    sm = short_mask[starts_idx]
    ends_word[sm] = first_word[owner[sm]] + n_words[owner[sm]] - 1
    starts = word_starts[starts_idx]
    ends = word_ends[ends_word]
    counts[[i for i, t in enumerate(normalised) if t]] = per_text
    return data, starts, ends, counts


_OPH_SPLIT = 0xD6E8FEB86659FD93  # odd: multiplying by it is a bijection mod 2^64


def oph_signatures(
    hashes64: np.ndarray, per_text: np.ndarray, config: GroupingConfig
) -> np.ndarray:
    """One-permutation MinHash of many texts, ``uint32[n, num_perm]``, from their shingle hashes.

    Each shingle's 64-bit hash picks one of ``num_perm`` bins (high bits of the hash times a
    seed-dependent odd constant) and bids its low 32 bits; a bin keeps the least bid. One pass
    over the shingles instead of ``num_perm`` (Li, Owen and Zhang 2012). Bins no shingle fell
    into are filled from the next non-empty bin to the right, cyclically, with the distance
    mixed in so that copies from different gaps do not agree by accident ("rotation"
    densification, Shrivastava and Li 2014). An empty text keeps all-max values.
    """
    return _oph(hashes64, per_text, config.num_perm, config.seed)


def _oph(hashes64: np.ndarray, per_text: np.ndarray, p: int, seed: int) -> np.ndarray:
    """``oph_signatures`` with ``p`` bins and ``seed``."""
    n = per_text.size
    out = np.full((n, p), _EMPTY, dtype=np.uint32)
    if hashes64.size == 0:
        return out
    mult = np.uint64((_OPH_SPLIT * (2 * seed + 1)) & _MASK64)
    with np.errstate(over="ignore"):
        mixed = hashes64 * mult
    bins = ((mixed >> np.uint64(32)) * np.uint64(p)) >> np.uint64(32)
    values = (hashes64 & np.uint64(_MASK32)).astype(np.uint32)
    values = np.minimum(values, np.uint32(_MASK32 - 1))  # all-max marks an empty bin
    text = np.repeat(np.arange(n, dtype=np.int64), per_text)
    flat = out.reshape(-1)
    np.minimum.at(flat, text * p + bins.astype(np.int64), values)
    empty = out == _EMPTY
    rows = np.flatnonzero(empty.any(axis=1) & ~empty.all(axis=1))
    if rows.size:
        sub = out[rows]
        sub_empty = empty[rows]
        # Distance to the next non-empty bin on the right, cyclically.
        filled = sub.copy()
        dist = np.zeros(sub.shape, dtype=np.uint32)
        todo = sub_empty.copy()
        shift = 0
        while todo.any():
            shift += 1
            rolled = np.roll(sub, -shift, axis=1)
            got = todo & (rolled != _EMPTY)
            filled[got] = rolled[got]
            dist[got] = shift
            todo &= ~got
        with np.errstate(over="ignore"):
            filled = np.where(sub_empty, filled + dist * np.uint32(0x9E3779B1), filled)
        out[rows] = np.minimum(filled, np.uint32(_MASK32 - 1))
    return out


def batch_fingerprints_and_leads(
    texts: Sequence[str], config: GroupingConfig, *, normalised: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``fingerprints_and_leads`` of many texts (scheme ``oph``): a few numpy passes over all
    their bytes, in batches of ``_BATCH`` texts, instead of a few dozen numpy calls per text.

    Lead signatures and distinct shingle counts are the values the per-text path gives.
    """
    if len(texts) > _BATCH:
        parts = [
            _batch_fingerprints(texts[i : i + _BATCH], config, normalised)
            for i in range(0, len(texts), _BATCH)
        ]
        return tuple(np.concatenate(x) for x in zip(*parts, strict=True))  # type: ignore[return-value]
    return _batch_fingerprints(texts, config, normalised)


def _batch_fingerprints(
    texts: Sequence[str], config: GroupingConfig, normalised: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k = config.shingle_size
    encoded = [(t if normalised else normalise(t)).encode("utf-8") for t in texts]
    if config.lead_chars:
        from pipelines.core import kernels

        if kernels.enabled():  # the same bits from one compiled loop per text (4x faster)
            return kernels.oph_fingerprints(
                encoded,
                shingle_size=k,
                num_perm=config.num_perm,
                mult=(_OPH_SPLIT * (2 * config.seed + 1)) & _MASK64,
                lead_bytes=config.lead_chars,
                lead_perm=config.lead_perm,
                lead_shingle=LEAD_CHAR_SHINGLE,
            )
    return _numpy_fingerprints(texts, encoded, config)


def _numpy_fingerprints(
    texts: Sequence[str], encoded: Sequence[bytes], config: GroupingConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_batch_fingerprints`` in numpy passes over the batch: the definition the compiled
    kernel (``kernels.oph_fingerprints``) must equal, and the path without numba."""
    n = len(texts)
    k = config.shingle_size
    data, starts, ends, per_text = _batch_shingle_bounds(encoded, k)
    h64 = _poly64_slices64(data, starts, ends) if starts.size else np.empty(0, np.uint64)
    sigs = oph_signatures(h64, per_text, config)
    h32 = h64.astype(np.uint32)
    # Distinct shingles per text: sort (text, hash) keys.
    text = np.repeat(np.arange(n, dtype=np.uint64), per_text)
    # Sorted (text, hash) keys, numpy's default sort (its SIMD sorts of numpy 2: 0.82-0.85x the
    # whole call against the stable sort on real text); np.unique hashes, several times slower.
    keys = np.sort((text << np.uint64(32)) | h32.astype(np.uint64))
    first = np.ones(keys.size, dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    counts = np.bincount((keys[first] >> np.uint64(32)).astype(np.int64), minlength=n)
    if config.lead_chars:
        return sigs, counts, char_leads(encoded, config)
    # Leads: MinHash (affine32 permutations) of each text's first lead shingles.
    lp = config.lead_perm
    leads = np.full((n, lp), _EMPTY, dtype=np.uint32)
    if config.lead_words >= k:
        width = config.lead_words - k + 1
    else:
        width = 1
    take = np.minimum(per_text, width)
    offsets = np.concatenate([[0], np.cumsum(per_text)[:-1]])
    a, b = _permutations(config.num_perm, config.seed, MINHASH_SCHEME)
    a, b = a[:lp], b[:lp]
    if h32.size:
        idx = offsets[:, None] + np.arange(width)[None, :]
        valid = np.arange(width)[None, :] < take[:, None]
        idx = np.where(valid, idx, 0)
        lead_h = fmix32(h32[idx.ravel()]).reshape(n, width)
        perm = lead_h[:, :, None] * a[None, None, :] + b[None, None, :]
        perm[~valid] = _EMPTY
        leads = perm.min(axis=1)
        leads[per_text == 0] = _EMPTY
    if config.lead_words < k:
        for i in range(n):
            leads[i] = lead_signature(texts[i], config)
    return sigs, counts, leads
