"""glibc's malloc tuned for the engine: large buffers kept in the heap, handed back when done.

With glibc's defaults the buffers of every encode and decode step (tens of MB, over glibc's
largest dynamic mmap threshold, 32 MB) were mapped fresh from the kernel and unmapped again:
700,000 page faults and 1.5-1.8 s of system time on a 5 min conversation, a tenth of its CPU
time (3.1 million and 6.3 s on a 21 min one). Held in one arena's heap (under the mmap
threshold; free tops kept up to the trim threshold, grown by the top pad at a time): 100,000
faults and 0.3 s, the same text and the same peak memory (conversation_a 8.4-9.6 s -> 7.2-7.4 s
wall; conversation_long 28.5 s -> 25.4 s, 849 MB both). Two arenas and a 32 MB threshold saved
less (7.5-8.0 s).

Each thread that allocates (numpy, CTranslate2, ONNX Runtime) otherwise gets an arena of its
own that keeps freed memory (two arenas instead of one per thread: ~100 MB less resident on a
long episode; one holds no more). No effect (and no error) outside glibc.
"""

from __future__ import annotations

import ctypes
import os
from functools import cache
from typing import Any

# (glibc's environment variable, its mallopt code from <malloc.h>, the value set)
SETTINGS = (
    ("MALLOC_ARENA_MAX", -8, 1),
    ("MALLOC_MMAP_THRESHOLD_", -3, 512 << 20),
    ("MALLOC_TRIM_THRESHOLD_", -1, 1 << 30),
    ("MALLOC_TOP_PAD_", -2, 256 << 20),
)


@cache
def _libc() -> Any:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl): nothing to tune
        return None


def tune() -> None:
    """Set SETTINGS, before the worker threads start; a `MALLOC_*` variable the user set wins
    (glibc read it at start-up)."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return
    for name, code, value in SETTINGS:
        if name not in os.environ:
            libc.mallopt(code, value)


def give_back() -> None:
    """Return the free memory the heap kept (up to the trim threshold) to the system, so that a
    long-lived process (`podgrep serve`, a worker) does not hold it between episodes."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def environment() -> dict[str, str]:
    """SETTINGS as glibc's environment variables: the same tuning for another process (the
    benchmark's faster-whisper peer)."""
    return {name: str(value) for name, _, value in SETTINGS}
