"""The connector interface and the registry built-in and user connectors share.

A connector turns one configured source into canonical rows in a staging table. Built-in connectors (file,
sql, rest) register themselves here exactly as a user's own connector would: `register(MyConnector())`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb

from core.config import Source
from sources.load import LoadContext, LoadResult


@dataclass
class Extract:
    """What a connector produced: the accounting of `sources.load` plus details shown to users."""

    result: LoadResult
    details: dict[str, Any] = field(default_factory=dict)


class Connector(Protocol):
    kind: str

    def fingerprint(self, source: Source) -> str | None:
        """A cheap fingerprint of the source's content; equal to the last one means unchanged (None: always load)."""

    def extract(
        self, con: duckdb.DuckDBPyConnection, source: Source, ctx: LoadContext, out_table: str, workdir: Path
    ) -> Extract:
        """Write the source's canonical rows into `out_table` in the staging connection."""


REGISTRY: dict[str, Connector] = {}


def register(connector: Connector) -> None:
    """Make a connector available to sources whose `kind` equals `connector.kind`."""
    REGISTRY[connector.kind] = connector


def connector_for(kind: str) -> Connector:
    if kind not in REGISTRY:
        raise KeyError(f"no connector for kind {kind!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[kind]
