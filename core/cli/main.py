"""Command line: `python -m core COMMAND …` (every command takes --workspace DIR). One module per
command group; each registers its commands with `add_cli(sub, common)`."""
from __future__ import annotations

import argparse
import os
import sys

from core.base.errors import WorkbenchError
from core.cli import analyze, dataset, evaluate, export, labels, media, models, pose, predict, train

GROUPS = (media, labels, dataset, evaluate, train, predict, export, analyze, models, pose)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workspace", help="workspace folder (default: data/ or $WORKSPACE)")
    parser = argparse.ArgumentParser(prog="python -m core", description="CrossFit movement workbench")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_cli(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (WorkbenchError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `python -m core labels list | head`: the reader left, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
