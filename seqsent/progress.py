"""Progress of a long step, said at most every few seconds: a person never waits in silence for long.

    ticker = Ticker(notify, "Reading the archive", total=100_000)
    for i, item in enumerate(items, 1):
        ...
        ticker.update(i)          # "Reading the archive: 41,230 of 100,000 (41%)" every 10 s at most

A step that ends within the interval says nothing; `notify` None says nothing at all.
"""

from __future__ import annotations

import time

EVERY_SECONDS = 8.0  # a person hears of a long step at least every ~10 s


class Ticker:
    def __init__(self, notify, what: str, total: int | None = None, every: float = EVERY_SECONDS, unit: str = ""):
        self.notify, self.what, self.total, self.every, self.unit = notify, what, total, every, unit
        self.last = time.monotonic()

    def update(self, done: int) -> None:
        unit = f" {self.unit}" if self.unit else ""
        if self.total:
            self.say(lambda: f"{self.what}: {done:,} of {self.total:,}{unit} ({100 * done / self.total:.0f}%)")
        else:
            self.say(lambda: f"{self.what}: {done:,}{unit}")

    def say(self, message) -> None:
        """`message()` (made only when said), if the last line was long enough ago."""
        if self.notify is None or time.monotonic() - self.last < self.every:
            return
        self.last = time.monotonic()
        self.notify(message())


def first_epochs(done: int) -> str:
    """'epoch 1' or 'epochs 1-3': the epochs a resumed run restored ('epochs 1-1' reads as a slip)."""
    return "epoch 1" if done == 1 else f"epochs 1-{done}"


def keras_verbosity(verbose: int | str) -> int:
    """Keras' `verbose` for fit: 'auto' is a progress bar on a terminal and a line per epoch otherwise (a bar's
    redrawn lines and colour codes fill a log file or a redirected notebook output)."""
    import sys

    if verbose == "auto":
        return 1 if sys.stdout is not None and sys.stdout.isatty() else 2
    return int(verbose)
