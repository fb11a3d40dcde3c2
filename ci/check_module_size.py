#!/usr/bin/env python3
"""Fail when a module of src/ has more than MAX_LINES lines (issue 9: small modules, one concern each).

Usage: python ci/check_module_size.py [--max-lines N] [ROOT]   (ROOT defaults to <checkout>/src)
Exit status 1 names every module over the limit with its line count; 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MAX_LINES = 400


def oversized(root: Path, max_lines: int = MAX_LINES) -> list[tuple[Path, int]]:
    """(module, line count) of every ``*.py`` under ``root`` longer than ``max_lines``, longest first."""
    counts = [(path, len(path.read_text(encoding="utf-8").splitlines())) for path in sorted(root.rglob("*.py"))]
    return sorted(((p, n) for p, n in counts if n > max_lines), key=lambda item: -item[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=Path(__file__).resolve().parents[1] / "src")
    parser.add_argument("--max-lines", type=int, default=MAX_LINES)
    args = parser.parse_args(argv)
    too_long = oversized(args.root, args.max_lines)
    for path, lines in too_long:
        print(f"{path}: {lines} lines (at most {args.max_lines}: split it by concern)", file=sys.stderr)
    if not too_long:
        print(f"module size: every module under {args.root} has at most {args.max_lines} lines")
    return 1 if too_long else 0


if __name__ == "__main__":
    raise SystemExit(main())
