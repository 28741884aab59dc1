"""Detect a text file's encoding from its bytes, and transcode it to UTF-8 for DuckDB.

Detected, never assumed, in this order:
1. a byte-order mark (UTF-8, UTF-16, UTF-32);
2. UTF-16 without a mark: many zero bytes, and the byte order under which the text has line breaks and
   delimiters wins (Chinese UTF-16 has zero bytes too: every ASCII digit, comma and line break carries one);
3. UTF-8 (or plain ASCII), checked strictly on a sample here and on the whole file while DuckDB reads it
   (`complete` says whether the check covered the whole file; a later invalid byte sends the reader back here
   with `whole=True`); a UTF-8 file with a few damaged bytes stays UTF-8, and its damaged lines are rejected;
4. GB18030 (a superset of GBK, what Chinese Excel writes) when the bytes decode strictly as GB18030 and most of
   the characters they give are common Chinese ones (in GB2312): Western text decoded as GB18030 gives rare
   characters, since an accented letter is followed by an ASCII letter, not by a second high byte;
5. otherwise a Western single-byte code page, 1252 or 850, by the plausibility of each accented byte in its
   context: cp850 reads 0x84 between lower-case letters as `ä` where cp1252 reads `„`; cp1252 reads 0xE9 in
   `caf?` as `é` where cp850 reads `Ú`; 0x80 before a digit is `€` in cp1252 and `Ç` in cp850.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HIGH = re.compile(rb"[\x80-\xff]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
SAMPLE_BYTES = 4 << 20
CHUNK_BYTES = 16 << 20
_CURRENCY_SIGNS = "€£¥$"
_QUOTES = "’‘“”«»"
_DASHES = "–—…"
# A Chinese export decoded as GB18030 gives common characters (GB2312) in most places; Western text decoded as
# GB18030 gives rare ones. Symbols that are not in GB2312 but common in Chinese exports count as common too.
_GB_COMMON_EXTRA = set("¥·—…“”‘’•€")
GB_COMMON_SHARE = 0.8


@dataclass(frozen=True)
class Encoding:
    """What was detected: the Python codec name, whether a BOM was present, why, and whether the whole file
    was checked (False: a sample of a valid-UTF-8 prefix; the reader verifies the rest)."""

    name: str
    bom: bool
    reason: str
    complete: bool = True

    @property
    def label(self) -> str:
        """The name shown to users (`gb18030` is reported as GBK/GB18030)."""
        return {
            "gb18030": "GBK/GB18030",
            "utf-8-sig": "UTF-8 with BOM",
            "utf-8": "UTF-8",
            "utf-16-le": "UTF-16 LE",
            "utf-16-be": "UTF-16 BE",
            "utf-32-le": "UTF-32 LE",
            "utf-32-be": "UTF-32 BE",
            "cp1252": "Windows-1252",
            "cp850": "DOS code page 850",
        }.get(self.name, self.name)

    @property
    def is_utf8(self) -> bool:
        return self.name in ("utf-8", "utf-8-sig", "ascii")


def detect_encoding(path: Path, *, whole: bool = False) -> Encoding:
    """Detect the encoding of `path` from a sample; with `whole=True` UTF-8 is checked over the whole file."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    complete = len(head) >= size
    for bom, name in _BOMS:
        if head.startswith(bom):
            return Encoding(name, True, "byte-order mark")
    utf16 = _utf16_without_bom(head)
    if utf16:
        return utf16
    if not _HIGH.search(head) and complete:
        return Encoding("utf-8", False, "ASCII only")
    if _valid_utf8(head, final=complete):
        if complete:
            return Encoding("utf-8", False, "valid UTF-8")
        if whole:
            bad = _utf8_error_offset(path)
            if bad is None:
                return Encoding("utf-8", False, "valid UTF-8 (whole file checked)")
            head = _window(path, bad)
        else:
            kind = "ASCII" if not _HIGH.search(head) else "valid UTF-8"
            return Encoding("utf-8", False, f"{kind} in the first {len(head) >> 20} MB", complete=False)
    return _legacy(head, final=complete)


def _utf16_without_bom(head: bytes) -> Encoding | None:
    sample = head[: 1 << 20]
    if len(sample) < 4 or sample.count(0) < 0.1 * len(sample):
        return None
    sample = sample[: len(sample) - len(sample) % 2]
    best, best_score = None, 0
    for name in ("utf-16-le", "utf-16-be"):
        text = sample.decode(name, errors="replace")
        score = text.count("\n") * 4 + text.count(",") + text.count("\t") + text.count(";")
        if score > best_score:
            best, best_score = name, score
    if best is None or best_score == 0:
        return None
    return Encoding(best, False, "UTF-16 without BOM (zero bytes; line breaks read in this byte order)")


def _valid_utf8(data: bytes, *, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=final)
        return True
    except UnicodeDecodeError:
        return False


def _utf8_error_offset(path: Path) -> int | None:
    """The byte offset of the first invalid UTF-8 sequence in the file, or None (streams; never whole in memory)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK_BYTES):
            try:
                decoder.decode(block, final=False)
            except UnicodeDecodeError as exc:
                return offset + exc.start
            offset += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset
    return None


def _window(path: Path, offset: int) -> bytes:
    """A sample of the bytes around `offset` (from the start of that line), for judging a legacy code page."""
    with open(path, "rb") as fh:
        start = max(0, offset - (64 << 10))
        fh.seek(start)
        data = fh.read(SAMPLE_BYTES)
    cut = data.find(b"\n")
    return data[cut + 1 :] if start and cut >= 0 else data


def _legacy(data: bytes, *, final: bool) -> Encoding:
    broken = _mostly_utf8(data)
    if broken is not None:
        return Encoding("utf-8", False, f"UTF-8 with {broken} invalid byte sequence(s); their lines are rejected")
    gb = _gb18030_share(data, final=final)
    if gb is not None and gb >= GB_COMMON_SHARE:
        return Encoding("gb18030", False, f"decodes as GB18030 and {gb:.0%} of its characters are common Chinese")
    scores = {name: _western_score(data, name) for name in ("cp1252", "cp850")}
    best = max(scores, key=lambda k: (scores[k], k == "cp1252"))
    return Encoding(
        best,
        False,
        "single-byte code page; accented bytes plausible in context: "
        + ", ".join(f"{k} {v:.0%}" for k, v in scores.items()),
    )


def _mostly_utf8(data: bytes) -> int | None:
    """The number of invalid sequences when `data` is UTF-8 apart from a few corrupt bytes (else None).

    A GBK or code-page file read as UTF-8 fails at nearly every non-ASCII byte; a UTF-8 export with a damaged
    line fails at that line only. The damaged lines are rejected by the reader, never decoded in a wrong code page.
    """
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = len(_NON_ASCII.findall(text)) - bad
    return bad if bad and good >= 20 * bad else None


def _gb18030_share(data: bytes, *, final: bool) -> float | None:
    """Share of the non-ASCII characters that are common Chinese when `data` decodes strictly as GB18030."""
    try:
        text = codecs.getincrementaldecoder("gb18030")().decode(data, final=final)
    except UnicodeDecodeError:
        return None
    counts = Counter(_NON_ASCII.findall(text[: 2 << 20]))
    total = sum(counts.values())
    if not total:
        return None
    common = 0
    for ch, n in counts.items():
        if ch in _GB_COMMON_EXTRA or "\uff00" <= ch <= "\uffef" or "\u3000" <= ch <= "\u303f":
            common += n
            continue
        try:
            ch.encode("gb2312")
            common += n
        except UnicodeEncodeError:
            pass
    return common / total


def _western_score(data: bytes, name: str) -> float:
    """Mean plausibility (0..1) of each high byte read in code page `name`, judged by its neighbours."""
    total = score = 0.0
    for match in _HIGH.finditer(data[: 1 << 20]):
        i = match.start()
        ch = data[i : i + 1].decode(name, errors="replace")
        prev = data[i - 1 : i].decode(name, errors="replace") if i else " "
        nxt = data[i + 1 : i + 2].decode(name, errors="replace") or " "
        total += 1
        score += _plausible(ch, prev, nxt)
        if total >= 20000:
            break
    return score / total if total else 0.0


def _plausible(ch: str, prev: str, nxt: str) -> float:
    if ch.isalpha():
        letters = [c for c in (prev, nxt) if c.isalpha()]
        if not letters:
            return 0.2
        if ch.islower():
            return 1.0 if all(c.islower() for c in letters) or prev.isupper() else 0.5
        # upper case: plausible at the start of a word or inside an upper-case word
        if all(c.isupper() for c in letters) or (not prev.isalpha() and nxt.islower()):
            return 1.0
        return 0.5
    if ch in _CURRENCY_SIGNS:
        return 1.0 if (nxt.isdigit() or nxt == " " or prev.isdigit() or prev == " ") else 0.3
    if ch in _QUOTES:
        return 0.8
    if ch in _DASHES or ch in "°·":
        return 0.5
    return 0.0


def to_utf8(path: Path, encoding: Encoding, out: Path, chunk_bytes: int = CHUNK_BYTES) -> Path:
    """Stream `path` into `out` as UTF-8 without BOM; returns the path DuckDB should read.

    Raises UnicodeDecodeError whose `start` is the offset of the bad byte in the whole file.
    """
    if encoding.name in ("utf-8", "utf-8-sig", "ascii"):
        return path  # DuckDB reads UTF-8 and strips a UTF-8 BOM itself
    decoder = codecs.getincrementaldecoder(encoding.name)(errors="strict")
    offset = 0
    with open(path, "rb") as src, open(out, "wb") as dst:
        first = True
        while True:
            block = src.read(chunk_bytes)
            final = not block
            try:
                text = decoder.decode(block, final=final)
            except UnicodeDecodeError as exc:
                raise UnicodeDecodeError(
                    exc.encoding, exc.object, offset + exc.start, offset + exc.end, exc.reason
                ) from None
            if first and text.startswith("\ufeff"):
                text = text[1:]
            first = first and not text
            dst.write(text.encode("utf-8"))
            offset += len(block)
            if final:
                break
    return out
