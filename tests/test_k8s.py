"""The Kubernetes route (classroom/k8s/, docs/classroom.md), checked offline.

- ``values.yaml`` against Zero to JupyterHub's own values schema (vendored in tests/data/z2jh/,
  merged over the chart's defaults as Helm does), with ``check-jsonschema``;
- the student pod KubeSpawner makes from those values, ``pod.yaml`` and ``networkpolicy.yaml``
  against Kubernetes' API schemas, with ``kubernetes-validate``, plus the rules the API server
  checks in code (no schema says them);
- the seccomp profile: what it allows is exactly what the lessons need on top of the runtime default;
- the OCI image writer of ``scripts/image`` on a small tree, and the built archive when there is one
  (digests and sizes of every blob, the config, the entrypoint).
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import importlib.machinery
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parent.parent
K8S = REPO / "classroom/k8s"
Z2JH = Path(__file__).resolve().parent / "data/z2jh"
KUBERNETES = "1.36.0"  # user namespaces for pods are stable (GA) from here on
LESSON_CAPABILITIES = {"NET_ADMIN", "NET_BIND_SERVICE", "NET_RAW", "SYS_ADMIN"}
CLONE_NEWUSER = 0x10000000
BUILT_ARCHIVE = REPO / "build/netlab-image.oci.tar"


def helm_merge(defaults: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of user values over a chart's defaults: maps merge, a null removes the key."""
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return load_yaml(K8S / "values.yaml")


@pytest.fixture(scope="module")
def merged(values: dict[str, Any]) -> dict[str, Any]:
    return helm_merge(load_yaml(Z2JH / "values.yaml"), values)


def check_jsonschema(instance: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("check-jsonschema")
    if not exe.exists():
        pytest.skip("check-jsonschema is not installed (the test extra has it)")
    path = tmp_path / "values.json"
    path.write_text(json.dumps(instance))
    schema = Z2JH / "values.schema.json"
    return subprocess.run([str(exe), "--schemafile", str(schema), str(path)], capture_output=True, text=True)


# -- the chart's values ---------------------------------------------------------------------------


def test_values_validate_against_the_charts_schema(merged: dict[str, Any], tmp_path: Path) -> None:
    result = check_jsonschema(merged, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok" in result.stdout


def test_the_schema_catches_a_misspelt_setting(merged: dict[str, Any], tmp_path: Path) -> None:
    broken = copy.deepcopy(merged)
    broken["singleuser"]["extraPodConfg"] = broken["singleuser"].pop("extraPodConfig")
    result = check_jsonschema(broken, tmp_path)
    assert result.returncode != 0
    assert "extraPodConfg" in result.stdout


def render_pod(merged: dict[str, Any]) -> dict[str, Any]:
    """The student pod KubeSpawner builds from the chart's values (the fields that matter here).

    As KubeSpawner's ``make_pod``: ``uid`` becomes the container's runAsUser, then
    ``container_security_context`` is merged over it; ``fsGid`` the pod's fsGroup; ``extraPodConfig``
    is merged into the pod spec; ``memory``/``cpu`` guarantee and limit become requests and limits.
    """
    single = merged["singleuser"]
    spawner = merged["hub"]["config"]["KubeSpawner"]
    security: dict[str, Any] = {"runAsUser": single["uid"]}
    if single.get("allowPrivilegeEscalation") is not None:
        security["allowPrivilegeEscalation"] = single["allowPrivilegeEscalation"]
    security.update(spawner.get("container_security_context", {}))
    resources: dict[str, dict[str, Any]] = {"requests": {}, "limits": {}}
    for kind in ("memory", "cpu"):
        if single[kind].get("guarantee") is not None:
            resources["requests"][kind] = single[kind]["guarantee"]
        if single[kind].get("limit") is not None:
            resources["limits"][kind] = single[kind]["limit"]
    image = single["image"]
    container = {
        "name": "notebook",
        "image": f"{image['name']}:{image['tag']}",
        "args": [single["cmd"]] if isinstance(single["cmd"], str) else list(single["cmd"]),
        "env": [{"name": k, "value": str(v)} for k, v in single["extraEnv"].items()],
        "ports": [{"name": "notebook-port", "containerPort": 8888}],
        "resources": resources,
        "securityContext": security,
        "volumeMounts": [{"name": "home", "mountPath": single["storage"]["homeMountPath"]}],
    }
    spec: dict[str, Any] = {
        "containers": [container],
        "securityContext": {"fsGroup": single["fsGid"]},
        "volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": "claim-student01"}}],
        "restartPolicy": "OnFailure",
    }
    spec.update(single["extraPodConfig"])
    if single["cloudMetadata"].get("blockWithIptables"):  # the chart's way: a privileged init container
        network_tools = single["networkTools"]["image"]
        spec["initContainers"] = [
            {
                "name": "block-cloud-metadata",
                "image": f"{network_tools['name']}:{network_tools['tag']}",
                "command": ["iptables", "--append", "OUTPUT", "--destination", single["cloudMetadata"]["ip"]],
                "securityContext": {"privileged": True, "runAsUser": 0, "capabilities": {"add": ["NET_ADMIN"]}},
            }
        ]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "jupyter-student01"}, "spec": spec}


def validate_k8s(resource: dict[str, Any]) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    kubernetes_validate.validate(resource, KUBERNETES, strict=True)


def test_the_rendered_student_pod_is_a_valid_pod(merged: dict[str, Any]) -> None:
    pod = render_pod(merged)
    validate_k8s(pod)
    assert pod["spec"]["hostUsers"] is False


def test_kubernetes_validate_catches_a_wrong_field(merged: dict[str, Any]) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    pod = render_pod(merged)
    pod["spec"]["containers"][0]["securityContext"]["procMount"] = {"type": "Unmasked"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, KUBERNETES, strict=True)


def api_server_rules(pod: dict[str, Any]) -> list[str]:
    """What the API server (and Pod Security) would say about a netlab pod beyond the schema, as findings."""
    findings = []
    spec = pod["spec"]
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        sc = container.get("securityContext", {})
        added = set(sc.get("capabilities", {}).get("add", []))
        if sc.get("allowPrivilegeEscalation") is False and ({"SYS_ADMIN", "CAP_SYS_ADMIN"} & added):
            findings.append("cannot set allowPrivilegeEscalation to false and capabilities.add SYS_ADMIN")
        if sc.get("procMount") == "Unmasked" and spec.get("hostUsers", True):
            findings.append("procMount Unmasked needs hostUsers: false")
        if sc.get("privileged"):
            findings.append("privileged")
        if added - LESSON_CAPABILITIES or sc.get("capabilities", {}).get("drop") != ["ALL"]:
            findings.append(f"capabilities beyond the lessons' own: {sorted(added)}")
    return findings


def test_the_student_pod_passes_the_api_servers_own_rules(merged: dict[str, Any]) -> None:
    assert api_server_rules(render_pod(merged)) == []


def test_the_rules_bite_on_what_hubs_often_do(merged: dict[str, Any]) -> None:
    chart_default = helm_merge(merged, {"singleuser": {"allowPrivilegeEscalation": False}})
    assert "allowPrivilegeEscalation" in " ".join(api_server_rules(render_pod(chart_default)))
    metadata_block = helm_merge(merged, {"singleuser": {"cloudMetadata": {"blockWithIptables": True}}})
    assert "privileged" in api_server_rules(render_pod(metadata_block))
    host_users = helm_merge(merged, {"singleuser": {"extraPodConfig": {"hostUsers": True}}})
    assert "procMount Unmasked needs hostUsers: false" in api_server_rules(render_pod(host_users))


def test_the_single_pod_matches_the_hubs_pods(values: dict[str, Any]) -> None:
    pod = load_yaml(K8S / "pod.yaml")
    validate_k8s(pod)
    policy = load_yaml(K8S / "networkpolicy.yaml")
    validate_k8s(policy)
    container = pod["spec"]["containers"][0]
    assert container["securityContext"] == values["hub"]["config"]["KubeSpawner"]["container_security_context"]
    assert pod["spec"]["hostUsers"] is False
    assert api_server_rules(pod) == []
    # The policy selects the pod and lists no rule: nothing in, nothing out.
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in policy["spec"] and "egress" not in policy["spec"]


def test_the_hubs_network_policy_lets_nothing_out_but_the_hub_and_dns(merged: dict[str, Any]) -> None:
    policy = merged["singleuser"]["networkPolicy"]
    assert policy["enabled"] is True
    allowed = {rule for rule, on in policy["egressAllowRules"].items() if on}
    assert allowed == {"dnsPortsKubeSystemNamespace"}
    assert policy["egress"] == [] and policy["ingress"] == []
    assert merged["cull"]["enabled"] is True and merged["cull"]["timeout"] > 0


# -- the seccomp profile --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def profile() -> dict[str, Any]:
    return json.loads((K8S / "seccomp/netlab.json").read_text())


def _rules_for(profile: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [rule for rule in profile["syscalls"] if name in rule["names"]]


def test_the_seccomp_profile_denies_by_default_and_is_the_one_the_pod_names(
    profile: dict[str, Any], values: dict[str, Any]
) -> None:
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    named = values["hub"]["config"]["KubeSpawner"]["container_security_context"]["seccompProfile"]
    assert named["type"] == "Localhost"
    assert named["localhostProfile"].endswith("/netlab.json")


def test_the_seccomp_profile_allows_the_lessons_calls(profile: dict[str, Any]) -> None:
    for name in ("setns", "mount", "umount2", "socket", "sendmsg", "execve"):
        (rule,) = _rules_for(profile, name)
        assert rule["action"] == "SCMP_ACT_ALLOW" and not rule.get("args")
    (unshare,) = _rules_for(profile, "unshare")
    (arg,) = unshare["args"]  # allowed only when the CLONE_NEWUSER bit is clear
    assert (arg["op"], arg["value"], arg.get("valueTwo", 0)) == ("SCMP_CMP_MASKED_EQ", CLONE_NEWUSER, 0)


def test_the_seccomp_profile_keeps_out_what_sys_admin_would_bring(profile: dict[str, Any]) -> None:
    # RuntimeDefault allows these too once a container has CAP_SYS_ADMIN; the lessons need none.
    for name in ("bpf", "perf_event_open", "fanotify_init", "name_to_handle_at", "open_by_handle_at", "ptrace",
                 "kexec_load", "init_module", "pivot_root", "sethostname", "umount", "keyctl", "add_key"):  # fmt: skip
        assert _rules_for(profile, name) == [], name
    (clone3,) = _rules_for(profile, "clone3")  # ENOSYS: glibc falls back to clone, whose flags are checked
    assert clone3["action"] == "SCMP_ACT_ERRNO" and clone3["errnoRet"] == 38


# -- the OCI image --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def image_script() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("netlab_image_script", str(REPO / "scripts/image"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_oci_archive(path: Path) -> tuple[dict[str, Any], list[dict[str, tarfile.TarInfo]]]:
    """Open an OCI image archive, check every digest and size on the way; return its config and layers' entries."""
    with tarfile.open(path) as archive:
        names = set(archive.getnames())

        def blob(descriptor: dict[str, Any]) -> bytes:
            algorithm, digest = descriptor["digest"].split(":")
            assert algorithm == "sha256"
            member = archive.extractfile(f"blobs/sha256/{digest}")
            assert member is not None, descriptor
            data = member.read()
            assert len(data) == descriptor["size"], descriptor
            assert sha256(data) == descriptor["digest"], descriptor
            return data

        layout = json.loads(archive.extractfile("oci-layout").read())  # type: ignore[union-attr]
        assert layout == {"imageLayoutVersion": "1.0.0"}
        index = json.loads(archive.extractfile("index.json").read())  # type: ignore[union-attr]
        assert index["schemaVersion"] == 2
        (manifest_desc,) = index["manifests"]
        assert manifest_desc["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
        assert manifest_desc["annotations"]["org.opencontainers.image.ref.name"]
        manifest = json.loads(blob(manifest_desc))
        assert manifest["schemaVersion"] == 2
        assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
        config = json.loads(blob(manifest["config"]))
        assert config["os"] == "linux" and config["rootfs"]["type"] == "layers"
        assert len(config["rootfs"]["diff_ids"]) == len(manifest["layers"]) > 0
        layers = []
        for desc, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"], strict=True):
            assert desc["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
            plain = gzip.decompress(blob(desc))
            assert sha256(plain) == diff_id  # the diff_id is the digest of the uncompressed layer
            with tarfile.open(fileobj=io.BytesIO(plain)) as layer:
                layers.append({member.name: member for member in layer.getmembers()})
        expected = {"oci-layout", "index.json", "blobs", "blobs/sha256"}
        expected |= {f"blobs/sha256/{d['digest'].split(':')[1]}" for d in [manifest_desc, manifest["config"]]}
        assert expected <= names
    return config, layers


def skopeo_inspect(path: Path) -> dict[str, Any] | None:
    if not shutil.which("skopeo"):
        return None
    result = subprocess.run(["skopeo", "inspect", "--config", f"oci-archive:{path}"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_image_writer_makes_a_valid_oci_archive(image_script: ModuleType, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "opt/netlab/bin").mkdir(parents=True)
    (tree / "opt/netlab/bin/netlab-pod").write_text('#!/bin/sh\nexec "$@"\n')
    (tree / "opt/netlab/bin/netlab-pod").chmod(0o755)
    (tree / "opt/netlab/notebooks").symlink_to("venv/lib/netlab/notebooks")
    (tree / "proc").mkdir()
    (tree / "proc/leftover").write_text("a runtime mounts its own /proc: its contents stay out\n")
    (tree / "etc").mkdir()
    (tree / "etc/resolv.conf").write_text("nameserver 192.0.2.1\n")
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    layer = tmp_path / "layer.tar"
    image_script.layer_tar(tree, layer, mtime=1_700_000_000)
    desc = image_script.compress(layer, blobs)
    out = tmp_path / "small.oci.tar"
    config = image_script.image_config(created="2026-01-01T00:00:00Z", version="0.0-test")
    image_script.write_oci_archive(
        [desc], [blobs / desc["digest"].split(":")[1]], config=config, tag="netlab:test", out=out
    )
    checked, (files,) = check_oci_archive(out)
    names = list(files)
    assert {"opt/netlab/bin/netlab-pod", "opt/netlab/notebooks", "proc"} <= set(names)
    assert "proc/leftover" not in names and "etc/resolv.conf" not in names
    script = files["opt/netlab/bin/netlab-pod"]
    assert (script.uid, script.uname, script.mode & 0o777) == (0, "", 0o755)
    assert files["opt/netlab/notebooks"].issym()
    assert names.index("opt") < names.index("opt/netlab") < names.index("opt/netlab/bin/netlab-pod")
    assert checked["config"]["Env"] == config["config"]["Env"]
    inspected = skopeo_inspect(out)  # an independent reader, when installed
    if inspected is not None:
        assert inspected["rootfs"]["diff_ids"] == [desc["diff_id"]]


def test_the_writer_turns_overlay_deletions_into_whiteouts(image_script: ModuleType, tmp_path: Path) -> None:
    tree = tmp_path / "upper"
    (tree / "etc").mkdir(parents=True)
    try:
        os.mknod(tree / "etc/motd", 0o600 | 0o020000, os.makedev(0, 0))  # how overlayfs records a deletion
    except PermissionError:
        pytest.skip("mknod needs CAP_MKNOD (run as root)")
    layer = tmp_path / "layer.tar"
    image_script.layer_tar(tree, layer, mtime=1_700_000_000)
    with tarfile.open(layer) as tar:
        assert tar.getnames() == ["etc", "etc/.wh.motd"]


@pytest.mark.skipif(
    not BUILT_ARCHIVE.exists(), reason="no built image (scripts/image builds build/netlab-image.oci.tar)"
)
def test_the_built_image_archive() -> None:
    config, layers = check_oci_archive(BUILT_ARCHIVE)
    settings = config["config"]
    assert "NETLAB_POD_MODE=1" in settings["Env"]
    assert settings["Entrypoint"][-1] == "/opt/netlab/bin/netlab-pod"
    assert settings["User"] == "0:0"
    base, venv, netlab_layer = (set(layer) for layer in layers)
    assert {"usr/sbin/ip", "usr/sbin/nft", "usr/bin/ping", "usr/bin/tini"} <= base
    assert any(name.startswith("usr/share/fonts/opentype/noto/NotoSansCJK") for name in base)
    assert "opt/netlab/venv/bin/jupyterhub-singleuser" in venv
    assert any(name.startswith("opt/netlab/venv/lib/python3.11/site-packages/jupyterlab/") for name in venv)
    assert {
        "opt/netlab/bin/netlab-pod",
        "opt/netlab/venv/bin/netlab",
        "opt/netlab/venv/share/jupyter/kernels/netlab/kernel.json",
        "opt/netlab/venv/etc/jupyter/jupyter_server_config.py",
        "opt/netlab/venv/lib/python3.11/site-packages/netlab/notebooks/02-veth-pair.ipynb",
    } <= netlab_layer
    inspected = skopeo_inspect(BUILT_ARCHIVE)
    if inspected is not None:
        assert inspected["config"]["Entrypoint"] == settings["Entrypoint"]


# -- the AppArmor profile (optional, for nodes with AppArmor) -------------------------------------


@pytest.mark.skipif(not shutil.which("apparmor_parser"), reason="apparmor_parser is not installed (Debian: apparmor)")
def test_the_apparmor_profile_parses(tmp_path: Path) -> None:
    profile = K8S / "apparmor/netlab-pod"
    # Compile only (-Q: no kernel load, -K: no cache): this checks the syntax, not the enforcement.
    result = subprocess.run(["apparmor_parser", "-Q", "-K", "-T", str(profile)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    broken = tmp_path / "broken"
    broken.write_text(
        profile.read_text().replace("mount fstype=tmpfs -> /var/lib/,", "mount fstype=tmpfs options=(nonsense),")
    )
    assert subprocess.run(["apparmor_parser", "-Q", "-K", "-T", str(broken)], capture_output=True).returncode != 0
    assert "profile netlab-pod " in profile.read_text()
