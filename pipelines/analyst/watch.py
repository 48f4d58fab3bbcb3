"""The watch list: stories and phrases to follow, and the new copies each run finds of them.

`watch.yaml` (or the file given with `--watch`)::

    watch:
      - name: bat-study                 # how the hits are named (unique)
        url: http://valleysentinel.test/...   # a story: new documents in its cluster
      - name: floodlights
        phrase: floodlight repairs      # any new document whose headline or text holds it

A `url` item follows the story of the document at that URL (canonicalised as doc ids are): each
run reports the documents that run saw for the first time in the watched document's cluster, so
its new copies, wherever they appear. A `phrase` item reports each new document whose headline
or text contains the phrase as whole words (compared normalised: case, accents, punctuation and
hyphens do not count).
A URL not crawled yet is watched from the run that first fetches it.

`watch_hit_rows` gives the `watch_hits` rows of one run from its end-of-run result; they are
written beside the run's documents and edges, before the commit, so a run that never committed
leaves none (pipelines/storage/state.recover removes them).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipelines.core.textnorm import normalise
from pipelines.core.urls import canonical_doc_id

DEFAULT_WATCH = "watch.yaml"
ITEM_KEYS = {"name", "url", "phrase"}


class WatchError(ValueError):
    """A watch list that cannot be used; the message names the file and the item."""


@dataclass(frozen=True)
class WatchItem:
    name: str
    kind: str  # url or phrase
    value: str  # the URL as written, or the phrase

    @property
    def doc_id(self) -> str:
        return canonical_doc_id(self.value)

    @property
    def needle(self) -> str:
        return match_form(self.value)


def match_form(text: str) -> str:
    """`text` as phrases are matched: normalised, hyphens as spaces, padded with a space so
    that a phrase matches whole words only ("bike lanes" in "the bike-lanes", not "ebike")."""
    words = normalise(text).replace("-", " ").split()
    return f" {' '.join(words)} " if words else ""


def load_watch(path: str | os.PathLike[str]) -> tuple[WatchItem, ...]:
    """Read and check a watch list; raises WatchError naming the file and the item."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WatchError(f"{path}: cannot read the watch list: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise WatchError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return ()
    if not isinstance(data, dict) or set(data) != {"watch"}:
        raise WatchError(f"{path}: expected one top-level key 'watch' holding a list of items")
    items = data["watch"] or []
    if not isinstance(items, list):
        raise WatchError(f"{path}: 'watch' must be a list of items")
    out: list[WatchItem] = []
    for k, raw in enumerate(items, start=1):
        where = f"{path}: watch item {k}"
        if not isinstance(raw, dict):
            raise WatchError(f"{where}: expected a mapping with name and url or phrase")
        unknown = set(raw) - ITEM_KEYS
        if unknown:
            raise WatchError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise WatchError(f"{where}: 'name' must be a non-empty string")
        where = f"{path}: watch item {name!r}"
        kinds = [key for key in ("url", "phrase") if key in raw]
        if len(kinds) != 1:
            raise WatchError(f"{where}: give exactly one of 'url' or 'phrase'")
        value = raw[kinds[0]]
        if not isinstance(value, str) or not value.strip():
            raise WatchError(f"{where}: '{kinds[0]}' must be a non-empty string")
        item = WatchItem(name.strip(), kinds[0], value.strip())
        if item.kind == "url":
            try:
                item.doc_id  # noqa: B018 (checks the URL)
            except ValueError as exc:
                raise WatchError(f"{where}: not a usable URL: {exc}") from None
            if not item.value.lower().startswith(("http://", "https://")):
                raise WatchError(f"{where}: the url must start with http:// or https://")
        elif not item.needle:
            raise WatchError(f"{where}: the phrase has no words once normalised")
        if any(o.name == item.name for o in out):
            raise WatchError(f"{where}: the name is used twice")
        out.append(item)
    return tuple(out)


def watch_hit_rows(
    items: Sequence[WatchItem],
    run_id: str,
    documents: dict[str, dict[str, Any]],
    docs: dict[str, dict[str, Any]],
    clusters: dict[str, dict[str, Any]],
    cluster_of: Any,
) -> list[dict[str, Any]]:
    """The `watch_hits` rows of one run.

    `documents`: the run's new and changed documents rows (with text and their cluster id);
    `docs`: the state's record of every document after the run (`first_run` says which are
    new); `clusters`: the cluster rows after the run; `cluster_of(doc_id)`: the live cluster of
    a document, or None when it was never grouped."""
    if not items or not documents:
        return []
    new = {d: row for d, row in documents.items() if docs.get(d, {}).get("first_run") == run_id}
    rows: list[dict[str, Any]] = []
    for item in items:
        if item.kind == "url":
            watched = item.doc_id
            cluster = cluster_of(watched) if watched in docs else None
            if cluster is None:
                continue
            hits = [r for d, r in new.items() if d != watched and r["cluster_id"] == cluster]
        else:
            needle = item.needle
            hits = [
                r
                for r in new.values()
                if needle in match_form(r.get("title") or "") or needle in match_form(r["text"])
            ]
        for r in sorted(hits, key=lambda r: (r["fetched_at"], r["doc_id"])):
            origin = (clusters.get(r["cluster_id"]) or {}).get("origin_doc_id")
            rows.append({
                "watch_name": item.name,
                "watch_kind": item.kind,
                "watched": item.value,
                "doc_id": r["doc_id"],
                "url": r["url"],
                "domain": r["domain"],
                "title": r["title"],
                "cluster_id": r["cluster_id"],
                "is_origin": origin == r["doc_id"],
                "published_at": r["published_at"],
                "fetched_at": r["fetched_at"],
                "run_id": run_id,
            })  # fmt: skip
    return rows


def hits_json(rows: Sequence[dict[str, Any]]) -> str:
    """The hits of a run for an alerting hook (`--watch-json FILE`): a JSON list of objects."""
    return json.dumps(
        [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in rows
        ],
        indent=1,
        ensure_ascii=False,
    )


def watch_file(path: str | None) -> Path | None | bool:
    """The watch list to use: `path`, else `watch.yaml` when there is one; checked now (its
    errors printed, then False) so that a bad list stops the run before any request."""
    if path is None:
        if not Path(DEFAULT_WATCH).is_file():
            return None
        path = DEFAULT_WATCH
    try:
        load_watch(path)
    except WatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return False
    return Path(path)


def write_watch_json(data_dir: Path, run_id: str | None, out: Path) -> None:
    """The run's `watch_hits` as JSON in `out` (an empty list when it found nothing)."""
    from pipelines.storage.store import atomic_write_bytes, partition_dir, read_table

    rows: list[dict[str, Any]] = []
    if run_id and partition_dir(data_dir, "watch_hits", run_id).is_dir():
        table = read_table(data_dir, "watch_hits")
        rows = [r for r in table.to_pylist() if r["run_id"] == run_id]
    atomic_write_bytes(out, (hits_json(rows) + "\n").encode("utf-8"))
