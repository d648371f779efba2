"""Checks on the rendered Kubernetes manifests that schema validators cannot
make: that the DaemonSet has what a node agent needs, and that the Service,
ServiceMonitor and NetworkPolicy point at it. Also splits a rendering into the
parts each validator takes, turns the plain Prometheus scrape job into one
that can run here, and gives the DaemonSet's agent arguments as they run on
this machine.

    manifests.py split RENDERED OUTDIR
    manifests.py check RENDERED
    manifests.py static-job SCRAPE_JOB OUT TARGET [CREDENTIALS_FILE]
    manifests.py host-args RENDERED
"""

import json
import sys

import yaml

# Custom resource kinds, validated against their CRD schema separately.
CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}


def load(path):
    with open(path) as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def split(rendered, outdir):
    docs = load(rendered)
    core = [d for d in docs if d["kind"] not in CRD_KINDS]
    custom = [d for d in docs if d["kind"] in CRD_KINDS]
    with open(f"{outdir}/core.yaml", "w") as f:
        yaml.safe_dump_all(core, f)
    with open(f"{outdir}/custom-resources.json", "w") as f:
        json.dump(custom, f)


def one(docs, kind):
    found = [d for d in docs if d["kind"] == kind]
    if len(found) != 1:
        raise SystemExit(f"expected one {kind}, found {len(found)}")
    return found[0]


def check(rendered):
    docs = load(rendered)
    problems = []

    def expect(condition, what):
        if not condition:
            problems.append(what)

    namespace = one(docs, "Namespace")
    labels = namespace["metadata"].get("labels", {})
    expect(labels.get("pod-security.kubernetes.io/enforce") == "privileged",
           "namespace enforces the privileged Pod Security level")
    for doc in docs:
        if doc["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            expect(doc["metadata"].get("namespace") == namespace["metadata"]["name"],
                   f"{doc['kind']} is in the hostwatch namespace")

    account = one(docs, "ServiceAccount")
    expect(account.get("automountServiceAccountToken") is False,
           "the ServiceAccount mounts no token")

    ds = one(docs, "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    pod_labels = ds["spec"]["template"]["metadata"]["labels"]
    expect(pod.get("hostNetwork") is True, "hostNetwork")
    expect(pod.get("hostPID") is True, "hostPID")
    expect(pod.get("automountServiceAccountToken") is False, "no token in the pod")
    expect(pod.get("serviceAccountName") == account["metadata"]["name"], "the ServiceAccount is used")
    expect({"operator": "Exists"} in pod.get("tolerations", []), "tolerates every taint")
    expect(pod.get("nodeSelector") == {"kubernetes.io/os": "linux"}, "Linux nodes only")
    expect(pod.get("priorityClassName") == "system-node-critical", "system-node-critical")
    strategy = ds["spec"].get("updateStrategy", {})
    expect(strategy.get("type") == "RollingUpdate"
           and strategy.get("rollingUpdate", {}).get("maxUnavailable") == "10%",
           "RollingUpdate with maxUnavailable 10%")

    containers = pod["containers"]
    expect(len(containers) == 1, "one container")
    c = containers[0]
    sc = c.get("securityContext", {})
    expect(sc.get("runAsNonRoot") is True, "runAsNonRoot")
    expect(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
    expect(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation false")
    expect(sc.get("capabilities", {}).get("drop") == ["ALL"], "drops all capabilities")
    expect(sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "RuntimeDefault seccomp")
    expect(not sc.get("privileged"), "not privileged")
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            expect(resource in c.get("resources", {}).get(kind, {}), f"{kind}.{resource}")

    ports = {p["name"]: p for p in c.get("ports", [])}
    metrics = ports.get("metrics", {})
    expect(metrics.get("containerPort") == 9100 and metrics.get("hostPort") == 9100,
           "containerPort and hostPort 9100 named metrics")
    secured = any(a.startswith("--web.config.file=") for a in c.get("args", []))
    kubernetes_auth = "--web.auth.kubernetes" in c.get("args", [])
    expect(not (secured and kubernetes_auth),
           "not both --web.config.file (basic auth) and --web.auth.kubernetes")
    for probe, path in (("livenessProbe", "/-/healthy"), ("readinessProbe", "/-/ready")):
        if secured:
            # Every path needs credentials then; the probe checks the port.
            tcp = c.get(probe, {}).get("tcpSocket", {})
            expect(tcp.get("port") == "metrics", f"{probe} on the metrics port (tcpSocket)")
        else:
            get = c.get(probe, {}).get("httpGet", {})
            scheme = "HTTPS" if kubernetes_auth else "HTTP"
            expect(get.get("path") == path and get.get("port") == "metrics"
                   and get.get("scheme", "HTTP") == scheme, f"{probe} on {path} over {scheme}")
    if kubernetes_auth:
        check_kubernetes_auth(docs, pod, c, account, expect)

    volumes = {v["name"]: v.get("hostPath", {}).get("path") for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
    args = c.get("args", [])
    for host_path, mount_path, flag in (("/proc", "/host/proc", "--path.procfs"),
                                        ("/sys", "/host/sys", "--path.sysfs"),
                                        ("/", "/host/root", "--path.rootfs")):
        mount = mounts.get(mount_path, {})
        expect(volumes.get(mount.get("name")) == host_path, f"hostPath {host_path} at {mount_path}")
        expect(mount.get("readOnly") is True, f"{mount_path} read-only")
        expect(f"{flag}={mount_path}" in args, f"{flag}={mount_path}")
    expect(mounts.get("/host/root", {}).get("mountPropagation") == "HostToContainer",
           "the root mount has HostToContainer propagation")
    for flag in ("--collector.filesystem.mount-points-exclude=",
                 "--collector.netclass.ignored-devices=",
                 "--collector.netdev.device-exclude="):
        expect(any(a.startswith(flag) for a in args), f"{flag}...")

    def selects(selector, labels):
        return all(labels.get(k) == v for k, v in selector.items())

    service = one(docs, "Service")
    expect(service["spec"].get("clusterIP") == "None", "the Service is headless")
    expect(selects(service["spec"]["selector"], pod_labels), "the Service selects the pods")
    service_ports = {p["name"]: p for p in service["spec"]["ports"]}
    expect(service_ports.get("metrics", {}).get("targetPort") == "metrics",
           "the Service's metrics port targets the pods' metrics port")

    monitors = [d for d in docs if d["kind"] == "ServiceMonitor"]
    for monitor in monitors:
        spec = monitor["spec"]
        if kubernetes_auth:
            for endpoint in spec["endpoints"]:
                expect(endpoint.get("scheme") == "https"
                       and endpoint.get("tlsConfig", {}).get("insecureSkipVerify") is True
                       and endpoint.get("bearerTokenFile") == SERVICE_ACCOUNT_DIR + "/token",
                       "the ServiceMonitor scrapes over https with Prometheus's token")
        expect(selects(spec["selector"]["matchLabels"], service["metadata"]["labels"]),
               "the ServiceMonitor selects the Service")
        for endpoint in spec["endpoints"]:
            expect(endpoint.get("port") in service_ports, "the ServiceMonitor scrapes a named Service port")
            expect(any(r.get("targetLabel") == "instance"
                       and r.get("sourceLabels") == ["__meta_kubernetes_pod_node_name"]
                       for r in endpoint.get("relabelings", [])),
                   "the ServiceMonitor sets instance to the node name")

    policy = one(docs, "NetworkPolicy")
    expect(selects(policy["spec"]["podSelector"]["matchLabels"], pod_labels),
           "the NetworkPolicy selects the pods")
    rules = policy["spec"].get("ingress", [])
    expect(len(rules) == 1
           and [p.get("port") for p in rules[0].get("ports", [])] == ["metrics"]
           and all(peer.get("podSelector", {}).get("matchLabels") == {"app.kubernetes.io/name": "prometheus"}
                   for peer in rules[0].get("from", [])),
           "the NetworkPolicy admits only Prometheus pods, on the metrics port")

    for problem in problems:
        print(f"{rendered}: missing: {problem}", file=sys.stderr)
    if problems:
        raise SystemExit(1)


SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def check_kubernetes_auth(docs, pod, container, account, expect):
    """With --web.auth.kubernetes: the agent's token mounted in its
    container alone, its ServiceAccount allowed to create the two reviews,
    and a ClusterRole granting get on /metrics bound to someone."""
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    sources = volumes.get(mounts.get(SERVICE_ACCOUNT_DIR), {}).get("projected", {}).get("sources", [])
    expect(any(s.get("serviceAccountToken", {}).get("path") == "token" for s in sources)
           and any(s.get("configMap", {}).get("name") == "kube-root-ca.crt" for s in sources),
           f"the service account's token and CA projected at {SERVICE_ACCOUNT_DIR}")
    roles = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ClusterRole"}
    bindings = [d for d in docs if d["kind"] == "ClusterRoleBinding"]

    def bound(role, subject=None):
        return [b for b in bindings if b["roleRef"]["name"] == role
                and (subject is None or subject in b.get("subjects", []))]

    agent = {"kind": "ServiceAccount", "name": account["metadata"]["name"],
             "namespace": account["metadata"]["namespace"]}
    reviewers = [name for name, role in roles.items()
                 if {("authentication.k8s.io", "tokenreviews"), ("authorization.k8s.io", "subjectaccessreviews")}
                 <= {(g, r) for rule in role.get("rules", []) if "create" in rule.get("verbs", [])
                     for g in rule.get("apiGroups", []) for r in rule.get("resources", [])}]
    expect(any(bound(name, agent) for name in reviewers),
           "the agent's ServiceAccount may create tokenreviews and subjectaccessreviews")
    readers = [name for name, role in roles.items()
               if any("/metrics" in rule.get("nonResourceURLs", []) and "get" in rule.get("verbs", [])
                      for rule in role.get("rules", []))]
    expect(any(bound(name) for name in readers), "a ClusterRole granting get on /metrics is bound")


def static_job(scrape_job, out, target, credentials_file=None):
    """The scrape job with Kubernetes discovery replaced by one static target
    carrying the meta labels endpointslice discovery gives a hostwatch pod."""
    with open(scrape_job) as f:
        config = yaml.safe_load(f)
    job = config["scrape_configs"][0]
    del job["kubernetes_sd_configs"]
    job["static_configs"] = [{
        "targets": [target],
        "labels": {
            "__meta_kubernetes_namespace": "hostwatch",
            "__meta_kubernetes_service_name": "hostwatch",
            "__meta_kubernetes_service_label_app_kubernetes_io_name": "hostwatch",
            "__meta_kubernetes_service_label_app_kubernetes_io_component": "exporter",
            "__meta_kubernetes_endpointslice_port_name": "metrics",
            "__meta_kubernetes_pod_name": "hostwatch-x7k2p",
            "__meta_kubernetes_pod_container_name": "hostwatch",
            "__meta_kubernetes_pod_node_name": "node-a",
        },
    }, {
        # Another Service's endpoint in the namespace: must be dropped.
        "targets": ["127.0.0.1:1"],
        "labels": {
            "__meta_kubernetes_service_label_app_kubernetes_io_name": "other",
            "__meta_kubernetes_endpointslice_port_name": "metrics",
        },
    }]
    if credentials_file is not None:
        # The token Prometheus's pod would have mounted.
        job["authorization"]["credentials_file"] = credentials_file
    job["scrape_interval"] = "1s"
    job["scrape_timeout"] = "1s"
    with open(out, "w") as f:
        yaml.safe_dump(config, f)


def host_args(rendered):
    """The DaemonSet's agent flags as they run on this machine, one per line:
    a value under a hostPath volume's mount point is mapped back to the host
    path (/host/proc -> /proc, /host/root/run/udev/data -> /run/udev/data),
    every other flag is kept as it is, and --web.listen-address is left out
    for the caller to give one on loopback."""
    pod = one(load(rendered), "DaemonSet")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    host_paths = {v["name"]: v["hostPath"]["path"] for v in pod.get("volumes", []) if "hostPath" in v}
    # Longest mount point first, should one hold another.
    mounts = sorted(((m["mountPath"].rstrip("/"), host_paths[m["name"]])
                     for m in container.get("volumeMounts", []) if m["name"] in host_paths),
                    key=lambda mount: -len(mount[0]))
    for arg in container.get("args", []):
        flag, equals, value = arg.partition("=")
        if flag == "--web.listen-address":
            continue
        for mount, host in mounts:
            if equals and (value == mount or value.startswith(mount + "/")):
                value = host.rstrip("/") + value[len(mount):] or "/"
                break
        print(f"{flag}{equals}{value}")


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    {"split": split, "check": check, "static-job": static_job, "host-args": host_args}[command](*rest)
