//! What a cgroup below the kubelet's `kubepods` cgroup is: a QoS class, a
//! pod or a container, recognised from its directory name under either
//! cgroup driver and any of the container runtimes:
//!
//! | driver | QoS | pod | container |
//! |---|---|---|---|
//! | systemd | `kubepods-burstable.slice` | `kubepods-burstable-pod<uid with _>.slice` | `cri-containerd-<id>.scope`, `crio-<id>.scope`, `docker-<id>.scope` |
//! | cgroupfs | `burstable` | `pod<uid>` | `<id>` (containerd, cri-dockerd), `crio-<id>` |
//!
//! Guaranteed pods sit directly below `kubepods` (`kubepods-pod<uid>.slice`,
//! `pod<uid>`). The systemd driver writes the pod UID's dashes as `_`,
//! since `-` separates a slice's parents.

/// A pod's quality-of-service class, as the Kubernetes API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QosClass {
    /// Requests equal limits for every resource: pods directly in kubepods.
    Guaranteed,
    /// The `burstable` QoS cgroup.
    Burstable,
    /// The `besteffort` QoS cgroup.
    BestEffort,
}

impl QosClass {
    /// The `qos_class` label value, as kube-state-metrics writes it.
    pub fn label(self) -> &'static str {
        match self {
            QosClass::Guaranteed => "Guaranteed",
            QosClass::Burstable => "Burstable",
            QosClass::BestEffort => "BestEffort",
        }
    }

    /// The class's word in cgroup names.
    fn word(self) -> &'static str {
        match self {
            QosClass::Guaranteed => "",
            QosClass::Burstable => "burstable",
            QosClass::BestEffort => "besteffort",
        }
    }
}

/// The runtime a container cgroup belongs to, which gives the
/// `container_id` its scheme as the kubelet reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// containerd: `containerd://`.
    Containerd,
    /// CRI-O: `cri-o://`.
    CriO,
    /// Docker through cri-dockerd: `docker://`.
    Docker,
}

impl Runtime {
    fn scheme(self) -> &'static str {
        match self {
            Runtime::Containerd => "containerd://",
            Runtime::CriO => "cri-o://",
            Runtime::Docker => "docker://",
        }
    }

    /// Parses the value of `--collector.cgroupstats.cgroupfs-runtime`.
    pub fn parse(name: &str) -> Result<Runtime, String> {
        match name {
            "containerd" => Ok(Runtime::Containerd),
            "cri-o" => Ok(Runtime::CriO),
            "docker" => Ok(Runtime::Docker),
            other => Err(format!(
                "unknown runtime {other:?}: expected containerd, cri-o or docker"
            )),
        }
    }
}

/// Whether a top-level cgroup is the kubelet's `kubepods`.
pub fn is_kubepods(name: &str) -> bool {
    name == "kubepods.slice" || name == "kubepods"
}

/// What a child of `kubepods` is: a QoS cgroup or a Guaranteed pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubepodsChild {
    /// The Burstable or BestEffort cgroup.
    Qos(QosClass),
    /// A Guaranteed pod, with its UID.
    Pod(String),
}

/// Classifies a child of `kubepods`; `None` for anything else.
pub fn kubepods_child(name: &str) -> Option<KubepodsChild> {
    for qos in [QosClass::Burstable, QosClass::BestEffort] {
        if name == qos.word() || name == format!("kubepods-{}.slice", qos.word()) {
            return Some(KubepodsChild::Qos(qos));
        }
    }
    pod_uid(name, QosClass::Guaranteed).map(KubepodsChild::Pod)
}

/// The UID of a pod cgroup of class `qos` named `name`, in the API's form
/// (dashes, not underscores); `None` if `name` is not one.
pub fn pod_uid(name: &str, qos: QosClass) -> Option<String> {
    let systemd_prefix = match qos {
        QosClass::Guaranteed => "kubepods-pod".to_string(),
        other => format!("kubepods-{}-pod", other.word()),
    };
    let uid = name
        .strip_prefix(&systemd_prefix)
        .and_then(|rest| rest.strip_suffix(".slice"))
        .map(|uid| uid.replace('_', "-"))
        .or_else(|| name.strip_prefix("pod").map(str::to_string))?;
    is_pod_uid(&uid).then_some(uid)
}

/// A UUID (36 characters with dashes) as the API server assigns, or the
/// 32 hexadecimal digits of a static pod's UID, a hash of its manifest.
fn is_pod_uid(uid: &str) -> bool {
    let hex_and_dashes = uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    let dashes = uid.bytes().filter(|&b| b == b'-').count();
    hex_and_dashes && ((uid.len() == 36 && dashes == 4) || (uid.len() == 32 && dashes == 0))
}

/// The `container_id` of a container cgroup named `name` below a pod, as
/// kube-state-metrics writes it (`containerd://<id>`); `None` for anything
/// else, such as CRI-O's `crio-conmon-<id>.scope`. A bare id (the
/// cgroupfs driver with containerd or cri-dockerd) names no runtime: it is
/// given `cgroupfs_runtime`'s scheme.
pub fn container_id(name: &str, cgroupfs_runtime: Runtime) -> Option<String> {
    let scoped = [
        ("cri-containerd-", Runtime::Containerd),
        ("crio-", Runtime::CriO),
        ("docker-", Runtime::Docker),
    ]
    .into_iter()
    .find_map(|(prefix, runtime)| {
        let id = name.strip_prefix(prefix)?;
        Some((id.strip_suffix(".scope").unwrap_or(id), runtime))
    });
    let (id, runtime) = scoped.unwrap_or((name, cgroupfs_runtime));
    is_container_id(id).then(|| format!("{}{}", runtime.scheme(), id))
}

/// Container ids are 64 hexadecimal digits with all three runtimes.
fn is_container_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "6b5a4c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b";
    const STATIC_UID: &str = "8a4f2a2c6e0b1d3f5a7c9e1b3d5f7a9c";
    const ID: &str = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899";

    #[test]
    fn recognises_kubepods_under_both_drivers() {
        assert!(is_kubepods("kubepods.slice"));
        assert!(is_kubepods("kubepods"));
        assert!(!is_kubepods("kubepods-besteffort.slice"));
        assert!(!is_kubepods("system.slice"));
    }

    #[test]
    fn recognises_qos_cgroups_and_guaranteed_pods() {
        assert_eq!(
            kubepods_child("kubepods-burstable.slice"),
            Some(KubepodsChild::Qos(QosClass::Burstable))
        );
        assert_eq!(
            kubepods_child("besteffort"),
            Some(KubepodsChild::Qos(QosClass::BestEffort))
        );
        assert_eq!(
            kubepods_child("kubepods-pod6b5a4c1e_2f3d_4e5f_8a9b_0c1d2e3f4a5b.slice"),
            Some(KubepodsChild::Pod(UID.to_string()))
        );
        assert_eq!(
            kubepods_child(&format!("pod{UID}")),
            Some(KubepodsChild::Pod(UID.to_string()))
        );
        assert_eq!(kubepods_child("guaranteed"), None);
        assert_eq!(kubepods_child("kubepods-podnot-a-uid.slice"), None);
    }

    #[test]
    fn reads_pod_uids_of_both_drivers_and_static_pods() {
        assert_eq!(
            pod_uid(
                "kubepods-burstable-pod6b5a4c1e_2f3d_4e5f_8a9b_0c1d2e3f4a5b.slice",
                QosClass::Burstable
            ),
            Some(UID.to_string())
        );
        assert_eq!(
            pod_uid(&format!("pod{UID}"), QosClass::BestEffort),
            Some(UID.to_string())
        );
        assert_eq!(
            pod_uid(
                &format!("kubepods-besteffort-pod{STATIC_UID}.slice"),
                QosClass::BestEffort
            ),
            Some(STATIC_UID.to_string())
        );
        // The class in the name must be the parent's.
        assert_eq!(
            pod_uid(
                "kubepods-besteffort-pod6b5a4c1e_2f3d_4e5f_8a9b_0c1d2e3f4a5b.slice",
                QosClass::Burstable
            ),
            None
        );
        for bad in [
            "pod",
            "pod1234",
            "podxyz",
            "kubepods-burstable-pod.slice",
            "cri-containerd-1.scope",
        ] {
            assert_eq!(pod_uid(bad, QosClass::Burstable), None, "{bad}");
        }
    }

    #[test]
    fn reads_container_ids_of_every_runtime() {
        let containerd = Runtime::Containerd;
        assert_eq!(
            container_id(&format!("cri-containerd-{ID}.scope"), containerd),
            Some(format!("containerd://{ID}"))
        );
        assert_eq!(
            container_id(&format!("crio-{ID}.scope"), containerd),
            Some(format!("cri-o://{ID}"))
        );
        assert_eq!(
            container_id(&format!("docker-{ID}.scope"), containerd),
            Some(format!("docker://{ID}"))
        );
        // The cgroupfs driver: CRI-O names it, containerd and cri-dockerd
        // write the bare id.
        assert_eq!(
            container_id(&format!("crio-{ID}"), containerd),
            Some(format!("cri-o://{ID}"))
        );
        assert_eq!(
            container_id(ID, containerd),
            Some(format!("containerd://{ID}"))
        );
        assert_eq!(
            container_id(ID, Runtime::Docker),
            Some(format!("docker://{ID}"))
        );
        // CRI-O's monitor process is not a container.
        assert_eq!(
            container_id(&format!("crio-conmon-{ID}.scope"), containerd),
            None
        );
        assert_eq!(container_id("cri-containerd-abc.scope", containerd), None);
        assert_eq!(container_id("", containerd), None);
    }

    #[test]
    fn parses_runtime_names() {
        assert_eq!(Runtime::parse("cri-o"), Ok(Runtime::CriO));
        assert_eq!(Runtime::parse("docker"), Ok(Runtime::Docker));
        assert!(Runtime::parse("podman").unwrap_err().contains("podman"));
    }
}
