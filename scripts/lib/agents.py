"""Running agents under measurement, for the benchmark scripts: building
hostwatch, installing Debian's node_exporter, starting either on a free
loopback port, reading its CPU time, and scraping it as Prometheus does."""

import gzip
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
# Prometheus' Accept header.
ACCEPT = (
    "application/openmetrics-text;version=1.0.0,"
    "application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
TICKS = os.sysconf("SC_CLK_TCK")


def install_missing(commands):
    """Installs from Debian the packages of the missing ones among
    `commands`, a list of (executable, package)."""
    missing = [package for command, package in commands
               if not (os.access(command, os.X_OK) if os.path.isabs(command)
                       else shutil.which(command))]
    if not missing:
        return
    apt = ["apt-get"] if os.geteuid() == 0 else ["sudo", "apt-get"]
    subprocess.run(apt + ["update", "-qq"], check=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(apt + ["install", "-y", "-qq", "--no-install-recommends"] + missing,
                   check=True, env=env)
    if "prometheus-node-exporter" in missing:
        # Debian starts the packaged service on :9100; it is not what we measure.
        subprocess.run(["systemctl", "stop", "prometheus-node-exporter"],
                       stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def hostwatch_binary():
    """$HOSTWATCH, else the binary the image ships, target/image/hostwatch,
    built (or rebuilt when stale) by scripts/build-dist."""
    binary = os.environ.get("HOSTWATCH")
    if binary:
        return binary
    subprocess.run([os.path.join(ROOT, "scripts", "build-dist")], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return os.path.join(ROOT, "target", "image", "hostwatch")


def help_text(argv):
    """`argv --help`, with runs of white space folded to one space."""
    done = subprocess.run(argv + ["--help"], capture_output=True, text=True)
    return re.sub(r"\s+", " ", done.stdout + done.stderr)


def collectors(binary, default_only):
    """The collectors an agent (hostwatch or node_exporter) has, or enables
    by default, from its --help."""
    state = r" \(default: enabled\)" if default_only else ""
    found = set(re.findall(r"--(?:\[no-\])?collector\.(\w+)(?:\[=<BOOL>\])? Enable the \w+ collector" + state,
                           help_text([binary])))
    if not found:
        sys.exit("could not read the collector list from %s --help" % binary)
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One agent under test, started on a free loopback port; it must
    answer within `ready_timeout` seconds."""

    def __init__(self, name, argv, ready_timeout=10):
        self.name = name
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/metrics" % self.port
        self.proc = subprocess.Popen(
            argv + ["--web.listen-address=127.0.0.1:%d" % self.port],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            try:
                fetch(self.url, gzip_ok=False)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        sys.exit("%s did not answer on %s" % (name, self.url))

    def cpu_ticks(self):
        """utime + stime of every thread, live or ended, in clock ticks."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            # Fields after the parenthesised command name; utime and stime are
            # the 14th and 15th fields of the whole line.
            rest = f.read().rsplit(")", 1)[1].split()
        return int(rest[11]) + int(rest[12])

    def status(self):
        """RSS, peak RSS (KiB), threads and open descriptors."""
        fields = {}
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key] = value.split()[0] if value.split() else ""
        fds = len(os.listdir("/proc/%d/fd" % self.proc.pid))
        return {"rss_kib": int(fields["VmRSS"]), "hwm_kib": int(fields["VmHWM"]),
                "threads": int(fields["Threads"]), "fds": fds}

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def fetch(url, gzip_ok):
    """One scrape with Prometheus' Accept header: headers and body."""
    headers = {"Accept": ACCEPT}
    if gzip_ok:
        headers["Accept-Encoding"] = "gzip"
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers, response.read()


def describe_response(server):
    """What one scrape returns: content type, bytes raw and gzipped, the
    text, and its number of series."""
    headers, raw = fetch(server.url, gzip_ok=False)
    zheaders, zipped = fetch(server.url, gzip_ok=True)
    gzipped = zheaders.get("Content-Encoding") == "gzip"
    text = (gzip.decompress(zipped) if gzipped else zipped).decode("utf-8", "replace")
    series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    return {"content_type": headers.get("Content-Type", "?"), "raw_bytes": len(raw),
            "gzip_bytes": len(zipped), "gzipped": gzipped, "series": series, "text": text}


def failed_collectors(text):
    """The collectors a scrape reports with node_scrape_collector_success 0."""
    return sorted(re.findall(r'^node_scrape_collector_success\{collector="(\w+)"\} 0$',
                             text, re.MULTILINE))
