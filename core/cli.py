"""What every `python -m …` command shares when it runs as a program."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable


class _Stdout(io.TextIOBase):
    """Standard output that remembers whether the reader of its pipe went away."""

    def __init__(self, inner: io.TextIOBase) -> None:
        self._inner = inner
        self.reader_gone = False

    def write(self, text: str) -> int:
        try:
            return self._inner.write(text)
        except BrokenPipeError:
            self.reader_gone = True
            raise

    def flush(self) -> None:
        try:
            self._inner.flush()
        except BrokenPipeError:
            self.reader_gone = True
            raise

    def fileno(self) -> int:
        return self._inner.fileno()

    def isatty(self) -> bool:
        return self._inner.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._inner.encoding


def run_main(main: Callable[[], int]) -> None:
    """Run a command's `main` and exit with its code.

    Output piped into a reader that stops early (`| head`) ends the command quietly, as Unix tools do, instead
    of a BrokenPipeError traceback: the rest of the output goes nowhere and the exit code is 141 (SIGPIPE).
    Only standard output's own pipe counts: a broken pipe anywhere else (a database or HTTP connection) is an
    error and is raised as one.
    """
    out = _Stdout(sys.stdout)
    sys.stdout = out
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        if not out.reader_gone:
            raise
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())  # Python's final flush at exit must not raise again
        sys.exit(141)
    finally:
        sys.stdout = out._inner
    sys.exit(code)
