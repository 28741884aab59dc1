"""The inbox: files an admin uploads on the data-health page, loaded by the worker under a chosen source name.

    COCKPIT_DATA_DIR/inbox/pending/<id>/<file>   uploaded, checked (check.json), waiting for "confirm"
    COCKPIT_DATA_DIR/inbox/ready/<id>/<file>     confirmed (request.json: source, entity, sheet); queued
    COCKPIT_DATA_DIR/inbox/done/<id>/<file>      imported (report.json); an ad-hoc source's file lives here
    COCKPIT_DATA_DIR/inbox/failed/<id>/<file>    blocked or failed (report.json); the source kept its last good rows

Every upload gets a new folder (`<id>` = upload time + a random part), so a re-uploaded file with the same name is
never mistaken for the earlier one; the sync itself tells contents apart by their sha256. The check and the import
are exactly `python -m sources check` and `python -m sources import` (`check_file`, `import_file`). The app
state's `inbox_items` table carries each file's progress — staged → queued → loading → published | blocked |
failed, or discarded before confirming — for the page. Moves between folders are renames, and a worker killed
while loading finds the item 'loading' next time and imports it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.appstate import AppState
from core.config import Settings
from core.locks import file_lock

STAGES = ("pending", "ready", "done", "failed")
ABANDONED_AFTER = dt.timedelta(days=1)
_REPORT_KEYS = (
    "status",
    "rows_read",
    "rows_loaded",
    "rows_rejected",
    "rows_superseded",
    "rows_skipped",
    "issues",
    "error",
    "snapshot_id",
    "encoding",
    "header_row",
    "mapping",
)
_ID = re.compile(r"^[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$")
_SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class InboxError(ValueError):
    """The upload cannot go on; the message says what to change."""


@dataclass(frozen=True)
class Staged:
    """An uploaded file saved under `inbox/pending/<id>/`."""

    id: str
    path: Path
    sha256: str
    size: int


def inbox_dir(data_dir: Path, stage: str) -> Path:
    return Path(data_dir) / "inbox" / stage


def _safe_name(file_name: str) -> str:
    name = Path(str(file_name).replace("\\", "/")).name.strip()
    if not name or name.startswith(".") or name in ("request.json", "check.json", "report.json"):
        raise InboxError(f"{file_name!r} is not a usable file name")
    return name


def _item_folder(data_dir: Path, stage: str, item_id: str) -> Path:
    if not _ID.match(item_id):
        raise InboxError(f"{item_id!r} is not an inbox item")
    return inbox_dir(data_dir, stage) / item_id


def _only_file(folder: Path) -> Path:
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix != ".json"]
    if len(files) != 1:
        raise InboxError(f"{folder} should hold exactly one data file, found {len(files)}")
    return files[0]


def stage_upload(data_dir: Path, file_name: str, data: bytes, user: str | None) -> Staged:
    """Save an uploaded file under `inbox/pending/<new id>/` and record it as `staged`."""
    name = _safe_name(file_name)
    if not data:
        raise InboxError(f"{name} is empty")
    item_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)
    folder = _item_folder(data_dir, "pending", item_id)
    folder.mkdir(parents=True)
    path = folder / name
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    AppState(data_dir).save_inbox_item(
        item_id, file_name=name, sha256=digest, size=len(data), status="staged", uploaded_by=user
    )
    return Staged(item_id, path, digest, len(data))


def staged_file(data_dir: Path, item_id: str) -> Path:
    """The file of a staged (not yet confirmed) upload."""
    return _only_file(_item_folder(data_dir, "pending", item_id))


def check_staged(
    cfg: Settings, item_id: str, *, entity: str | None = None, sheet: str | None = None, source: str | None = None
) -> dict[str, Any]:
    """Run `python -m sources check` on a staged upload (writes nothing but the report beside the file)."""
    from sources.__main__ import check_file

    path = staged_file(cfg.data_dir, item_id)
    try:
        report = check_file(cfg, path, entity=entity or None, sheet=sheet or None, source=source or None)
    except Exception as exc:  # noqa: BLE001 - e.g. no entity recognised: shown to the admin as the check's error
        report = {"name": source, "status": "failed", "error": str(exc)}
    (path.parent / "check.json").write_text(json.dumps(report, ensure_ascii=False, default=str), encoding="utf-8")
    return report


def validate_target(cfg: Settings, source: str) -> None:
    """The source name an upload may load into: a new or an earlier uploaded/imported source, not a configured one."""
    if not _SOURCE_NAME.match(source or ""):
        raise InboxError(f"source name {source!r} must be lower-case letters, digits and _ (start with a letter)")
    if any(s.name == source for s in cfg.sources):
        configured = cfg.source(source)
        raise InboxError(
            f"{source} is configured in {cfg.config_path.name} and reads {configured.path or configured.url}; "
            "replace that file instead, or upload under another name"
        )


def confirm(
    cfg: Settings, item_id: str, *, source: str, entity: str, sheet: str | None, user: str | None
) -> dict[str, Any]:
    """Queue a staged upload for the worker: move it to `inbox/ready/` with its request, and audit it."""
    validate_target(cfg, source)
    pending = _item_folder(cfg.data_dir, "pending", item_id)
    path = _only_file(pending)
    request = {
        "source": source,
        "entity": entity,
        "sheet": sheet or None,
        "file": path.name,
        "uploaded_by": user,
        "confirmed_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    (pending / "request.json").write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    ready = _item_folder(cfg.data_dir, "ready", item_id)
    ready.parent.mkdir(parents=True, exist_ok=True)
    os.rename(pending, ready)
    state = AppState(cfg.data_dir)
    state.save_inbox_item(item_id, status="queued", source=source, entity=entity, sheet=sheet or None)
    item = state.inbox_item(item_id) or {}
    state.audit(user, "upload", file=path.name, source=source, entity=entity, sha256=item.get("sha256"), item=item_id)
    return request


def discard(cfg: Settings, item_id: str, *, user: str | None) -> None:
    """Drop a staged upload that the admin decided not to import."""
    import shutil

    shutil.rmtree(_item_folder(cfg.data_dir, "pending", item_id), ignore_errors=True)
    state = AppState(cfg.data_dir)
    state.save_inbox_item(item_id, status="discarded")
    state.audit(user, "upload_discarded", item=item_id)


@contextmanager
def _inbox_lock(data_dir: Path) -> Iterator[bool]:
    """One inbox run at a time (the worker's job and `python -m jobs run inbox`); yields False when taken."""
    with file_lock(Path(data_dir) / "inbox" / "inbox.lock", on_busy=lambda _holder: False) as mine:
        yield mine


def process_inbox(cfg: Settings) -> list[dict[str, Any]]:
    """The worker's inbox job: import every confirmed file, oldest first; returns one line per file handled.

    A file interrupted while loading (the worker was killed) is imported again first.
    """
    handled: list[dict[str, Any]] = []
    with _inbox_lock(cfg.data_dir) as mine:
        if not mine:
            return handled
        state = AppState(cfg.data_dir)
        _drop_abandoned(cfg, state)
        for item in state.inbox_items(limit=1000, statuses=("loading",)):
            handled += _resume(cfg, state, item["id"])
        ready = inbox_dir(cfg.data_dir, "ready")
        for folder in sorted(ready.iterdir()) if ready.exists() else []:
            if folder.is_dir() and _ID.match(folder.name) and (folder / "request.json").exists():
                request = _request_fields(folder)
                before = state.ad_hoc_source(request["source"])
                (folder / "previous.json").write_text(json.dumps(before and before["spec"]), encoding="utf-8")
                state.save_inbox_item(folder.name, status="loading", **request)
                done = _item_folder(cfg.data_dir, "done", folder.name)
                done.parent.mkdir(parents=True, exist_ok=True)
                os.rename(folder, done)  # the imported file's lasting place: an ad-hoc source reads it from here
                handled.append(_import(cfg, state, done))
    return handled


def _drop_abandoned(cfg: Settings, state: AppState) -> None:
    """Uploads checked but never confirmed nor discarded are dropped after ABANDONED_AFTER."""
    import shutil

    pending = inbox_dir(cfg.data_dir, "pending")
    cutoff = dt.datetime.now(dt.UTC).timestamp() - ABANDONED_AFTER.total_seconds()
    for folder in sorted(pending.iterdir()) if pending.exists() else []:
        if _ID.match(folder.name) and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            if state.inbox_item(folder.name):
                state.save_inbox_item(folder.name, status="discarded", error="never confirmed")


def _resume(cfg: Settings, state: AppState, item_id: str) -> list[dict[str, Any]]:
    """An item left 'loading' by a killed worker: import it again, or settle what it had finished."""
    done = _item_folder(cfg.data_dir, "done", item_id)
    if done.exists():
        return [_import(cfg, state, done)]
    failed = _item_folder(cfg.data_dir, "failed", item_id)
    report_file = failed / "report.json"
    if report_file.exists():
        report = json.loads(report_file.read_text(encoding="utf-8"))
        state.save_inbox_item(item_id, status=report.get("status") or "failed", error=report.get("error"))
    else:
        state.save_inbox_item(item_id, status="failed", error="interrupted while loading; upload the file again")
    return []


def _request_fields(folder: Path) -> dict[str, Any]:
    request = json.loads((folder / "request.json").read_text(encoding="utf-8"))
    path = folder / request["file"]
    return {
        "file_name": path.name,
        "source": request["source"],
        "entity": request["entity"],
        "sheet": request.get("sheet"),
        "uploaded_by": request.get("uploaded_by"),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "size": path.stat().st_size,
    }


def _import(cfg: Settings, state: AppState, folder: Path) -> dict[str, Any]:
    """Import one confirmed file from `inbox/done/<id>/`; on a block or failure move it to `inbox/failed/`."""
    from sources.__main__ import import_file

    request = json.loads((folder / "request.json").read_text(encoding="utf-8"))
    name = request["source"]
    previous = folder / "previous.json"
    before = json.loads(previous.read_text(encoding="utf-8")) if previous.exists() else None
    try:
        validate_target(cfg, name)
        report = import_file(
            cfg, folder / request["file"], entity=request["entity"], sheet=request.get("sheet"), source=name
        )
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the inbox
        report = {"name": name, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    status = "published" if report.get("status") in ("published", "unchanged") else report.get("status", "failed")
    final = folder
    if status != "published":
        # The source keeps its last good rows, and its last good file: point it back there (or forget it).
        if before is not None:
            state.save_ad_hoc_source(name, before)
        elif not any(s.name == name for s in cfg.sources):
            state.drop_ad_hoc_source(name)
        final = _item_folder(cfg.data_dir, "failed", folder.name)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(folder, final)
    (final / "report.json").write_text(json.dumps(report, ensure_ascii=False, default=str), encoding="utf-8")
    state.save_inbox_item(
        folder.name,
        status=status,
        snapshot_id=report.get("snapshot_id"),
        error=report.get("error"),
        report={k: report.get(k) for k in _REPORT_KEYS},
    )
    return {"id": folder.name, "file": request["file"], "source": name, "status": status, "error": report.get("error")}
