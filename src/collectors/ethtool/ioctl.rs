//! The `SIOCETHTOOL` ioctl: driver information, legacy link settings and
//! driver statistics of one interface, asked of the kernel through an
//! `AF_INET` datagram socket.
//!
//! The kernel resolves the interface name in the network namespace of the
//! socket, that is of this process: in a pod the agent sees the host's
//! interfaces only with `hostNetwork: true`.

use std::ffi::c_void;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::link::LinkSettings;

const ETHTOOL_GSET: u32 = 0x01;
const ETHTOOL_GDRVINFO: u32 = 0x03;
const ETHTOOL_GSTRINGS: u32 = 0x1b;
const ETHTOOL_GSTATS: u32 = 0x1d;
const ETHTOOL_GSSET_INFO: u32 = 0x37;
/// The string set of driver statistics (`ETH_SS_STATS`).
const ETH_SS_STATS: u32 = 1;
/// The length of one statistic name (`ETH_GSTRING_LEN`).
const ETH_GSTRING_LEN: usize = 32;

/// The most statistics accepted from one interface; drivers report a few
/// thousand at most, and a larger count is taken as an error rather than
/// allocated.
const MAX_STATS: usize = 32_768;

/// `struct ethtool_drvinfo` of `<linux/ethtool.h>`.
// Fields the kernel fills in but nothing reads are kept for the layout.
#[allow(dead_code)]
#[repr(C)]
struct EthtoolDrvinfo {
    cmd: u32,
    driver: [u8; 32],
    version: [u8; 32],
    fw_version: [u8; 32],
    bus_info: [u8; 32],
    erom_version: [u8; 32],
    reserved2: [u8; 12],
    n_priv_flags: u32,
    n_stats: u32,
    testinfo_len: u32,
    eedump_len: u32,
    regdump_len: u32,
}

/// `struct ethtool_cmd` of `<linux/ethtool.h>` (`ETHTOOL_GSET`).
// Fields the kernel fills in but nothing reads are kept for the layout.
#[allow(dead_code)]
#[repr(C)]
struct EthtoolCmd {
    cmd: u32,
    supported: u32,
    advertising: u32,
    speed: u16,
    duplex: u8,
    port: u8,
    phy_address: u8,
    transceiver: u8,
    autoneg: u8,
    mdio_support: u8,
    maxtxpkt: u32,
    maxrxpkt: u32,
    speed_hi: u16,
    eth_tp_mdix: u8,
    eth_tp_mdix_ctrl: u8,
    lp_advertising: u32,
    reserved: [u32; 2],
}

/// `struct ethtool_sset_info` of `<linux/ethtool.h>` with room for the one
/// count asked for.
// Fields the kernel fills in but nothing reads are kept for the layout.
#[allow(dead_code)]
#[repr(C)]
struct EthtoolSsetInfo {
    cmd: u32,
    reserved: u32,
    sset_mask: u64,
    data: [u32; 2],
}

/// The fixed part of `struct ethtool_gstrings` (`cmd`, `string_set`, `len`),
/// followed by `len` names of [`ETH_GSTRING_LEN`] bytes.
const GSTRINGS_HEADER: usize = 12;
/// The fixed part of `struct ethtool_stats` (`cmd`, `n_stats`), followed by
/// `n_stats` `u64` values.
const GSTATS_HEADER: usize = 8;

// The layouts the kernel expects (include/uapi/linux/ethtool.h).
const _: () = {
    assert!(mem::size_of::<EthtoolDrvinfo>() == 196);
    assert!(mem::offset_of!(EthtoolDrvinfo, driver) == 4);
    assert!(mem::offset_of!(EthtoolDrvinfo, bus_info) == 100);
    assert!(mem::offset_of!(EthtoolDrvinfo, erom_version) == 132);
    assert!(mem::offset_of!(EthtoolDrvinfo, n_stats) == 180);
    assert!(mem::size_of::<EthtoolCmd>() == 44);
    assert!(mem::offset_of!(EthtoolCmd, speed) == 12);
    assert!(mem::offset_of!(EthtoolCmd, autoneg) == 18);
    assert!(mem::offset_of!(EthtoolCmd, maxtxpkt) == 20);
    assert!(mem::offset_of!(EthtoolCmd, speed_hi) == 28);
    assert!(mem::offset_of!(EthtoolCmd, lp_advertising) == 32);
    assert!(mem::offset_of!(EthtoolSsetInfo, sset_mask) == 8);
    assert!(mem::offset_of!(EthtoolSsetInfo, data) == 16);
    assert!(mem::offset_of!(libc::ifreq, ifr_ifru) == libc::IFNAMSIZ);
};

/// What `ETHTOOL_GDRVINFO` tells about an interface's driver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriverInfo {
    /// Driver name.
    pub driver: String,
    /// Driver version.
    pub version: String,
    /// Firmware version.
    pub firmware_version: String,
    /// Bus address of the device.
    pub bus_info: String,
    /// Expansion ROM version.
    pub expansion_rom_version: String,
}

/// A socket to ask the kernel about interfaces with `SIOCETHTOOL`.
pub struct EthtoolSocket {
    fd: OwnedFd,
}

impl EthtoolSocket {
    /// Opens the `AF_INET` datagram socket the ioctls go through.
    pub fn open() -> io::Result<EthtoolSocket> {
        // SAFETY: socket(2) takes no pointers; a non-negative result is a
        // new descriptor that nothing else owns.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and is owned here alone.
        Ok(EthtoolSocket {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// `ETHTOOL_GDRVINFO`.
    pub fn driver_info(&self, device: &str) -> io::Result<DriverInfo> {
        let info = self.drvinfo(device)?;
        Ok(DriverInfo {
            driver: c_string(&info.driver),
            version: c_string(&info.version),
            firmware_version: c_string(&info.fw_version),
            bus_info: c_string(&info.bus_info),
            expansion_rom_version: c_string(&info.erom_version),
        })
    }

    /// `ETHTOOL_GSET`: the legacy 32-bit link mode masks, as node_exporter
    /// reads them.
    pub fn link_settings(&self, device: &str) -> io::Result<LinkSettings> {
        // SAFETY: all-zero bytes are a valid `EthtoolCmd` (integers only).
        let mut cmd: EthtoolCmd = unsafe { mem::zeroed() };
        cmd.cmd = ETHTOOL_GSET;
        self.ioctl(device, (&mut cmd as *mut EthtoolCmd).cast())?;
        Ok(LinkSettings {
            supported: cmd.supported,
            advertising: cmd.advertising,
            autoneg: cmd.autoneg,
        })
    }

    /// The driver statistics: names (`ETHTOOL_GSTRINGS`) paired with values
    /// (`ETHTOOL_GSTATS`), in the driver's order.
    pub fn stats(&self, device: &str) -> io::Result<Vec<(String, u64)>> {
        let count = self.stats_count(device)?;
        if count == 0 {
            return Ok(Vec::new());
        }
        if count > MAX_STATS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{count} statistics, more than the {MAX_STATS} accepted"),
            ));
        }
        // The kernel writes as many entries as the driver has when it
        // answers, whatever count the request carries; the buffers leave
        // room for a driver whose count grew (queues added) since it was
        // asked, and a changed count is refused below.
        let room = count * 2 + 64;

        let mut strings = vec![0u64; (GSTRINGS_HEADER + room * ETH_GSTRING_LEN).div_ceil(8)];
        {
            let bytes = as_bytes_mut(&mut strings);
            bytes[0..4].copy_from_slice(&ETHTOOL_GSTRINGS.to_ne_bytes());
            bytes[4..8].copy_from_slice(&ETH_SS_STATS.to_ne_bytes());
            bytes[8..12].copy_from_slice(&(count as u32).to_ne_bytes());
        }
        self.ioctl(device, strings.as_mut_ptr().cast())?;
        let bytes = as_bytes_mut(&mut strings);
        let names_len = u32_at(bytes, 8) as usize;

        let mut values = vec![0u64; GSTATS_HEADER / 8 + room];
        {
            let header = as_bytes_mut(&mut values);
            header[0..4].copy_from_slice(&ETHTOOL_GSTATS.to_ne_bytes());
            header[4..8].copy_from_slice(&(count as u32).to_ne_bytes());
        }
        self.ioctl(device, values.as_mut_ptr().cast())?;
        let values_len = u32_at(as_bytes_mut(&mut values), 4) as usize;

        if names_len != values_len || names_len > room {
            return Err(io::Error::other(format!(
                "statistics changed while read: {names_len} names, {values_len} values"
            )));
        }
        let names = stat_names(&bytes[GSTRINGS_HEADER..], names_len);
        let first = GSTATS_HEADER / 8;
        Ok(names
            .into_iter()
            .zip(values[first..first + values_len].iter().copied())
            .collect())
    }

    /// The number of driver statistics: `ETHTOOL_GSSET_INFO`, or the
    /// driver information's `n_stats` where the kernel lacks that command.
    fn stats_count(&self, device: &str) -> io::Result<usize> {
        let mut info = EthtoolSsetInfo {
            cmd: ETHTOOL_GSSET_INFO,
            reserved: 0,
            sset_mask: 1 << ETH_SS_STATS,
            data: [0; 2],
        };
        match self.ioctl(device, (&mut info as *mut EthtoolSsetInfo).cast()) {
            Ok(()) if info.sset_mask & (1 << ETH_SS_STATS) != 0 => Ok(info.data[0] as usize),
            Ok(()) => Ok(0),
            Err(err) if err.raw_os_error() == Some(libc::EOPNOTSUPP) => {
                Ok(self.drvinfo(device)?.n_stats as usize)
            }
            Err(err) => Err(err),
        }
    }

    fn drvinfo(&self, device: &str) -> io::Result<EthtoolDrvinfo> {
        // SAFETY: all-zero bytes are a valid `EthtoolDrvinfo`.
        let mut info: EthtoolDrvinfo = unsafe { mem::zeroed() };
        info.cmd = ETHTOOL_GDRVINFO;
        self.ioctl(device, (&mut info as *mut EthtoolDrvinfo).cast())?;
        Ok(info)
    }

    /// Issues `SIOCETHTOOL` for `device` with `data` pointing at a command
    /// structure large enough for the kernel's answer.
    fn ioctl(&self, device: &str, data: *mut c_void) -> io::Result<()> {
        let name = device.as_bytes();
        if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(&0) {
            // No interface can have this name.
            return Err(io::Error::from_raw_os_error(libc::ENODEV));
        }
        // SAFETY: all-zero bytes are a valid `ifreq` (integers, arrays and a
        // null pointer).
        let mut request: libc::ifreq = unsafe { mem::zeroed() };
        for (slot, byte) in request.ifr_name.iter_mut().zip(name) {
            *slot = *byte as libc::c_char;
        }
        request.ifr_ifru.ifru_data = data.cast();
        // SAFETY: `request` is a valid `ifreq` whose name is NUL-terminated
        // and whose data points at a live command buffer the caller sized
        // for the command's answer.
        let rc = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                libc::SIOCETHTOOL as _,
                &mut request as *mut libc::ifreq,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// The bytes of a `u64` buffer, which keeps the command structures 8-byte
/// aligned as their `u64` members need.
fn as_bytes_mut(buffer: &mut [u64]) -> &mut [u8] {
    // SAFETY: any u64 slice is a valid byte slice of eight times its length,
    // with the same lifetime and exclusive borrow.
    unsafe { std::slice::from_raw_parts_mut(buffer.as_mut_ptr().cast::<u8>(), buffer.len() * 8) }
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_ne_bytes(word)
}

/// A fixed-size, NUL-padded kernel string: the bytes before the first NUL.
fn c_string(raw: &[u8]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

/// The first `count` names of an `ETHTOOL_GSTRINGS` answer, each in its
/// [`ETH_GSTRING_LEN`]-byte slot; slots beyond `data` are not read.
fn stat_names(data: &[u8], count: usize) -> Vec<String> {
    data.chunks_exact(ETH_GSTRING_LEN)
        .take(count)
        .map(c_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_strings_end_at_the_first_nul() {
        assert_eq!(c_string(b"veth\0\0\0\0"), "veth");
        assert_eq!(c_string(b"full"), "full");
        assert_eq!(c_string(b"a\0b"), "a");
        assert_eq!(c_string(b"\0"), "");
        assert_eq!(c_string(b"\xffx\0"), "\u{fffd}x");
    }

    #[test]
    fn names_come_in_fixed_slots() {
        let mut data = vec![0u8; 3 * ETH_GSTRING_LEN];
        data[..11].copy_from_slice(b"peer_ifindx");
        data[32..64].copy_from_slice(&[b'x'; 32]);
        assert_eq!(
            stat_names(&data, 3),
            vec!["peer_ifindx".to_string(), "x".repeat(32), String::new()]
        );
        assert_eq!(stat_names(&data, 1).len(), 1);
        assert_eq!(stat_names(&data[..40], 3).len(), 1);
    }

    #[test]
    fn unusable_names_never_reach_the_kernel() {
        let socket = EthtoolSocket::open().expect("AF_INET socket");
        for name in ["", "a-name-longer-than-15", "nul\0name"] {
            let err = socket.driver_info(name).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ENODEV), "{name:?}");
        }
    }

    #[test]
    fn absent_interfaces_are_enodev() {
        let socket = EthtoolSocket::open().expect("AF_INET socket");
        let err = socket.stats("hwnosuchdev0").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENODEV));
        let err = socket.link_settings("hwnosuchdev0").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENODEV));
    }
}
