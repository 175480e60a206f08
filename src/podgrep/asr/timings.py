"""Where a transcription's time goes: busy seconds per phase, and moments since process start.

Phases are summed over the threads that ran them (two replicas decoding at once count twice),
so they say what costs, not what the wall clock showed; `marks` are wall-clock moments.
`podgrep transcribe --timings` prints both, over every engine loaded, as one JSON line
(`Engines.timings`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator


def process_age() -> float:
    """Seconds since this process started (from /proc; 0 where there is none)."""
    try:
        with open("/proc/self/stat") as fh:
            started = int(fh.read().rsplit(")", 1)[1].split()[19])  # field 22: starttime
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return max(0.0, uptime - started / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


# time.perf_counter() at the moment the process started
PROCESS_START = time.perf_counter() - process_age()


class Timings:
    """Busy seconds per phase (thread-safe) and the first time each mark was reached."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.busy: dict[str, float] = {}
        self.marks: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Count the block's wall time under `name`."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.busy[name] = self.busy.get(name, 0.0) + seconds

    def mark(self, name: str) -> None:
        """Note the seconds since process start when `name` first happened."""
        with self._lock:
            self.marks.setdefault(name, time.perf_counter() - PROCESS_START)
