#!/usr/bin/env python3
"""Makes this machine look like a busy node, for measuring what the
processes and tcpstat collectors cost there: many processes and threads,
and many TCP sockets.

    busy_node.py [--processes N] [--threads-each T] [--connections C] [--seconds S]

Starts N sleeping child processes of T threads each (N * T tasks in
/proc/*/task), and C loopback TCP connections (2 * C established sockets in
/proc/net/tcp, both ends, plus the listener). Prints one line, `ready
TASKS SOCKETS`, once everything is up, then holds it until S seconds have
passed, its standard input closes, or it gets SIGTERM or SIGINT; the
children go with it (they exit when their pipe from this process closes).

Bounded: at most 20,000 tasks and 50,000 connections, at most an hour, and
the descriptor limit is raised only up to its hard limit.
"""

import argparse
import os
import resource
import select
import signal
import socket
import sys
import threading
import time

MAX_TASKS = 20_000
MAX_CONNECTIONS = 50_000
MAX_SECONDS = 3600


def child(threads, parent_gone):
    """A process of `threads` threads (its main one included) that all
    sleep until the parent's end of the pipe closes."""
    threading.stack_size(64 * 1024)
    stop = threading.Event()
    for _ in range(threads - 1):
        threading.Thread(target=stop.wait, daemon=True).start()
    os.read(parent_gone, 1)
    os._exit(0)


def spawn(processes, threads):
    """The children, as (pid, write end of the pipe that keeps them)."""
    children = []
    for _ in range(processes):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            # Only the parent may hold a write end, so that its exit, even
            # by SIGKILL, ends every child.
            for _, other in children:
                os.close(other)
            os.close(write_end)
            child(threads, read_end)
        os.close(read_end)
        children.append((pid, write_end))
    return children


def connect(count):
    """`count` established loopback connections: every socket, both ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    address = listener.getsockname()
    sockets = [listener]
    for _ in range(count):
        client = socket.create_connection(address, timeout=10)
        server, _ = listener.accept()
        sockets += [client, server]
    return sockets


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=0)
    parser.add_argument("--threads-each", type=int, default=1)
    parser.add_argument("--connections", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=600)
    args = parser.parse_args()
    tasks = args.processes * args.threads_each
    if not 0 <= tasks <= MAX_TASKS or args.threads_each < 1:
        sys.exit(f"busy_node.py: at most {MAX_TASKS} tasks (processes x threads), threads >= 1")
    if not 0 <= args.connections <= MAX_CONNECTIONS:
        sys.exit(f"busy_node.py: at most {MAX_CONNECTIONS} connections")
    seconds = min(max(args.seconds, 0), MAX_SECONDS)

    # Two descriptors a connection, and a margin.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * args.connections + 64
    if needed > soft:
        if hard != resource.RLIM_INFINITY and needed > hard:
            sys.exit(f"busy_node.py: {args.connections} connections need {needed} descriptors; "
                     f"the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    children = spawn(args.processes, args.threads_each)
    try:
        sockets = connect(args.connections)
        print(f"ready {tasks} {len(sockets)}", flush=True)
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([sys.stdin], [], [], min(left, 1))
            if readable and not sys.stdin.buffer.read1(4096):
                break
    except KeyboardInterrupt:
        pass
    finally:
        for _, keep in children:
            os.close(keep)
        for pid, _ in children:
            os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
