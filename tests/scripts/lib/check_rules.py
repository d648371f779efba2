#!/usr/bin/env python3
"""Checks the Prometheus rule files beyond what `promtool check rules` does,
and prepares them for `promtool test rules`.

Checks: every alert has a severity label and a non-empty summary,
description and runbook; every alert name has a unit test where it fires and
one where it does not (an `alert_rule_test` with `exp_alerts: []`).

Then writes copies of the rule files and their tests into OUT_DIR with the
runbook annotations removed: runbooks are static text, and promtool compares
every annotation of a firing alert, so the tests expect only summary and
description.

Usage: check_rules.py RULES_DIR OUT_DIR
"""

import pathlib
import shutil
import sys

import yaml

REQUIRED_ANNOTATIONS = ("summary", "description", "runbook")


def rule_files(rules_dir):
    return sorted(rules_dir.glob("*.yaml"))


def alerts_of(doc):
    for group in doc.get("groups", []):
        for rule in group.get("rules", []):
            if "alert" in rule:
                yield rule


def check_alert(rule):
    problems = []
    name = rule["alert"]
    if not rule.get("labels", {}).get("severity"):
        problems.append(f"{name}: no severity label")
    annotations = rule.get("annotations", {})
    for key in REQUIRED_ANNOTATIONS:
        if not str(annotations.get(key, "")).strip():
            problems.append(f"{name}: no {key} annotation")
    return problems


def tested_alerts(tests_dir):
    """Alert names with a firing case and with a not-firing case."""
    firing, quiet = set(), set()
    for path in sorted(tests_dir.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        for test in doc.get("tests", []):
            for case in test.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    return firing, quiet


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rules_dir, out_dir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    problems, names = [], set()
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in rule_files(rules_dir):
        doc = yaml.safe_load(path.read_text())
        for rule in alerts_of(doc):
            names.add(rule["alert"])
            problems.extend(check_alert(rule))
            rule.get("annotations", {}).pop("runbook", None)
        (out_dir / path.name).write_text(yaml.safe_dump(doc, sort_keys=False))

    firing, quiet = tested_alerts(rules_dir / "tests")
    for name in sorted(names - firing):
        problems.append(f"{name}: no unit test where it fires")
    for name in sorted(names - quiet):
        problems.append(f"{name}: no unit test where it does not fire")
    for name in sorted((firing | quiet) - names):
        problems.append(f"{name}: tested but not defined")

    shutil.copytree(rules_dir / "tests", out_dir / "tests", dirs_exist_ok=True)
    if problems:
        sys.exit("rule check failed:\n  " + "\n  ".join(problems))
    print(f"ok: {len(names)} alerts have severity, summary, description, runbook, "
          "and firing and not-firing tests")


if __name__ == "__main__":
    main()
