"""Run ``pgpviewer`` commands in-process.

Uses :func:`pgpviewer.cli.main` when it knows the ``batch`` and ``report`` commands; before they
are wired there, the same parsers (:func:`pgpviewer.cli_batch.add_parsers`) are run with the
same exit-status rules (InputError → one line on stderr, exit 2).
"""

from __future__ import annotations

import argparse
import sys

from pgpviewer import cli
from pgpviewer.cli_batch import add_parsers
from pgpviewer.core.errors import InputError


def _wired() -> bool:
    parser = cli.build_parser()
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return bool(subs) and "batch" in subs[0].choices and "report" in subs[0].choices


def run_cli(argv: list[str]) -> int:
    if _wired():
        return cli.main(argv)
    parser = argparse.ArgumentParser(prog="pgpviewer")
    add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except InputError as e:
        print(f"pgpviewer: error: {e}", file=sys.stderr)
        return 2
