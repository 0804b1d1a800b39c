"""The code checks its own layout (in the spirit of mitmproxy's ``test/filename_matching.py``).

* The pure modules import no socket, subprocess, sqlite3, asyncio or clock,
  directly or through another Shieldwall module they import.
* Every source module has a test module (named after it, or importing it), or
  is listed in :data:`UNTESTED` with the reason.
* Background tasks start only under the supervisor: no raw
  ``asyncio.create_task``/``ensure_future`` elsewhere, except where listed.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "shieldwall"
TESTS = ROOT / "tests"

#: Values in, values out, ``now`` passed in. Packages name every module inside them.
PURE = (
    "shieldwall.addresses",
    "shieldwall.agent.core",
    "shieldwall.arsenal.engine",
    "shieldwall.arsenal.figures",
    "shieldwall.arsenal.gates",
    "shieldwall.arsenal.rule",
    "shieldwall.arsenal.status",
    "shieldwall.config",
    "shieldwall.decisions.codec",
    "shieldwall.decisions.decision",
    "shieldwall.detection",
    "shieldwall.drills.conduct",
    "shieldwall.drills.inject",
    "shieldwall.drills.order",
    "shieldwall.drills.report",
    "shieldwall.drills.schedule",
    "shieldwall.drills.stage",
    "shieldwall.durations",
    "shieldwall.enforcers.block",
    "shieldwall.enforcers.exports",
    "shieldwall.enforcers.imports",
    "shieldwall.enforcers.lookup",
    "shieldwall.enforcers.nft_ruleset",
    "shieldwall.enforcers.plan",
    "shieldwall.events",
    "shieldwall.governance.admission",
    "shieldwall.governance.checkpoint",
    "shieldwall.governance.standing",
    "shieldwall.governance.verify",
    "shieldwall.hub.disputes",
    "shieldwall.hub.ledger.postgres.lease",
    "shieldwall.hub.policy",
    "shieldwall.hub.policy_config",
    "shieldwall.hub.policy_values",
    "shieldwall.hub.protections",
    "shieldwall.hub.roster",
    "shieldwall.hub.roster_metrics",
    "shieldwall.hub.trust",
    "shieldwall.lab.trust_model",
    "shieldwall.lab.trust_run",
    "shieldwall.readiness.evaluate",
    "shieldwall.readiness.heartbeat",
    "shieldwall.readiness.link",
    "shieldwall.readiness.liveness",
    "shieldwall.readiness.outbox",
    "shieldwall.readiness.table",
    "shieldwall.readiness.verdict",
    "shieldwall.readiness.versions",
    "shieldwall.signals.hub_addresses",
    "shieldwall.signals.signal",
    "shieldwall.ui.access",
    "shieldwall.ui.charts",
    "shieldwall.ui.views",
)
#: What a pure module may not import: I/O, concurrency and the clock.
FORBIDDEN = frozenset({"socket", "subprocess", "sqlite3", "asyncio", "time", "selectors", "threading"})
#: Names a pure module may take from a forbidden module: pure functions, no I/O.
PURE_NAMES = {("socket", "inet_pton"), ("socket", "inet_ntop"), ("socket", "AF_INET"), ("socket", "AF_INET6")}
#: Calls that read the clock.
CLOCK_CALLS = frozenset({"now", "utcnow", "today", "time", "monotonic", "perf_counter"})

#: Source modules without a test module of their own, and why that is fine.
UNTESTED: dict[str, str] = {
    "shieldwall.enforcers.enforcer": "a Protocol only: mypy checks every enforcer the registry builds "
    "against it",
    "shieldwall.cli.council_options": "options of `shieldwall council`, run by tests/cli/test_council_cli.py",
    "shieldwall.cli.council_propose": "`shieldwall council propose`, run by tests/cli/test_council_cli.py",
    "shieldwall.hub.governance_api": "the council's routes, served to real members by "
    "tests/e2e/test_council.py",
    "shieldwall.hub.connections": "the hub's connection limits, exercised by "
    "tests/integration/test_hub_hardening.py",
    "shieldwall.lab.show": "the demo's timeline printer, run by tests/cli/test_demo.py",
    "shieldwall.lab.simulation": "the in-process demo, run by tests/cli/test_demo.py",
    "shieldwall.cli.ui": "`shieldwall ui login`, run by tests/ui/test_dashboard.py",
    "shieldwall.ui.actions": "the dashboard's POST handlers, driven over HTTPS by tests/ui/test_dashboard.py"
    " and in Chromium by tests/ui/test_browser.py",
    "shieldwall.ui.context": "the dashboard's shared state, exercised by tests/ui/test_dashboard.py",
    "shieldwall.ui.live": "the live feed, watched in Chromium by tests/ui/test_browser.py",
    "shieldwall.ui.pages": "the dashboard's pages, read by tests/ui/test_dashboard.py and test_browser.py",
    "shieldwall.signals.bounds": "wire bounds of Signal/Decision fields, exercised by "
    "tests/signals/test_envelope.py",
}

#: Modules that start a task themselves, and why it is not a supervised background task.
OWN_TASKS: dict[str, str] = {
    "shieldwall.agent.supervise": "the supervisor itself",
    "shieldwall.agent.council_gate": "the follower's next decision, read while a checkpoint may be "
    "fetched: awaited or cancelled in the same generator (a stream read, not a background task)",
    "shieldwall.cli.agent": "the process's main task, cancelled by SIGINT/SIGTERM (not a background task)",
    "shieldwall.cli.up": "the hub's and the agent's main tasks in one foreground process",
    "shieldwall.sources.journald": "drains journalctl's stderr for the life of that child: "
    "awaited or cancelled in the same function",
    "shieldwall.hub.server": "drops unanswered TLS closes while uvicorn shuts down: cancelled "
    "in the same function once shutdown returns",
    "shieldwall.hub.writer": "the hub's writer loop and its in-flight batch (the hub has no supervisor yet)",
    "shieldwall.lab.simulation": "the demo's hub and agents in one event loop, cancelled when it ends",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def top_level_imports(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """``(module, names)`` imported at import time (not inside functions or TYPE_CHECKING)."""
    found: list[tuple[str, tuple[str, ...]]] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.extend((alias.name, ()) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((node.module, tuple(alias.name for alias in node.names)))
            elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)

    visit(tree(path).body)
    return found


def is_pure(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in PURE)


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The Shieldwall module an import names (``from pkg import mod`` names ``pkg.mod``)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def reachable(start: str, known: dict[str, Path]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for module, names in top_level_imports(known[name]):
            if not module.startswith("shieldwall"):
                continue
            for candidate in [f"{module}.{n}" for n in names] + [module]:
                target = resolve(candidate, known)
                if target is not None:
                    todo.append(target)
    return seen


def impurities(path: Path) -> list[str]:
    problems = []
    for module, names in top_level_imports(path):
        root = module.split(".")[0]
        if root in FORBIDDEN and not (names and all((root, n) in PURE_NAMES for n in names)):
            problems.append(f"imports {module}" + (f" ({', '.join(names)})" if names else ""))
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = ast.unparse(node.func.value).split(".")[-1]
            if node.func.attr in CLOCK_CALLS and owner in {"datetime", "date", "time"}:
                problems.append(f"reads the clock: {ast.unparse(node.func)}()")
    return problems


PURE_MODULES = sorted(name for name in modules() if is_pure(name))


@pytest.mark.parametrize("name", PURE_MODULES)
def test_pure_modules_do_no_io_and_read_no_clock(name: str) -> None:
    known = modules()
    problems = {
        other: found
        for other in sorted(reachable(name, known))
        if (found := impurities(known[other]))
    }
    assert problems == {}, f"{name} is pure, but through its imports: {problems}"


def test_every_pure_entry_names_a_module() -> None:
    known = modules()
    assert all(any(is_pure(name) and name.startswith(p) for name in known) for p in PURE)


def _has_code(path: Path) -> bool:
    body = tree(path).body
    return any(
        not isinstance(node, ast.Import | ast.ImportFrom)
        and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        and not (isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "__all__")
        for node in body
    )


def _tested() -> tuple[set[str], set[str]]:
    """(test file stems without ``test_``, Shieldwall modules the tests import)."""
    stems: set[str] = set()
    imported: set[str] = set()
    for path in TESTS.rglob("test_*.py"):
        stems.add(path.stem.removeprefix("test_"))
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shieldwall"):
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names if a.name.startswith("shieldwall"))
    return stems, imported


def has_test(name: str, stems: set[str], imported: set[str]) -> bool:
    parts = name.split(".")
    leaf, parent = parts[-1], (parts[-2] if len(parts) > 2 else "")
    named = any(
        stem == leaf or stem.startswith(leaf + "_") or stem.endswith("_" + leaf)
        or (parent and (stem == f"{parent}_{leaf}" or stem.startswith(f"{parent}_{leaf}_")))
        for stem in stems
    )
    return named or name in imported


def test_every_module_has_a_test_module_or_a_reason() -> None:
    stems, imported = _tested()
    missing = [
        name for name, path in modules().items()
        if _has_code(path) and name not in UNTESTED and not has_test(name, stems, imported)
    ]
    assert missing == [], f"add tests/<package>/test_<module>.py, or list in UNTESTED: {missing}"


def test_the_untested_list_holds_no_stale_entries() -> None:
    stems, imported = _tested()
    known = modules()
    stale = [name for name in UNTESTED if name not in known or has_test(name, stems, imported)]
    assert stale == []


def _starts_tasks(path: Path) -> list[str]:
    calls = []
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            if called in {"create_task", "ensure_future"}:
                calls.append(f"line {node.lineno}: {ast.unparse(node.func)}()")
    return calls


def test_background_tasks_start_only_under_the_supervisor() -> None:
    raw = {
        name: calls
        for name, path in modules().items()
        if name not in OWN_TASKS and (calls := _starts_tasks(path))
    }
    assert raw == {}, f"start it with shieldwall.agent.supervise.Supervisor, or list in OWN_TASKS: {raw}"


def test_the_own_tasks_list_holds_no_stale_entries() -> None:
    known = modules()
    assert [n for n in OWN_TASKS if n not in known or not _starts_tasks(known[n])] == []


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sqlite3\nfrom socket import socket\nfrom socket import inet_pton\n"
        "from datetime import datetime\nimport asyncio\n"
        "def f():\n    datetime.now()\n    asyncio.create_task(g())\n    asyncio.ensure_future(g())\n"
    )
    assert impurities(bad) == [
        "imports sqlite3", "imports socket (socket)", "imports asyncio", "reads the clock: datetime.now()",
    ]
    assert len(_starts_tasks(bad)) == 2
    typed = tmp_path / "typed.py"
    typed.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import sqlite3\n")
    assert impurities(typed) == []
