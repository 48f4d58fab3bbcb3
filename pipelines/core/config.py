"""Every parameter that decides how documents are fingerprinted and grouped, in one frozen object.

The object is recorded next to every output (its short string form and its digest), so a later
run can tell whether stored signatures and a persisted index are still comparable with the code
and settings of this run. Two configs whose signature parameters differ produce sketches that
cannot be compared: datasketch gives no error in that case, it simply finds nothing (its issues
#34, #60; its 2.0 scheme change), so the check lives here.

Defaults were chosen by measurement on synthetic syndication-like text (word edits, truncation,
inserted sentences, excerpts, independent rewrites sharing quotes, short briefs sharing leaked
furniture); ``python -m bench.measure_grouping --stories 400 --seed 1``, pairwise F1:

- w3, t0.30, j0.35, c0.70: P 0.957, R 0.941, F1 0.949 (seed 2: F1 0.944);
- j0.40: P 0.994, R 0.894, F1 0.941 (fewer false merges of furniture-sharing briefs);
- j0.50 c0.80: P 1.000, R 0.680, F1 0.810 (loses most heavily edited copies);
- t0.20: F1 0.958 (finds more short excerpts) but r=2 bands make chance candidates grow with
  the index; word 5-shingles: F1 0.803; datatrove-like w5 t0.80 j0.80: F1 0.255.

On copies of real news prose (``python -m bench.realtext``, issue 12) the LSH candidates of two
different stories had estimated Jaccard at most 0.20 / 0.25 / 0.17 (light / heavy / noisy): the
false merges above came from the synthetic generator's template prose. There j0.30, rensa's own
threshold, lifted noisy copies (2% character noise) from F1
0.835 to 0.878 with precision still 1.000 (light 0.999 and heavy 0.989 -> 0.992 unchanged or
better); on the demo web (``make evaluate``, seeds 1-3) it merged one more pair of seed 2 (F1
0.9997) and none of its rewrites. Hence the default j0.30.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

# Signature schemes. "oph": one-permutation MinHash (one pass over the shingles, the default);
# "affine32": datasketch 2.0's k-permutation MinHash, reproduced bit for bit. "legacy"
# (datasketch < 2.0) is biased on large sets and slower; "affine64" would need 64-bit storage.
SCHEMES = ("oph", "affine32")
# Short names of the 32-bit shingle hash functions (see pipelines.core.fingerprint.hashfunc).
HASH_FUNCTIONS = ("poly64", "xx64", "sha1")
# Fields that decide the signature values; any difference makes old signatures incomparable.
SIGNATURE_FIELDS = (
    "normalisation_version",
    "shingle_size",
    "num_perm",
    "seed",
    "scheme",
    "hash_function",
    "lead_words",
    "lead_perm",
    "lead_chars",
)
# Fields added after states were first written, with the value every state written before
# them was made with (``GroupingConfig.from_saved``).
_LEGACY = {"lead_chars": 0}


@dataclass(frozen=True)
class GroupingConfig:
    """Parameters of normalisation, shingling, MinHash, LSH and pair verification.

    Signature fields (changing any of them needs ``make reprocess``):
        normalisation_version: version of ``pipelines.core.textnorm.normalise``; bump it when the
            normalisation rules change.
        shingle_size: words per shingle. Word 3-shingles keep edited copies similar; 5-shingles
            (the web-dedup default) lose most edited and truncated copies.
        num_perm: number of MinHash permutations (signature length).
        seed: seed of the permutation parameters (datasketch ``MinHash(seed=...)``).
        scheme: ``oph`` (the default): one-permutation MinHash: each shingle's 64-bit hash picks
            one of ``num_perm`` bins and a bin keeps its least value, empty bins filled from
            their right neighbour; one pass over the shingles instead of ``num_perm``, so
            signatures of a whole run take a few numpy passes (real news text, normalising
            included: about 0.75x the CPU of ``affine32``, ``bench/realtext.py``). ``affine32``:
            datasketch 2.0's MinHash, bit for bit.
            Lead signatures are affine32 MinHash under either scheme.
        hash_function: 32-bit hash of a shingle's UTF-8 bytes: ``poly64`` (a polynomial hash
            mod 2^64 finished with fmix64, computed for all shingles of a document at once:
            fastest), ``xx64`` (low 32 bits of xxh64) or ``sha1`` (datasketch's default
            ``sha1_hash32``). See ``pipelines.core.fingerprint``.

    Candidate and verification fields (changing them needs no new signatures, but regrouping):
        lsh_threshold: Jaccard threshold the LSH banding is tuned for. Kept low so that edited
            and truncated copies become candidates; every candidate is verified before a union.
        lsh_weights: (false positive, false negative) weights of datasketch's band optimiser.
        duplicate_jaccard: estimated Jaccard at or above which a pair is a ``duplicate``.
        excerpt_containment: estimated containment of the shorter document in the longer one at
            or above which a pair is an ``excerpt``.
        excerpt_min_shingles: the shorter document needs at least this many distinct shingles to
            count as an excerpt; below it a few shared stock phrases would look like containment.
        excerpt_z: containment is judged on J minus this many standard errors of its estimate,
            because at small J the estimate's relative error is large.

    The lead index (excerpts and truncated copies): an excerpt is the first paragraphs of an
    article, so its Jaccard with the full text is often below 0.1, where neither the LSH nor a
    128-value estimate can see it. Each document also gets a signature of its opening
    ``lead_words`` words (the first ``lead_perm`` values of the MinHash of those shingles, a
    signature field), indexed in a second LSH tuned for ``lead_threshold``; two documents whose
    openings reach ``lead_jaccard`` are copies (the shorter one an excerpt). ``lead_words=0``
    turns the lead index off. ``lead_chars`` (a signature field; the default 200) takes the
    opening as the first ``lead_chars`` bytes of the normalised text in character 5-shingles
    (``fingerprint.LEAD_CHAR_SHINGLE``, a one-permutation MinHash of ``lead_perm`` bins) instead
    of the first ``lead_words`` words in word shingles: 2% character noise (OCR) leaves about
    90% of 5-character shingles and 70% of word 3-shingles, so a noisy excerpt's opening stays
    above ``lead_jaccard`` (real-text benchmark: F1 light / heavy / noisy 0.995 / 0.986 / 0.903
    -> 0.998 / 0.997 / 0.958; demo web seeds 1-3 pairwise F1 0.9997 / 0.9997 / 0.9984 ->
    0.9997 / 0.9997 / 0.9987, no rewrite merged; 300 bytes did better on real text, 0.975 on
    the noisy level, but missed short demo excerpts, 0.984 on seed 3).
    ``lead_chars=0`` is the word lead of the states written before it (``from_saved``).
    """

    normalisation_version: int = 1
    shingle_size: int = 3
    num_perm: int = 128
    seed: int = 1
    scheme: str = "oph"
    hash_function: str = "poly64"
    lsh_threshold: float = 0.3
    lsh_weights: tuple[float, float] = (0.5, 0.5)
    duplicate_jaccard: float = 0.30
    excerpt_containment: float = 0.7
    excerpt_min_shingles: int = 20
    excerpt_z: float = 2.0
    lead_words: int = 30
    lead_perm: int = 0  # 0: min(64, num_perm)
    lead_threshold: float = 0.4
    lead_jaccard: float = 0.55
    lead_chars: int = 200

    def __post_init__(self) -> None:
        # JSON round trips give a list; keep the frozen object hashable and comparable.
        if isinstance(self.lsh_weights, list):
            object.__setattr__(self, "lsh_weights", tuple(self.lsh_weights))
        _check_int(self, "normalisation_version", 1, None)
        _check_int(self, "shingle_size", 1, 64)
        _check_int(self, "num_perm", 2, 8192)
        _check_int(self, "seed", 0, 2**32 - 1)
        _check_int(self, "excerpt_min_shingles", 1, None)
        if self.scheme not in SCHEMES:
            raise ValueError(
                f"GroupingConfig.scheme must be one of {', '.join(SCHEMES)}, got {self.scheme!r}"
            )
        if self.hash_function not in HASH_FUNCTIONS:
            raise ValueError(
                f"GroupingConfig.hash_function must be one of {', '.join(HASH_FUNCTIONS)}, "
                f"got {self.hash_function!r}"
            )
        if self.scheme == "oph" and self.hash_function != "poly64":
            raise ValueError(
                "GroupingConfig.scheme 'oph' needs hash_function 'poly64' (its 64-bit values "
                f"pick the bins), got {self.hash_function!r}"
            )
        _check_fraction(self, "lsh_threshold", open_low=True, open_high=True)
        _check_fraction(self, "duplicate_jaccard", open_low=True, open_high=False)
        _check_fraction(self, "excerpt_containment", open_low=True, open_high=False)
        _check_fraction(self, "lead_threshold", open_low=True, open_high=True)
        if not _is_real(self.excerpt_z) or not 0.0 <= self.excerpt_z <= 10.0:
            raise ValueError(f"GroupingConfig.excerpt_z must be in [0, 10], got {self.excerpt_z!r}")
        _check_fraction(self, "lead_jaccard", open_low=True, open_high=False)
        _check_int(self, "lead_words", 0, None)
        _check_int(self, "lead_chars", 0, None)
        if self.lead_perm == 0 and isinstance(self.num_perm, int):
            object.__setattr__(self, "lead_perm", min(64, self.num_perm))
        _check_int(self, "lead_perm", 8, self.num_perm)
        weights = self.lsh_weights
        if (
            not isinstance(weights, tuple)
            or len(weights) != 2
            or not all(_is_real(w) and 0.0 <= w <= 1.0 for w in weights)
            or not math.isclose(sum(weights), 1.0)
        ):
            raise ValueError(
                "GroupingConfig.lsh_weights must be two numbers in [0, 1] that sum to 1 "
                f"(false positive, false negative), got {weights!r}"
            )
        # datasketch's optimiser requires an exact sum of 1.0.
        fp = float(weights[0])
        object.__setattr__(self, "lsh_weights", (fp, 1.0 - fp))

    def __str__(self) -> str:
        """Short, stable label, e.g. ``n1_w3_p128_s1_affine32_poly64_t0.30_j0.50_c0.80_m20``."""
        return (
            f"n{self.normalisation_version}_w{self.shingle_size}_p{self.num_perm}_s{self.seed}"
            f"_{self.scheme}_{self.hash_function}_t{self.lsh_threshold:.2f}"
            f"_j{self.duplicate_jaccard:.2f}_c{self.excerpt_containment:.2f}"
            f"_m{self.excerpt_min_shingles}_z{self.excerpt_z:g}_l{self.lead_words}x{self.lead_perm}"
            f"_{self.lead_threshold:.2f}_{self.lead_jaccard:.2f}"
            + (f"_b{self.lead_chars}" if self.lead_chars else "")
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field."""
        data = dataclasses.asdict(self)
        data["lsh_weights"] = list(self.lsh_weights)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GroupingConfig:
        """Build from ``to_dict()`` output; unknown keys are an error, missing ones default."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"GroupingConfig.from_dict got unknown keys: {', '.join(unknown)} "
                f"(known: {', '.join(sorted(known))})"
            )
        return cls(**data)

    @classmethod
    def from_saved(cls, data: dict[str, Any]) -> GroupingConfig:
        """``from_dict`` of a config a state was saved with: a field it lacks was added after
        it was written, and takes the value the state was made with (``lead_chars`` 0), not
        today's default, so that the compatibility check sees the difference."""
        return cls.from_dict({**_LEGACY, **data})

    @property
    def digest(self) -> str:
        """First 16 hex digits of the sha256 of the canonical JSON of every field."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    def signatures_compatible_with(self, other: GroupingConfig) -> bool:
        """True when signatures made under ``other`` can be compared with ours."""
        return all(getattr(self, f) == getattr(other, f) for f in SIGNATURE_FIELDS)

    def signature_differences(self, other: GroupingConfig) -> list[str]:
        """Human-readable list of the signature fields that differ (empty when compatible)."""
        return [
            f"{f}: {getattr(other, f)!r} -> {getattr(self, f)!r}"
            for f in SIGNATURE_FIELDS
            if getattr(self, f) != getattr(other, f)
        ]

    def require_compatible(self, saved: GroupingConfig, what: str) -> None:
        """Raise IncompatibleStateError unless signatures made under ``saved`` compare with ours.

        ``what`` names the saved state in the message ("the saved state (data/state)"). The one
        check behind both the crawl's start (pipelines.storage.state.check_compatible) and
        ``Grouper.load``: datasketch would give no error, it would just never find a match.
        """
        if self.signatures_compatible_with(saved):
            return
        raise IncompatibleStateError(
            f"{what} was made with grouping config {saved} ({saved.digest}) and this run uses "
            f"{self} ({self.digest}); old signatures are not comparable "
            f"({'; '.join(self.signature_differences(saved))}). "
            "Rebuild it with the new config: `make reprocess`."
        )


class IncompatibleStateError(ValueError):
    """Saved grouping state was made with signature parameters that differ from this run's."""


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_int(config: GroupingConfig, name: str, low: int, high: int | None) -> None:
    value = getattr(config, name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"GroupingConfig.{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"GroupingConfig.{name} must be {bounds}, got {value}")


def _check_fraction(config: GroupingConfig, name: str, *, open_low: bool, open_high: bool) -> None:
    value = getattr(config, name)
    if not _is_real(value):
        raise ValueError(f"GroupingConfig.{name} must be a number, got {value!r}")
    too_low = value <= 0.0 if open_low else value < 0.0
    too_high = value >= 1.0 if open_high else value > 1.0
    if too_low or too_high:
        interval = ("(" if open_low else "[") + "0, 1" + (")" if open_high else "]")
        raise ValueError(f"GroupingConfig.{name} must be in {interval}, got {value}")
