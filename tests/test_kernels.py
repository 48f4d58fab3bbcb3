"""The compiled kernels give the numpy path's bits (pipelines/core/kernels.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipelines.core import fingerprint as fp
from pipelines.core import kernels
from pipelines.core.config import GroupingConfig
from pipelines.core.textnorm import normalise

HERE = Path(__file__).resolve().parent
WORDS = ["a", "bb", "ccc", "w1", "w22", "\u00e9t\u00e9", "na\u00efve", "\u4e2d\u6587"]
WORDS += ["\U0001f600x"]  # an astral character: four UTF-8 bytes


def real_texts() -> list[str]:
    """Real news prose (tests/data/realtext_sample.jsonl) and cut-offs of it at every length
    that matters: fewer words than a shingle, exactly one shingle, the lead's byte bound."""
    rows = [json.loads(line) for line in (HERE / "data" / "realtext_sample.jsonl").open()]
    texts = [normalise(r["text"]) for r in rows]
    cuts = [t[:n].strip() for t in texts[:3] for n in (1, 4, 5, 6, 12, 199, 200, 201, 1000)]
    return texts + cuts


def generated_texts(seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    texts = [
        normalise(" ".join(rng.choice(WORDS, size=int(rng.integers(0, 60))))) for _ in range(300)
    ]
    return [*texts, "", "a", "a b", "a b c", "a b c d", "aaaaa", "aaaa", "x" * 5000]


def numpy_path(texts: list[str], config: GroupingConfig):
    encoded = [t.encode("utf-8") for t in texts]
    return fp._numpy_fingerprints(texts, encoded, config)


def test_the_kernels_are_in_use():
    """numba is pinned: without it the grouping would silently run four times slower."""
    assert kernels.enabled()


@pytest.mark.parametrize(
    "config",
    [
        GroupingConfig(),
        GroupingConfig(shingle_size=1, num_perm=16, seed=0, lead_chars=1, lead_perm=8),
        GroupingConfig(shingle_size=5, num_perm=256, seed=7, lead_chars=5000),
        GroupingConfig(shingle_size=2, num_perm=100, seed=2**32 - 1, lead_chars=3),
    ],
    ids=str,
)
def test_oph_kernel_equals_the_numpy_path(config):
    """Signatures, distinct shingle counts and character leads: the same bits, for real prose,
    generated texts with multibyte and astral characters, and every short-text edge."""
    texts = real_texts() + generated_texts(seed=config.seed % 1000)
    want = numpy_path(texts, config)
    got = fp.fingerprints_and_leads(texts, config, normalised=True)
    for name, w, g in zip(("signatures", "counts", "leads"), want, got, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape, name
        assert np.array_equal(g, w), name


def test_oph_kernel_handles_an_empty_batch_and_empty_texts():
    config = GroupingConfig()
    sigs, counts, leads = fp.fingerprints_and_leads([], config)
    assert sigs.shape == (0, config.num_perm) and counts.shape == (0,)
    assert leads.shape == (0, config.lead_perm)
    sigs, counts, leads = fp.fingerprints_and_leads(["", ""], config)
    assert (sigs == 0xFFFFFFFF).all() and (leads == 0xFFFFFFFF).all() and (counts == 0).all()


def test_switched_off_the_numpy_path_gives_the_same_signatures(tmp_path):
    """``SYNDICATION_NO_KERNELS=1``: the kernels stay unused, and the signatures are those the
    kernel gives."""
    config = GroupingConfig()
    texts = real_texts()[:5]
    out = tmp_path / "sigs.npy"
    code = (
        "import sys, numpy as np\n"
        "from pipelines.core import fingerprint as fp, kernels\n"
        "from pipelines.core.config import GroupingConfig\n"
        "assert not kernels.enabled()\n"
        "texts = [line.rstrip('\\n') for line in open(sys.argv[1], encoding='utf-8')]\n"
        "np.save(sys.argv[2], fp.fingerprints_and_leads(texts, GroupingConfig())[0])\n"
    )
    src = tmp_path / "texts.txt"
    src.write_text("\n".join(texts) + "\n", encoding="utf-8")
    env = {**os.environ, "SYNDICATION_NO_KERNELS": "1", "PYTHONPATH": str(HERE.parent)}
    subprocess.run([sys.executable, "-c", code, str(src), str(out)], check=True, env=env)
    assert np.array_equal(np.load(out), fp.fingerprints_and_leads(texts, config)[0])


def real_lines() -> list[str]:
    """Lines of real prose and of real pages' boilerplate (tests/realpages/snippets.json)."""
    from pipelines.core.furniture import split_lines

    rows = [json.loads(line) for line in (HERE / "data" / "realtext_sample.jsonl").open()]
    lines = [ln for r in rows for ln in split_lines(r["text"].replace(".  ", ".\n"))]

    def strings(node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for v in node.values():
                yield from strings(v)
        elif isinstance(node, list):
            for v in node:
                yield from strings(v)

    snippets = json.loads((HERE / "realpages" / "snippets.json").read_text(encoding="utf-8"))
    lines += [ln for s in strings(snippets) for ln in split_lines(s)]
    return list(dict.fromkeys(lines))


# Pieces that exercise every branch of the mask and of the normalisation: names, numbers with
# their marks, handles, links, quotes and dashes, spaces beyond ASCII, invisible characters,
# characters NFKC or casefold change (left to Python), digits and capitals beyond ASCII.
SOUP = [*"aZX09_ @:/.,-'&|();`", "\u00a0", "\u00ad", "\u200b", "\u2019", "\u201c", "\u201d"]
SOUP += ["\u2013", "\u2014", "\u00b4", "\u00e9", "\u00c9", "\u00df", "\u0130", "\u0131"]
SOUP += ["\u0661", "\u00b2", "\ufb01", "\u3000", "\t", "\x1c", "\u0301", "\u4e2d", "\U0001f600"]
SOUP += ["\u2026", "\uff21", "\u00aa", "\u2033", "\u00bd"]
SOUP += ["http://", "https://x.y", "htt", "@bob", "Mr.", "3.5", "A-1", "ab", "X.", "(c)"]


def soup_lines(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    lines = ("".join(rng.choice(SOUP, size=int(rng.integers(1, 30)))).strip() for _ in range(n))
    return [ln for ln in dict.fromkeys(lines) if ln and "\n" not in ln]


def test_line_shapes_kernel_equals_the_python_path():
    """Shape keys and own-word counts of real lines and of a character soup: the kernel's
    answers are line_shape's, and it leaves to Python only lines with a character outside its
    tables (about 3% of real lines here)."""
    from pipelines.core import furniture

    real = real_lines()
    lines = real + soup_lines(6000, seed=5)
    got = kernels.line_shapes(lines)
    furniture.forget_lines()
    for line, shape in zip(lines, got, strict=True):
        if shape is not None:
            assert shape == furniture.line_shape(line), line
    left = sum(shape is None for shape in got[: len(real)])
    assert left < 0.05 * len(real)
    assert all(s is not None for s in kernels.line_shapes(["Read more on The Harbor Ledger"]))
    assert kernels.line_shapes(["ß and İ"]) == [None]  # casefold makes two characters of them


def test_prime_shapes_gives_line_shapes_answers_with_the_kernel():
    """The batch path (kernel, then Python for the rest) and one line at a time agree."""
    from pipelines.core import furniture

    lines = real_lines()[:400] + soup_lines(400, seed=9)
    furniture.forget_lines()
    furniture.prime_shapes([lines[:300], lines[300:]])
    batch = [furniture._SHAPES[ln] for ln in lines]
    furniture.forget_lines()
    assert batch == [furniture.line_shape(ln) for ln in lines]


def test_normalise_lines_kernel_equals_normalise_and_keys_are_xxh64():
    """Normal forms of real lines and of the character soup: the kernel's are ``normalise``'s
    (the regex definition, line by line), and each key is the form's xxh64."""
    import xxhash

    lines = real_lines() + soup_lines(6000, seed=11)
    forms, keys = kernels.normalise_lines(lines)
    assert sum(f is not None for f in forms[: len(real_lines())]) > 0.95 * len(real_lines())
    for line, form, key in zip(lines, forms, keys, strict=True):
        if form is None:
            continue
        assert form == normalise(line), line
        assert key == (xxhash.xxh64_intdigest(form.encode("utf-8")) if form else 0)
