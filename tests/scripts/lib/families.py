#!/usr/bin/env python3
"""The metric families of a text-format scrape, for the live scrapes that
docs/metrics.md lists (tests/golden/live/*.prom).

  families.py collector < SCRAPE    the lines of the collector's own families:
                                    the agent's own (node_scrape_collector_*,
                                    process_*, *_build_info) left out
  families.py shapes < EXPOSITION   one line per family: name, type, label
                                    names and help, tab-separated, sorted

A summary's or histogram's lines count under the family's name, without
their quantile or le label. Standard library only.
"""

import re
import sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"')


def family_of(line):
    """The family a line belongs to: its HELP or TYPE name, or its sample's."""
    if line.startswith("# HELP ") or line.startswith("# TYPE "):
        return line.split(" ", 3)[2]
    match = SAMPLE.match(line)
    return match.group(1) if match else None


def own(name):
    return (
        name.startswith("node_scrape_collector_")
        or name.startswith("process_")
        or name.endswith("_build_info")
    )


def collector(lines):
    for line in lines:
        name = family_of(line)
        if name is not None and not own(name):
            print(line)


def shapes(lines):
    families = {}
    for line in lines:
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            _, kind, name, text = (line.split(" ", 3) + [""])[:4]
            family = families.setdefault(name, {"type": "untyped", "labels": set(), "help": ""})
            family["help" if kind == "HELP" else "type"] = text
            continue
        match = SAMPLE.match(line)
        if not match:
            continue
        name = match.group(1)
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[: -len(suffix)] in families:
                name = name[: -len(suffix)]
                break
        family = families.setdefault(name, {"type": "untyped", "labels": set(), "help": ""})
        labels = LABEL.findall(match.group(3) or "")
        family["labels"].update(label for label in labels if label not in ("le", "quantile"))
    for name in sorted(families):
        family = families[name]
        print("\t".join([name, family["type"], ",".join(sorted(family["labels"])), family["help"]]))


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("collector", "shapes"):
        sys.exit(__doc__)
    lines = sys.stdin.read().splitlines()
    {"collector": collector, "shapes": shapes}[sys.argv[1]](lines)


if __name__ == "__main__":
    main()
