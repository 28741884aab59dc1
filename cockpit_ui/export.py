"""CSV and Excel downloads — the only way pages offer data for download, and every click is audited.

Pages pass a frame that already holds only the signed-in user's rows (it came from the metric layer with
their scope). Tables' own toolbar download is switched off (`client.disableDataExport`), so an export is
always one of these buttons and leaves an `export` entry (what, format, rows, scope) in the audit log.

Text cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) are written as text: a
customer called `=HYPERLINK(...)` stays a name in both files.
"""

from __future__ import annotations

import io
from functools import partial

import pandas as pd
import streamlit as st

from auth.principal import Principal
from cockpit_ui.i18n import t
from core.appstate import AppState
from core.config import Settings

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


EAGER_ROWS = 2_000


def _text_safe(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a BOM (Excel opens Chinese text correctly); formula-like text is quoted as text."""
    safe = frame.copy()
    for col in safe.columns:
        if safe[col].dtype == object or pd.api.types.is_string_dtype(safe[col]):
            safe[col] = safe[col].map(_text_safe)
    return safe.to_csv(index=False).encode("utf-8-sig")


def excel_bytes(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    """An .xlsx workbook (XlsxWriter) in which text is always text, never a formula or a link."""
    buffer = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        frame.to_excel(writer, sheet_name=sheet[:31], index=False)
    return buffer.getvalue()


def _audit(cfg: Settings, principal: Principal, what: str, rows: int, fmt: str) -> None:
    AppState(cfg.data_dir).audit(
        principal.username, "export", what=what, format=fmt, rows=rows, scope=principal.scope.label
    )


def export_buttons(frame: pd.DataFrame, *, what: str, principal: Principal, cfg: Settings, key: str) -> None:
    """CSV and Excel download buttons for `frame` (already scoped); a click writes an `export` audit entry.

    `what` names the export in the audit log and the file name (e.g. `overview_teams`). Files of up to
    `EAGER_ROWS` rows are built with the page; larger ones only when a button is clicked.
    """
    rows = len(frame)
    # A small table's files are built with the page, so a click downloads at once, inside the click's own user
    # gesture (a file built on click arrives later, and a browser may hold a second such download for a
    # "download multiple files?" permission). A large one is built only when clicked.
    eager = rows <= EAGER_ROWS
    with st.container(horizontal=True, key=f"{key}_exports"):
        st.download_button(
            t("export_csv"),
            data=csv_bytes(frame) if eager else partial(csv_bytes, frame),
            file_name=f"{what}.csv",
            mime="text/csv",
            key=f"{key}_csv",
            on_click=_audit,
            args=(cfg, principal, what, rows, "csv"),
            icon=":material/download:",
        )
        st.download_button(
            t("export_excel"),
            data=excel_bytes(frame, what) if eager else partial(excel_bytes, frame, what),
            file_name=f"{what}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"{key}_xlsx",
            on_click=_audit,
            args=(cfg, principal, what, rows, "xlsx"),
            icon=":material/download:",
        )
