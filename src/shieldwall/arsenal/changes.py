"""The changes the council makes to the arsenal, drafted as the next targets version.

Each function checks what the hub can check before councillors sign (the rule
parses and passed its regression suite; the status step exists; a promotion's
figures meet the signed gates) and returns the unsigned draft. Members check
the same again on what they fetch; the signatures themselves are TUF's to count.
"""

from __future__ import annotations

from tuf.api.metadata import Metadata, Targets

from shieldwall.arsenal.figures import Figures, encode_figures
from shieldwall.arsenal.gates import check_gate, decode_gates
from shieldwall.arsenal.regression import Outcome
from shieldwall.arsenal.repository import GATES, Repository, custom_of, sha256_hex
from shieldwall.arsenal.rule import Rule, parse_rule
from shieldwall.arsenal.status import check_change, enforces
from shieldwall.arsenal.trials import trial_path
from shieldwall.errors import ArsenalError


def current_status(repo: Repository, rule_id: str) -> str | None:
    """The published status of ``name@version`` (``None``: not in the set); a rule only the
    chair started is experimental (the council's own entry, once it has one, decides)."""
    info = repo.targets().signed.targets.get(f"rules/{rule_id}.toml")
    status = None if info is None else custom_of(info).get("status")
    if info is None:
        trials = repo.trials()
        if trials is not None and trial_path(rule_id) in trials.signed.targets:
            return "experimental"
    return status if isinstance(status, str) else None


def _checked_suite(rule: Rule, outcomes: list[Outcome]) -> None:
    failed = [o.explain() for o in outcomes if not o.passed]
    if not outcomes or not any(o.positive for o in outcomes):
        raise ArsenalError("regression",
                           f"{rule.id} names no positive fixture: it must catch a labelled attack")
    if failed:
        raise ArsenalError("regression", f"{rule.id} fails its regression suite:\n  " + "\n  ".join(failed))


def scenario_rules(repo: Repository) -> dict[str, str]:
    """scenario name -> ``name@version`` for every enforcing rule of the published set."""
    targets = repo.targets().signed.targets
    out: dict[str, str] = {}
    for path in repo.index():
        if enforces(str(custom_of(targets[path]).get("status", ""))):
            rule = parse_rule(repo.target_bytes(path), path)
            out.update({scenario.name: rule.id for scenario in rule.scenarios})
    return out


def propose(repo: Repository, rule: Rule, outcomes: list[Outcome], now: float) -> Metadata[Targets]:
    """Draft adding ``rule`` as experimental; refused unless every regression fixture passed."""
    _checked_suite(rule, outcomes)
    check_change(current_status(repo, rule.id), "experimental")
    # An earlier version keeps running (enforcing, if it does) beside the new one in shadow:
    # both are measured on the same traffic until the new one is promoted in its place.
    return repo.draft({rule.target_path: rule.raw}, {rule.target_path: {"status": "experimental"}}, now)


def propose_trial(repo: Repository, rule: Rule, outcomes: list[Outcome], now: float) -> Metadata[Targets]:
    """Draft the chair's trial of ``rule`` (the ``trials`` role); the same suite as :func:`propose`."""
    _checked_suite(rule, outcomes)
    check_change(current_status(repo, rule.id), "experimental")
    return repo.draft_trial(rule, now)


def change_status(repo: Repository, rule_id: str, status: str, report: Figures | None,
                  now: float) -> Metadata[Targets]:
    """Draft moving ``rule_id`` to ``status``; an enforcing status carries its report."""
    path = f"rules/{rule_id}.toml"
    check_change(current_status(repo, rule_id), status)
    files: dict[str, bytes] = {}
    if path in repo.targets().signed.targets:
        rule = parse_rule(repo.target_bytes(path), path)
    else:  # a chair-alone trial: the council's act adopts its bytes under its own name
        rule = parse_rule(repo.trial_bytes(trial_path(rule_id)), path)
        files[path] = rule.raw
    fields: dict[str, object] = {"status": status}
    if enforces(status):
        if report is None:
            raise ArsenalError("gate", f"{rule.id} cannot enforce without a measured report")
        check_gate(rule.id, status, report, decode_gates(repo.target_bytes(GATES)))
        data = encode_figures(report)
        files[f"reports/{rule.id}.json"] = data
        fields["report_sha256"] = sha256_hex(data)
    custom: dict[str, dict[str, object]] = {path: fields}
    if enforces(status):
        # The version promoted replaces the enforcing one of the same name, in the same act.
        targets = repo.targets().signed.targets
        for other in repo.index():
            if other != path and other.startswith(f"rules/{rule.name}@") and enforces(
                    str(custom_of(targets[other]).get("status", ""))):
                custom[other] = {"status": "deprecated"}
    return repo.draft(files, custom, now)
