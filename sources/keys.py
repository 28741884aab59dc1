"""Join keys that differ in spelling: match fact values to a dimension by id, label, then normalised key.

`GTXPro` in a pipeline and `GTX Pro` in the product list are one product: both normalise to `gtxpro` (NFKC,
case-folded, everything but letters and digits removed). No alias is written per file. A normalised key that
two different dimension members share is ambiguous: those rows stay unmatched and are reported, never guessed.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def normalise_key(value: str) -> str:
    """The matching key of a label or id: NFKC, case-folded, letters and digits only."""
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", value).casefold())


@dataclass(frozen=True)
class Match:
    raw: str
    member_id: str | None
    method: str  # id | label | normalised | ambiguous | unmatched
    candidates: tuple[str, ...] = ()


class KeyIndex:
    """A dimension's members (id → label) indexed for matching."""

    def __init__(self, members: list[tuple[str, str | None]]) -> None:
        self.ids: dict[str, str] = {}
        self.labels: dict[str, set[str]] = defaultdict(set)
        self.normalised: dict[str, set[str]] = defaultdict(set)
        for member_id, label in members:
            self.ids[member_id] = label or member_id
            self.normalised[normalise_key(member_id)].add(member_id)
            if label:
                self.labels[label].add(member_id)
                self.normalised[normalise_key(label)].add(member_id)

    def match(self, raw: str) -> Match:
        value = raw.strip()
        if value in self.ids:
            return Match(raw, value, "id")
        by_label = self.labels.get(value, set())
        if len(by_label) == 1:
            return Match(raw, next(iter(by_label)), "label")
        if len(by_label) > 1:
            return Match(raw, None, "ambiguous", tuple(sorted(by_label)))
        by_key = self.normalised.get(normalise_key(value), set())
        if len(by_key) == 1:
            return Match(raw, next(iter(by_key)), "normalised")
        if len(by_key) > 1:
            return Match(raw, None, "ambiguous", tuple(sorted(by_key)))
        return Match(raw, None, "unmatched")
