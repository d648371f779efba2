"""Synthetic host trees: a procfs, sysfs, rootfs and udev database in the
kernel's own formats, with as many CPUs, network interfaces, mounts and
disks as asked, for measuring how an agent's cost grows with the host.

The fixed part of the tree (memory, hwmon, thermal zones, NFS, XFS, ...)
is copied from tests/fixtures/, so that every default collector has what
it reads. The parts that scale are written here, in the formats of the
fixtures and of a Linux 6.x kernel:

- CPUs: /proc/stat, /proc/cpuinfo, /proc/schedstat, softnet_stat,
  /sys/devices/system/cpu/{online,possible,present,offline,isolated} and
  each cpuN/{online,topology/,thermal_throttle/,cpufreq -> ../cpufreq/policyN};
- interfaces (lo, eth0 and the veths): /proc/1/net/dev and /proc/net/dev,
  /sys/class/net/<if> -> /sys/devices/.../net/<if> with its attributes and
  statistics/;
- mounts: /proc/1/mountinfo, /proc/self/mountinfo, /proc/1/mounts and
  /proc/mounts, with each reported mount point a directory under root/
  (plus the usual /proc, /sys, /dev mounts, which the default filters drop);
- disks (vda, vdb, ...; vda holds two partitions): /proc/diskstats (20
  fields), /sys/block/<dev> -> /sys/devices/.../block/<dev> with queue/,
  and the udev database files b<major>:<minor>.

Values are drawn from a seeded generator: the same arguments give the same
tree. Every count a collector reports can be computed from the sizes:
see `Sizes`.
"""

import os
import random
import shutil
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")

# USER_HZ: /proc/stat counts in 1/100 s on every architecture.
USER_HZ = 100
# The virtio block driver's major number on this machine's kernel.
VIRTIO_BLOCK_MAJOR = 252
DEVICE_MAPPER_MAJOR = 253
# Minor numbers per virtio disk: the disk, then up to 15 partitions.
MINORS_PER_DISK = 16
# Threads per core on hosts with at least this many CPUs (SMT on).
SMT_FROM_CPUS = 4
# Cores per package: larger hosts have several packages.
MAX_CORES_PER_PACKAGE = 64
CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
             "guest", "guest_nice")
GOVERNORS = "conservative ondemand userspace powersave performance schedutil"

# Files of the fixtures the generator writes itself, or leaves out because
# they describe the fixture host's CPUs, interfaces, mounts or disks.
OWNED = (
    "proc/stat",
    "proc/cpuinfo",
    "proc/schedstat",
    "proc/diskstats",
    "proc/interrupts",
    "proc/softirqs",
    "proc/1/mountinfo",
    "proc/1/mountstats",
    "proc/1/net/dev",
    "proc/1/net/softnet_stat",
    "sys/class/net",
    "sys/devices/system/cpu",
)


@dataclass(frozen=True)
class Sizes:
    """The dimensions of a synthetic host.

    `veths` counts the veth interfaces besides lo and eth0; `mounts` the
    mounts the filesystem collector reports with its default filters;
    `disks` the whole disks diskstats reports with its default filter.
    """

    cpus: int = 2
    veths: int = 0
    mounts: int = 5
    disks: int = 2

    @property
    def interfaces(self):
        return self.veths + 2

    @property
    def threads_per_core(self):
        return 2 if self.cpus >= SMT_FROM_CPUS and self.cpus % 2 == 0 else 1

    @property
    def cores(self):
        return self.cpus // self.threads_per_core

    @property
    def packages(self):
        return max(1, -(-self.cores // MAX_CORES_PER_PACKAGE))

    @property
    def cores_per_package(self):
        return -(-self.cores // self.packages)

    def validate(self):
        """Refuses sizes no host has: no CPU, no root filesystem, or no
        disk to hold it."""
        for name, least in (("cpus", 1), ("veths", 0), ("mounts", 1), ("disks", 1)):
            if getattr(self, name) < least:
                raise ValueError("--%s must be at least %d" % (name, least))


def generate(dest, sizes, seed=1):
    """Writes the tree for `sizes` into `dest` (created; must not exist):
    dest/proc, dest/sys, dest/root and dest/udev."""
    sizes.validate()
    rng = random.Random(seed)
    os.makedirs(dest)
    copy_fixed(dest)
    write_cpus(dest, sizes, rng)
    write_interfaces(dest, sizes, rng)
    write_mounts(dest, sizes, rng)
    write_disks(dest, sizes, rng)
    mirror_own_namespace(dest)


# ---------------------------------------------------------------- files


def write(dest, path, text):
    full = os.path.join(dest, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)


def write_attributes(dest, directory, attributes):
    """One sysfs file per attribute, each value ending in a newline as the
    kernel prints them."""
    for name, value in attributes.items():
        write(dest, os.path.join(directory, name), "%s\n" % value)


def symlink(dest, link, target):
    full = os.path.join(dest, link)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    os.symlink(target, full)


def copy_fixed(dest):
    """The fixtures' procfs and sysfs less the parts generated here, their
    rootfs's /etc, and their md (RAID) block devices."""
    for tree in ("proc", "sys"):
        shutil.copytree(os.path.join(FIXTURES, tree), os.path.join(dest, tree),
                        symlinks=True)
    for path in OWNED:
        full = os.path.join(dest, path)
        if os.path.isdir(full):
            shutil.rmtree(full)
        elif os.path.exists(full):
            os.remove(full)
    block = os.path.join(dest, "sys", "block")
    for name in os.listdir(block):
        # The md devices belong to /proc/mdstat, which stays.
        if not name.startswith("md"):
            shutil.rmtree(os.path.join(block, name))
    shutil.copytree(os.path.join(FIXTURES, "sys", "devices", "system", "cpu", "vulnerabilities"),
                    os.path.join(dest, "sys", "devices", "system", "cpu", "vulnerabilities"))
    os.makedirs(os.path.join(dest, "root"))
    shutil.copytree(os.path.join(FIXTURES, "root", "etc"), os.path.join(dest, "root", "etc"))
    os.makedirs(os.path.join(dest, "udev"))


def mirror_own_namespace(dest):
    """/proc/net and /proc/self are links to the reading process's own
    entries on a real host; in the tree they are copies of PID 1's."""
    shutil.copytree(os.path.join(dest, "proc", "1", "net"), os.path.join(dest, "proc", "net"))
    os.makedirs(os.path.join(dest, "proc", "self"), exist_ok=True)
    for name in ("mountinfo", "mounts"):
        shutil.copy(os.path.join(dest, "proc", "1", name),
                    os.path.join(dest, "proc", "self", name))
    shutil.copy(os.path.join(dest, "proc", "1", "mounts"), os.path.join(dest, "proc", "mounts"))


def cpu_list(cpus):
    """The kernel's list format: "0-3,8,10-11"; empty for no CPUs."""
    ranges = []
    for cpu in sorted(cpus):
        if ranges and ranges[-1][1] == cpu - 1:
            ranges[-1][1] = cpu
        else:
            ranges.append([cpu, cpu])
    return ",".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in ranges)


def cpu_mask(cpus, nr_cpu_ids):
    """The kernel's bitmap format (%*pb): 32-bit hex groups separated by
    commas, most significant first, the first group only as wide as the
    bits left over."""
    value = sum(1 << cpu for cpu in cpus)
    groups = []
    bits = nr_cpu_ids
    while bits > 0:
        width = bits % 32 or 32
        groups.append("%0*x" % (-(-width // 4), (value >> (bits - width)) & ((1 << width) - 1)))
        bits -= width
    return ",".join(groups)


# ---------------------------------------------------------------- CPUs


def topology(sizes, cpu):
    """(package, core id, core index, siblings): CPUs are numbered as on
    Intel, every core's first thread first, then the second threads."""
    core_index = cpu % sizes.cores
    package = core_index // sizes.cores_per_package
    core_id = core_index % sizes.cores_per_package
    siblings = [core_index + t * sizes.cores for t in range(sizes.threads_per_core)]
    return package, core_id, core_index, siblings


def package_cpus(sizes, package):
    return [cpu for cpu in range(sizes.cpus) if topology(sizes, cpu)[0] == package]


def write_cpus(dest, sizes, rng):
    times = [cpu_times(rng) for _ in range(sizes.cpus)]
    write_proc_stat(dest, times)
    write_cpuinfo(dest, sizes)
    write_schedstat(dest, sizes, rng)
    write_softnet(dest, sizes, rng)
    write_sys_cpus(dest, sizes, rng)


def cpu_times(rng):
    """One CPU's /proc/stat columns, in USER_HZ ticks."""
    user = rng.randint(100000, 900000)
    guest = rng.randint(0, user // 10)
    return {
        "user": user,
        "nice": rng.randint(0, 5000),
        "system": rng.randint(20000, 120000),
        "idle": rng.randint(200000, 2000000),
        "iowait": rng.randint(0, 20000),
        "irq": rng.randint(0, 3000),
        "softirq": rng.randint(0, 5000),
        "steal": rng.randint(0, 2000),
        "guest": guest,
        "guest_nice": 0,
    }


def write_proc_stat(dest, times):
    """The cpu lines, then the fixtures' intr, ctxt, btime, processes,
    procs_running, procs_blocked and softirq lines."""
    lines = ["cpu  " + " ".join(str(sum(t[m] for t in times)) for m in CPU_MODES)]
    for cpu, t in enumerate(times):
        lines.append("cpu%d " % cpu + " ".join(str(t[m]) for m in CPU_MODES))
    with open(os.path.join(FIXTURES, "proc", "stat")) as f:
        lines.extend(line.rstrip("\n") for line in f if not line.startswith("cpu"))
    write(dest, "proc/stat", "\n".join(lines) + "\n")


def write_cpuinfo(dest, sizes):
    """The fixtures' first CPU block, once per CPU with its own processor
    number, topology and APIC ids."""
    with open(os.path.join(FIXTURES, "proc", "cpuinfo")) as f:
        template = f.read().split("\n\n")[0].splitlines()
    blocks = []
    for cpu in range(sizes.cpus):
        package, core_id, _, _ = topology(sizes, cpu)
        apic = (package * sizes.cores_per_package + core_id) * sizes.threads_per_core \
            + cpu // sizes.cores
        values = {
            "processor": cpu,
            "physical id": package,
            "siblings": sizes.cores_per_package * sizes.threads_per_core,
            "core id": core_id,
            "cpu cores": sizes.cores_per_package,
            "apicid": apic,
            "initial apicid": apic,
        }
        block = []
        for line in template:
            key, sep, _ = line.partition(":")
            name = key.strip()
            if sep and name in values:
                block.append("%s: %s" % (key, values[name]))
            else:
                block.append(line)
        blocks.append("\n".join(block) + "\n")
    write(dest, "proc/cpuinfo", "\n".join(blocks) + "\n")


def write_schedstat(dest, sizes, rng):
    """Version 17: a cpu line per CPU, then its scheduling domains (SMT
    siblings, the package, and across packages when there are several)."""
    lines = ["version 17", "timestamp 4297845436"]
    for cpu in range(sizes.cpus):
        running = rng.randint(10**15, 3 * 10**15)
        lines.append("cpu%d 0 0 0 0 0 0 %d %d %d" % (
            cpu, running, running // rng.randint(4, 8), rng.randint(10**9, 5 * 10**9)))
        package, _, _, siblings = topology(sizes, cpu)
        domains = []
        if sizes.threads_per_core > 1:
            domains.append(("SMT", siblings))
        domains.append(("MC", package_cpus(sizes, package)))
        if sizes.packages > 1:
            domains.append(("NUMA", range(sizes.cpus)))
        for index, (name, members) in enumerate(domains):
            counters = [rng.randint(0, 10**6) for _ in range(8)] + [0] * 37
            lines.append("domain%d %s %s %s" % (index, name, cpu_mask(members, sizes.cpus),
                                                " ".join(map(str, counters))))
    write(dest, "proc/schedstat", "\n".join(lines) + "\n")


def write_softnet(dest, sizes, rng):
    """Linux 6.x's 15 hex columns per CPU; column 13 is the CPU number."""
    lines = []
    for cpu in range(sizes.cpus):
        columns = [rng.randint(0, 2**24), rng.randint(0, 3), rng.randint(0, 50), 0, 0, 0, 0, 0,
                   0, rng.randint(0, 1000), 0, 0, cpu, 0, 0]
        lines.append(" ".join("%08x" % c for c in columns))
    write(dest, "proc/1/net/softnet_stat", "\n".join(lines) + "\n")


def write_sys_cpus(dest, sizes, rng):
    base = "sys/devices/system/cpu"
    everything = cpu_list(range(sizes.cpus))
    write_attributes(dest, base, {
        "online": everything,
        "possible": everything,
        "present": everything,
        "offline": "",
        "isolated": "",
        "kernel_max": 8191,
    })
    for cpu in range(sizes.cpus):
        package, core_id, core_index, siblings = topology(sizes, cpu)
        cpu_dir = "%s/cpu%d" % (base, cpu)
        in_package = package_cpus(sizes, package)
        write_attributes(dest, cpu_dir, {"online": 1})
        write_attributes(dest, cpu_dir + "/topology", {
            "physical_package_id": package,
            "die_id": 0,
            "cluster_id": core_index,
            "core_id": core_id,
            "core_cpus": cpu_mask(siblings, sizes.cpus),
            "core_cpus_list": cpu_list(siblings),
            "thread_siblings": cpu_mask(siblings, sizes.cpus),
            "thread_siblings_list": cpu_list(siblings),
            "cluster_cpus": cpu_mask(siblings, sizes.cpus),
            "cluster_cpus_list": cpu_list(siblings),
            "core_siblings": cpu_mask(in_package, sizes.cpus),
            "core_siblings_list": cpu_list(in_package),
            "die_cpus": cpu_mask(in_package, sizes.cpus),
            "die_cpus_list": cpu_list(in_package),
            "package_cpus": cpu_mask(in_package, sizes.cpus),
            "package_cpus_list": cpu_list(in_package),
        })
        write_attributes(dest, cpu_dir + "/thermal_throttle", {
            "core_throttle_count": rng.randint(0, 20),
            "core_throttle_max_time_ms": rng.randint(0, 50),
            "core_throttle_total_time_ms": rng.randint(0, 500),
            "package_throttle_count": 30 + package,
            "package_throttle_max_time_ms": 20,
            "package_throttle_total_time_ms": 253,
        })
        # acpi-cpufreq: one policy per CPU.
        current = rng.randint(800, 3500) * 1000
        policy = "%s/cpufreq/policy%d" % (base, cpu)
        write_attributes(dest, policy, {
            "affected_cpus": cpu,
            "related_cpus": cpu,
            "freqdomain_cpus": cpu_list(in_package),
            "bios_limit": 3500000,
            "cpuinfo_avg_freq": current - rng.randint(0, 20000),
            "cpuinfo_cur_freq": current,
            "cpuinfo_max_freq": 3500000,
            "cpuinfo_min_freq": 800000,
            "cpuinfo_transition_latency": 10000,
            "scaling_available_frequencies": "3500000 2800000 2100000 1400000 800000",
            "scaling_available_governors": GOVERNORS,
            "scaling_cur_freq": current + rng.randint(-5000, 5000),
            "scaling_driver": "acpi-cpufreq",
            "scaling_governor": "performance" if cpu % 4 == 0 else "schedutil",
            "scaling_max_freq": 3500000,
            "scaling_min_freq": 800000,
            "scaling_setspeed": "<unsupported>",
        })
        symlink(dest, cpu_dir + "/cpufreq", "../cpufreq/policy%d" % cpu)


# ---------------------------------------------------------------- interfaces


# /proc/net/dev's sixteen columns, and the statistics/ file of each.
NET_DEV_COLUMNS = (
    "rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "rx_fifo_errors", "rx_frame_errors",
    "rx_compressed", "multicast", "tx_bytes", "tx_packets", "tx_errors", "tx_dropped",
    "tx_fifo_errors", "collisions", "tx_carrier_errors", "tx_compressed",
)
# statistics/ files that /proc/net/dev folds into its columns or leaves out.
EXTRA_STATISTICS = (
    "rx_crc_errors", "rx_length_errors", "rx_missed_errors", "rx_nohandler", "rx_over_errors",
    "tx_aborted_errors", "tx_heartbeat_errors", "tx_window_errors",
)


def interface_names(sizes, rng):
    """lo, eth0, then one veth per container, named as Docker and CNI
    plugins name them: "veth" and seven hex digits."""
    names = ["lo", "eth0"]
    seen = set()
    while len(seen) < sizes.veths:
        name = "veth%07x" % rng.getrandbits(28)
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def interface_statistics(name, rng):
    if name == "lo":
        packets = rng.randint(10**4, 10**6)
        size = packets * rng.randint(100, 500)
        stats = dict.fromkeys(NET_DEV_COLUMNS + EXTRA_STATISTICS, 0)
        stats.update(rx_bytes=size, rx_packets=packets, tx_bytes=size, tx_packets=packets)
        return stats
    stats = dict.fromkeys(NET_DEV_COLUMNS + EXTRA_STATISTICS, 0)
    stats.update(
        rx_packets=rng.randint(10**3, 10**8),
        tx_packets=rng.randint(10**3, 10**8),
        rx_dropped=rng.randint(0, 20),
        tx_dropped=rng.randint(0, 5),
        multicast=rng.randint(0, 1000),
    )
    stats["rx_bytes"] = stats["rx_packets"] * rng.randint(64, 1400)
    stats["tx_bytes"] = stats["tx_packets"] * rng.randint(64, 1400)
    return stats


def interface_attributes(name, index, rng):
    """The attributes every interface directory has, as lo, a virtio NIC
    and a veth show them. lo has no duplex or speed (the kernel refuses the
    read); their absence reads the same to a collector."""
    if name == "lo":
        return {
            "addr_assign_type": 0, "addr_len": 6, "address": "00:00:00:00:00:00",
            "broadcast": "00:00:00:00:00:00", "carrier": 1, "carrier_changes": 0,
            "carrier_down_count": 0, "carrier_up_count": 0, "dev_id": "0x0", "dev_port": 0,
            "dormant": 0, "flags": "0x9", "gro_flush_timeout": 0, "ifalias": "",
            "ifindex": 1, "iflink": 1, "link_mode": 0, "mtu": 65536, "name_assign_type": 2,
            "napi_defer_hard_irqs": 0, "netdev_group": 0, "operstate": "unknown",
            "proto_down": 0, "testing": 0, "threaded": 0, "tx_queue_len": 1000,
            "type": 772, "uevent": "INTERFACE=lo\nIFINDEX=1",
        }
    physical = name == "eth0"
    mac = "02:fc:00:00:00:01" if physical else "%02x:%s" % (
        (rng.getrandbits(8) & 0xFC) | 0x02,
        ":".join("%02x" % rng.getrandbits(8) for _ in range(5)))
    return {
        "addr_assign_type": 0 if physical else 3, "addr_len": 6, "address": mac,
        "broadcast": "ff:ff:ff:ff:ff:ff", "carrier": 1, "carrier_changes": 2,
        "carrier_down_count": 1, "carrier_up_count": 1, "dev_id": "0x0", "dev_port": 0,
        "dormant": 0, "duplex": "unknown" if physical else "full", "flags": "0x1003",
        "gro_flush_timeout": 0, "ifalias": "", "ifindex": index,
        # A veth's link is its peer's index in the container's namespace.
        "iflink": index if physical else 2, "link_mode": 0,
        "mtu": 1500 if physical else 1450, "name_assign_type": 1 if physical else 3,
        "napi_defer_hard_irqs": 0, "netdev_group": 0, "operstate": "up", "proto_down": 0,
        "speed": -1 if physical else 10000, "testing": 0, "threaded": 0,
        "tx_queue_len": 1000, "type": 1, "uevent": "INTERFACE=%s\nIFINDEX=%d" % (name, index),
    }


def write_interfaces(dest, sizes, rng):
    names = interface_names(sizes, rng)
    dev_lines = [
        "Inter-|   Receive                                                |  Transmit",
        " face |bytes    packets errs drop fifo frame compressed multicast"
        "|bytes    packets errs drop fifo colls carrier compressed",
    ]
    for index, name in enumerate(names, start=1):
        if name == "eth0":
            device = "devices/pci0000:00/0000:00:03.0/virtio2/net/eth0"
        else:
            device = "devices/virtual/net/" + name
        stats = interface_statistics(name, rng)
        write_attributes(dest, "sys/" + device, interface_attributes(name, index, rng))
        write_attributes(dest, "sys/%s/statistics" % device, stats)
        os.makedirs(os.path.join(dest, "sys", device, "queues", "rx-0"))
        os.makedirs(os.path.join(dest, "sys", device, "queues", "tx-0"))
        symlink(dest, "sys/class/net/" + name, "../../" + device)
        # The kernel's dev_seq_printf_stats format.
        values = [stats[c] for c in NET_DEV_COLUMNS]
        dev_lines.append(
            "%6s: %7d %7d %4d %4d %4d %5d %10d %9d %8d %7d %4d %4d %4d %5d %7d %10d"
            % tuple([name] + values))
    # The bonding driver is loaded, with no bond configured.
    write(dest, "sys/class/net/bonding_masters", "\n")
    write(dest, "proc/1/net/dev", "\n".join(dev_lines) + "\n")


# ---------------------------------------------------------------- mounts


# Mounts every host has, which the default mount point and type filters
# drop: (mount point, type, source, options, superblock options).
SYSTEM_MOUNTS = (
    ("/proc", "proc", "proc", "rw,nosuid,nodev,noexec,relatime", "rw"),
    ("/sys", "sysfs", "sysfs", "rw,nosuid,nodev,noexec,relatime", "rw"),
    ("/dev", "devtmpfs", "udev", "rw,nosuid,relatime",
     "rw,size=8123456k,nr_inodes=2030864,mode=755,inode64"),
    ("/dev/pts", "devpts", "devpts", "rw,nosuid,noexec,relatime",
     "rw,gid=5,mode=620,ptmxmode=000"),
    ("/dev/shm", "tmpfs", "tmpfs", "rw,nosuid,nodev", "rw,inode64"),
    ("/sys/fs/cgroup", "cgroup2", "cgroup2", "rw,nosuid,nodev,noexec,relatime",
     "rw,nsdelegate,memory_recursiveprot"),
    ("/sys/kernel/tracing", "tracefs", "tracefs", "rw,nosuid,nodev,noexec,relatime", "rw"),
)


def reported_mounts(sizes, rng):
    """(mount point, type, source, major:minor, options, superblock
    options) of each mount the default filters keep: the root filesystem
    and the EFI partition on vda, /run and /run/lock, then alternately a
    pod's service-account tmpfs (as kubelet mounts one per pod) and an XFS
    logical volume."""
    mounts = [
        ("/", "ext4", "/dev/vda1", "%d:1" % VIRTIO_BLOCK_MAJOR, "rw,relatime",
         "rw,errors=remount-ro"),
        ("/boot/efi", "vfat", "/dev/vda15", "%d:15" % VIRTIO_BLOCK_MAJOR, "rw,relatime",
         "rw,fmask=0077,dmask=0077,codepage=437,iocharset=ascii,shortname=mixed,errors=remount-ro"),
        ("/run", "tmpfs", "tmpfs", "0:40", "rw,nosuid,nodev,noexec,relatime",
         "rw,size=1631236k,mode=755,inode64"),
        ("/run/lock", "tmpfs", "tmpfs", "0:41", "rw,nosuid,nodev,noexec,relatime",
         "rw,size=5120k,inode64"),
    ]
    volume = 0
    anonymous_minor = 60
    while len(mounts) < sizes.mounts:
        if len(mounts) % 2 == 0:
            pod = "%08x-%04x-%04x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16),
                                                rng.getrandbits(16), rng.getrandbits(16),
                                                rng.getrandbits(48))
            token = "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
            mounts.append((
                "/var/lib/kubelet/pods/%s/volumes/kubernetes.io~projected/kube-api-access-%s"
                % (pod, token), "tmpfs", "tmpfs", "0:%d" % anonymous_minor, "rw,relatime",
                "rw,size=174080k,inode64"))
            anonymous_minor += 1
        else:
            mounts.append((
                "/srv/volumes/vol%03d" % volume, "xfs", "/dev/mapper/data-vol%03d" % volume,
                "%d:%d" % (DEVICE_MAPPER_MAJOR, volume), "rw,noatime",
                "rw,attr2,inode64,logbufs=8,logbsize=32k,noquota"))
            volume += 1
    return mounts[:sizes.mounts]


def escape_mount_field(text):
    """mountinfo's and mounts' octal escapes for space, tab, newline and
    backslash."""
    return (text.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011")
            .replace("\n", "\\012"))


def write_mounts(dest, sizes, rng):
    info_lines = []
    mounts_lines = []
    reported = reported_mounts(sizes, rng)
    root = reported[0]
    entries = [root] + [(point, fstype, source, "0:%d" % (20 + i), options, super_options)
                        for i, (point, fstype, source, options, super_options)
                        in enumerate(SYSTEM_MOUNTS)] + reported[1:]
    for mount_id, (point, fstype, source, numbers, options, super_options) in enumerate(
            entries, start=22):
        parent = 1 if point == "/" else 22
        info_lines.append("%d %d %s / %s %s shared:%d - %s %s %s" % (
            mount_id, parent, numbers, escape_mount_field(point), options, mount_id - 21, fstype,
            escape_mount_field(source), super_options))
        mounts_lines.append("%s %s %s %s 0 0" % (
            escape_mount_field(source), escape_mount_field(point), fstype,
            merge_options(options, super_options)))
    for point, *_ in reported:
        os.makedirs(os.path.join(dest, "root", point.lstrip("/")), exist_ok=True)
    write(dest, "proc/1/mountinfo", "\n".join(info_lines) + "\n")
    write(dest, "proc/1/mounts", "\n".join(mounts_lines) + "\n")


def merge_options(options, super_options):
    """/proc/mounts shows the per-mount options, then the superblock's
    others."""
    merged = options.split(",")
    merged += [o for o in super_options.split(",") if o not in merged and o not in ("rw", "ro")]
    return ",".join(merged)


# ---------------------------------------------------------------- disks


def disk_name(index):
    """virtio_blk's names: vda..vdz, vdaa..vdzz, vdaaa..."""
    letters = ""
    index += 1
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return "vd" + letters


def disk_counters(rng, busy):
    """The 17 counters after the name (Linux 5.5+): reads, merges,
    sectors, ms for reads, writes, discards and flushes, with in-flight
    and the two io_ticks counters."""
    if not busy:
        return [0] * 17
    reads = rng.randint(10**4, 10**7)
    writes = rng.randint(10**4, 10**7)
    discards = rng.randint(0, 10**4)
    flushes = rng.randint(0, 10**5)
    read_ms = reads // rng.randint(2, 20)
    write_ms = writes // rng.randint(1, 10)
    return [
        reads, reads // rng.randint(5, 50), reads * rng.randint(8, 256), read_ms,
        writes, writes // rng.randint(2, 10), writes * rng.randint(8, 256), write_ms,
        rng.randint(0, 4), (read_ms + write_ms) // 2, read_ms + write_ms,
        discards, 0, discards * rng.randint(8, 2048), discards // 10,
        flushes, flushes // 5,
    ]


def write_disks(dest, sizes, rng):
    lines = []
    for index in range(sizes.disks):
        name = disk_name(index)
        minor = index * MINORS_PER_DISK
        bus, slot = divmod(5 + index, 32)
        device = "devices/pci0000:00/0000:%02x:%02x.0/virtio%d/block/%s" % (
            bus, slot, 3 + index, name)
        sectors = rng.choice((64, 128, 256, 512, 1024)) * 2**21
        counters = disk_counters(rng, busy=True)
        lines.append("%4d %7d %s %s" % (VIRTIO_BLOCK_MAJOR, minor, name,
                                        " ".join(map(str, counters))))
        write_block_device(dest, device, name, minor, sectors, counters, rng)
        symlink(dest, "sys/block/" + name, "../" + device)
        serial = "hw%06d" % rng.getrandbits(20)
        udev = [
            "S:disk/by-path/pci-0000:%02x:%02x.0" % (bus, slot),
            "S:disk/by-id/virtio-" + serial,
            "I:%d" % rng.randint(10**6, 10**7),
            "E:ID_SERIAL=" + serial,
            "E:ID_PATH=pci-0000:%02x:%02x.0" % (bus, slot),
            "E:ID_PATH_TAG=pci-0000_%02x_%02x_0" % (bus, slot),
        ]
        partitions = []
        if index == 0:
            udev += ["E:ID_PART_TABLE_UUID=5c0a3f55-8e0b-4c38-9d56-2b1f0c3e4a11",
                     "E:ID_PART_TABLE_TYPE=gpt"]
            partitions = [(1, "ext4", sectors - 227328), (15, "vfat", 217088)]
        else:
            fstype = "xfs" if index % 2 else "ext4"
            udev += ["E:ID_FS_UUID=%s" % fs_uuid(rng), "E:ID_FS_TYPE=" + fstype,
                     "E:ID_FS_USAGE=filesystem", "E:ID_FS_VERSION=%s" % (
                         "5.0" if fstype == "xfs" else "1.0")]
        udev += ["G:systemd", "Q:systemd", "V:1"]
        write(dest, "udev/b%d:%d" % (VIRTIO_BLOCK_MAJOR, minor), "\n".join(udev) + "\n")
        for number, fstype, size in partitions:
            part = "%s%d" % (name, number)
            part_counters = disk_counters(rng, busy=True)
            lines.append("%4d %7d %s %s" % (VIRTIO_BLOCK_MAJOR, minor + number, part,
                                            " ".join(map(str, part_counters))))
            write_attributes(dest, "sys/%s/%s" % (device, part), {
                "dev": "%d:%d" % (VIRTIO_BLOCK_MAJOR, minor + number),
                "partition": number,
                "size": size,
                "start": 2048 if number == 15 else 227328,
                "ro": 0,
                "stat": block_stat(part_counters),
                "uevent": "MAJOR=%d\nMINOR=%d\nDEVNAME=%s\nDEVTYPE=partition\nPARTN=%d" % (
                    VIRTIO_BLOCK_MAJOR, minor + number, part, number),
            })
            write(dest, "udev/b%d:%d" % (VIRTIO_BLOCK_MAJOR, minor + number), "\n".join([
                "S:disk/by-uuid/" + fs_uuid(rng),
                "I:%d" % rng.randint(10**6, 10**7),
                "E:ID_FS_TYPE=" + fstype,
                "E:ID_FS_USAGE=filesystem",
                "E:ID_PART_ENTRY_NUMBER=%d" % number,
                "E:ID_PART_ENTRY_DISK=%d:%d" % (VIRTIO_BLOCK_MAJOR, minor),
                "G:systemd", "Q:systemd", "V:1",
            ]) + "\n")
    write(dest, "proc/diskstats", "\n".join(lines) + "\n")


def fs_uuid(rng):
    return "%08x-%04x-%04x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16),
                                          rng.getrandbits(16), rng.getrandbits(16),
                                          rng.getrandbits(48))


def block_stat(counters):
    """/sys/block/<dev>/stat: the same 17 counters, right-aligned."""
    return " ".join("%8d" % c for c in counters)


def write_block_device(dest, device, name, minor, sectors, counters, rng):
    base = "sys/" + device
    write_attributes(dest, base, {
        "dev": "%d:%d" % (VIRTIO_BLOCK_MAJOR, minor),
        "size": sectors,
        "ro": 0,
        "removable": 0,
        "hidden": 0,
        "range": MINORS_PER_DISK,
        "ext_range": 256,
        "capability": 50,
        "alignment_offset": 0,
        "discard_alignment": 0,
        "inflight": "%8d %8d" % (counters[8], 0),
        "stat": block_stat(counters),
        "uevent": "MAJOR=%d\nMINOR=%d\nDEVNAME=%s\nDEVTYPE=disk\nDISKSEQ=%d" % (
            VIRTIO_BLOCK_MAJOR, minor, name, 9 + minor // MINORS_PER_DISK),
    })
    write_attributes(dest, base + "/queue", {
        "rotational": 0,
        "logical_block_size": 512,
        "physical_block_size": 512,
        "hw_sector_size": 512,
        "minimum_io_size": 512,
        "optimal_io_size": 0,
        "nr_requests": 256,
        "read_ahead_kb": 128,
        "max_sectors_kb": 1280,
        "max_hw_sectors_kb": 2147483647,
        "discard_granularity": 512,
        "discard_max_bytes": 2147483136,
        "write_cache": "write back",
        "scheduler": "[none] mq-deadline",
        "nomerges": 0,
        "rq_affinity": 1,
        "add_random": 0,
        "io_poll": 0,
        "zoned": "none",
        "iostats": 1,
        "wbt_lat_usec": rng.choice((0, 2000)),
    })
    for empty in ("holders", "slaves"):
        os.makedirs(os.path.join(dest, base, empty))
