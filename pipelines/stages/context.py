"""What one crawl shares between its stages: the run id, the data folder, the grouping config.

One `RunContext` per crawler (created by the first stage that asks for it). The stages are
separate Scrapy components, and Scrapy closes them in parallel, so anything that must happen in
order at the end of a run (group, then write) is driven by the last stage through this object.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.core.config import GroupingConfig
from pipelines.core.records import Extraction
from pipelines.storage.state import CrawlState
from pipelines.storage.store import new_run_id

if TYPE_CHECKING:
    from pipelines.storage.state import SeenPage
    from pipelines.storage.store import DatasetWriter


@dataclass(frozen=True)
class HeldPage:
    """A page its shape called no article, held until the end of the run: a feed or a news
    sitemap fetched later in the run may still announce it (stages.group.add_announced)."""

    url: str
    key: str  # canonical form of url
    fetched_at: datetime
    extraction: Extraction


@dataclass
class RunContext:
    run_id: str
    data_dir: Path
    grouping: GroupingConfig
    started_at: datetime
    counts: Counter[str] = field(default_factory=Counter)
    # filled by the stages as the run goes
    pages_writer: DatasetWriter | None = field(default=None, repr=False)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)  # doc_id -> row
    extract_hashes: dict[str, str] = field(default_factory=dict, repr=False)  # of extractor text
    seen: dict[str, SeenPage] = field(default_factory=dict, repr=False)  # this run's answers
    held: list[HeldPage] = field(default_factory=list, repr=False)  # decided at the end
    run_row: dict[str, Any] | None = None  # the final runs row, once written
    _state: CrawlState | None = field(default=None, repr=False)

    @property
    def state(self) -> CrawlState:
        """The committed state of the data folder (loaded on first use, once per run)."""
        if self._state is None:
            self._state = CrawlState.load(self.data_dir)
        return self._state

    @classmethod
    def of(cls, crawler: Any) -> RunContext:
        ctx = getattr(crawler, "_syndication_run", None)
        if ctx is None:
            s = crawler.settings
            grouping = s.get("GROUPING") or {}
            ctx = cls(
                run_id=s.get("RUN_ID") or new_run_id(),
                data_dir=Path(s.get("DATA_DIR") or "data"),
                grouping=GroupingConfig.from_dict(grouping) if grouping else GroupingConfig(),
                started_at=datetime.now(UTC),
            )
            crawler._syndication_run = ctx
        return ctx
