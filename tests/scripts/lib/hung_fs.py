#!/usr/bin/env python3
"""A FUSE filesystem whose statfs never returns, for the hung-mount test.

Usage: hung_fs.py MOUNTPOINT CALL_LOG

The mount is an empty directory that answers getattr and readdir normally,
but every statfs call appends a line to CALL_LOG and then blocks forever,
as a dead NFS server or a stuck FUSE daemon would. Runs in the foreground
until killed (SIGKILL: the blocked handler threads never finish).
"""

import errno
import stat
import sys
import threading
import time

try:
    import fuse  # fusepy as PyPI names it
except ImportError:
    import fusepy as fuse  # Debian's python3-fusepy


class HungFs(fuse.Operations):
    def __init__(self, call_log):
        self.call_log = call_log
        self.mounted_at = time.time()
        self.never = threading.Event()

    def getattr(self, path, fh=None):
        if path != "/":
            raise fuse.FuseOSError(errno.ENOENT)
        return {
            "st_mode": stat.S_IFDIR | 0o755,
            "st_nlink": 2,
            "st_atime": self.mounted_at,
            "st_mtime": self.mounted_at,
            "st_ctime": self.mounted_at,
        }

    def readdir(self, path, fh):
        return [".", ".."]

    def statfs(self, path):
        with open(self.call_log, "a") as log:
            log.write("statfs\n")
        self.never.wait()
        return {}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    mountpoint, call_log = sys.argv[1], sys.argv[2]
    fuse.FUSE(HungFs(call_log), mountpoint, foreground=True, nothreads=False, fsname="hungfs")


if __name__ == "__main__":
    main()
