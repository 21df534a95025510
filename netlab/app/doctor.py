"""``netlab doctor``: can this machine run the lab, and if not, what to do.

Each check answers one question a learner would otherwise discover by a confusing error:
am I allowed to make namespaces, are the tools there, which kinds of devices does this kernel
have, where am I running (the Vagrant VM, a netlab sandbox, or a plain Linux machine)?
Device checks run inside a throwaway namespace (``unshare -n``), so they change nothing here.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from netlab.plumbing.i18n import N_, _

__all__ = ["Check", "doctor", "environment_kind"]

TOOLS = {
    "ip": "iproute2",
    "ping": "iputils-ping",
    "nft": "nftables",
    "iptables": "iptables",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "lsns": "util-linux",
    "findmnt": "util-linux",
    "ifconfig": "net-tools",
    "sysctl": "procps",
}
DEVICE_KINDS = ("veth", "bridge", "macvlan", "vxlan", "dummy", "vlan", "vrf", "bond")


@dataclass
class Check:
    """One answer: what was checked, whether it is fine, what was seen, and how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True

    def __str__(self) -> str:
        mark = _("ok  ") if self.ok else (_("FAIL") if self.required else _("note"))
        text = _("[{mark}] {name}: {detail}").format(mark=mark, name=self.name, detail=self.detail)
        fix = _("fix:")
        return f"{text}\n       {fix} {self.fix}" if self.fix and not self.ok else text


def environment_kind() -> str:
    """'sandbox', 'vagrant VM' or 'native Linux': where the lab's root namespace is."""
    from netlab.sandbox import in_sandbox

    if in_sandbox():
        return "sandbox"
    if Path("/vagrant").is_dir() or Path("/etc/netlab/token").exists():
        return "vagrant VM"
    return "native Linux"


_KINDS = (N_("sandbox"), N_("vagrant VM"), N_("native Linux"))  # its answers, marked for translation


def _privileges() -> Check:
    from netlab import NEW, call
    from netlab.errors import NetlabError, reason

    try:
        call(NEW, lambda: None)
        return Check(_("privileges"), True, _("uid {uid} may create network namespaces").format(uid=os.getuid()))
    except (NetlabError, OSError) as exc:
        return Check(
            _("privileges"),
            False,
            _("cannot create a network namespace ({error})").format(
                error=exc if isinstance(exc, NetlabError) else reason(exc)
            ),
            fix=_("run as root (sudo), or inside `netlab sandbox`, or in the Vagrant VM"),
        )


def _user_namespaces() -> Check:
    knob = Path("/proc/sys/kernel/unprivileged_userns_clone")
    apparmor = Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
    if knob.exists() and knob.read_text().strip() == "0":
        return Check(
            _("user namespaces"),
            False,
            _("unprivileged user namespaces are disabled"),
            fix=_("sudo sysctl kernel.unprivileged_userns_clone=1 (or run as root / use the VM)"),
            required=os.getuid() != 0,
        )
    if apparmor.exists() and apparmor.read_text().strip() == "1":
        return Check(
            _("user namespaces"),
            False,
            _("AppArmor restricts unprivileged user namespaces"),
            fix=_("sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0 (or run as root / use the VM)"),
            required=os.getuid() != 0,
        )
    return Check(_("user namespaces"), True, _("available: `netlab sandbox` works without root"))


def _tools() -> list[Check]:
    checks = []
    for tool, package in TOOLS.items():
        found = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
        checks.append(
            Check(
                _("tool {tool}").format(tool=tool),
                bool(found),
                found or _("not installed"),
                fix=f"sudo apt-get install {package}",
                required=tool not in ("iptables", "ifconfig"),
            )
        )
    return checks


# Lesson 06 runs the container runtimes' own network programs: optional, the other lessons need none.
RUNTIME_TOOLS = {
    "CNI plugins": ("/usr/lib/cni/bridge", "containernetworking-plugins"),
    "netavark": ("/usr/lib/podman/netavark", "netavark"),
}


def _runtime_tools() -> list[Check]:
    checks = []
    for name, (path, package) in RUNTIME_TOOLS.items():
        found = Path(path).is_file()
        detail = path if found else _("not installed (lesson 06 needs it)")
        checks.append(Check(name, found, detail, fix=f"sudo apt-get install {package}", required=False))
    return checks


def device_kinds() -> dict[str, bool]:
    """Which link kinds this kernel can create, tried in a throwaway namespace."""
    from netlab import NEW, run

    options = {"veth": "peer name t-peer", "vxlan": "id 42 dstport 4789", "vlan": "id 1", "vrf": "table 10"}
    lower = {"macvlan": "link t-veth ", "vlan": "link t-veth "}  # these stack on another device
    script = "; ".join(
        f"ip link add {lower.get(kind, '')}name t-{kind} type {kind} {options.get(kind, '')} 2>/dev/null && echo {kind}"
        for kind in DEVICE_KINDS
    )
    made = set(run(NEW, ["sh", "-c", script]).stdout.split())
    return {kind: kind in made for kind in DEVICE_KINDS}


def _kernel() -> list[Check]:
    checks = [Check(_("kernel"), True, f"Linux {platform.release()}, Python {sys.version.split()[0]}")]
    try:
        kinds = device_kinds()
    except Exception as exc:
        failed = _("could not test ({error})").format(error=exc)
        return checks + [Check(_("device kinds"), False, failed, fix=_("fix the privileges first"))]
    missing = [k for k, ok in kinds.items() if not ok]
    needed = [k for k in ("veth", "bridge") if not kinds[k]]
    checks.append(
        Check(
            _("device kinds"),
            not needed,
            _("available: {kinds}").format(kinds=", ".join(k for k, ok in kinds.items() if ok))
            + (_("; missing: {kinds}").format(kinds=", ".join(missing)) if missing else ""),
            fix=_("load the modules (modprobe veth bridge) or use the Vagrant VM"),
        )
    )
    return checks


def _nat() -> Check:
    from netlab import NEW, run

    if not shutil.which("nft"):
        return Check(_("nftables NAT"), False, _("nft is not installed"), fix="sudo apt-get install nftables")
    rules = (
        "add table ip t; add chain ip t post { type nat hook postrouting priority 100; }; add rule ip t post masquerade"
    )
    result = run(NEW, ["nft", rules])
    return Check(
        _("nftables NAT"),
        result.returncode == 0,
        _("masquerade works") if result.returncode == 0 else result.stderr.strip(),
        fix=_("load nf_tables and nft_masq (modprobe nft_masq) or use the VM"),
    )


def doctor() -> list[Check]:
    """Run every check; ``all(c.ok for c in doctor() if c.required)`` means the lab will work."""
    checks = [Check(_("where"), True, _(environment_kind())), _privileges(), _user_namespaces()]
    checks += _tools()
    checks += _runtime_tools()
    if checks[1].ok:
        checks += _kernel()
        checks.append(_nat())
    return checks
