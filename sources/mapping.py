"""Which file column feeds which canonical field: explicit mapping first, then header synonyms.

The mapping is shown to the user before the first load (`python -m sources check FILE`) and stored with
every sync run, so a renamed column is visible as schema drift rather than a silent gap. A header carrying a
unit or currency (`目标（万元）`, `Sales (USD)`) matches the synonym without it; the unit itself is read by
`sources.files.structure.unit_scale`. A required field some exports do not carry is derived where the rule is
unambiguous (an order line's amount = quantity × unit price) and the derivation is shown with the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sources.canonical import ENTITIES, header_index, normalise_header
from sources.files.structure import unit_free

# entity → field → the two fields whose product it is, when the file has no column for it
DERIVED: dict[str, dict[str, tuple[str, str]]] = {"orders": {"amount": ("quantity", "unit_price")}}


class MappingError(Exception):
    """Required fields have no column; the message lists them and the headers that were found.

    `mapped` is how many of the entity's fields the headers did find: none means the table is not one of this
    entity at all (a 说明 sheet's `序号 | 说明`), some means a table of it that lacks a column."""

    def __init__(self, message: str, mapped: int = 1) -> None:
        super().__init__(message)
        self.mapped = mapped


@dataclass
class Mapping:
    """field name → column position, plus what was left over."""

    entity: str
    columns: dict[str, int]
    headers: tuple[str, ...]
    unmapped: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # columns left out because an earlier one gives their field
    derived: dict[str, tuple[str, str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, str]:
        """field → header text, for JSON output and the data-health page."""
        out = {name: self.headers[pos] for name, pos in self.columns.items()}
        for name, (a, b) in self.derived.items():
            out[name] = f"{self.headers[self.columns[a]]} × {self.headers[self.columns[b]]}"
        return out


def map_headers(
    headers: tuple[str, ...], entity: str, explicit: dict[str, str] | None = None, *, require: bool = True
) -> Mapping:
    """Map headers to the fields of `entity`. `explicit` is {field: header} from the source's configuration."""
    fields = ENTITIES[entity]
    explicit = explicit or {}
    keys = [normalise_header(h) for h in headers]
    columns: dict[str, int] = {}
    for name, header in explicit.items():
        fields.field(name)  # raises KeyError naming the fields
        wanted = normalise_header(header)
        if wanted not in keys:
            raise MappingError(
                f"mapping {name}: {header!r} is not a column of this file; columns: {', '.join(h for h in headers if h)}"
            )
        columns[name] = keys.index(wanted)
    index = header_index(entity)
    duplicates = []
    taken = set(columns.values())
    for pass_keys in (keys, [unit_free(k) for k in keys]):
        for pos, key in enumerate(pass_keys):
            name = index.get(key)
            if not name or pos in taken:
                continue
            if name in columns:
                if pass_keys is keys:
                    first = columns[name]
                    duplicates.append(
                        f"{headers[pos]!r} (column {pos + 1}) would also be {name}, read from "
                        f"{headers[first]!r} (column {first + 1})"
                    )
                continue
            columns[name] = pos
            taken.add(pos)
    unmapped = [h for pos, h in enumerate(headers) if h and pos not in taken]
    derived = {
        name: parts
        for name, parts in DERIVED.get(entity, {}).items()
        if name not in columns and all(p in columns for p in parts)
    }
    missing = [f.name for f in fields.fields if f.required and f.name not in columns and f.name not in derived]
    if missing and require:
        wanted = "; ".join(f"{m} (e.g. {', '.join(fields.field(m).synonyms[:3])})" for m in missing)
        raise MappingError(
            f"no column for required {entity} field(s): {wanted}. Columns found: "
            f"{', '.join(h for h in headers if h) or 'none'}. Map them under `mapping:` in the source configuration.",
            mapped=len(columns),
        )
    return Mapping(entity, columns, headers, unmapped, duplicates, derived)
