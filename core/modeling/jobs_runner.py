"""Runs one command for `core.modeling.jobs` and records how it ended, so a restarted app still knows.

    python core/jobs_runner.py --exit-file PATH -- ARGV...

`core.modeling.jobs` starts this file by path (standard library only, so it works from any working
directory) as the leader of a new session and process group, with stdout and stderr pointing
at the run's log file; the command inherits them. When the command ends, its exit code is
written to PATH (atomically: a temporary file renamed into place), as `subprocess` reports it:
0 success, > 0 failure, -N killed by signal N. A runner that is killed itself (SIGKILL) leaves
no exit file; `core.modeling.jobs` then reports the run as stopped (if a stop was asked for) or lost.

SIGTERM / SIGINT / SIGHUP sent to the group reach the command too; the runner only notes them
and keeps waiting, so it can still record the command's exit code.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys


def _write_exit(path: str, code: int) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(f"{code}\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main(args: list[str] | None = None) -> int:
    args = sys.argv[1:] if args is None else args
    if len(args) < 4 or args[0] != "--exit-file" or args[2] != "--":
        print("usage: jobs_runner.py --exit-file PATH -- COMMAND [ARG ...]", file=sys.stderr)
        return 2
    exit_file, command = args[1], args[3:]
    signals: list[int] = []

    def note(signum, _frame):
        signals.append(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, note)

    if signals:  # stopped before the command even started
        code = -signals[0]
    else:
        try:
            child = subprocess.Popen(command)
        except OSError as exc:
            print(f"[jobs] cannot start {command[0]!r}: {exc}", file=sys.stderr, flush=True)
            code = 126 if isinstance(exc, PermissionError) else 127
        else:
            code = child.wait()  # retried after a noted signal (PEP 475)
    _write_exit(exit_file, code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
