"""The fault suite: every test here is one hostile input or fault; the run ends with a table.

A test names its class with `@pytest.mark.fault("network")` (else its module's name) and may
record episodes it lost with `lost(n)`; survived means the test passed: one clear line, no
traceback, nothing lost, the next sync succeeds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import pytest

_RESULTS: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # class -> tried, survived, lost


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fault(kind): the class of fault a fault-suite test tries")


def _kind(item: pytest.Item) -> str:
    mark = item.get_closest_marker("fault")
    if mark is not None and mark.args:
        return str(mark.args[0])
    return item.module.__name__.rsplit(".", 1)[-1].removeprefix("test_") if item.module else "?"


@pytest.fixture
def lost(request: pytest.FixtureRequest) -> Callable[[int], None]:
    """Record episodes a fault lost (done work that is gone or must be redone)."""

    def record(n: int) -> None:
        request.node.user_properties.append(("lost", n))

    return record


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if "tests/faults/" not in item.nodeid.replace("\\", "/"):
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        if report.skipped:
            return
        row = _RESULTS[_kind(item)]
        row[0] += 1
        row[1] += report.passed
        row[2] += sum(int(v) for k, v in item.user_properties if k == "lost")


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not _RESULTS:
        return
    tr = terminalreporter
    tr.write_sep("=", "fault suite")
    tr.write_line(f"{'class':<14}{'tried':>7}{'survived':>10}{'episodes lost':>15}")
    total = [0, 0, 0]
    for kind in sorted(_RESULTS):
        row = _RESULTS[kind]
        total = [a + b for a, b in zip(total, row, strict=True)]
        tr.write_line(f"{kind:<14}{row[0]:>7}{row[1]:>10}{row[2]:>15}")
    tr.write_line(f"{'all':<14}{total[0]:>7}{total[1]:>10}{total[2]:>15}")
