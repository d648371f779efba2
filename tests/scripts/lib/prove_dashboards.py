#!/usr/bin/env python3
"""Runs every dashboard query and every rule expression against a Prometheus
that scrapes hostwatch, and fails on any error or unexplained empty result.

  prove_dashboards.py --prometheus URL --job JOB --instance HOST:PORT \
           --optional-job JOB --optional-instance HOST:PORT \
           [--procfs /proc] [--sysfs /sys] [--rootfs /] DASHBOARD.json...

JOB/INSTANCE is the agent as the shipped DaemonSet runs it; the optional
job and instance, the same agent with the collectors the dashboards' rows
OPTIONAL_ROWS ask for also on.

What must hold:
- dashboard panel queries, variable queries and recording rules return
  data from the shipped agent;
- the panels of the optional rows return data from the optional agent; each
  description names the --collector.NAME flags it needs, and none of them
  may report on the shipped agent (the panel would belong in another row);
- alert expressions run without error (they are empty while nothing is
  wrong), and every series selector in them returns data, or belongs to a
  collector the shipped agent leaves off (node-mixin's systemd alerts);
- Prometheus evaluated every loaded rule without error;
- dashboard annotation queries run without error on the optional agent
  (they are empty while no event happens), every selector explained as for
  panels;
- every dashboard selector filters by cluster and job (and the node
  dashboard's by instance; kube-state-metrics series, joined on a label, by
  cluster only), every rate-like window is $__rate_interval, and every
  panel has a description, a unit and thresholds.

An empty result is accepted only when each empty selector in it is
explained by the allow-list below: a collector this build does not have yet
(NOT_MERGED), or hardware or a kernel feature this machine lacks (ABSENT,
each with a probe of this machine's /proc and /sys that must confirm it);
in alert rules also a collector the shipped agent leaves off.

Standard library only: urllib and json.
"""

import argparse
import json
import pathlib
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# ------------------------------------------------------------------ allow-list

# Which collector emits which metrics (node_exporter's names), to tell why a
# selector is empty.
COLLECTOR_METRICS = {
    "arp": r"node_arp_",
    "bonding": r"node_bonding_",
    "cgroupstats": r"node_cgroup_",
    "conntrack": r"node_nf_conntrack_",
    "cpufreq": r"node_cpu_scaling_",
    "filesystem": r"node_filesystem_",
    "hwmon": r"node_hwmon_",
    "interrupts": r"node_interrupts_total$",
    "mdadm": r"node_md_",
    "netstat": r"node_netstat_",
    "os": r"node_os_",
    "powersupplyclass": r"node_power_supply_",
    "pressure": r"node_pressure_",
    "processes": r"node_processes_",
    "schedstat": r"node_schedstat_",
    "sockstat": r"node_sockstat_",
    "softnet": r"node_softnet_",
    "systemd": r"node_systemd_",
    "tcpstat": r"node_tcp_connection_states$",
    "thermal_zone": r"node_(thermal_zone_|cooling_device_)",
    "time": r"node_time_seconds$",
    "timex": r"node_timex_",
    "udp_queues": r"node_udp_queues$",
    "uname": r"node_uname_info$",
}

# Collectors hostwatch does not have: their metrics are missing because the
# agent lacks the collector. An entry applies only while the agent reports no
# node_scrape_collector_success for it, and only to metric names
# node_exporter itself exposes on this machine (--reference), so a misspelt
# name is never excused; once the collector reports, the summary says the
# entry can go. Every collector the dashboards and rules use exists today.
# (Collectors whose hardware this machine lacks, such as mdadm or hwmon, need
# no entry: node_exporter has none of their metrics here either, and ABSENT
# explains them.)
NOT_MERGED = []


def _missing(path):
    return not path.exists()


def _empty_dir(path, pattern="*"):
    return not path.is_dir() or not any(path.glob(pattern))


def _no_md_arrays(roots):
    mdstat = roots.proc / "mdstat"
    if not mdstat.exists():
        return True
    return not re.search(r"^md\S* : ", mdstat.read_text(errors="replace"), re.M)


def _no_bonds(roots):
    masters = roots.sys / "class/net/bonding_masters"
    return not masters.exists() or not masters.read_text().strip()


def _no_system_bus(roots):
    return all(_missing(roots.root / p) for p in ("run/systemd/private", "run/dbus/system_bus_socket"))


def _cgroup2_root(roots):
    """The cgroup v2 hierarchy's root, as the cgroupstats collector finds it
    (`fs/cgroup`, or `fs/cgroup/unified` on a hybrid host), or None."""
    for root in (roots.sys / "fs/cgroup", roots.sys / "fs/cgroup/unified"):
        if (root / "cgroup.controllers").is_file():
            return root
    return None


def _no_kubernetes(roots):
    """No kubepods cgroup, no kubelet and no container runtime service."""
    root = _cgroup2_root(roots)
    if root is None:
        return True
    services = ("kubelet", "containerd", "crio", "docker", "cri-docker")
    return (not any((root / name).exists() for name in ("kubepods", "kubepods.slice"))
            and not any((root / f"system.slice/{name}.service").exists() for name in services))


def _cgroup_controller_off(controller):
    """The controller is not enabled for the root's children, so no
    reported cgroup has its files."""
    def probe(roots):
        root = _cgroup2_root(roots)
        return root is None or controller not in (root / "cgroup.subtree_control").read_text().split()
    return probe


def _no_hardware_corrupted_line(roots):
    return "HardwareCorrupted:" not in (roots.proc / "meminfo").read_text(errors="replace")


# Hardware or kernel features this machine may lack: (name, metrics, why,
# probe). The pattern matches the metric name or, for entries about label
# values (the cgroups of a Kubernetes node), the whole selector. An entry
# explains an empty selector (and so the panels showing it) only if its
# probe confirms the absence on this machine; the summary lists each panel
# an entry excused.
ABSENT = [
    ("md RAID", r"node_md_", "no md arrays in /proc/mdstat", _no_md_arrays),
    ("bonding", r"node_bonding_", "no bonding masters in /sys/class/net", _no_bonds),
    ("systemd", r"node_systemd_", "no systemd or D-Bus system bus socket for the systemd "
     "collector to ask", _no_system_bus),
    ("hwmon", r"node_hwmon_", "no /sys/class/hwmon devices",
     lambda r: _empty_dir(r.sys / "class/hwmon")),
    ("thermal zones", r"node_thermal_zone_", "no /sys/class/thermal/thermal_zone*",
     lambda r: _empty_dir(r.sys / "class/thermal", "thermal_zone*")),
    ("cooling devices", r"node_cooling_device_", "no /sys/class/thermal/cooling_device*",
     lambda r: _empty_dir(r.sys / "class/thermal", "cooling_device*")),
    ("power supplies", r"node_power_supply_", "no /sys/class/power_supply entries",
     lambda r: _empty_dir(r.sys / "class/power_supply")),
    ("cpufreq", r"node_cpu_scaling_", "no cpufreq driver (/sys/devices/system/cpu/cpu0/cpufreq)",
     lambda r: _missing(r.sys / "devices/system/cpu/cpu0/cpufreq")),
    ("schedstat", r"node_schedstat_", "kernel without CONFIG_SCHEDSTATS (/proc/schedstat)",
     lambda r: _missing(r.proc / "schedstat")),
    ("IRQ pressure", r"node_pressure_irq_", "kernel without IRQ pressure (/proc/pressure/irq)",
     lambda r: _missing(r.proc / "pressure/irq")),
    ("memory failure", r"node_memory_HardwareCorrupted_bytes$", "kernel without "
     "CONFIG_MEMORY_FAILURE (no HardwareCorrupted in /proc/meminfo)", _no_hardware_corrupted_line),
    # The workloads row is about a Kubernetes node's pods, kubelet and
    # runtime, and kube-state-metrics runs only in a cluster.
    ("Kubernetes", r'node_cgroup_\w+\{.*(kubepods|kubelet|containerd|crio|docker|uid!="")',
     "not a Kubernetes node: no kubepods, kubelet or container runtime cgroup", _no_kubernetes),
    ("kube-state-metrics", r"kube_", "not a Kubernetes node (no kubepods cgroup), so no "
     "kube-state-metrics to scrape", _no_kubernetes),
    ("cgroup memory controller", r"node_cgroup_memory_", "memory controller not enabled below "
     "the cgroup v2 root", _cgroup_controller_off("memory")),
    ("cgroup cpu controller", r"node_cgroup_cpu_(periods|throttled|period|quota)", "cpu controller "
     "not enabled below the cgroup v2 root", _cgroup_controller_off("cpu")),
]

# The rows (by title prefix) that hold the panels of collectors the shipped
# DaemonSet leaves off; scripts/render-dashboards writes them.
OPTIONAL_ROWS = ("Workloads", "Optional collectors")

# Grafana's variables and built-ins as the proof substitutes them; a `$`
# left after substitution fails the query.
def substitutions(job, instance):
    return {
        "__rate_interval": "1m",
        "__interval": "15s",
        "__range": "5m",
        "datasource": "prometheus",
        "cluster": ".*",
        "job": job,
        "instance": instance,
    }


# ------------------------------------------------------------------ PromQL


KEYWORDS_WITH_LABELS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"}
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
                "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<braces>\{(?:[^}"']|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')*\})
  | (?P<brackets>\[[^\]]*\])
  | (?P<number>\d[\w.]*)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<other>.)
""", re.X | re.S)


def tokens(expr):
    return [(m.lastgroup, m.group()) for m in TOKEN.finditer(expr) if m.lastgroup != "space"]


def selectors(expr):
    """The series selectors of a PromQL expression: `name{matchers}` texts."""
    toks, found, i = tokens(expr), [], 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else (None, None)
        if kind == "ident" and text in KEYWORDS_WITH_LABELS and nxt[1] == "(":
            depth, i = 0, i + 1
            while i < len(toks):
                depth += {"(": 1, ")": -1}.get(toks[i][1], 0)
                if depth == 0:
                    break
                i += 1
        elif kind == "ident" and (text in KEYWORDS or text in AGGREGATIONS or nxt[1] == "("):
            pass
        elif kind == "ident":
            if nxt[0] == "braces":
                found.append(text + nxt[1])
                i += 1
            else:
                found.append(text)
        elif kind == "braces":
            found.append(text)
        i += 1
    return found


def metric_name(selector):
    match = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", selector)
    if match:
        return match.group()
    match = re.search(r"__name__\s*=\s*\"([^\"]+)\"", selector)
    return match.group(1) if match else ""


def rate_windows(expr):
    """Range windows of rate-like functions, which dashboards must take
    from $__rate_interval."""
    # String literals are blanked first: a `[.]` in a label's regular
    # expression is no range window.
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    return re.findall(r"\b(?:rate|irate|increase|deriv)\(\s*[^\[\]()]*\[([^\]]+)\]", code)


# ------------------------------------------------------------------ Prometheus


class Prometheus:
    def __init__(self, url):
        self.url = url.rstrip("/")
        # Loopback only: never through a proxy from the environment.
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(self, path, **params):
        url = f"{self.url}{path}"
        data = urllib.parse.urlencode(params).encode() if params else None
        try:
            with self.opener.open(url, data=data, timeout=30) as response:
                body = json.load(response)
        except urllib.error.HTTPError as e:
            body = json.load(e)
        if body.get("status") != "success":
            raise QueryError(f"{body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr):
        data = self.get("/api/v1/query", query=expr)
        return data["result"] if data["resultType"] in ("vector", "matrix") else [data["result"]]


class QueryError(Exception):
    pass


# ------------------------------------------------------------------ the proof


class Proof:
    def __init__(self, prom, roots, job, instance, reference, optional_job, optional_instance):
        self.prom, self.roots, self.reference = prom, roots, reference
        self.subs = substitutions(job, instance)
        self.optional_subs = substitutions(optional_job, optional_instance)
        self.job, self.instance = job, instance
        self.optional_job, self.optional_instance = optional_job, optional_instance
        self.counts = {"dashboard panel queries": 0, "optional-row panel queries": 0,
                       "dashboard variable queries": 0, "dashboard annotation queries": 0,
                       "recording rules": 0, "alert rules": 0}
        self.with_data, self.allowed, self.failures, self.lint = 0, [], [], []
        self.selector_cache = {}
        self.recorded = {}
        self.reporting = set()
        self.optional_reporting = set()
        self.used_entries = set()

    # -- explanation of empty selectors

    def collectors_reporting(self):
        def reporting(job, instance):
            sel = f'node_scrape_collector_success{{job="{job}", instance="{instance}"}}'
            return {s["metric"]["collector"] for s in self.prom.query(sel)}
        self.reporting = reporting(self.job, self.instance)
        self.optional_reporting = reporting(self.optional_job, self.optional_instance)

    def explain(self, name, selector, off_allowed=False):
        """Why metric `name` may be missing here, or None. `off_allowed`
        accepts a collector the shipped agent leaves off."""
        for collector, pattern in COLLECTOR_METRICS.items():
            if (re.match(pattern, name) and collector in NOT_MERGED
                    and collector not in self.reporting and name in self.reference):
                return f"collector {collector} not merged yet"
            if off_allowed and re.match(pattern, name) and collector not in self.reporting:
                return f"collector {collector} off in the shipped DaemonSet"
        for entry, pattern, why, probe in ABSENT:
            if (re.match(pattern, name) or re.match(pattern, selector)) and probe(self.roots):
                return f"{entry}: {why}"
        return None

    def empty_selectors(self, expr, depth=0, off_allowed=False):
        """Empty selectors of `expr`, recording rules followed to their
        source selectors: [(selector, explanation or None)]."""
        out = []
        for sel in selectors(expr):
            if sel not in self.selector_cache:
                self.selector_cache[sel] = bool(self.prom.query(sel))
            if self.selector_cache[sel]:
                continue
            name = metric_name(sel)
            if name in self.recorded and depth < 3:
                inner = self.empty_selectors(self.recorded[name], depth + 1, off_allowed)
                out.extend(inner or [(sel, None)])
            else:
                out.append((sel, self.explain(name, sel, off_allowed)))
        return out

    # -- checks

    def check(self, where, expr, must_have_data=True, off_allowed=False):
        try:
            result = self.prom.query(expr)
        except QueryError as e:
            self.failures.append(f"{where}: query error: {e}\n      {expr}")
            return
        if result and must_have_data:
            self.with_data += 1
            return
        empty = self.empty_selectors(expr, off_allowed=off_allowed)
        unexplained = [sel for sel, why in empty if why is None]
        if unexplained:
            self.failures.append(f"{where}: no data for {', '.join(unexplained)}\n      {expr}")
        elif empty:
            reasons = sorted({why for _, why in empty})
            self.used_entries.update(reasons)
            self.allowed.append((where, reasons))
        elif must_have_data:
            self.failures.append(f"{where}: empty although each selector has data\n      {expr}")
        else:
            self.with_data += 1

    def substitute(self, where, expr, subs=None):
        subs = subs or self.subs

        def replace(match):
            name = match.group(1) or match.group(2)
            if name not in subs:
                self.failures.append(f"{where}: unknown variable ${name}")
                return match.group()
            return subs[name]
        return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", replace, expr)

    def lint_optional(self, where, panel):
        """A panel of the optional row names the flags it needs, and each
        names a collector the shipped agent leaves off and the optional
        agent runs."""
        flags = re.findall(r"--collector\.(\w+)", panel.get("description", ""))
        if not flags:
            self.lint.append(f"{where}: in an optional row, but its description names no --collector.NAME")
        for collector in flags:
            if collector in self.reporting:
                self.lint.append(f"{where}: the shipped agent runs {collector}: move the panel out of "
                                 "the optional rows")
            elif collector not in self.optional_reporting:
                self.lint.append(f"{where}: the optional agent does not run {collector}: "
                                 "add its flag in 70-dashboards.sh")

    def lint_selectors(self, where, expr, require):
        for sel in selectors(expr):
            # kube-state-metrics series carry its own job and instance, not
            # the node's: they are joined on a label (uid) to series that
            # carry the node's filters, and narrowed by cluster only.
            labels = ["cluster"] if metric_name(sel).startswith("kube_") else require
            for label in labels:
                if not re.search(rf"\b{label}\s*=~?\s*\"\$", sel):
                    self.lint.append(f"{where}: {sel} does not filter by ${label}")

    def lint_dashboard(self, file, dashboard):
        require = ["cluster", "job"] + (["instance"] if file == "node.json" else [])
        for annotation in prometheus_annotations(dashboard):
            self.lint_selectors(f"{file} / annotation {annotation['name']}",
                                annotation["target"]["expr"], require)
        for row, panel in panels_with_rows(dashboard):
            where = f"{file} / {panel.get('title')}"
            if panel["type"] == "row":
                continue
            if row.startswith(OPTIONAL_ROWS):
                self.lint_optional(where, panel)
            if not panel.get("description"):
                self.lint.append(f"{where}: no description")
            defaults = panel.get("fieldConfig", {}).get("defaults", {})
            if not defaults.get("unit"):
                self.lint.append(f"{where}: no unit")
            if not defaults.get("thresholds", {}).get("steps"):
                self.lint.append(f"{where}: no thresholds")
            for t in panel.get("targets", []):
                expr = t["expr"]
                for window in rate_windows(expr):
                    if window != "$__rate_interval":
                        self.lint.append(f"{where}: rate window [{window}] is not $__rate_interval")
                self.lint_selectors(where, expr, require)

    def run_dashboard(self, path):
        dashboard = json.loads(path.read_text())
        self.lint_dashboard(path.name, dashboard)
        for variable in dashboard.get("templating", {}).get("list", []):
            if variable.get("type") != "query":
                continue
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query.strip())
            where = f"{path.name} / variable {variable['name']}"
            if not match:
                self.failures.append(f"{where}: not a label_values(selector, label) query: {query}")
                continue
            self.counts["dashboard variable queries"] += 1
            selector, label = self.substitute(where, match.group(1)), match.group(2)
            self.check(where, selector)
            # The cluster label is optional ("All" then matches targets without it).
            series = self.prom.query(selector) if label != "cluster" else []
            if series and not any(s["metric"].get(label) for s in series):
                self.failures.append(f"{where}: no series of {selector} has a {label} label")
        # Annotations mark events (an OOM kill) and are empty while none
        # happens; they run on the optional agent, which runs every
        # collector the shipped one does and those the annotations name.
        for annotation in prometheus_annotations(dashboard):
            where = f"{path.name} / annotation {annotation['name']}"
            self.counts["dashboard annotation queries"] += 1
            self.check(where + " (optional agent)",
                       self.substitute(where, annotation["target"]["expr"], self.optional_subs),
                       must_have_data=False)
        for row, panel in panels_with_rows(dashboard):
            optional = row.startswith(OPTIONAL_ROWS)
            for t in panel.get("targets", []):
                where = f"{path.name} / {panel.get('title')} / {t.get('refId')}"
                if optional:
                    self.counts["optional-row panel queries"] += 1
                    self.check(where + " (optional agent)",
                               self.substitute(where, t["expr"], self.optional_subs))
                else:
                    self.counts["dashboard panel queries"] += 1
                    self.check(where, self.substitute(where, t["expr"]))

    def run_rules(self):
        groups = self.prom.get("/api/v1/rules")["groups"]
        rules = [r for g in groups for r in g["rules"]]
        self.recorded = {r["name"]: r["query"] for r in rules if r["type"] == "recording"}
        for rule in rules:
            where = f"rule {rule['name']}"
            if rule.get("health") == "err":
                self.failures.append(f"{where}: Prometheus reports {rule.get('lastError')}")
            if rule["type"] == "recording":
                self.counts["recording rules"] += 1
                self.check(where, rule["query"])
            else:
                self.counts["alert rules"] += 1
                self.check(where, rule["query"], must_have_data=False, off_allowed=True)
        return len(rules)

    def summary(self):
        total = sum(self.counts.values())
        print("== proof summary")
        print(f"queries run: {total} (" + ", ".join(f"{k}: {v}" for k, v in self.counts.items()) + ")")
        print(f"series selectors checked on their own: {len(self.selector_cache)}")
        print(f"with data (alert rules: ran, every selector has data): {self.with_data}")
        print(f"empty, allow-listed: {len(self.allowed)}")
        by_reason = {}
        for where, reasons in self.allowed:
            for reason in reasons:
                by_reason.setdefault(reason, []).append(where)
        for reason in sorted(by_reason):
            print(f"  {reason}: {len(by_reason[reason])}")
            for where in by_reason[reason]:
                print(f"      {where}")
        stale = [c for c in NOT_MERGED if c in self.reporting]
        if stale:
            print("allow-list entries to remove (the collector reports now): " + ", ".join(stale))
        print(f"lint problems: {len(self.lint)}")
        for problem in self.lint:
            print(f"  {problem}")
        print(f"failed: {len(self.failures)}")
        for failure in self.failures:
            print(f"  {failure}")
        ok = total - len(self.failures)
        print(f"{ok} passed, {len(self.failures) + len(self.lint)} failed")
        return not self.failures and not self.lint


def prometheus_annotations(dashboard):
    """The dashboard's annotations that are Prometheus queries."""
    return [a for a in dashboard.get("annotations", {}).get("list", [])
            if a.get("datasource", {}).get("type") == "prometheus" and a.get("target", {}).get("expr")]


def panels_with_rows(dashboard):
    """(title of the row the panel is under, panel) of every panel, those of
    collapsed rows included; "" before the first row."""
    row = ""
    for panel in dashboard.get("panels", []):
        if panel["type"] == "row":
            row = panel.get("title", "")
        yield row, panel
        for inner in panel.get("panels", []):
            yield row, inner


class Roots:
    def __init__(self, proc, sys_, root):
        self.proc, self.sys, self.root = pathlib.Path(proc), pathlib.Path(sys_), pathlib.Path(root)


def wait_for_data(prom, job, timeout):
    """Waits (bounded) until the target has been scraped several times and
    every rule group has been evaluated at least twice."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            samples = prom.query(f'count_over_time(up{{job="{job}"}}[1m])')
            groups = prom.get("/api/v1/rules")["groups"]
            evaluated = all(not g["lastEvaluation"].startswith("0001") for g in groups)
            if samples and float(samples[0]["value"][1]) >= 5 and evaluated and groups:
                time.sleep(2)  # one more rule evaluation, now with rates over several samples
                return
            last = f"{samples[0]['value'][1] if samples else 0} scrapes, rule groups evaluated: {evaluated}"
        except (OSError, QueryError) as e:
            last = str(e)
        time.sleep(1)
    sys.exit(f"Prometheus has no data after {timeout} s: {last}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--job", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--optional-job", required=True)
    parser.add_argument("--optional-instance", required=True)
    parser.add_argument("--procfs", default="/proc")
    parser.add_argument("--sysfs", default="/sys")
    parser.add_argument("--rootfs", default="/")
    parser.add_argument("--wait", type=float, default=60)
    parser.add_argument("--reference", required=True, type=pathlib.Path,
                        help="node_exporter's /metrics on this machine: the metric names that exist")
    parser.add_argument("dashboards", nargs="+", type=pathlib.Path)
    args = parser.parse_args()

    prom = Prometheus(args.prometheus)
    for job in (args.job, args.optional_job):
        wait_for_data(prom, job, args.wait)
    reference = set(re.findall(r"^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]", args.reference.read_text(), re.M))
    proof = Proof(prom, Roots(args.procfs, args.sysfs, args.rootfs), args.job, args.instance, reference,
                  args.optional_job, args.optional_instance)
    proof.collectors_reporting()
    proof.run_rules()
    for path in args.dashboards:
        proof.run_dashboard(path)
    sys.exit(0 if proof.summary() else 1)


if __name__ == "__main__":
    main()
