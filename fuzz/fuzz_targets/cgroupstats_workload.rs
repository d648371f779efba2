//! The recognition of the kubelet's QoS, pod and container cgroup names:
//! no input may make it panic.
#![no_main]
use hostwatch::collectors::cgroupstats::workload::{self, QosClass, Runtime};

hostwatch_fuzz::parser_target!(|text| (
    workload::kubepods_child(text),
    workload::pod_uid(text, QosClass::Burstable),
    workload::pod_uid(text, QosClass::Guaranteed),
    workload::container_id(text, Runtime::Containerd),
));
