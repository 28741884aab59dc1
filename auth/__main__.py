"""`python -m auth hash [PASSWORD]` prints a bcrypt hash for the users file (asks when no argument).

`python -m auth check` runs the app's startup checks (cookie key or OpenID Connect secrets, users file, demo
passwords outside demo mode) and exits 1 with the reason when the app would refuse to start — for a deploy
script to run before `streamlit run`.
"""

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
    sub.add_parser("check", help="exit 1, saying why, when the app would refuse to start")
    args = parser.parse_args(argv)
    if args.command == "check":
        from auth.startup import AuthConfigError, check_startup
        from core.config import ConfigError, settings

        try:
            users = check_startup(settings())
        except (AuthConfigError, ConfigError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"ok: {len(users.users)} users in {users.path}")
        return 0
    password = args.password or getpass.getpass("password: ")
    if len(password) < 8:
        print("error: use at least 8 characters", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


if __name__ == "__main__":
    from core.cli import run_main

    run_main(main)
