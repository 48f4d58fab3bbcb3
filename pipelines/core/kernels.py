"""Compiled loops (numba) for the grouping's hottest arithmetic, bit-identical to the numpy path.

The numpy path of ``fingerprint.batch_fingerprints_and_leads`` makes a dozen passes over every
shingle of a batch (word bounds, prefix sums, the mix, bins, a sort for distinct counts, the
character leads), each with its own temporary arrays. ``oph_fingerprints`` does the same
arithmetic in one compiled loop per text: the poly64 hash of each word shingle by Horner's
rule, its one-permutation bin, the distinct count, and the character lead. The numpy functions
stay the definition; tests/test_kernels.py checks that both give the same bits.

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


@functools.cache
def _numba() -> Any:
    if os.environ.get("SYNDICATION_NO_KERNELS"):
        return None
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is pinned in requirements.lock
        return None
    return numba


def enabled() -> bool:
    """Whether the compiled kernels are in use (numba importable, not switched off)."""
    return _numba() is not None


@functools.cache
def _compiled() -> Any:
    """The kernels, compiled (or loaded from numba's cache) on first use."""
    numba = _numba()
    njit = numba.njit(cache=True, nogil=True)

    u64 = np.uint64
    base = u64(0x9E3779B97F4A7C15)  # fingerprint._POLY_BASE
    length_mult = u64(0xC2B2AE3D27D4EB4F)  # fingerprint._POLY_LENGTH
    fmix_a, fmix_b = u64(0xFF51AFD7ED558CCD), u64(0xC4CEB9FE1A85EC53)
    s32, s33 = u64(32), u64(33)
    low32 = u64(_MASK32)
    cap = np.uint32(_MASK32 - 1)  # all-max marks an empty bin
    empty = np.uint32(_MASK32)
    gap = np.uint32(0x9E3779B1)  # fingerprint._oph's densification step

    @njit
    def fmix64(h):
        h ^= h >> s33
        h *= fmix_a
        h ^= h >> s33
        h *= fmix_b
        h ^= h >> s33
        return h

    @njit
    def poly64(data, start, end):
        # sum((data[j] + 1) * B**(j - start)) + length * L mod 2**64, then fmix64 (Horner's
        # rule from the end: for the short character shingles of a lead).
        h = u64(0)
        for j in range(end - 1, start - 1, -1):
            h = h * base + u64(data[j]) + u64(1)
        return fmix64(h + u64(end - start) * length_mult)

    @njit
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

    @njit
    def bid(out, h, mult, p):
        mixed = h * mult
        b = ((mixed >> s32) * u64(p)) >> s32
        v = np.uint32(h & low32)
        if v > cap:
            v = cap
        if v < out[b]:
            out[b] = v

    @njit
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

    @njit
    def oph_fingerprints(data, offsets, powers, inverse, k, p, mult, lead_bytes, lead_p, lead_k):
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
            # Word starts and ends: a normalised text's words are joined by single spaces.
            words = 1
            for j in range(a, b):
                if data[j] == 32:
                    words += 1
            if starts.size < words + 1:
                starts = np.empty(2 * (words + 1), dtype=np.int64)
            starts[0] = a
            w = 1
            for j in range(a, b):
                if data[j] == 32:
                    starts[w] = j + 1
                    w += 1
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

    return oph_fingerprints


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
    powers, inverse = _powers(int(lengths.max(initial=0)) + 1)
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
