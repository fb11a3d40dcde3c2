"""Progress of a long evaluation: done, rate and ETA, as log lines (and a live line on a terminal)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

__all__ = ["Progress", "format_progress"]


def format_progress(done: int, total: int, elapsed_s: float, unit: str = "evaluation(s)") -> str:
    """``"1024/5184 evaluation(s) (19.8 %), 230.1/s, ETA 18 s"`` (ETA from the mean rate so far)."""
    rate = done / elapsed_s if elapsed_s > 0 else float("nan")
    eta = (total - done) / rate if rate > 0 else float("nan")
    share = 100.0 * done / total if total else 100.0
    return f"{done}/{total} {unit} ({share:.1f} %), {rate:.1f}/s, ETA {eta:.0f} s"


class Progress:
    """Counts work done; calls ``log`` with :func:`format_progress` at most every ``every_s`` seconds
    and once at the end. On an interactive stderr it also redraws one status line."""

    def __init__(self, total: int, log: Callable[[str], None], *, label: str = "evaluate", every_s: float = 10.0,
                 unit: str = "evaluation(s)", clock: Callable[[], float] = time.perf_counter) -> None:
        self.total, self.log, self.label, self.every_s, self.unit, self.clock = total, log, label, every_s, unit, clock
        self.done = 0
        self.start = self.last = clock()
        self.live = sys.stderr.isatty()

    def update(self, n: int) -> None:
        self.done += n
        now = self.clock()
        text = f"{self.label}: {format_progress(self.done, self.total, now - self.start, self.unit)}"
        if self.live:
            sys.stderr.write("\r" + text)
            sys.stderr.flush()
        if now - self.last >= self.every_s or self.done >= self.total:
            self.last = now
            if self.live:
                sys.stderr.write("\n")
            self.log(text)
