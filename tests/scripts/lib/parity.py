#!/usr/bin/env python3
"""Side-by-side parity of hostwatch with a running node_exporter.

Both agents observe the same machine. For every collector that both run
and that succeeds in both, each is scraped for that collector alone
(`collect[]=NAME`, node_exporter before and after hostwatch), and:

- every series node_exporter emits must exist in hostwatch, with at least
  node_exporter's labels and values of them, and the family's type must match;
- steady gauges (sizes, limits, identities) must have equal values;
- counters must be bracketed: node_exporter before <= hostwatch <= node_exporter
  after, since all three read the same kernel counters in that order.

Collectors are taken from hostwatch's node_scrape_collector_success, so each
collector is covered as soon as hostwatch has it. Intentional differences
(what node_exporter 1.5.0 emits that the latest node_exporter, which hostwatch
follows, dropped or changed) are listed in ALLOWED with their reasons.

Usage: parity.py HOSTWATCH_URL NODE_EXPORTER_URL   (base URLs, no /metrics)
Exits 1 when a difference is not allowed. Standard library only.
"""

import math
import re
import sys
import urllib.parse
import urllib.request
from collections import namedtuple

# Families of the exporters themselves, not of a collector.
META = re.compile(
    r"^(node_scrape_collector_(success|duration_seconds)|node_exporter_build_info|"
    r"hostwatch_build_info|go_.*|process_.*|promhttp_.*)$"
)

# Gauges that do not move while the test runs: hostwatch must report the
# same values. Each is only checked where node_exporter emits it and its two
# scrapes agree.
STEADY = re.compile(
    r"^node_("
    r"boot_time_seconds|"
    r"cpu_info|cpu_frequency_(max|min)_hertz|cpu_scaling_frequency_(max|min)_hertz|"
    r"disk_info|dmi_info|entropy_pool_size_bits|"
    r"filefd_maximum|"
    r"filesystem_(size_bytes|files|readonly|device_error|mount_info)|"
    r"memory_(MemTotal_bytes|SwapTotal_bytes|Hugepagesize_bytes|HugePages_Total|VmallocTotal_bytes)|"
    r"network_(info|mtu_bytes|iface_id|iface_link|iface_link_mode|address_assign_type|"
    r"device_id|flags|protocol_type|speed_bytes|transmit_queue_length|up|carrier|dormant|"
    r"name_assign_type|net_dev_group)|"
    r"os_info|os_version|uname_info|time_zone_offset_seconds"
    r")$"
)

# Counters whose kernel source may step back a little, by family, with the
# absolute slack allowed around the bracket: a CPU's idle and iowait times
# are estimated while it sleeps (NO_HZ) and can go back slightly, and each
# agent holds its own last value against that.
COUNTER_SLACK = {"node_cpu_seconds_total": 1.0}


class Allowed(namedtuple("Allowed", "kind family labels reason")):
    """An intentional difference. `kind` is "family" (node_exporter emits
    the family, hostwatch does not), "series" (hostwatch has no series with
    node_exporter's labels), "type" or "value"; `family` is a regex of family
    names and `labels` a dict of label name to regex that node_exporter's
    series must match (empty: any series)."""

    def matches(self, kind, family, labels):
        if self.kind != kind or re.fullmatch(self.family, family) is None:
            return False
        values = dict(labels)
        return all(
            re.fullmatch(pattern, values.get(name, "")) is not None
            for name, pattern in self.labels.items()
        )


# Labels whose values hostwatch cannot know where node_exporter can, by
# family: node_exporter's values are compared as empty. hostwatch reads routes
# from the host's /proc/1/net/route and ipv6_route, because netlink would show
# the pod's own network namespace; those files carry neither a route's
# protocol nor its preferred source address.
BLANKED_LABELS = {"node_network_route_info": ("proto", "src")}


def blanked(family, labels):
    """`labels` with the values hostwatch cannot know emptied."""
    names = BLANKED_LABELS.get(family, ())
    return tuple((name, "" if name in names else value) for name, value in labels)


# What node_exporter 1.5.0 emits that the latest node_exporter, and so
# hostwatch, does not or does differently, and what differs only because the
# two agents read the host at different instants.
ALLOWED = [
    Allowed(
        "series",
        r"node_disk_.*",
        {"device": r"zram\d+"},
        "the latest node_exporter's --collector.diskstats.device-exclude default "
        "^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$ leaves out zram "
        "devices, 1.5.0's leaves out only ram",
    ),
    Allowed(
        "series",
        r"node_processes_(threads_)?state",
        {"state": r"[^SI]"},
        "a state has a series only while some task is in it: running (R) or "
        "in disk sleep (D) is a matter of the instant each agent reads, and "
        "node_exporter's own main thread is often the one running",
    ),
]


# ---------------------------------------------------------------------------
# The text exposition format.

Sample = namedtuple("Sample", "name labels value")


def parse_labels(text, pos):
    """Parses `{a="x",b="y"}` starting at text[pos] == '{'; returns
    (tuple of (name, value) sorted, position after '}')."""
    labels = []
    pos += 1
    while True:
        while pos < len(text) and text[pos] in " ,":
            pos += 1
        if text[pos] == "}":
            return tuple(sorted(labels)), pos + 1
        eq = text.index("=", pos)
        name = text[pos:eq].strip()
        if text[eq + 1] != '"':
            raise ValueError("label value not quoted: %r" % text)
        pos = eq + 2
        value = []
        while text[pos] != '"':
            if text[pos] == "\\":
                value.append({"n": "\n", "\\": "\\", '"': '"'}.get(text[pos + 1], text[pos + 1]))
                pos += 2
            else:
                value.append(text[pos])
                pos += 1
        labels.append((name, "".join(value)))
        pos += 1


def parse_value(text):
    text = text.strip()
    special = {"NaN": math.nan, "+Inf": math.inf, "Inf": math.inf, "-Inf": -math.inf}
    return special[text] if text in special else float(text)


class Exposition:
    """One scrape: families' types and helps, and samples by family."""

    def __init__(self, text):
        self.types = {}
        self.helps = {}
        self.samples = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("#"):
                parts = line.split(None, 3)
                if len(parts) >= 3 and parts[1] == "TYPE":
                    self.types[parts[2]] = parts[3].strip() if len(parts) > 3 else ""
                elif len(parts) >= 3 and parts[1] == "HELP":
                    self.helps[parts[2]] = parts[3] if len(parts) > 3 else ""
                continue
            brace = line.find("{")
            space = line.find(" ")
            if brace != -1 and (space == -1 or brace < space):
                name = line[:brace]
                labels, end = parse_labels(line, brace)
                rest = line[end:]
            else:
                name, rest = line[:space], line[space:]
                labels = ()
            value = parse_value(rest.split()[0])
            family = self.family_of(name)
            self.samples.setdefault(family, []).append(Sample(name, labels, value))

    def family_of(self, name):
        if name in self.types:
            return name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[: -len(suffix)] in self.types:
                return name[: -len(suffix)]
        return name

    def collectors(self):
        """node_scrape_collector_success: collector name to success."""
        return {
            dict(s.labels)["collector"]: s.value == 1
            for s in self.samples.get("node_scrape_collector_success", [])
        }


def scrape(base, collector=None):
    url = base + "/metrics"
    if collector is not None:
        url += "?" + urllib.parse.urlencode({"collect[]": collector})
    request = urllib.request.Request(url, headers={"Accept": "text/plain"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return Exposition(response.read().decode("utf-8"))


# ---------------------------------------------------------------------------
# The comparison.


def index(samples):
    """Samples by (name, labels)."""
    return {(s.name, s.labels): s.value for s in samples}


def find_covering(hw_samples, name, labels):
    """hostwatch's value of the series named `name` whose labels include
    `labels`, or None."""
    wanted = set(labels)
    for sample in hw_samples:
        if sample.name == name and wanted <= set(sample.labels):
            return sample.value
    return None


def same(a, b):
    if math.isnan(a) and math.isnan(b):
        return True
    return a == b or math.isclose(a, b, rel_tol=1e-12)


def within(low, value, high, slack):
    slack += 1e-9 * max(abs(low), abs(high), 1.0)
    return low - slack <= value <= high + slack


class Report:
    def __init__(self):
        self.families = 0
        self.series = 0
        self.checked_values = 0
        self.differences = []
        self.allowed = {}
        self.extra_families = set()

    def differ(self, kind, collector, family, detail, labels=()):
        for number, rule in enumerate(ALLOWED):
            if rule.matches(kind, family, labels):
                families, count = self.allowed.get(number, (set(), 0))
                families.add(family)
                self.allowed[number] = (families, count + 1)
                return
        self.differences.append("%s: %s: %s: %s" % (collector, kind, family, detail))


def compare_collector(collector, hw_base, ne_base, report):
    before = scrape(ne_base, collector)
    hostwatch = scrape(hw_base, collector)
    after = scrape(ne_base, collector)
    if not before.collectors().get(collector) or not hostwatch.collectors().get(collector):
        return False
    report.extra_families.update(
        f for f in hostwatch.samples if f not in before.samples and not META.match(f)
    )
    after_index = {
        family: index(samples) for family, samples in after.samples.items()
    }
    for family, ne_samples in sorted(before.samples.items()):
        if META.match(family):
            continue
        report.families += 1
        hw_samples = hostwatch.samples.get(family)
        if not hw_samples:
            report.series += len(ne_samples)
            report.differ("family", collector, family, "%d series" % len(ne_samples))
            continue
        ne_type = before.types.get(family, "untyped")
        hw_type = hostwatch.types.get(family, "untyped")
        if ne_type != hw_type:
            report.differ("type", collector, family, "%s, hostwatch %s" % (ne_type, hw_type))
        for sample in ne_samples:
            report.series += 1
            value = find_covering(hw_samples, sample.name, blanked(family, sample.labels))
            if value is None:
                report.differ(
                    "series", collector, family,
                    "no series covering %s%s" % (sample.name, dict(sample.labels)),
                    sample.labels,
                )
                continue
            later = after_index.get(family, {}).get((sample.name, sample.labels))
            if later is None:
                continue
            if STEADY.match(family) and same(sample.value, later):
                report.checked_values += 1
                if not same(sample.value, value):
                    report.differ(
                        "value", collector, family,
                        "%s%s: node_exporter %r, hostwatch %r"
                        % (sample.name, dict(sample.labels), sample.value, value),
                        sample.labels,
                    )
            elif ne_type == "counter":
                report.checked_values += 1
                if not within(sample.value, value, later, COUNTER_SLACK.get(family, 0.0)):
                    report.differ(
                        "value", collector, family,
                        "%s%s: hostwatch %r outside node_exporter's %r .. %r"
                        % (sample.name, dict(sample.labels), value, sample.value, later),
                        sample.labels,
                    )
    return True


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    hw_base, ne_base = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/")
    hw_collectors = scrape(hw_base).collectors()
    ne_collectors = scrape(ne_base).collectors()

    report = Report()
    compared, skipped = [], []
    for collector in sorted(hw_collectors):
        if collector not in ne_collectors:
            skipped.append("%s (node_exporter does not run it)" % collector)
        elif not hw_collectors[collector] or not ne_collectors[collector]:
            who = [n for n, ok in (("hostwatch", hw_collectors[collector]),
                                   ("node_exporter", ne_collectors[collector])) if not ok]
            skipped.append("%s (fails on this machine in %s)" % (collector, " and ".join(who)))
        elif compare_collector(collector, hw_base, ne_base, report):
            compared.append(collector)
        else:
            skipped.append("%s (failed in a per-collector scrape)" % collector)

    print("parity: compared %d collectors: %s" % (len(compared), " ".join(compared)))
    for line in skipped:
        print("parity: skipped %s" % line)
    print(
        "parity: %d families, %d series, %d values checked; %d allowed differences, %d differences"
        % (report.families, report.series, report.checked_values,
           sum(count for _, count in report.allowed.values()), len(report.differences))
    )
    for number, (families, count) in sorted(report.allowed.items()):
        rule = ALLOWED[number]
        print(
            "parity: allowed: %d %s differences in %d families (%s): %s"
            % (count, rule.kind, len(families), rule.family, rule.reason)
        )
    if report.extra_families:
        print(
            "parity: %d families only in hostwatch (newer than node_exporter 1.5.0?): %s"
            % (len(report.extra_families), " ".join(sorted(report.extra_families)))
        )
    for difference in report.differences:
        print("parity: DIFFERENCE %s" % difference)
    if not compared:
        print("parity: no collector compared")
        return 1
    return 1 if report.differences else 0


if __name__ == "__main__":
    sys.exit(main())
