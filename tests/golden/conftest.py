"""`pytest tests/golden --update-golden` rewrites the checked-in golden SQL instead of comparing with it."""

from __future__ import annotations


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/<dialect>/<metric>.sql from the compiler's current output",
    )
