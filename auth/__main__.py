"""`python -m auth hash [PASSWORD]` prints a bcrypt hash for the users file (asks when no argument)."""

from __future__ import annotations

import argparse
import getpass
import sys

from auth.users import hash_password


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m auth")
    sub = parser.add_subparsers(dest="command", required=True)
    p_hash = sub.add_parser("hash", help="print a bcrypt hash of a password for the users file")
    p_hash.add_argument("password", nargs="?")
    args = parser.parse_args(argv)
    password = args.password or getpass.getpass("password: ")
    if len(password) < 8:
        print("error: use at least 8 characters", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


if __name__ == "__main__":
    sys.exit(main())
