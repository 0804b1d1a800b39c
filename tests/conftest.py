"""Shared test rules.

Tests that need root, network namespaces or system tools carry the ``root``
marker and skip elsewhere with a reason. In CI (``SHIELDWALL_REQUIRE_ROOT_TESTS=1``,
set by ``.ci/run``) such a skip is turned into a failure, so CI cannot pass
without running them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def require_root(*tools: str) -> None:
    """Skip the calling test unless we are root and every tool is on PATH."""
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces / nftables)")
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} on PATH (apt-get install it; .ci/run does)")


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data; skips when the shared data is not beside the checkout."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found: {path}")
    return path


@pytest.fixture(scope="session")
def pg_session_cluster() -> Generator[object, None, None]:
    """One private PostgreSQL cluster for the whole run (each test takes a database of its
    own); modules bind it with ``cluster = pg_cluster_fixture()``. One initdb, not one per module."""
    from tests.integration.pg_cluster import running_cluster

    with running_cluster() as cluster:
        yield cluster


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if (
        report.skipped
        and os.environ.get("SHIELDWALL_REQUIRE_ROOT_TESTS") == "1"
        and (item.get_closest_marker("root") is not None or "shared data" in str(report.longrepr))
    ):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where it must run: {report.longrepr}"
