#!/usr/bin/env python3
"""Checks the Prometheus rule files beyond what `promtool check rules` does.

- every alert has a severity label and a non-empty summary and description;
- every alert has a runbook_url into the runbooks document, at a heading
  that exists there (the anchor GitHub gives it), and every section of the
  runbooks belongs to an alert;
- every alert name has a unit test where it fires and one where it does not
  (an `alert_rule_test` with `exp_alerts: []`).

The rule files and their tests are checked as shipped: `promtool test rules`
runs on the same files, annotations and all.

Usage: check_rules.py RULES_DIR RUNBOOKS_MD
"""

import pathlib
import re
import sys

import yaml

# Where the rules' runbook_url annotations point: this prefix, then `#` and
# the anchor of the alert's heading in RUNBOOKS_MD.
RUNBOOKS_URL = "https://github.com/hostwatch/hostwatch/blob/main/docs/runbooks.md"

REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url")


def rule_files(rules_dir):
    return sorted(rules_dir.glob("*.yaml"))


def alerts_of(doc):
    for group in doc.get("groups", []):
        for rule in group.get("rules", []):
            if "alert" in rule:
                yield rule


def github_anchor(heading):
    """The fragment GitHub's Markdown renderer gives a heading: lower case,
    punctuation other than `-` and `_` dropped, spaces turned into `-`."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def headings(markdown):
    """(level, text, anchor) of every Markdown heading outside code blocks,
    with GitHub's -1, -2... suffixes for repeated anchors."""
    found, seen, fenced = [], set(), False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        match = re.match(r"(#{1,6}) (.+)$", line)
        if fenced or not match:
            continue
        anchor = github_anchor(match.group(2))
        unique, n = anchor, 0
        while unique in seen:
            n += 1
            unique = f"{anchor}-{n}"
        seen.add(unique)
        found.append((len(match.group(1)), match.group(2).strip(), unique))
    return found


def check_alert(rule, anchors):
    problems = []
    name = rule["alert"]
    if not rule.get("labels", {}).get("severity"):
        problems.append(f"{name}: no severity label")
    annotations = rule.get("annotations", {})
    for key in REQUIRED_ANNOTATIONS:
        if not str(annotations.get(key, "")).strip():
            problems.append(f"{name}: no {key} annotation")
    url = str(annotations.get("runbook_url", ""))
    if url:
        base, _, anchor = url.partition("#")
        if base != RUNBOOKS_URL:
            problems.append(f"{name}: runbook_url {url} is not under {RUNBOOKS_URL}")
        elif anchors.get(anchor) != name:
            problems.append(f"{name}: runbook_url {url} names no '{name}' heading of the runbooks")
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
    rules_dir, runbooks = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    sections = headings(runbooks.read_text())
    anchors = {anchor: text for _, text, anchor in sections}
    problems, names = [], set()
    for path in rule_files(rules_dir):
        for rule in alerts_of(yaml.safe_load(path.read_text())):
            names.add(rule["alert"])
            problems.extend(check_alert(rule, anchors))

    # The runbooks' sections are their level-2 headings, one per alert.
    for section in sorted({text for level, text, _ in sections if level == 2} - names):
        problems.append(f"{runbooks}: section '{section}' belongs to no alert")

    firing, quiet = tested_alerts(rules_dir / "tests")
    for name in sorted(names - firing):
        problems.append(f"{name}: no unit test where it fires")
    for name in sorted(names - quiet):
        problems.append(f"{name}: no unit test where it does not fire")
    for name in sorted((firing | quiet) - names):
        problems.append(f"{name}: tested but not defined")

    if problems:
        sys.exit("rule check failed:\n  " + "\n  ".join(problems))
    print(f"ok: {len(names)} alerts have severity, summary, description, a runbook_url "
          f"at a heading of {runbooks}, and firing and not-firing tests")


if __name__ == "__main__":
    main()
