//! `bonding`: configured and active slaves of each Linux bonding interface,
//! from `<sysfs>/class/net/bonding_masters` and each master's
//! `bonding/slaves`, with a slave's link state from
//! `<master>/lower_<slave>/bonding_slave/mii_status` (`slave_<slave>` on
//! kernels before `lower_` links).
//!
//! As node_exporter, a run reports all masters or none: anything missing
//! along the way (no bonding driver, a master or slave removed while being
//! read) means no data, and any other read error fails the run.

use std::io;
use std::path::Path;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{Desc, MetricSet};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "bonding",
    default_enabled: true,
    reads: "/sys/class/net/bonding_masters, /sys/class/net/<bond>/bonding/slaves, \
            /sys/class/net/<bond>/lower_<slave>/bonding_slave/mii_status",
    flags: None,
    build: plain::<BondingCollector>,
};

/// Reports `node_bonding_slaves` and `node_bonding_active`.
#[derive(Default)]
struct BondingCollector;

/// The slave counts of one bonding master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bond {
    /// The master interface (`bond0`).
    pub master: String,
    /// Slaves configured.
    pub slaves: u64,
    /// Slaves whose MII link status is `up`.
    pub active: u64,
}

impl Bond {
    /// Reads every master listed in `<class_net>/bonding_masters`.
    pub fn read_all(class_net: &Path) -> io::Result<Vec<Bond>> {
        let masters = read_text(&class_net.join("bonding_masters"))?;
        let mut bonds = Vec::new();
        for master in masters.split_whitespace() {
            let dir = class_net.join(master);
            let slaves = read_text(&dir.join("bonding").join("slaves"))?;
            let mut bond = Bond {
                master: master.to_string(),
                slaves: 0,
                active: 0,
            };
            for slave in slaves.split_whitespace() {
                bond.slaves += 1;
                if mii_status(&dir, slave)?.trim() == "up" {
                    bond.active += 1;
                }
            }
            bonds.push(bond);
        }
        Ok(bonds)
    }
}

/// The `mii_status` of `slave`, seen through its master's directory.
fn mii_status(master_dir: &Path, slave: &str) -> io::Result<String> {
    let at = |prefix: &str| {
        master_dir
            .join(format!("{prefix}{slave}"))
            .join("bonding_slave")
            .join("mii_status")
    };
    match read_text(&at("lower_")) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => read_text(&at("slave_")),
        result => result,
    }
}

/// One of the counts of a [`Bond`].
type BondCount = fn(&Bond) -> u64;

impl Collector for BondingCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let class_net = host.sys_path("class/net");
        let bonds = Bond::read_all(&class_net).map_err(|err| {
            if err.kind() == io::ErrorKind::NotFound {
                CollectError::no_data(format!(
                    "no bonding information under {}",
                    class_net.display()
                ))
            } else {
                CollectError::io(&class_net, &err)
            }
        })?;
        let families: [Desc<BondCount>; 2] = [
            Desc::gauge(
                "node_bonding_slaves",
                "Number of configured slaves per bonding interface.",
                |b| b.slaves,
            ),
            Desc::gauge(
                "node_bonding_active",
                "Number of active slaves per bonding interface.",
                |b| b.active,
            ),
        ];
        for desc in families {
            let family = desc.family(out, &["master"]);
            for bond in &bonds {
                family.push(&[&bond.master], (desc.source)(bond) as f64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{build, fixture_host, scrape_fixtures};
    use crate::collectors::ErrorKind;

    fn write(root: &Path, path: &str, content: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    fn bond(master: &str, slaves: u64, active: u64) -> Bond {
        Bond {
            master: master.to_string(),
            slaves,
            active,
        }
    }

    #[test]
    fn reads_the_fixture_host() {
        let bonds = Bond::read_all(&fixture_host().sys_path("class/net")).unwrap();
        assert_eq!(bonds, [bond("bond0", 2, 1)]);
    }

    #[test]
    fn lower_and_older_slave_links_and_empty_bonds() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "bonding_masters", "bond0 bond1 bond2\n");
        write(root, "bond0/bonding/slaves", "eth0 eth1 eth2\n");
        write(root, "bond0/lower_eth0/bonding_slave/mii_status", "up\n");
        write(root, "bond0/lower_eth1/bonding_slave/mii_status", "down\n");
        write(
            root,
            "bond0/lower_eth2/bonding_slave/mii_status",
            "going back\n",
        );
        write(root, "bond1/bonding/slaves", "ens1f0 ens1f1\n");
        write(root, "bond1/slave_ens1f0/bonding_slave/mii_status", "up\n");
        write(root, "bond1/slave_ens1f1/bonding_slave/mii_status", "up\n");
        write(root, "bond2/bonding/slaves", "\n");
        assert_eq!(
            Bond::read_all(root).unwrap(),
            [
                bond("bond0", 3, 1),
                bond("bond1", 2, 2),
                bond("bond2", 0, 0)
            ]
        );
    }

    #[test]
    fn no_masters_listed_is_no_bonds() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "bonding_masters", "");
        assert_eq!(Bond::read_all(dir.path()).unwrap(), []);
    }

    fn run_on(sysfs: &Path) -> (MetricSet, Result<(), CollectError>) {
        let host = Host::new("/nonexistent", sysfs, "/", "/nonexistent");
        let collector = build(&SPEC, host, &[]).unwrap();
        let mut out = MetricSet::new();
        let result = collector.update(&mut out);
        (out, result)
    }

    #[test]
    fn anything_missing_is_no_data_for_every_master() {
        let dir = tempfile::tempdir().unwrap();
        let sysfs = dir.path();
        // No bonding driver loaded.
        let (_, result) = run_on(sysfs);
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
        // A listed master without its directory, then a slave without one.
        write(sysfs, "class/net/bonding_masters", "bond0 bond1\n");
        write(sysfs, "class/net/bond0/bonding/slaves", "eth0\n");
        write(
            sysfs,
            "class/net/bond0/lower_eth0/bonding_slave/mii_status",
            "up\n",
        );
        let (out, result) = run_on(sysfs);
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
        assert!(out.families().is_empty());
        write(sysfs, "class/net/bond1/bonding/slaves", "eth9\n");
        let (_, result) = run_on(sysfs);
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
        write(
            sysfs,
            "class/net/bond1/lower_eth9/bonding_slave/mii_status",
            "down\n",
        );
        run_on(sysfs).1.unwrap();
    }

    #[test]
    fn unreadable_slaves_fail_the_run() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "class/net/bonding_masters", "bond0\n");
        // A directory where a file should be: EISDIR, not absence.
        std::fs::create_dir_all(dir.path().join("class/net/bond0/bonding/slaves")).unwrap();
        let (_, result) = run_on(dir.path());
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("class/net"), "{err}");
    }

    #[test]
    fn reports_the_fixture_host_as_node_exporter() {
        let text = scrape_fixtures(&SPEC, &[]);
        assert_eq!(
            text,
            "# HELP node_bonding_active Number of active slaves per bonding interface.\n\
             # TYPE node_bonding_active gauge\n\
             node_bonding_active{master=\"bond0\"} 1\n\
             # HELP node_bonding_slaves Number of configured slaves per bonding interface.\n\
             # TYPE node_bonding_slaves gauge\n\
             node_bonding_slaves{master=\"bond0\"} 2\n"
        );
    }
}
