"""What every `python -m …` command shares when it runs as a program."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


def run_main(main: Callable[[], int]) -> None:
    """Run a command's `main` and exit with its code.

    Output piped into a reader that stops early (`| head`) ends the command quietly, as Unix tools do, instead
    of a BrokenPipeError traceback: the rest of the output goes nowhere and the exit code is 141 (SIGPIPE).
    """
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's final flush at exit must not raise again
        sys.exit(141)
    sys.exit(code)
