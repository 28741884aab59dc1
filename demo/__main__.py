"""Command line: `python -m demo generate [--out DIR] [--scale X] [--force]`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from demo.generate import GENERATOR_VERSION, generate, is_current


def default_out_dir() -> Path:
    """`$COCKPIT_DATA_DIR/demo-exports` as configured (falls back to the data folder if no config is readable)."""
    from core.config import ConfigError, config_path, data_dir_for, settings

    try:
        return settings().data_dir / "demo-exports"
    except ConfigError:
        return data_dir_for(config_path()) / "demo-exports"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, generate (unless already current) and print a short summary."""
    parser = argparse.ArgumentParser(prog="python -m demo", description="华信科技 demo company exports")
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="write the demo exports (deterministic)")
    gen.add_argument("--out", type=Path, default=None, help="output folder (default: $COCKPIT_DATA_DIR/demo-exports)")
    gen.add_argument("--scale", type=float, default=1.0, help="business volume factor (default 1.0)")
    gen.add_argument("--force", action="store_true", help="rewrite even if the folder is up to date")
    args = parser.parse_args(argv)
    out = args.out if args.out is not None else default_out_dir()
    if args.scale <= 0:
        parser.error("--scale must be positive")
    if not args.force and is_current(out, args.scale):
        print(f"{out}: already holds demo generation v{GENERATOR_VERSION} at scale {args.scale:g}; nothing to do")
        return 0
    started = time.perf_counter()
    rows = generate(out, scale=args.scale, force=True)
    print(f"wrote {len(rows)} files to {out} in {time.perf_counter() - started:.1f} s (scale {args.scale:g})")
    for name, count in rows.items():
        print(f"  {name:<24} {count:>9,} rows")
    return 0


if __name__ == "__main__":
    from core.cli import run_main

    run_main(main)
