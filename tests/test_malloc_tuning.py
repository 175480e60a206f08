"""The engine keeps its large buffers in glibc's heap instead of mapping them afresh each time.

With glibc's defaults every buffer over its dynamic threshold (at most 32 MB) is mmap()ed
and munmap()ed: each encode of a 30 s chunk then page-faults tens of MB in again, a tenth of
the engine's CPU time in the kernel. This checks the behaviour, by page faults, not the calls.
"""

from __future__ import annotations

import resource

import numpy as np
import pytest

from podgrep.asr import malloc

BUFFER = 48 << 20  # over glibc's largest dynamic mmap threshold (32 MB)
# mapped afresh, a buffer faults in again page by page: 12,288 4 KB pages, or 24 2 MB ones
# where NumPy asks for transparent huge pages
HUGE_PAGES = BUFFER // (2 << 20)


def _faults_of_reuse(times: int = 4) -> int:
    np.ones(BUFFER // 8).sum()  # the first one may fault in: not counted
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(times):
        np.ones(BUFFER // 8).sum()  # allocated, written, freed
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(
    malloc._libc() is None or not hasattr(malloc._libc(), "mallopt"), reason="glibc's malloc only"
)
def test_a_large_buffer_freed_and_allocated_again_is_not_faulted_in_again(monkeypatch):
    for name, _, _ in malloc.SETTINGS:
        monkeypatch.delenv(name, raising=False)
    malloc.tune()
    faults = _faults_of_reuse()
    # mapped afresh, each of the 4 buffers would fault in all its pages again (>= 4 x 24)
    assert faults < HUGE_PAGES, f"{faults} page faults for 4 reuses of a 48 MB buffer"
    malloc.give_back()  # and the heap's free memory can be handed back
