"""README documents every column of every table, as the schemas define them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.storage.schemas import TABLES, schema_for

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_column_is_documented(table: str) -> None:
    section = re.search(rf"^#### {table}\n(.*?)(?=^#### |^## )", README, re.S | re.M)
    assert section, f"README has no '#### {table}' section"
    documented = re.findall(r"^\| `(\w+)` \|", section.group(1), re.M)
    assert documented == schema_for(table).names


def test_make_targets_in_readme_exist_in_makefile() -> None:
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    for target in set(re.findall(r"`make ([a-z][\w-]*)", README)):
        assert target in targets, (
            f"README mentions `make {target}`, the Makefile has no such target"
        )
