"""GroupingConfig: validation messages, stable string form and digest, round trips."""

from __future__ import annotations

import pytest

from pipelines.core.config import SIGNATURE_FIELDS, GroupingConfig


def test_defaults_string_form_and_digest_are_stable():
    config = GroupingConfig()
    assert str(config) == (
        "n1_w3_p128_s1_oph_poly64_t0.30_j0.30_c0.70_m20_z2_l30x64_0.40_0.55_b200"
    )
    # The word lead of the states written before lead_chars keeps its old short form.
    assert str(GroupingConfig(lead_chars=0)).endswith("_l30x64_0.40_0.55")
    assert config.digest == GroupingConfig().digest
    assert len(config.digest) == 16 and int(config.digest, 16) >= 0


def test_digest_changes_with_any_field():
    base = GroupingConfig()
    changed = [
        GroupingConfig(normalisation_version=2),
        GroupingConfig(shingle_size=5),
        GroupingConfig(num_perm=256),
        GroupingConfig(seed=7),
        GroupingConfig(scheme="affine32"),
        GroupingConfig(scheme="affine32", hash_function="sha1"),
        GroupingConfig(lsh_threshold=0.4),
        GroupingConfig(lsh_weights=(0.3, 0.7)),
        GroupingConfig(duplicate_jaccard=0.6),
        GroupingConfig(excerpt_containment=0.9),
        GroupingConfig(excerpt_min_shingles=5),
        GroupingConfig(lead_words=40),
        GroupingConfig(excerpt_z=1.0),
        GroupingConfig(lead_perm=32),
        GroupingConfig(lead_threshold=0.6),
        GroupingConfig(lead_jaccard=0.7),
        GroupingConfig(lead_chars=300),
    ]
    digests = {c.digest for c in changed}
    assert base.digest not in digests
    assert len(digests) == len(changed)


def test_dict_round_trip_and_json_lists():
    config = GroupingConfig(num_perm=64, seed=3, lsh_weights=(0.4, 0.6))
    data = config.to_dict()
    assert data["lsh_weights"] == [0.4, 0.6]
    again = GroupingConfig.from_dict(data)
    assert again == config and hash(again) == hash(config)
    assert again.digest == config.digest


def test_from_dict_names_unknown_keys():
    with pytest.raises(ValueError, match="unknown keys: bands, shingles"):
        GroupingConfig.from_dict({"shingles": 3, "bands": 4, "seed": 1})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lsh_threshold": 1.5}, "GroupingConfig.lsh_threshold must be in (0, 1), got 1.5"),
        ({"lsh_threshold": 0.0}, "GroupingConfig.lsh_threshold must be in (0, 1), got 0.0"),
        ({"duplicate_jaccard": 1.01}, "GroupingConfig.duplicate_jaccard must be in (0, 1]"),
        ({"excerpt_containment": -0.1}, "GroupingConfig.excerpt_containment must be in (0, 1]"),
        ({"excerpt_containment": "0.8"}, "GroupingConfig.excerpt_containment must be a number"),
        ({"shingle_size": 0}, "GroupingConfig.shingle_size must be [1, 64], got 0"),
        ({"shingle_size": 2.5}, "GroupingConfig.shingle_size must be an integer, got 2.5"),
        ({"num_perm": 1}, "GroupingConfig.num_perm must be [2, 8192], got 1"),
        ({"num_perm": True}, "GroupingConfig.num_perm must be an integer"),
        ({"seed": -1}, "GroupingConfig.seed must be [0, 4294967295], got -1"),
        ({"excerpt_min_shingles": 0}, "GroupingConfig.excerpt_min_shingles must be >= 1"),
        ({"scheme": "legacy"}, "GroupingConfig.scheme must be one of oph, affine32, got 'legacy'"),
        (
            {"hash_function": "md5", "scheme": "affine32"},
            "GroupingConfig.hash_function must be one of poly64, xx64, sha1",
        ),
        ({"lsh_weights": (0.5, 0.6)}, "GroupingConfig.lsh_weights must be two numbers"),
        ({"lsh_weights": (1.0,)}, "GroupingConfig.lsh_weights must be two numbers"),
        ({"lsh_threshold": float("nan")}, "GroupingConfig.lsh_threshold must be a number"),
    ],
)
def test_validation_messages(kwargs, message):
    with pytest.raises(ValueError) as err:
        GroupingConfig(**kwargs)
    assert message in str(err.value)


def test_weights_are_made_to_sum_exactly_to_one():
    # 0.1 + 0.2 != 0.3 in floats; datasketch insists on an exact sum of 1.0.
    config = GroupingConfig(lsh_weights=(0.7, 0.1 + 0.2))
    assert sum(config.lsh_weights) == 1.0


def test_frozen():
    with pytest.raises(AttributeError):
        GroupingConfig().seed = 2  # type: ignore[misc]


def test_signature_compatibility_only_looks_at_signature_fields():
    base = GroupingConfig()
    thresholds_only = GroupingConfig(lsh_threshold=0.5, duplicate_jaccard=0.6)
    assert base.signatures_compatible_with(thresholds_only)
    assert base.signature_differences(thresholds_only) == []
    for field, value in [
        ("normalisation_version", 2),
        ("shingle_size", 5),
        ("num_perm", 64),
        ("seed", 2),
        ("scheme", "affine32"),
    ]:
        other = GroupingConfig(**{field: value})
        assert not base.signatures_compatible_with(other), field
        assert not other.signatures_compatible_with(base), field
        assert base.signature_differences(other) == [
            f"{field}: {value!r} -> {getattr(base, field)!r}"
        ]
    assert "scheme" in SIGNATURE_FIELDS
    affine, sha1 = (
        GroupingConfig(scheme="affine32"),
        GroupingConfig(scheme="affine32", hash_function="sha1"),
    )
    assert affine.signature_differences(sha1) == ["hash_function: 'sha1' -> 'poly64'"]


def test_require_compatible_names_the_state_and_the_differences():
    from pipelines.core.config import IncompatibleStateError

    config = GroupingConfig()
    config.require_compatible(GroupingConfig(lsh_threshold=0.5), "state X")  # thresholds may vary
    with pytest.raises(IncompatibleStateError) as info:
        config.require_compatible(GroupingConfig(num_perm=64), "the saved state (d/state)")
    message = str(info.value)
    assert message.startswith("the saved state (d/state) was made with grouping config")
    assert "num_perm: 64 -> 128" in message and "make reprocess" in message


def test_a_state_saved_before_lead_chars_is_told_to_reprocess():
    """A saved config without ``lead_chars`` was made with the word lead: ``from_saved`` reads
    it as ``lead_chars=0``, so today's default (the character lead) is refused with the command
    that rebuilds the state; a user's own partial config still gets today's defaults."""
    from pipelines.core.config import IncompatibleStateError

    old = GroupingConfig(lead_chars=0).to_dict()
    del old["lead_chars"]
    saved = GroupingConfig.from_saved(old)
    assert saved.lead_chars == 0
    with pytest.raises(IncompatibleStateError, match=r"lead_chars: 0 -> 200.*make reprocess"):
        GroupingConfig().require_compatible(saved, "the saved state (data/state)")
    assert GroupingConfig.from_dict({"duplicate_jaccard": 0.4}).lead_chars == 200
    assert GroupingConfig.from_saved(GroupingConfig().to_dict()) == GroupingConfig()
