"""What one run leaves for the next: seen pages, documents, grouping, clusters, furniture.

Layout under the data folder::

    .lock                        held (fcntl.flock) by the run in progress
    state/CURRENT                the committed state version (a run id), replaced atomically
    state/<run_id>/manifest.json format, grouping config, every committed run id
    state/<run_id>/seen.parquet  one row per page answered 200: validators, body hash, doc id,
                                 and the links of non-article pages (followed again on a 304)
    state/<run_id>/docs.parquet  latest version of every document (metadata, no text)
    state/<run_id>/clusters.parquet  every cluster id ever published (= clusters/clusters.parquet)
    state/<run_id>/grouper.npz   signatures, union-find, issued cluster ids (Grouper.save)
    state/<run_id>/furniture.json    the per-site furniture model
    state/<run_id>/run.json      the runs row of the run that wrote this version

A run builds a complete new version folder next to the old one and then replaces
``state/CURRENT``: that rename is the run's commit. A run killed at any moment before it leaves
the previous version in force, so the state is never half new. The derived partitions a run
writes before its commit (documents, edges, cluster_history, watch_hits) are removed by
:func:`recover` at the start of the next run unless the run id is in the committed list, so
the union of all runs holds every document version exactly once.

Nothing here imports Scrapy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.core.config import GroupingConfig, IncompatibleStateError
from pipelines.core.furniture import FurnitureModel
from pipelines.core.grouping import Grouper
from pipelines.storage.schemas import SCHEMA_VERSION, clusters_schema, schema_for
from pipelines.storage.store import (
    _fsync_dir,
    atomic_copy,
    atomic_write,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_table,
    check_run_id,
    cleanup_temp_files,
    fsync_path,
    partition_dir,
    read_table,
    stored_versions,
    write_run_record,
)

STATE_FORMAT = 1
STATE_DIR = "state"
LOCK_FILE = ".lock"
# Partitioned tables derived from pages at the end of a run; removed when the run never committed.
DERIVED_PARTITIONED = ("documents", "edges", "cluster_history", "watch_hits")

_TS = pa.timestamp("us", tz="UTC")
LINK_TYPE = pa.struct(
    [("url", pa.string()), ("kind", pa.string()), ("hint", pa.string()), ("depth", pa.int16())]
)
SEEN_SCHEMA = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),  # canonical final URL
        pa.field("etag", pa.string()),
        pa.field("last_modified", pa.string()),
        pa.field("body_hash", pa.string()),  # SHA-1 of the body (pages.content_hash)
        pa.field("doc_id", pa.string()),  # set when the page is an article document
        pa.field("checked_at", _TS, nullable=False),  # last 200 or 304
        pa.field("changed_at", _TS, nullable=False),  # last 200 with a new body
        pa.field("links", pa.list_(LINK_TYPE), nullable=False),  # non-article pages only
    ],
    metadata={b"syndication_tracker.table": b"state.seen"},
)
DOCS_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("url", pa.string(), nullable=False),
        pa.field("domain", pa.string(), nullable=False),
        pa.field("site_name", pa.string()),
        pa.field("title", pa.string()),
        pa.field("published_at", _TS),
        pa.field("canonical_url", pa.string()),
        pa.field("based_on_url", pa.string()),
        pa.field("credited_source", pa.string()),
        pa.field("first_fetched_at", _TS, nullable=False),
        pa.field("fetched_at", _TS, nullable=False),  # of the latest version
        pa.field("first_run", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),  # run of the latest version
        pa.field("content_hash", pa.string()),  # of the clean text (documents.content_hash)
        pa.field("extract_hash", pa.string(), nullable=False),  # of the extractor's raw text
    ],
    metadata={b"syndication_tracker.table": b"state.docs"},
)


class RunLockedError(RuntimeError):
    """Another process holds the data folder's run lock."""


class StateError(RuntimeError):
    """The state cannot be used as it is (the message says what to run)."""


# --- the run lock ----------------------------------------------------------------------------


@contextlib.contextmanager
def run_lock(data_dir: str | os.PathLike[str], what: str = "crawl") -> Iterator[Path]:
    """Hold ``<data>/.lock`` for the block; raise :class:`RunLockedError` at once if taken.

    ``fcntl.flock`` is released by the kernel when the process dies, kill -9 included, so a
    stale lock file never blocks the next run. Taken once per run (see `prepare_folder`); a
    second attempt, in this process or another, is refused.
    """
    root = Path(data_dir)
    path = root / LOCK_FILE
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise
        holder = ""
        with contextlib.suppress(OSError):
            holder = path.read_text(encoding="utf-8").strip()
        raise RunLockedError(
            f"another run holds {path} ({holder or 'holder unknown'}); only one crawl or "
            "reprocess may use a data folder at a time. Nothing was done."
        ) from None
    try:
        started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{what} pid {os.getpid()} since {started}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the flock


# --- seen pages --------------------------------------------------------------------------------


# -- the grouper's and the furniture model's files ---------------------------------------------


def save_grouper(grouper: Grouper, path: str | os.PathLike[str]) -> Path:
    """Write the grouper's state to one ``.npz`` file, atomically (see ``Grouper.to_arrays``)."""
    arrays = grouper.to_arrays()
    return atomic_write(Path(path), lambda fh: np.savez(fh, **arrays))


def load_grouper(path: str | os.PathLike[str], config: GroupingConfig) -> Grouper:
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    return Grouper.from_arrays(arrays, config, f"grouping state {path}")


def save_furniture(model: FurnitureModel, path: str | os.PathLike[str]) -> Path:
    text = json.dumps(model.to_dict(), ensure_ascii=False, separators=(",", ":"))
    return atomic_write_bytes(path, text.encode("utf-8"))


def load_furniture(path: str | os.PathLike[str]) -> FurnitureModel:
    """The model saved at ``path``; an empty model when there is no file yet."""
    p = Path(path)
    if not p.is_file():
        return FurnitureModel()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(
            f"{p}: the furniture model is unreadable ({exc}); delete it and run "
            "`make reprocess` to rebuild it from the stored pages"
        ) from exc
    return FurnitureModel.from_dict(data, f"{p}: furniture model")


@dataclass(frozen=True)
class Link:
    """A link a page led to, as the spider requested it (kind: page, feed, sitemap, robots)."""

    url: str
    kind: str
    hint: str | None
    depth: int


@dataclass
class SeenPage:
    """What the last 200 answer of one URL told us."""

    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    doc_id: str | None
    checked_at: dt.datetime
    changed_at: dt.datetime
    links: tuple[Link, ...] = ()


def seen_table(seen: dict[str, SeenPage]) -> pa.Table:
    """The seen state as a table (SEEN_SCHEMA): the state's `seen.parquet`, and what the
    grouping service publishes to its crawl workers for conditional requests."""
    rows = [
        {
            "url": p.url,
            "etag": p.etag,
            "last_modified": p.last_modified,
            "body_hash": p.body_hash,
            "doc_id": p.doc_id,
            "checked_at": p.checked_at,
            "changed_at": p.changed_at,
            "links": [
                {"url": k.url, "kind": k.kind, "hint": k.hint, "depth": k.depth} for k in p.links
            ],
        }
        for p in seen.values()
    ]
    return pa.Table.from_pylist(rows, schema=SEEN_SCHEMA)


def seen_from_table(table: pa.Table) -> dict[str, SeenPage]:
    """Inverse of :func:`seen_table`."""
    seen = {}
    for row in table.to_pylist():
        links = tuple(Link(**link) for link in row.pop("links") or ())
        seen[row["url"]] = SeenPage(**row, links=links)
    return seen


# --- the state -------------------------------------------------------------------------------


def state_root(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / STATE_DIR


def current_version(data_dir: str | os.PathLike[str]) -> str | None:
    """Run id of the committed state version, or None before the first commit."""
    path = state_root(data_dir) / "CURRENT"
    if not path.is_file():
        return None
    value = path.read_text(encoding="utf-8").strip()
    return value or None


def read_manifest(data_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    version = current_version(data_dir)
    if version is None:
        return None
    path = state_root(data_dir) / version / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError(
            f"{state_root(data_dir)}/CURRENT names version {version} but {path} is missing; "
            "run `make reprocess` to rebuild the state from the stored pages"
        ) from None


def prepare_folder(
    data_dir: str | os.PathLike[str],
    config: GroupingConfig | None,
    *,
    current_run: str | None = None,
    report: Callable[[str], None] = lambda line: None,
) -> None:
    """Make a locked data folder ready for a run: the one path every front door takes.

    Datasets of another schema version stop it (IncompatibleStateError: `make migrate`), then
    what a killed run left is recovered (each line done goes to ``report``, even when a check
    after it fails), then the saved signatures must be comparable with ``config`` (skipped
    when None: a reprocess rebuilds them).
    """
    check_schema_version(data_dir)
    for line in recover(data_dir, current_run=current_run):
        report(line)
    if config is not None:
        check_compatible(data_dir, config)


def check_schema_version(data_dir: str | os.PathLike[str]) -> None:
    """Raise IncompatibleStateError when datasets of another schema version are in the folder.

    Called first (before `recover`, which reads the runs table).
    """
    old = {t: v for t, v in stored_versions(data_dir).items() if v != str(SCHEMA_VERSION)}
    if old:
        found = ", ".join(f"{t} (version {v})" for t, v in sorted(old.items()))
        raise IncompatibleStateError(
            f"{data_dir} holds datasets of another schema version: {found}; this code writes "
            f"version {SCHEMA_VERSION}. Rewrite them in place once with "
            f"`make migrate DATA={data_dir}`"
        )


def check_compatible(data_dir: str | os.PathLike[str], config: GroupingConfig) -> None:
    """Raise IncompatibleStateError when the saved signatures cannot be compared with ``config``'s.

    Called before any request (and after `recover`): a crawl that went on would group new pages
    against signatures that can never match, silently (datasketch gives no error, it finds
    nothing).
    """
    check_schema_version(data_dir)
    manifest = read_manifest(data_dir)
    if manifest is None:
        if partition_run_ids(data_dir, "documents"):
            # Made by a version that kept no state: a crawl would add every document again.
            raise IncompatibleStateError(
                f"{data_dir} holds documents but no state ({state_root(data_dir)}/CURRENT is "
                "missing); build the state from the stored pages once with `make reprocess`"
            )
        return
    if manifest.get("format") != STATE_FORMAT:
        raise IncompatibleStateError(
            f"{state_root(data_dir)} has state format {manifest.get('format')!r}, this code reads "
            f"{STATE_FORMAT}; rebuild it with `make reprocess`"
        )
    saved = GroupingConfig.from_saved(manifest["config"])
    config.require_compatible(saved, f"the saved state ({state_root(data_dir)})")


@dataclass
class CrawlState:
    """The committed state of a data folder, loaded at the start of a run."""

    data_dir: Path
    version: str | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    seen: dict[str, SeenPage] = field(default_factory=dict)
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    clusters: dict[str, dict[str, Any]] = field(default_factory=dict)
    # held in memory between runs that are not committed one by one (a reprocess)
    _grouper: Grouper | None = field(default=None, repr=False)
    _model: FurnitureModel | None = field(default=None, repr=False)

    @property
    def committed_runs(self) -> list[str]:
        return list(self.manifest.get("committed_runs", []))

    @property
    def folder(self) -> Path | None:
        return None if self.version is None else state_root(self.data_dir) / self.version

    @classmethod
    def load(cls, data_dir: str | os.PathLike[str]) -> CrawlState:
        root = Path(data_dir)
        manifest = read_manifest(root)
        if manifest is None:
            return cls(root)
        version = current_version(root)
        folder = state_root(root) / str(version)
        state = cls(root, version, manifest)
        state.seen = seen_from_table(pq.read_table(folder / "seen.parquet"))
        for row in pq.read_table(folder / "docs.parquet").to_pylist():
            state.docs[row["doc_id"]] = row
        for row in pq.read_table(folder / "clusters.parquet").to_pylist():
            state.clusters[row["cluster_id"]] = row
        return state

    def grouper(self, config: GroupingConfig) -> Grouper:
        """The saved grouper (rebuilt LSH index), or a fresh one before the first commit."""
        if self._grouper is None:
            if self.folder is None:
                self._grouper = Grouper(config)
            else:
                self._grouper = load_grouper(self.folder / "grouper.npz", config)
        return self._grouper

    def furniture_model(self) -> FurnitureModel:
        if self._model is None:
            if self.folder is None:
                self._model = FurnitureModel()
            else:
                self._model = load_furniture(self.folder / "furniture.json")
        return self._model

    def update(
        self,
        *,
        seen: dict[str, SeenPage],
        docs: dict[str, dict[str, Any]],
        clusters: dict[str, dict[str, Any]],
        committed_run: str,
    ) -> None:
        """Take a run's results in memory without writing them (see `commit` for that)."""
        self.seen, self.docs, self.clusters = seen, docs, clusters
        runs = self.manifest.setdefault("committed_runs", [])
        if committed_run not in runs:
            runs.append(committed_run)

    def is_fresh_document(self, url: str, now: dt.datetime, revisit_after: float) -> bool:
        """True for a URL that became a document and was checked less than ``revisit_after``
        days ago: a page that links to it and did not change is no reason to ask for it again."""
        page = self.seen.get(url)
        if page is None or page.doc_id is None:
            return False
        if revisit_after <= 0:
            return True
        return (now - page.checked_at).total_seconds() < revisit_after * 86400

    def commit(
        self,
        run_id: str,
        *,
        seen: dict[str, SeenPage],
        docs: dict[str, dict[str, Any]],
        clusters: dict[str, dict[str, Any]],
        grouper: Grouper | None,
        model: FurnitureModel | None,
        config: GroupingConfig,
        run_row: dict[str, Any],
    ) -> Path:
        """Write a complete new version folder, then point ``state/CURRENT`` at it.

        Every file is written under a hidden temporary name, fsynced and renamed; the folder is
        fsynced; CURRENT is replaced last. Older version folders are removed afterwards.
        """
        check_run_id(run_id)
        root = state_root(self.data_dir)
        folder = root / run_id
        if folder.exists():  # left by an earlier attempt of this very run id (a reprocess)
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        atomic_write_table(seen_table(seen), folder / "seen.parquet", schema=SEEN_SCHEMA)
        doc_rows = [{k: d.get(k) for k in DOCS_SCHEMA.names} for d in docs.values()]
        atomic_write_table(
            pa.Table.from_pylist(doc_rows, schema=DOCS_SCHEMA),
            folder / "docs.parquet",
            schema=DOCS_SCHEMA,
        )
        atomic_write_table(
            pa.Table.from_pylist(list(clusters.values()), schema=clusters_schema()),
            folder / "clusters.parquet",
            schema=clusters_schema(),
        )
        # None: unchanged since the version this state was loaded from; copy its files.
        previous = self.folder
        if grouper is None and self._grouper is None and previous is not None:
            atomic_copy(previous / "grouper.npz", folder / "grouper.npz")
        else:
            save_grouper(grouper or self.grouper(config), folder / "grouper.npz")
        fsync_path(folder / "grouper.npz")
        if model is None and self._model is None and previous is not None:
            atomic_copy(previous / "furniture.json", folder / "furniture.json")
        else:
            save_furniture(model or self.furniture_model(), folder / "furniture.json")
        atomic_write_json(folder / "run.json", run_row)
        committed = [r for r in self.committed_runs if r != run_id] + [run_id]
        manifest = {
            "format": STATE_FORMAT,
            "run_id": run_id,
            "config": config.to_dict(),
            "config_str": str(config),
            "committed_runs": committed,
            "written_at": dt.datetime.now(dt.UTC).isoformat(),
            "counts": {"pages": len(seen), "documents": len(docs), "clusters": len(clusters)},
        }
        atomic_write_json(folder / "manifest.json", manifest)
        _fsync_dir(folder)
        atomic_write_bytes(root / "CURRENT", f"{run_id}\n".encode())  # the commit
        self.version, self.manifest = run_id, manifest
        self.seen, self.docs, self.clusters = seen, docs, clusters
        remove_old_versions(self.data_dir)
        return folder


def remove_old_versions(data_dir: str | os.PathLike[str]) -> list[str]:
    """Delete version folders other than the committed one (old, or never committed)."""
    keep = current_version(data_dir)
    root = state_root(data_dir)
    removed = []
    if root.is_dir():
        for child in root.iterdir():
            if child.is_dir() and child.name != keep:
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child.name)
    return removed


# --- recovery ----------------------------------------------------------------------------------


def _run_rows(data_dir: Path) -> list[dict[str, Any]]:
    folder = data_dir / "runs"
    if not folder.is_dir():
        return []
    return read_table(data_dir, "runs").to_pylist()


def partition_run_ids(data_dir: str | os.PathLike[str], table: str) -> list[str]:
    folder = Path(data_dir) / table
    if not folder.is_dir():
        return []
    return sorted(
        p.name.split("=", 1)[1]
        for p in folder.iterdir()
        if p.is_dir() and p.name.startswith("run_id=")
    )


def recover(data_dir: str | os.PathLike[str], *, current_run: str | None = None) -> list[str]:
    """Bring a data folder back to its last commit; return what was done, one line each.

    Call it holding the run lock, before a run writes anything. Idempotent: a recovery that is
    itself killed is finished by the next one.

    - temporaries left by killed writers are removed;
    - a reprocess that was killed half way stops everything with a StateError;
    - derived partitions (documents, edges, cluster_history, watch_hits) of a run that never
      committed are removed, and its runs row becomes ``interrupted``; its pages stay (they are
      a true record of what was fetched), and the next run fetches those URLs again;
    - a run that committed but was killed before its last writes gets its clusters file, the
      analyst's views and its runs row from the state;
    - state version folders that were never committed are removed.
    """
    root = Path(data_dir)
    done: list[str] = []
    if not root.is_dir():
        return done
    stale = [p.name for p in root.iterdir() if p.name.startswith((".reprocess-", ".old-"))]
    if stale:
        raise StateError(
            f"{root} holds the leftovers of an interrupted `make reprocess` ({', '.join(stale)}); "
            "run `make reprocess` again to finish it before crawling"
        )
    removed = cleanup_temp_files(root)
    if removed:
        done.append(f"removed {removed} temporary file(s) left by an interrupted run")
    for child in state_root(root).glob(".*.tmp"):
        child.unlink(missing_ok=True)
    manifest = read_manifest(root) or {}
    committed = set(manifest.get("committed_runs", []))
    runs = {r["run_id"]: r for r in _run_rows(root)}
    ok_legacy = {rid for rid, r in runs.items() if r["status"] == "ok"} if not manifest else set()
    keep = committed | ok_legacy | ({current_run} if current_run else set())
    for table in DERIVED_PARTITIONED:
        for rid in partition_run_ids(root, table):
            if rid not in keep:
                shutil.rmtree(partition_dir(root, table, rid), ignore_errors=True)
                done.append(f"removed {table} of run {rid}, which never committed")
    folder = state_root(root) / str(manifest.get("run_id"))
    for rid, row in sorted(runs.items()):
        if rid == current_run or row["status"] not in ("running", "failed"):
            continue
        if rid in committed:
            if row["status"] == "running" and rid == manifest.get("run_id"):
                saved = json.loads((folder / "run.json").read_text(encoding="utf-8"))
                _publish_clusters(root, folder)
                from pipelines.analyst.views import rebuild_views  # it reads this module

                failed = rebuild_views(root, rid)
                write_run_record(root, _run_row_from_json(saved))
                views = f" (its views were not rebuilt: {failed})" if failed else ""
                done.append(
                    f"run {rid} committed before it was killed: finished its records{views}"
                )
            continue
        if row["status"] == "running":
            row = dict(row)
            row["status"] = "interrupted"
            row["error"] = (
                "killed before its end-of-run commit; its documents were discarded and its "
                "pages will be fetched again"
            )
            write_run_record(root, row)
            done.append(f"run {rid} was interrupted: marked it so")
    removed_versions = remove_old_versions(root)
    if removed_versions:
        done.append(f"removed uncommitted state version(s) {', '.join(removed_versions)}")
    return done


def _publish_clusters(root: Path, folder: Path) -> None:
    table = pq.read_table(folder / "clusters.parquet")
    atomic_write_table(table, root / "clusters" / "clusters.parquet", schema=clusters_schema())


def publish_clusters(data_dir: str | os.PathLike[str], state: CrawlState) -> Path:
    """Copy the committed clusters to ``clusters/clusters.parquet`` (what analysts read)."""
    assert state.folder is not None
    _publish_clusters(Path(data_dir), state.folder)
    return Path(data_dir) / "clusters" / "clusters.parquet"


def _run_row_from_json(saved: dict[str, Any]) -> dict[str, Any]:
    schema = schema_for("runs")
    row = dict(saved)
    for name in ("started_at", "finished_at"):
        if isinstance(row.get(name), str):
            row[name] = dt.datetime.fromisoformat(row[name])
    return {k: row.get(k) for k in schema.names}
