"""Grouping: verification maths, union-find, the incremental Grouper, stable ids, persistence."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from pipelines.core.config import GroupingConfig
from pipelines.core.fingerprint import fingerprint, fingerprints_and_leads
from pipelines.core.grouping import (
    DUPLICATE,
    EXCERPT,
    ArrayBuckets,
    CompactBuckets,
    Grouper,
    IncompatibleStateError,
    RowKeys,
    UnionFind,
    classify,
    cluster_id_for,
    containments,
    estimate_intersection,
)
from pipelines.storage.state import load_grouper, save_grouper

CONFIG = GroupingConfig()


def group_corpus(
    ids: list[str], texts: list[str], config: GroupingConfig
) -> tuple[dict[str, str], list]:
    """Group texts in the given order: (doc id -> cluster id, verified edges)."""
    sigs, counts, lead_sigs = fingerprints_and_leads(texts, config)
    grouper = Grouper(config)
    edges = grouper.add_many(ids, sigs, counts, None, lead_sigs if config.lead_words else None)
    return grouper.assignments(), edges


class Texts:
    """English-like stand-in text: Zipf-weighted words, so unrelated texts share stock phrases."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.vocab = np.array([f"w{i}" for i in range(4000)])
        weights = 1.0 / np.arange(1, 4001)
        self.p = weights / weights.sum()

    def story(self, n_words: int = 500, topic: list[str] | None = None) -> str:
        words = list(self.rng.choice(self.vocab, size=n_words, p=self.p))
        if topic:
            for i in self.rng.choice(n_words, size=n_words // 5, replace=False):
                words[i] = str(self.rng.choice(topic))
        return " ".join(words)

    def edit(self, text: str, rate: float) -> str:
        words = text.split()
        for i in self.rng.choice(len(words), size=int(len(words) * rate), replace=False):
            words[i] = str(self.rng.choice(self.vocab))
        return " ".join(words)

    def insert_sentences(self, text: str, n: int) -> str:
        words = text.split()
        for _ in range(n):
            at = int(self.rng.integers(len(words)))
            words[at:at] = self.story(15).split()
        return " ".join(words)


def add_text(grouper: Grouper, doc_id: str, text: str, published_at=None):
    fp = fingerprint(text, grouper.config)
    return grouper.add(doc_id, fp.signature, fp.n_shingles, published_at)


# -- maths ----------------------------------------------------------------------------------


def test_intersection_and_containment_from_jaccard_are_exact_for_exact_jaccard():
    # A has 100 shingles, B 50, all of B inside A: J = 50 / 100.
    assert estimate_intersection(0.5, 100, 50) == pytest.approx(50)
    assert containments(0.5, 100, 50) == pytest.approx((0.5, 1.0))
    # Disjoint and identical sets.
    assert containments(0.0, 10, 20) == (0.0, 0.0)
    assert containments(1.0, 30, 30) == (1.0, 1.0)
    # An overestimated J cannot give a containment above 1.
    assert containments(0.3, 1000, 50)[1] == 1.0


def test_classify():
    assert classify(0.9, 100, 110, CONFIG)[0] == DUPLICATE
    plain = GroupingConfig(excerpt_z=0.0)  # containment judged on the point estimate
    assert classify(0.2, 400, 100, plain)[0] == EXCERPT  # 100 of 400 inside: b_in_a = 1.0
    assert classify(0.2, 100, 400, plain)[0] == EXCERPT  # either order
    # On the lower confidence bound (the default), a quarter-length text at J = 0.2 is not
    # trusted (left to the lead index); a half-length one at J = 0.5 is.
    assert classify(0.2, 400, 100, CONFIG)[0] is None
    assert classify(0.5, 400, 200, CONFIG)[0] == EXCERPT
    assert classify(0.2, 60, 60, CONFIG)[0] is None  # same size, low overlap
    small = GroupingConfig(excerpt_min_shingles=200, excerpt_z=0.0)
    assert classify(0.2, 400, 100, small)[0] is None  # the excerpt is too short to trust
    assert classify(1.0, 0, 0, CONFIG)[0] is None  # empty texts never match


def test_cluster_id_for():
    assert cluster_id_for("doc-1") == cluster_id_for("doc-1")
    assert cluster_id_for("doc-1") != cluster_id_for("doc-2")
    assert len(cluster_id_for(7)) == 17 and cluster_id_for(7).startswith("c")


# -- union-find -----------------------------------------------------------------------------


def test_union_find_basics():
    uf = UnionFind()
    for x in "abcdef":
        uf.add(x)
    uf.union("a", "b")
    uf.union("c", "d")
    uf.union("b", "d")
    assert uf.find("a") == uf.find("c") and uf.find("a") != uf.find("e")
    assert uf.set_size("d") == 4 and uf.set_size("f") == 1
    groups = sorted(sorted(g) for g in uf.groups().values())
    assert groups == [["a", "b", "c", "d"], ["e"], ["f"]]
    assert uf.union("a", "c") == uf.find("d")  # already joined: same root back
    uf.union(("tuple", 1), "new")  # unknown keys are added
    assert uf.find("new") == uf.find(("tuple", 1)) and len(uf) == 8
    with pytest.raises(KeyError):
        uf.find("missing")


def test_union_by_size_keeps_the_larger_root_and_find_is_iterative():
    uf = UnionFind()
    n = 200_000  # deeper than any recursion limit if union by size were broken
    for i in range(1, n):
        uf.union(0, i)
    assert uf.find(n - 1) == 0 and uf.set_size(5) == n
    chain = UnionFind()
    for i in range(n):
        chain.add(i)
    for i in range(n - 1):  # force a long path by hand, then find must still work
        chain._parent[i] = i + 1
    assert chain.find(0) == n - 1
    assert chain._parent[0] == n - 1  # compressed


def test_union_find_from_roots():
    uf = UnionFind.from_roots(["a", "b", "c"], ["a", "a", "c"])
    assert uf.find("a") == uf.find("b") and uf.set_size("b") == 2
    with pytest.raises(ValueError, match="not their own root"):
        UnionFind.from_roots(["a", "b"], ["b", "c"])


def test_compact_buckets():
    table = CompactBuckets()
    table.insert(b"h1", 1)
    table.insert(b"h1", 1)  # a set: no duplicate
    table.insert(b"h1", 2)
    table.insert(b"h2", 0)  # a falsy key is still a member
    assert sorted(table.get(b"h1")) == [1, 2] and table.get(b"h2") == (0,)
    assert table.get(b"none") == () and b"h1" in table and table.size() == 2
    assert table.itemcounts() == {b"h1": 2, b"h2": 1}
    table.remove_val(b"h1", 1)
    assert table.get(b"h1") == (2,) and table[b"h1"] == (2,)
    table.remove_val(b"h2", 0)
    assert not table.get(b"h2")
    table.remove(b"h2")
    assert not table.has_key(b"h2") and table.size() == 1


def test_array_buckets():
    table = ArrayBuckets(capacity=16)
    table.insert(b"h1-twelve-by", 1)
    table.insert(b"h1-twelve-by", 1)  # a set: no duplicate
    table.insert(b"h1-twelve-by", 2)
    table.insert(b"h2-twelve-by", 0)  # zero is a member like any other
    assert sorted(table.get(b"h1-twelve-by")) == [1, 2] and table.get(b"h2-twelve-by") == (0,)
    assert table.get(b"h1-twelve-bz") == ()  # same 8-byte tag, other tail: another bucket
    assert b"h1-twelve-by" in table and table.size() == 2
    assert table.itemcounts() == {b"h1-twelve-by": 2, b"h2-twelve-by": 1}
    table.remove_val(b"h1-twelve-by", 1)
    assert table.get(b"h1-twelve-by") == (2,)
    table.remove_val(b"h2-twelve-by", 0)
    assert not table.get(b"h2-twelve-by") and table.size() == 1
    table.insert(b"h2-twelve-by", 5)  # an emptied bucket is reused
    table.remove(b"h2-twelve-by")
    assert not table.has_key(b"h2-twelve-by") and table.size() == 1
    with pytest.raises(ValueError, match="12 bytes"):
        table.get(b"short")
    with pytest.raises(TypeError, match="non-negative ints"):
        table.insert(b"h3-twelve-by", "doc")


def test_array_buckets_survive_growth_like_a_dict():
    """Thousands of keys through many doublings (and removals) answer exactly like a dict."""
    rng = np.random.default_rng(3)
    table, ref = ArrayBuckets(capacity=16), {}
    # Skewed values like MinHash minima: the high bytes are mostly zero.
    keys = [(rng.integers(0, 2**20, 3, dtype=np.uint32)).byteswap().tobytes() for _ in range(5000)]
    for i, key in enumerate(keys):
        table.insert(key, i % 1500)
        ref.setdefault(key, set()).add(i % 1500)
        if i % 7 == 0:
            gone = keys[i // 2]
            table.remove(gone)
            ref.pop(gone, None)
    assert table.size() == len(ref) and table._cap > 1024
    for key in keys:
        assert set(table.get(key)) == ref.get(key, set())
    assert sorted(table.keys()) == sorted(ref)


def test_row_keys():
    keys = RowKeys(lambda row: [bytes([row])] * 2)
    keys.insert(3, b"ignored")
    assert 3 in keys and 2 not in keys and "3" not in keys and keys.size() == 1
    assert keys.get(3) == [b"\x03", b"\x03"] and keys.get(2) == []
    assert list(keys.keys()) == [3]
    keys.remove(3)
    assert 3 not in keys and keys.size() == 0


@pytest.mark.parametrize("storage", ["array", "tuple"])
def test_compact_buckets_give_the_same_results_as_datasketch_storage(storage):
    t = Texts(9)
    base = [t.story(150) for _ in range(30)]
    texts = base + [t.edit(x, 0.1) for x in base] + [" ".join(x.split()[:60]) for x in base]
    compact, plain = Grouper(CONFIG, storage=storage), Grouper(CONFIG, storage="datasketch")
    assert not isinstance(plain._lsh.hashtables[0], ArrayBuckets | CompactBuckets)
    for i, text in enumerate(texts):
        assert add_text(compact, f"d{i}", text) == add_text(plain, f"d{i}", text)
    for i in range(0, 30, 3):  # changed pages: removal from the buckets must match too
        assert add_text(compact, f"d{i}", base[i + 1]) == add_text(plain, f"d{i}", base[i + 1])
    assert compact.assignments() == plain.assignments() and compact.merges == plain.merges
    assert compact.merges  # the changed pages merged clusters


def test_band_hashes_queries_and_inserts_are_datasketchs():
    """The grouper computes band hashes once per add and reads the buckets itself: the keys,
    candidates and buckets must be those of datasketch's own MinHashLSH.insert/query."""
    from datasketch import MinHashLSH

    from pipelines.core.fingerprint import fingerprints, to_lean_minhash
    from pipelines.core.grouping import _band_keys, _lsh_query

    t = Texts(12)
    base = [t.story(120) for _ in range(20)]
    texts = base + [t.edit(x, 0.15) for x in base] + [" ".join(x.split()[:50]) for x in base]
    sigs, _ = fingerprints(texts, CONFIG)
    grouper = Grouper(CONFIG, storage="datasketch")
    reference = MinHashLSH(num_perm=CONFIG.num_perm, params=(grouper.bands, grouper.rows_per_band))
    for i, text in enumerate(texts):
        lean = to_lean_minhash(sigs[i], CONFIG)
        expected = [reference._H(lean.hashvalues[s:e]) for s, e in reference.hashranges]
        assert _band_keys(sigs[i], grouper._lsh) == expected
        assert _lsh_query(grouper._lsh, expected) == set(reference.query(lean))
        add_text(grouper, i, text)
        reference.insert(i, lean)
    assert {k: set(v) for k, v in grouper._lsh.hashtables[0]._dict.items()} == {
        k: set(v) for k, v in reference.hashtables[0]._dict.items()
    }
    assert sum(len(reference.query(to_lean_minhash(s, CONFIG))) for s in sigs) > len(texts)


# -- the grouper ----------------------------------------------------------------------------


def test_copies_join_and_unrelated_stories_stay_apart():
    t = Texts(1)
    topic = [f"topic{i}" for i in range(60)]
    original = t.story(600, topic)
    copies = {
        "verbatim": original + " read more from the daily bugle",
        "light": t.edit(original, 0.03),
        "heavy": t.insert_sentences(t.edit(original, 0.08), 3),
        "truncated": " ".join(original.split()[:400]),
        "excerpt": " ".join(original.split()[:200]) + " read the full article",
    }
    others = {f"other{i}": t.story(600, topic) for i in range(6)}  # same topic, other text
    grouper = Grouper(CONFIG)
    assert add_text(grouper, "orig", original) == []
    relation = {}
    for kind, text in copies.items():
        edges = add_text(grouper, kind, text)
        assert edges, kind
        relation[kind] = {e.doc_a: e.relation for e in edges}["orig"]
    for doc_id, text in others.items():
        assert add_text(grouper, doc_id, text) == [], doc_id
    assert relation["verbatim"] == relation["light"] == DUPLICATE
    assert relation["excerpt"] == EXCERPT
    cid = grouper.cluster_of("orig")
    assert cid == cluster_id_for("orig")
    assert grouper.clusters()[cid] == ["orig", *copies]
    assert grouper.cluster_size(cid) == 6
    assert grouper.n_clusters == 1 + len(others)
    assert len({grouper.cluster_of(d) for d in others}) == len(others)
    assert grouper.merges == []


def test_edge_fields():
    t = Texts(2)
    text = t.story(300)
    grouper = Grouper(CONFIG)
    add_text(grouper, "a", text, published_at=1000.0)
    (edge,) = add_text(grouper, "b", " ".join(text.split()[:150]), published_at=4600.0)
    assert (edge.doc_a, edge.doc_b, edge.relation) == ("a", "b", EXCERPT)
    assert edge.lag_seconds == 3600.0
    assert edge.b_in_a >= 0.9 and 0.3 <= edge.a_in_b <= 0.7
    assert 0.3 <= edge.jaccard <= 0.7
    edges = add_text(grouper, "c", text)
    assert [(e.doc_a, e.relation) for e in edges] == [("a", DUPLICATE), ("b", EXCERPT)]
    assert edges[0].lag_seconds is None and edges[0].jaccard == 1.0
    # Datetimes: aware ones as given, naive ones as UTC.
    aware = datetime(1970, 1, 1, 2, tzinfo=timezone(timedelta(hours=1)))
    add_text(grouper, "d", text, published_at=aware)  # 01:00 UTC = 3600 s
    (edge,) = [e for e in add_text(grouper, "e", text, datetime(1970, 1, 1, 3)) if e.doc_a == "d"]
    assert edge.lag_seconds == 7200.0
    with pytest.raises(TypeError, match="published_at must be"):
        add_text(grouper, "f", text, published_at="2026-01-01")
    assert "f" not in grouper and len(grouper) == 5


def test_merge_keeps_the_older_id_and_records_it():
    t = Texts(3)
    a, b = t.story(300), t.story(300)
    bridge = a + " " + b  # contains both: an excerpt edge to each
    for order, survivor, absorbed in [(["a", "b"], "a", "b"), (["b", "a"], "b", "a")]:
        grouper = Grouper(CONFIG)
        for doc_id in order:
            add_text(grouper, doc_id, {"a": a, "b": b}[doc_id])
        assert grouper.cluster_of("a") != grouper.cluster_of("b")
        edges = add_text(grouper, "bridge", bridge)
        assert sorted(e.doc_a for e in edges) == ["a", "b"]
        assert {e.relation for e in edges} == {EXCERPT}
        assert grouper.cluster_of("a") == grouper.cluster_of("b") == cluster_id_for(survivor)
        assert grouper.merges == [(cluster_id_for(absorbed), cluster_id_for(survivor))]
        assert list(grouper.clusters()) == [cluster_id_for(survivor)]


def test_reruns_in_the_same_order_give_the_same_ids():
    t = Texts(4)
    base = [t.story(200) for _ in range(5)]
    ids = [f"d{i}" for i in range(10)]
    texts = base + [t.edit(x, 0.05) for x in base]
    first, edges1 = group_corpus(ids, texts, CONFIG)
    second, edges2 = group_corpus(ids, texts, CONFIG)
    assert first == second and edges1 == edges2
    assert first["d7"] == first["d2"] == cluster_id_for("d2")
    assert len(set(first.values())) == 5


def test_re_adding_a_changed_page_replaces_its_index_entry():
    t = Texts(5)
    story, other = t.story(300), t.story(300)
    grouper = Grouper(CONFIG)
    add_text(grouper, "story", story)
    add_text(grouper, "page", other)  # founds its own cluster
    page_cluster = grouper.cluster_of("page")
    # The page now carries a copy of the story: it joins, and the older cluster id survives.
    edges = add_text(grouper, "page", t.edit(story, 0.02))
    assert [e.doc_a for e in edges] == ["story"]
    assert grouper.cluster_of("page") == grouper.cluster_of("story") == cluster_id_for("story")
    assert grouper.merges == [(page_cluster, cluster_id_for("story"))]
    assert len(grouper) == 2
    # Its old text is gone from the index: a copy of it matches nothing.
    assert add_text(grouper, "copy-of-old", other) == []
    assert grouper.cluster_of("copy-of-old") == cluster_id_for("copy-of-old")


def test_empty_documents_never_join():
    grouper = Grouper(CONFIG)
    assert add_text(grouper, "e1", "") == []
    assert add_text(grouper, "e2", "...") == []
    assert grouper.cluster_of("e1") != grouper.cluster_of("e2")


def test_add_rejects_bad_input():
    grouper = Grouper(CONFIG)
    with pytest.raises(ValueError, match=r"shape \(128,\)"):
        grouper.add("x", np.zeros(64, dtype=np.uint32), 10)
    with pytest.raises(ValueError, match="n_shingles must be >= 0"):
        grouper.add("x", np.zeros(128, dtype=np.uint32), -1)


def test_growth_beyond_the_initial_capacity():
    t = Texts(6)
    texts = [t.story(40) for _ in range(1100)]
    ids = [f"d{i}" for i in range(1100)]
    assignments, _ = group_corpus(ids, [*texts[:1099], texts[0]], CONFIG)
    assert assignments["d1099"] == assignments["d0"]
    assert len(set(assignments.values())) == 1099


def test_save_load_gives_identical_later_behaviour(tmp_path):
    t = Texts(7)
    base = [t.story(250) for _ in range(12)]
    first = base + [t.edit(x, 0.04) for x in base[:6]]
    later = [t.edit(x, 0.06) for x in base] + [base[0] + " " + base[1], t.story(250)]
    grouper = Grouper(CONFIG)
    for i, text in enumerate(first):
        add_text(grouper, f"a{i}", text)
    path = tmp_path / "state" / "grouping.npz"
    save_grouper(grouper, path)
    loaded = load_grouper(path, CONFIG)
    assert loaded.assignments() == grouper.assignments()
    assert [p.name for p in path.parent.iterdir()] == ["grouping.npz"]  # no temporary left
    for i, text in enumerate(later):
        e1 = add_text(grouper, f"b{i}", text, published_at=float(i))
        e2 = add_text(loaded, f"b{i}", text, published_at=float(i))
        assert e1 == e2
    assert loaded.assignments() == grouper.assignments()
    assert loaded.merges == grouper.merges and grouper.merges  # the bridge merged two clusters
    assert loaded.clusters() == grouper.clusters()
    assert np.array_equal(loaded.signature("a3"), grouper.signature("a3"))


def test_load_with_other_thresholds_works_but_incomparable_signatures_fail(tmp_path):
    grouper = Grouper(CONFIG)
    add_text(grouper, "a", Texts(8).story(100))
    path = tmp_path / "g.npz"
    save_grouper(grouper, path)
    relaxed = GroupingConfig(lsh_threshold=0.4, duplicate_jaccard=0.6)
    assert load_grouper(path, relaxed).cluster_of("a") == cluster_id_for("a")
    with pytest.raises(IncompatibleStateError) as err:
        load_grouper(path, GroupingConfig(num_perm=64))
    message = str(err.value)
    assert "make reprocess" in message and "num_perm: 128 -> 64" in message
    assert str(CONFIG) in message


def test_save_needs_plain_ids(tmp_path):
    grouper = Grouper(CONFIG)
    add_text(grouper, ("tuple", "id"), "some text here")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str or int doc ids"):
        save_grouper(grouper, tmp_path / "g.npz")


def test_reserve_grows_once_and_changes_nothing_else():
    t = Texts(14)
    texts = [t.story(80) for _ in range(5)]
    texts += [t.edit(x, 0.1) for x in texts]
    reserved, plain = Grouper(CONFIG), Grouper(CONFIG)
    reserved.reserve(3000)
    assert reserved._sigs.shape[0] == 3000 and reserved._leads.shape[0] == 3000
    for i, text in enumerate(texts):
        assert add_text(reserved, i, text) == add_text(plain, i, text)
    assert reserved._sigs.shape[0] == 3000  # no growth below the reserve
    assert reserved.assignments() == plain.assignments()
    reserved.reserve(10)  # never shrinks
    assert reserved._sigs.shape[0] == 3000


def test_add_many_gives_the_edges_and_clusters_of_one_add_per_document():
    """A batch finds its candidates by sorting band keys; edges, their order, clusters, merges
    and what later adds see must be those of ``add`` called in the same order."""
    from pipelines.core.fingerprint import fingerprints_and_leads

    t = Texts(21)
    base = [t.story(int(t.rng.integers(40, 400))) for _ in range(40)]
    texts = base + [t.edit(x, 0.08) for x in base] + [" ".join(x.split()[:45]) for x in base]
    texts += [t.insert_sentences(x, 2) for x in base[:10]] + ["", "", "one two"]
    order = t.rng.permutation(len(texts))
    texts = [texts[i] for i in order]
    ids = [f"d{i}" for i in range(len(texts))]
    sigs, counts, leads = fingerprints_and_leads(texts, CONFIG)
    one_by_one = Grouper(CONFIG)
    edges = [
        e
        for i in range(len(ids))
        for e in one_by_one.add(ids[i], sigs[i], int(counts[i]), float(i), leads[i])
    ]
    for cut in (len(ids), 37):  # one batch; a batch, then a second one against the index
        batch = Grouper(CONFIG)
        got = batch.add_many(ids[:cut], sigs[:cut], counts[:cut], list(range(cut)), leads[:cut])
        got += batch.add_many(ids[cut:], sigs[cut:], counts[cut:], list(range(cut, len(ids))),
                              leads[cut:])  # fmt: skip
        assert got == edges and len(edges) > 100
        assert batch.assignments() == one_by_one.assignments()
        assert batch.merges == one_by_one.merges
        extra = t.edit(base[3], 0.05)  # a later single add sees the batch's documents
        assert add_text(batch, "late", extra) == add_text(one_by_one, "late", extra)
        one_by_one = Grouper(CONFIG)
        for i in range(len(ids)):
            one_by_one.add(ids[i], sigs[i], int(counts[i]), float(i), leads[i])
    # Known ids (changed pages) in a batch take add one by one: the same result again.
    again = Grouper(CONFIG)
    again.add_many(ids, sigs, counts, leads=leads)
    redo = again.add_many(ids[:5], sigs[5:10], counts[5:10], leads=leads[5:10])
    same = Grouper(CONFIG)
    same.add_many(ids, sigs, counts, leads=leads)
    assert redo == [e for i in range(5) for e in same.add(ids[i], sigs[5 + i], int(counts[5 + i]),
                                                          None, leads[5 + i])]  # fmt: skip


def test_band_pairs_are_the_lsh_candidates():
    from pipelines.core.grouping import band_pairs

    rng = np.random.default_rng(3)
    values = rng.integers(0, 3, size=(60, 6)).astype(np.uint32)  # many equal bands
    ranges = [(0, 2), (2, 4), (4, 6)]
    expected = sorted(
        (i, j)
        for j in range(60)
        for i in range(j)
        if any((values[i, s:e] == values[j, s:e]).all() for s, e in ranges)
    )
    got = band_pairs(values, ranges)
    assert [tuple(p) for p in got.tolist()] == sorted(expected, key=lambda p: (p[1], p[0]))
    assert band_pairs(values[:1], ranges).shape == (0, 2)


def test_verify_many_equals_verify_pair_by_pair():
    """The vectorised verification gives ``verify``'s relation and containments, bit for bit,
    on estimates at every step of 1/num_perm, equal and empty sizes, and leads around their
    threshold, under the default and a stricter config."""
    from pipelines.core.grouping import RELATIONS, verify, verify_many

    rng = np.random.default_rng(4)
    for config in (CONFIG, GroupingConfig(excerpt_z=0.0, excerpt_min_shingles=1, num_perm=64)):
        n = 20_000
        j = rng.integers(0, config.num_perm + 1, n) / config.num_perm
        lead_j = rng.integers(0, config.lead_perm + 1, n) / config.lead_perm
        with_leads = rng.random(n) < 0.5
        n_a = rng.integers(0, 400, n)
        n_b = np.where(rng.random(n) < 0.1, n_a, rng.integers(0, 400, n))
        relation, a_in_b, b_in_a = verify_many(j, lead_j, with_leads, n_a, n_b, config)
        for i in range(n):
            want = verify(
                float(j[i]),
                float(lead_j[i]) if with_leads[i] else None,
                int(n_a[i]),
                int(n_b[i]),
                config,
            )
            assert (RELATIONS[relation[i]], float(a_in_b[i]), float(b_in_a[i])) == want, i
        assert {0, 1, 2} <= set(relation.tolist())
