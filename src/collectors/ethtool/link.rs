//! Link settings as `ETHTOOL_GSET` reports them, and what they mean: the
//! speeds, port types and capabilities set in a link mode mask.
//!
//! Bit numbers are `enum ethtool_link_mode_bit_indices` of
//! `<linux/ethtool.h>`; the legacy command carries the first 32 only.

/// The link settings of one interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkSettings {
    /// Link modes the interface supports.
    pub supported: u32,
    /// Link modes the interface advertises to its peer.
    pub advertising: u32,
    /// Whether autonegotiation is on (`AUTONEG_ENABLE`, 1) or off (0).
    pub autoneg: u8,
}

const AUTONEG_BIT: u32 = 6;
const PAUSE_BIT: u32 = 13;
const ASYM_PAUSE_BIT: u32 = 14;

/// Speed modes: bit, speed in Mb/s, duplex, and the physical medium that
/// names the mode (`<speed>base<medium>`). 2500baseX (bit 15) is not one
/// node_exporter reports.
const SPEED_MODES: [(u32, u32, &str, &str); 22] = [
    (0, 10, "half", "T"),
    (1, 10, "full", "T"),
    (2, 100, "half", "T"),
    (3, 100, "full", "T"),
    (4, 1000, "half", "T"),
    (5, 1000, "full", "T"),
    (12, 10000, "full", "T"),
    (17, 1000, "full", "KX"),
    (18, 10000, "full", "KX4"),
    (19, 10000, "full", "KR"),
    (20, 10000, "full", "R_FEC"),
    (21, 20000, "full", "MLD2"),
    (22, 20000, "full", "KR2"),
    (23, 40000, "full", "KR4"),
    (24, 40000, "full", "CR4"),
    (25, 40000, "full", "SR4"),
    (26, 40000, "full", "LR4"),
    (27, 56000, "full", "KR4"),
    (28, 56000, "full", "CR4"),
    (29, 56000, "full", "SR4"),
    (30, 56000, "full", "LR4"),
    (31, 25000, "full", "CR"),
];

/// Port types: bit and node_exporter's `type` label.
const PORTS: [(u32, &str); 6] = [
    (7, "TP"),
    (8, "AUI"),
    (9, "MII"),
    (10, "FIBRE"),
    (11, "BNC"),
    (16, "Backplane"),
];

/// A speed mode set in a mask.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeedMode {
    /// Bytes per second, as netclass reports speeds.
    pub bytes_per_second: f64,
    /// `full` or `half`.
    pub duplex: &'static str,
    /// The mode's name, such as `1000baseT`.
    pub mode: String,
}

/// The pause and autonegotiation capabilities set in a mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Autonegotiation.
    pub autonegotiate: bool,
    /// Pause frames.
    pub pause: bool,
    /// Asymmetric pause frames.
    pub asymmetric_pause: bool,
}

fn is_set(mask: u32, bit: u32) -> bool {
    mask & (1 << bit) != 0
}

/// The speed modes set in `mask`.
pub fn speed_modes(mask: u32) -> Vec<SpeedMode> {
    SPEED_MODES
        .iter()
        .filter(|(bit, ..)| is_set(mask, *bit))
        .map(|&(_, mbps, duplex, medium)| SpeedMode {
            bytes_per_second: f64::from(mbps) * 1_000_000.0 / 8.0,
            duplex,
            mode: format!("{mbps}base{medium}"),
        })
        .collect()
}

/// The port types set in `mask`.
pub fn port_types(mask: u32) -> Vec<&'static str> {
    PORTS
        .iter()
        .filter(|(bit, _)| is_set(mask, *bit))
        .map(|(_, name)| *name)
        .collect()
}

/// The capabilities set in `mask`.
pub fn capabilities(mask: u32) -> Capabilities {
    Capabilities {
        autonegotiate: is_set(mask, AUTONEG_BIT),
        pause: is_set(mask, PAUSE_BIT),
        asymmetric_pause: is_set(mask, ASYM_PAUSE_BIT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gigabit_copper_port() {
        // e1000e's usual supported mask: 10/100 half+full, 1000 full,
        // autoneg, TP, pause.
        let mask = 0b1110_1111;
        let modes: Vec<_> = speed_modes(mask)
            .into_iter()
            .map(|m| (m.mode, m.duplex, m.bytes_per_second))
            .collect();
        assert_eq!(
            modes,
            vec![
                ("10baseT".to_string(), "half", 1_250_000.0),
                ("10baseT".to_string(), "full", 1_250_000.0),
                ("100baseT".to_string(), "half", 12_500_000.0),
                ("100baseT".to_string(), "full", 12_500_000.0),
                ("1000baseT".to_string(), "full", 125_000_000.0),
            ]
        );
        assert_eq!(port_types(mask), vec!["TP"]);
        assert_eq!(
            capabilities(mask),
            Capabilities {
                autonegotiate: true,
                pause: false,
                asymmetric_pause: false
            }
        );
    }

    #[test]
    fn high_bits() {
        let mask = (1 << 31) | (1 << 20) | (1 << 16) | (1 << 13) | (1 << 14) | (1 << 15);
        let modes: Vec<_> = speed_modes(mask).into_iter().map(|m| m.mode).collect();
        assert_eq!(modes, vec!["10000baseR_FEC", "25000baseCR"]);
        assert_eq!(port_types(mask), vec!["Backplane"]);
        let caps = capabilities(mask);
        assert!(caps.pause && caps.asymmetric_pause && !caps.autonegotiate);
    }

    #[test]
    fn empty_mask() {
        assert!(speed_modes(0).is_empty());
        assert!(port_types(0).is_empty());
        assert!(!capabilities(0).autonegotiate);
    }
}
