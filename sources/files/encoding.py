"""Detect a text file's encoding from its bytes, and transcode it to UTF-8 for DuckDB.

Detected, never assumed: byte-order marks first (UTF-8, UTF-16, UTF-32); then UTF-16 without BOM by its
zero bytes; then strict UTF-8; then a choice between GB18030 (a superset of GBK, what Chinese Excel writes)
and the Western single-byte code pages (1252, 850) by the shape of the non-ASCII bytes: Chinese text comes in
runs of two-byte characters, Western text has single accented letters between ASCII letters. Between 1252 and
850 the code page that decodes more of those bytes to letters wins (cp850 turns 0x84 into `ä`, cp1252 into `„`).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
SAMPLE_BYTES = 4 << 20


@dataclass(frozen=True)
class Encoding:
    """What was detected: the Python codec name, whether a BOM was present, and why."""

    name: str
    bom: bool
    reason: str

    @property
    def label(self) -> str:
        """The name shown to users (`gb18030` is reported as GBK/GB18030)."""
        return {"gb18030": "GBK/GB18030", "utf-8-sig": "UTF-8 with BOM", "utf-8": "UTF-8"}.get(self.name, self.name)

    @property
    def is_utf8(self) -> bool:
        return self.name in ("utf-8", "utf-8-sig", "ascii")


def detect_encoding(path: Path) -> Encoding:
    """Detect the encoding of `path` (whole-file strict checks where it matters)."""
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    for bom, name in _BOMS:
        if head.startswith(bom):
            return Encoding(name, True, "byte-order mark")
    if len(head) >= 4:
        even_zeros = head[0::2].count(0) / max(1, len(head[0::2]))
        odd_zeros = head[1::2].count(0) / max(1, len(head[1::2]))
        if odd_zeros > 0.3 and even_zeros < 0.05:
            return Encoding("utf-16-le", False, "UTF-16 without BOM (zero high bytes)")
        if even_zeros > 0.3 and odd_zeros < 0.05:
            return Encoding("utf-16-be", False, "UTF-16 without BOM (zero high bytes)")
    data = path.read_bytes() if len(head) == SAMPLE_BYTES else head
    if not _HIGH_RUN.search(data):
        return Encoding("utf-8", False, "ASCII only")
    try:
        data.decode("utf-8")
        return Encoding("utf-8", False, "valid UTF-8")
    except UnicodeDecodeError:
        pass
    return _legacy(data)


def _legacy(data: bytes) -> Encoding:
    runs = [m.group() for m in _HIGH_RUN.finditer(data[:SAMPLE_BYTES])]
    single = sum(1 for r in runs if len(r) == 1)
    even = sum(1 for r in runs if len(r) % 2 == 0)
    if even >= 0.8 * len(runs) and _decodes(data, "gb18030"):
        return Encoding("gb18030", False, f"{even} of {len(runs)} non-ASCII runs are two-byte characters")
    scores = {}
    for name in ("cp1252", "cp850"):
        text = "".join(r.decode(name, errors="replace") for r in runs[:5000])
        scores[name] = sum(ch.isalpha() for ch in text) / max(1, len(text))
    best = max(scores, key=lambda k: (scores[k], k == "cp1252"))
    return Encoding(
        best,
        False,
        f"single-byte code page: {single} isolated accented bytes; letters decoded "
        + ", ".join(f"{k} {v:.0%}" for k, v in scores.items()),
    )


def _decodes(data: bytes, name: str) -> bool:
    try:
        data.decode(name)
        return True
    except UnicodeDecodeError:
        return False


def to_utf8(path: Path, encoding: Encoding, out: Path, chunk_chars: int = 1 << 22) -> Path:
    """Stream `path` into `out` as UTF-8 without BOM; returns the path DuckDB should read."""
    if encoding.name in ("utf-8", "utf-8-sig", "ascii"):
        return path  # DuckDB reads UTF-8 and strips a UTF-8 BOM itself
    with (
        open(path, encoding=encoding.name, errors="strict", newline="") as src,
        open(out, "w", encoding="utf-8", newline="") as dst,
    ):
        first = True
        while True:
            chunk = src.read(chunk_chars)
            if not chunk:
                break
            if first and chunk.startswith("\ufeff"):
                chunk = chunk[1:]
            first = False
            dst.write(chunk)
    return out
