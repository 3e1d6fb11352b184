"""The longest silence of a command, as a person at a terminal sees it: no long step should say nothing for > 10 s.

    python benchmarks/silence.py -- seqsent train --data ../shared/datasets/aclImdb_v1.tar.gz --epochs 1

Runs the command in a pseudo-terminal (so Keras draws its progress bar, as it does for a person), timestamps every
chunk of output (a progress bar's redraw counts), and prints the longest gaps between chunks with the output
that ended each one.
"""

from __future__ import annotations

import os
import pty
import select
import sys
import time


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.exit(__doc__)
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        os.execvp(args[0], args)
    last, gaps, tail = started, [], b""
    while True:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        now = time.monotonic()
        gaps.append((now - last, now - started, tail[-120:]))
        last, tail = now, (tail + chunk)[-400:]
    _, status = os.waitpid(pid, 0)
    print(f"\ncommand: {' '.join(args)}\nexit status {os.waitstatus_to_exitcode(status)}, "
          f"{time.monotonic() - started:.0f} s in all")
    for gap, at, before in sorted(gaps, reverse=True)[:5]:
        said = before.decode("utf-8", "replace").replace("\r", "\\r").replace("\n", "\\n")
        print(f"  {gap:6.1f} s of silence, ending at {at:6.1f} s, after: ...{said[-90:]}")


if __name__ == "__main__":
    main()
