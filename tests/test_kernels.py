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
