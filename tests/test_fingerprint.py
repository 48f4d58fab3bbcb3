"""Signatures: bit-identical to datasketch 2.0, accurate estimates, storage round trips."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash, MinHashLSH

from pipelines.core import fingerprint as fp
from pipelines.core.config import GroupingConfig
from pipelines.core.textnorm import shingles, tokens

WORDS = [f"w{i}" for i in range(300)] + ["\u00e9t\u00e9", "na\u00efve", "\u201cquoted\u201d"]


def random_texts(n: int, seed: int, max_words: int = 400) -> list[str]:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(0, max_words)))) for _ in range(n)]
    return [*texts, "", "one", "two words", "!!! ---"]  # empty, shorter than k, punctuation only


@pytest.mark.parametrize(
    "config",
    [
        GroupingConfig(scheme="affine32"),
        GroupingConfig(scheme="affine32", hash_function="xx64"),
        GroupingConfig(scheme="affine32", hash_function="sha1"),
        GroupingConfig(scheme="affine32", num_perm=64, seed=42, shingle_size=5),
        GroupingConfig(
            scheme="affine32", num_perm=64, seed=42, shingle_size=5, hash_function="xx64"
        ),
        GroupingConfig(scheme="affine32", num_perm=256, seed=0, shingle_size=1),
    ],
    ids=str,
)
def test_identical_to_datasketch_update_batch(config):
    texts = random_texts(120, seed=config.num_perm)
    sigs, counts = fp.fingerprints(texts, config)
    for text, sig, count in zip(texts, sigs, counts, strict=True):
        items = shingles(tokens(text), config.shingle_size)
        reference = MinHash(
            num_perm=config.num_perm,
            seed=config.seed,
            hashfunc=fp.hashfunc(config),
            scheme=config.scheme,
        )
        reference.update_batch([s.encode("utf-8") for s in items])
        assert np.array_equal(sig, reference.hashvalues), text[:40]
        single = fp.fingerprint(text, config)
        assert np.array_equal(single.signature, sig)
        assert single.n_shingles == count == len(set(items))
        assert sig.dtype == np.uint32 and sig.shape == (config.num_perm,)


@pytest.mark.parametrize("hash_function", ["poly64", "xx64"])
def test_per_shingle_update_gives_the_same_values(hash_function):
    config = GroupingConfig(scheme="affine32", hash_function=hash_function)
    text = random_texts(1, seed=5)[0]
    m = MinHash(num_perm=config.num_perm, seed=config.seed, hashfunc=fp.hashfunc(config))
    for s in fp.shingles_of(text, config):
        m.update(s.encode("utf-8"))
    assert np.array_equal(fp.fingerprint(text, config).signature, m.hashvalues)


def test_blocked_product_matches_datasketch_for_any_block_size(monkeypatch):
    config = GroupingConfig(scheme="affine32", num_perm=32)
    texts = random_texts(10, seed=9, max_words=900)
    for block in (1, 7, 256, 5000):  # partial last blocks, one block, a block per shingle
        monkeypatch.setattr(fp, "_BLOCK", block)
        for text in texts:
            reference = fp.datasketch_minhash(fp.shingles_of(text, config), config)
            assert np.array_equal(fp.fingerprint(text, config).signature, reference.hashvalues)


def test_empty_text_gives_the_empty_minhash():
    config = GroupingConfig()
    empty = fp.fingerprint("  ...  ", config)
    assert empty.n_shingles == 0
    assert np.array_equal(empty.signature, MinHash(num_perm=128, seed=1).hashvalues)


def test_deterministic_and_seed_dependent():
    text = random_texts(1, seed=3)[0]
    a = fp.fingerprint(text, GroupingConfig()).signature
    assert np.array_equal(a, fp.fingerprint(text, GroupingConfig()).signature)
    b = fp.fingerprint(text, GroupingConfig(seed=2)).signature
    assert np.count_nonzero(a == b) < 10


def test_xx64_hash32_is_low_half_of_xxh64():
    import xxhash

    assert fp.xx64_hash32(b"abc") == xxhash.xxh64_intdigest(b"abc") & 0xFFFFFFFF
    assert 0 <= fp.xx64_hash32(b"") < 2**32


def test_poly64_vectorised_equals_its_definition():
    """Every slice hash from prefix sums equals the plain-Python definition, whatever the bytes.

    Zero bytes, empty slices, non-UTF-8 bytes and a text longer than the first power table
    (16,384 bytes) are included.
    """
    rng = np.random.default_rng(21)
    data = rng.integers(0, 256, size=40_000, dtype=np.uint8).tobytes()
    data = b"\x00\x00ab" + data
    starts = rng.integers(0, len(data), size=400)
    lengths = rng.integers(0, 40, size=400)
    lengths[:5] = 0
    ends = np.minimum(starts + lengths, len(data))
    starts[-1], ends[-1] = 0, len(data)  # the whole text: powers up to 40,004
    got = fp._poly64_slices(data, starts, ends)
    assert got.dtype == np.uint32
    assert got.tolist() == [fp.poly64_hash32(data[s:e]) for s, e in zip(starts, ends, strict=True)]
    # Length and zero bytes both count: none of these may collide.
    distinct = [b"", b"\x00", b"\x00\x00", b"a", b"a\x00", b"\x00a", b"ab", b"ba"]
    assert len({fp.poly64_hash32(x) for x in distinct}) == len(distinct)


def test_poly64_is_uniform_and_collides_only_by_chance():
    """32-bit values of 200,000 distinct shingles: collisions near the birthday expectation
    (n^2 / 2^33 = 4.7) and each bit set in half of them within 5 standard deviations."""
    config = GroupingConfig(hash_function="poly64")
    items = [f"w{i} x{i % 97} y{i // 13}" for i in range(200_000)]
    values = fp.hash_shingles(items, config)
    assert len(items) - np.unique(values).size <= 15
    bits = ((values[:, None] >> np.arange(32, dtype=np.uint32)) & 1).mean(axis=0)
    assert np.all(np.abs(bits - 0.5) <= 5 * math.sqrt(0.25 / len(items)))


def check_binomial_bounds(estimate, p: int, seed: int, low: int) -> None:
    """``estimate(set_a, set_b)`` on 80 random pairs of shingle sets: each estimate within 5
    sigma of the exact Jaccard (sigma = sqrt(J(1-J)/p)), and the mean error near its expectation.
    """
    rng = np.random.default_rng(seed)
    errors, sigmas = [], []
    for i in range(80):
        n_a, n_b = int(rng.integers(low, 1500)), int(rng.integers(low, 1500))
        shared = int(rng.integers(0, min(n_a, n_b) + 1))
        set_a = [f"d{i}s{k}" for k in range(shared)] + [f"d{i}a{k}" for k in range(n_a - shared)]
        set_b = [f"d{i}s{k}" for k in range(shared)] + [f"d{i}b{k}" for k in range(n_b - shared)]
        exact = shared / (n_a + n_b - shared)
        est = estimate(set_a, set_b)
        sigma = math.sqrt(exact * (1 - exact) / p)
        assert abs(est - exact) <= 5 * sigma + 1.5 / p, (exact, est)
        errors.append(abs(est - exact))
        sigmas.append(sigma)
    expected_mae = math.sqrt(2 / math.pi) * float(np.mean(sigmas))
    assert float(np.mean(errors)) <= 1.4 * expected_mae + 0.002


@pytest.mark.parametrize("hash_function", ["poly64", "xx64"])
def test_estimates_within_binomial_bounds_of_exact_jaccard(hash_function):
    """With p permutations the estimate is a share of p matches. A broken permutation (e.g. all
    permutations alike) gives estimates of 0 or 1 and fails both checks."""
    config = GroupingConfig(scheme="affine32", hash_function=hash_function)

    def estimate(set_a, set_b):
        return fp.jaccard(
            fp.signature_from_hashes(fp.hash_shingles(set_a, config), config),
            fp.signature_from_hashes(fp.hash_shingles(set_b, config), config),
        )

    check_binomial_bounds(estimate, config.num_perm, seed=11, low=100)


def test_bytes_round_trip_and_column_of_many():
    config = GroupingConfig()
    sigs = fp.signatures(random_texts(10, seed=1), config)
    data = [fp.to_bytes(s) for s in sigs]
    assert {len(d) for d in data} == {512}
    assert np.array_equal(fp.from_bytes(data[3], 128), sigs[3])
    assert np.array_equal(fp.from_bytes_many(data, 128), sigs)
    assert data[0][:4] == int(sigs[0][0]).to_bytes(4, "little")
    with pytest.raises(ValueError, match="needs 512 bytes, got 508"):
        fp.from_bytes(data[0][:-4], 128)
    with pytest.raises(ValueError, match=r"rows \[1\] differ"):
        fp.from_bytes_many([data[0], data[1][:8]], 128)


def test_lean_minhash_wrapping_works_with_datasketch():
    config = GroupingConfig(scheme="affine32")
    texts = random_texts(6, seed=2)
    sigs = fp.signatures(texts, config)
    lean = [fp.to_lean_minhash(s, config) for s in sigs]
    full = [fp.datasketch_minhash(fp.shingles_of(t, config), config) for t in texts]
    for a, b in zip(lean, full, strict=True):
        assert a == LeanMinHash(b)
        assert (
            a.jaccard(full[0]) == b.jaccard(full[0]) == fp.jaccard(a.hashvalues, full[0].hashvalues)
        )
        assert np.array_equal(fp.signature_of(b), a.hashvalues)
    buf = bytearray(lean[1].bytesize())
    lean[1].serialize(buf)
    assert LeanMinHash.deserialize(buf) == lean[1]
    assert pickle.loads(pickle.dumps(lean[1])) == lean[1]
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    lsh.insert("doc", lean[0])
    assert lsh.query(full[0]) == ["doc"]
    with pytest.raises(ValueError, match="shape"):
        fp.to_lean_minhash(sigs[0][:64], config)


def test_jaccard_many_matches_pairwise():
    config = GroupingConfig()
    sigs = fp.signatures(random_texts(8, seed=4), config)
    many = fp.jaccard_many(sigs[0], sigs)
    assert many[0] == 1.0
    assert many.tolist() == [fp.jaccard(sigs[0], s) for s in sigs]


@pytest.mark.parametrize("scheme,hash_function", [("oph", "poly64"), ("affine32", "xx64")])
def test_lead_signature_is_the_minhash_of_the_opening_shingles(scheme, hash_function):
    """Under either signature scheme a word lead signature is datasketch's affine32 MinHash."""
    config = GroupingConfig(scheme=scheme, hash_function=hash_function, lead_words=30, lead_chars=0)
    texts = random_texts(20, seed=6)
    leads = fp.lead_signatures(texts, config)
    for text, lead in zip(texts, leads, strict=True):
        items = shingles(tokens(text)[:30], config.shingle_size)
        reference = fp.datasketch_minhash(items, config).hashvalues[: config.lead_perm]
        assert np.array_equal(lead, reference), text[:40]


@pytest.mark.parametrize(
    "scheme,hash_function", [("oph", "poly64"), ("affine32", "poly64"), ("affine32", "xx64")]
)
@pytest.mark.parametrize("lead_words", [30, 3, 2, 0])
def test_fingerprints_and_leads_equal_the_separate_functions(scheme, hash_function, lead_words):
    """One normalisation per text gives the values of `fingerprints` and `lead_signatures`
    (for ``oph``: the batch path's leads and counts equal the per-text functions')."""
    config = GroupingConfig(scheme=scheme, hash_function=hash_function, lead_words=lead_words)
    texts = random_texts(30, seed=8)
    texts += ["", "one", "two words", "three little words", " ".join(["w"] * 29)]
    texts += [" ".join(f"w{i}" for i in range(n)) for n in (29, 30, 31, 32)]
    sigs, counts, leads = fp.fingerprints_and_leads(texts, config)
    ref_sigs, ref_counts = fp.fingerprints(texts, config)
    assert np.array_equal(sigs, ref_sigs)
    assert np.array_equal(counts, ref_counts)
    assert np.array_equal(leads, fp.lead_signatures(texts, config))


def test_oph_estimates_within_binomial_bounds_of_exact_jaccard():
    """One-permutation signatures estimate Jaccard as well as k permutations do (k-permutation
    sigma). Word 1-shingles, so each text's shingle set is known exactly."""
    config = GroupingConfig(shingle_size=1)

    def estimate(set_a, set_b):
        (sig_a, sig_b), counts = fp.fingerprints([" ".join(set_a), " ".join(set_b)], config)
        assert counts.tolist() == [len(set_a), len(set_b)]
        return fp.jaccard(sig_a, sig_b)

    check_binomial_bounds(estimate, config.num_perm, seed=12, low=60)


def test_oph_fills_every_bin_and_batches_equal_single_texts():
    """Short texts leave most bins empty: they are filled (no all-max value but for an empty
    text), a copy still matches itself everywhere, and a text's signature does not depend on
    the batch it came in."""
    config = GroupingConfig()
    texts = random_texts(40, seed=14, max_words=60) + ["a b c d", "a b c d e"]
    sigs, counts = fp.fingerprints(texts, config)
    for text, sig, n in zip(texts, sigs, counts, strict=True):
        assert np.array_equal(sig, fp.fingerprint(text, config).signature)
        if n == 0:
            assert (sig == 0xFFFFFFFF).all()
        else:
            assert (sig != 0xFFFFFFFF).all(), text
    short = fp.fingerprints(["a b c d", "a b c d e"], config)[0]
    assert 0 < fp.jaccard(short[0], short[1]) < 1  # two of three shingles shared: J = 2/3
    big = fp.fingerprints(texts * 120, config)  # more than one batch
    assert np.array_equal(big[0][: len(texts)], sigs)
    assert np.array_equal(big[0][-len(texts) :], sigs)


def test_oph_needs_the_poly64_hash():
    with pytest.raises(ValueError, match="needs hash_function 'poly64'"):
        GroupingConfig(hash_function="xx64")


@pytest.mark.parametrize("scheme,hash_function", [("oph", "poly64"), ("affine32", "xx64")])
def test_character_lead_is_the_oph_of_the_opening_bytes(scheme, hash_function):
    """``lead_chars``: the lead is the one-permutation MinHash of the byte 5-shingles of the
    first ``lead_chars`` bytes of the normalised text, the same from every path; two texts
    that share those bytes share the lead whatever follows, and character noise leaves far
    more of it than of the word lead."""
    import random

    from pipelines.core.textnorm import normalise

    config = GroupingConfig(scheme=scheme, hash_function=hash_function, lead_chars=120)
    texts = random_texts(20, seed=9) + ["", "abc", "abcde", "\u00e9t\u00e9 " * 40]
    leads = fp.lead_signatures(texts, config)
    assert np.array_equal(fp.fingerprints_and_leads(texts, config)[2], leads)
    for text, lead in zip(texts, leads, strict=True):
        head = normalise(text).encode("utf-8")[:120]
        if not head:
            assert (lead == np.uint32(0xFFFFFFFF)).all()
            continue
        starts = np.arange(max(len(head) - 4, 1))
        ends = np.minimum(starts + 5, len(head))
        hashes = fp._poly64_slices64(head, starts, ends)
        expected = fp._oph(hashes, np.array([starts.size]), config.lead_perm, config.seed)[0]
        assert np.array_equal(lead, expected), text[:40]
    article = " ".join(f"w{i} said" for i in range(200))
    excerpt = " ".join(article.split()[:80]) + " read the full story"
    assert np.array_equal(*fp.lead_signatures([article, excerpt], config))

    rng = random.Random(3)

    def noisy(text: str) -> str:
        return "".join(c if rng.random() > 0.02 else rng.choice("xq") for c in text)

    words = GroupingConfig(lead_chars=0)
    chars = GroupingConfig()
    prose = random_texts(30, seed=10)
    copies = [noisy(t) for t in prose]
    agree_words = [
        fp.jaccard(*fp.lead_signatures([a, b], words)) for a, b in zip(prose, copies, strict=True)
    ]
    agree_chars = [
        fp.jaccard(*fp.lead_signatures([a, b], chars)) for a, b in zip(prose, copies, strict=True)
    ]
    assert np.mean(agree_chars) > np.mean(agree_words) + 0.1
