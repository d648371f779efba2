#!/usr/bin/env python3
"""Holds COUNT established TCP connections on the loopback (a listener and,
per connection, a client socket and its accepted peer) for at most HOLD
seconds, then exits: the load of scripts/bench-tcpstat.

Prints "ready" once every connection is established. Bounded: COUNT is at
most 30,000, HOLD at most one hour, and the process exits when its standard
input closes. Each connection takes two descriptors, so COUNT is limited by
the hard RLIMIT_NOFILE too: start several helpers for more.
"""

import argparse
import resource
import select
import socket
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--hold", type=float, default=600)
    args = parser.parse_args()
    if not 0 < args.count <= 30000:
        sys.exit("--count must be within 1..30000")
    hold = min(args.hold, 3600)
    needed = 2 * args.count + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        sys.exit(f"--count {args.count} needs {needed} descriptors; the hard limit is {hard}")
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    address = listener.getsockname()
    held = []
    for _ in range(args.count):
        client = socket.create_connection(address, timeout=5)
        peer, _ = listener.accept()
        held.append((client, peer))
    print("ready", flush=True)
    deadline = time.monotonic() + hold
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sys.stdin], [], [], max(0.0, deadline - time.monotonic()))
        if readable and not sys.stdin.read(1):
            break


if __name__ == "__main__":
    main()
