"""Cross-process locks on files under COCKPIT_DATA_DIR (one writer, one scheduler, one inbox run).

`fcntl.flock` is released by the kernel when the holder dies, so a SIGKILLed process never leaves a lock behind.
The holder writes its pid into the file, so whoever finds the lock taken can say who holds it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path, *, on_busy: Callable[[str], bool]) -> Iterator[bool]:
    """Hold an exclusive lock on `path`; yields True once held.

    When another process holds it, `on_busy(holder)` decides: return True to wait for it, False to give up (the
    context then yields False without the lock); it may also raise.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            if not on_busy(fh.read().strip() or "another process"):
                yield False
                return
            fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
