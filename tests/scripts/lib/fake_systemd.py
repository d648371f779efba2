#!/usr/bin/python3
"""A stand-in for systemd's D-Bus API, for testing the systemd and logind
collectors on machines without systemd.

It owns org.freedesktop.systemd1 on the bus at --bus (a D-Bus address) and
exports the manager (ListUnits and the Version, Virtualization and
SystemState properties) and one object per unit with the properties the
collector reads, under the object paths systemd uses. With --private PATH it
also serves the same objects peer-to-peer on a socket at PATH, as systemd's
/run/systemd/private does.

It also owns org.freedesktop.login1 on the bus and exports logind's manager
(ListSeats, ListSessions) and one object per session with the Remote, Type
and Class properties.

Signals: SIGUSR1 fails cron.service (and counts a restart), SIGUSR2 opens
another SSH session, SIGTERM exits.
Once serving, it writes its PID to --ready.

Needs Debian's python3-dbus and python3-gi.
"""

import argparse
import os
import signal

import dbus
import dbus.exceptions
import dbus.server
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

MANAGER_PATH = "/org/freedesktop/systemd1"
MANAGER = "org.freedesktop.systemd1.Manager"
UNIT = "org.freedesktop.systemd1.Unit"
SERVICE = "org.freedesktop.systemd1.Service"
SOCKET = "org.freedesktop.systemd1.Socket"
TIMER = "org.freedesktop.systemd1.Timer"
MOUNT = "org.freedesktop.systemd1.Mount"
PROPERTIES = "org.freedesktop.DBus.Properties"
LOGIN_PATH = "/org/freedesktop/login1"
LOGIN_MANAGER = "org.freedesktop.login1.Manager"
SESSION = "org.freedesktop.login1.Session"

# systemd's "infinity" for counters and limits.
UINT64_MAX = 2**64 - 1


def t(value):
    return dbus.UInt64(value)


def u(value):
    return dbus.UInt32(value)


def s(value):
    return dbus.String(value)


# name: (load state, active state, sub state, {interface: {property: value}})
UNITS = {
    "ssh.service": ("loaded", "active", "running", {
        SERVICE: {"Type": s("notify"), "NRestarts": u(2),
                  "TasksCurrent": t(3), "TasksMax": t(4915)},
        UNIT: {"ActiveEnterTimestamp": t(1700000000500000)},
    }),
    "cron.service": ("loaded", "active", "running", {
        SERVICE: {"Type": s("simple"), "NRestarts": u(0),
                  "TasksCurrent": t(1), "TasksMax": t(UINT64_MAX)},
        UNIT: {"ActiveEnterTimestamp": t(1700000100000000)},
    }),
    "broken.service": ("loaded", "failed", "failed", {
        SERVICE: {"Type": s("oneshot"), "NRestarts": u(5),
                  "TasksCurrent": t(UINT64_MAX), "TasksMax": t(100)},
        UNIT: {"ActiveEnterTimestamp": t(1690000000000000)},
    }),
    # A service of a systemd too old for NRestarts and task accounting.
    "old.service": ("loaded", "active", "exited", {
        SERVICE: {"Type": s("forking")},
        UNIT: {"ActiveEnterTimestamp": t(1700000300000000)},
    }),
    "gone.service": ("not-found", "inactive", "dead", {}),
    "reload.service": ("loaded", "reloading", "reload", {
        SERVICE: {"Type": s("notify-reload"), "NRestarts": u(0),
                  "TasksCurrent": t(2), "TasksMax": t(50)},
        UNIT: {"ActiveEnterTimestamp": t(1700000400000000)},
    }),
    "dbus.socket": ("loaded", "active", "running", {
        SOCKET: {"NAccepted": u(42), "NConnections": u(3), "NRefused": u(1)},
        UNIT: {"ActiveEnterTimestamp": t(1600000000000000)},
    }),
    # A socket of a systemd before 239: no NRefused.
    "old.socket": ("loaded", "active", "listening", {
        SOCKET: {"NAccepted": u(7), "NConnections": u(0)},
        UNIT: {"ActiveEnterTimestamp": t(1600000000250000)},
    }),
    "apt-daily.timer": ("loaded", "active", "waiting", {
        TIMER: {"LastTriggerUSec": t(1700000200000000)},
        UNIT: {"ActiveEnterTimestamp": t(1600000001000000)},
    }),
    "multi-user.target": ("loaded", "active", "active", {
        UNIT: {"ActiveEnterTimestamp": t(1600000002000000)},
    }),
    "-.mount": ("loaded", "active", "mounted", {MOUNT: {"Type": s("ext4")}}),
    "user.slice": ("loaded", "active", "active", {}),
    "session-1.scope": ("loaded", "active", "running", {}),
    "dev-sda.device": ("loaded", "active", "plugged", {}),
    "proc-sys-fs-binfmt_misc.automount": ("loaded", "active", "waiting", {}),
}

MANAGER_PROPERTIES = {
    "Version": s("252.22-1~deb12u1"),
    "Virtualization": s("kvm"),
    "SystemState": s("degraded"),
}


SEATS = ["seat0"]

# id: (uid, user, seat, remote, type, class); None for a session listed but
# without an object (it ended in between).
SESSIONS = {
    "1": (1000, "alice", "seat0", False, "wayland", "user"),
    "c1": (120, "gdm", "seat0", False, "x11", "greeter"),
    "3": (1001, "bob", "", True, "tty", "user"),
    "4": (1001, "bob", "", True, "tty", "user"),
    # Values of a newer logind: counted as "other".
    "5": (0, "root", "", False, "unspecified", "manager"),
    "6": (1002, "carol", "", False, "remote-desktop", "background"),
    # A seat ListSeats does not list: not counted.
    "7": (1003, "dave", "seat1", False, "tty", "user"),
    "8": None,
}


def session_path(session_id):
    return LOGIN_PATH + "/session/_3" + session_id if session_id[0].isdigit() \
        else LOGIN_PATH + "/session/" + session_id


def unit_path(name):
    """systemd's object path for a unit: bytes other than [A-Za-z0-9]
    become _xx (lowercase hex)."""
    label = "".join(
        c if c.isascii() and c.isalnum() else "_%02x" % b
        for c, b in ((chr(b), b) for b in name.encode())
    )
    return "/org/freedesktop/systemd1/unit/" + label


def unknown_property(interface, name):
    return dbus.exceptions.DBusException(
        "Unknown property %s.%s" % (interface, name),
        name="org.freedesktop.DBus.Error.UnknownProperty",
    )


class PropertiesObject(dbus.service.Object):
    SUPPORTS_MULTIPLE_CONNECTIONS = True

    def properties(self):
        raise NotImplementedError

    @dbus.service.method(PROPERTIES, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        try:
            return self.properties()[interface][name]
        except KeyError:
            raise unknown_property(interface, name)

    @dbus.service.method(PROPERTIES, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return dbus.Dictionary(self.properties().get(interface, {}), signature="sv")


class Manager(PropertiesObject):
    def properties(self):
        return {MANAGER: MANAGER_PROPERTIES}

    @dbus.service.method(MANAGER, in_signature="", out_signature="a(ssssssouso)")
    def ListUnits(self):
        return dbus.Array(
            [
                dbus.Struct(
                    (name, "Fake " + name, load, active, sub, "",
                     dbus.ObjectPath(unit_path(name)), u(0), "",
                     dbus.ObjectPath("/")),
                    signature="ssssssouso",
                )
                for name, (load, active, sub, _) in UNITS.items()
            ],
            signature="(ssssssouso)",
        )


class Unit(PropertiesObject):
    def __init__(self, name):
        super().__init__()
        self.name = name

    def properties(self):
        load, active, sub, props = UNITS[self.name]
        merged = {interface: dict(values) for interface, values in props.items()}
        merged.setdefault(UNIT, {}).update(
            {"Id": s(self.name), "LoadState": s(load),
             "ActiveState": s(active), "SubState": s(sub)}
        )
        return merged


class LoginManager(PropertiesObject):
    def properties(self):
        return {}

    @dbus.service.method(LOGIN_MANAGER, in_signature="", out_signature="a(so)")
    def ListSeats(self):
        return dbus.Array(
            [dbus.Struct((seat, dbus.ObjectPath(LOGIN_PATH + "/seat/" + seat)), signature="so")
             for seat in SEATS],
            signature="(so)",
        )

    @dbus.service.method(LOGIN_MANAGER, in_signature="", out_signature="a(susso)")
    def ListSessions(self):
        rows = []
        for session_id, session in SESSIONS.items():
            uid, user, seat = session[:3] if session else (0, "gone", "")
            rows.append(dbus.Struct(
                (session_id, u(uid), user, seat, dbus.ObjectPath(session_path(session_id))),
                signature="susso",
            ))
        return dbus.Array(rows, signature="(susso)")


class Session(PropertiesObject):
    def __init__(self, session_id):
        super().__init__()
        self.session_id = session_id

    def properties(self):
        _, _, _, remote, kind, cls = SESSIONS[self.session_id]
        return {SESSION: {"Id": s(self.session_id), "Remote": dbus.Boolean(remote),
                          "Type": s(kind), "Class": s(cls)}}


def objects():
    found = [(Manager(), MANAGER_PATH)]
    found += [(Unit(name), unit_path(name)) for name in UNITS]
    return found


def login_objects():
    found = [(LoginManager(), LOGIN_PATH)]
    found += [(Session(i), session_path(i)) for i, session in SESSIONS.items() if session]
    return found


def open_ssh_session(bus):
    session_id = "%d" % (100 + len(SESSIONS))
    SESSIONS[session_id] = (1001, "bob", "", True, "tty", "user")
    Session(session_id).add_to_connection(bus, session_path(session_id))
    return GLib.SOURCE_CONTINUE


def fail_cron():
    load, _, _, props = UNITS["cron.service"]
    props[SERVICE]["NRestarts"] = u(props[SERVICE]["NRestarts"] + 1)
    UNITS["cron.service"] = (load, "failed", "failed", props)
    return GLib.SOURCE_CONTINUE


def export(exported, connection):
    for obj, path in exported:
        obj.add_to_connection(connection, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bus", required=True, help="D-Bus address of the bus")
    parser.add_argument("--private", help="socket path for peer-to-peer clients")
    parser.add_argument("--ready", required=True, help="file to write the PID to")
    args = parser.parse_args()

    DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(args.bus)
    exported = objects()
    export(exported, bus)
    name = dbus.service.BusName("org.freedesktop.systemd1", bus, do_not_queue=True)
    export(login_objects(), bus)
    login_name = dbus.service.BusName("org.freedesktop.login1", bus, do_not_queue=True)

    server = None
    if args.private:
        # systemd's private socket: the same objects, peer to peer.
        server = dbus.server.Server("unix:path=" + args.private)
        server.on_connection_added.append(lambda connection: export(exported, connection))

    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, fail_cron)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR2, open_ssh_session, bus)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    with open(args.ready + ".tmp", "w") as ready:
        ready.write("%d\n" % os.getpid())
    os.rename(args.ready + ".tmp", args.ready)
    loop.run()
    if server is not None:
        server.disconnect()
    del name, login_name


if __name__ == "__main__":
    main()
