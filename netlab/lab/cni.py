"""What a container runtime does for you: run a CNI plugin, exactly as containerd and the kubelet do.

Lesson 03 built a container's network by hand: a bridge, a veth pair per container, an address,
a default route, ``ip_forward`` and a masquerade rule. A runtime does not type those commands.
It runs a **CNI plugin**: a plain program (``/usr/lib/cni/bridge``) that reads a network
configuration as JSON on stdin, finds what to do in environment variables, does it, and prints the
result as JSON on stdout. The whole contract, for one container, is::

    ip netns add c1                                  # the runtime makes the namespace first
    echo '{"cniVersion": "1.0.0", "name": "lesson06", "type": "bridge", "bridge": "br0",
           "isGateway": true, "ipMasq": true, "hairpinMode": true,
           "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.0.0.0/24"}]],
                    "routes": [{"dst": "0.0.0.0/0"}]}}' |
    CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/c1 CNI_IFNAME=eth0 \\
    CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge

What containerd (through libcni) and the kubelet do, step by step:

1. Read the network's configuration list (``/etc/cni/net.d/*.conflist``): a name, a CNI version,
   and a chain of plugins, here ``bridge`` then ``portmap``.
2. Make the namespace (containerd pins it in ``/run/netns/cni-...``; here ``/run/netns/c1``).
3. **ADD**, for each plugin of the chain in order: its own object, plus the list's ``name`` and
   ``cniVersion``, plus ``prevResult`` (what the plugin before it answered) and ``runtimeConfig``
   (the published ports, for a plugin that declared the ``portMappings`` capability), on stdin;
   ``CNI_COMMAND=ADD``, the container's id, the namespace's *path*, the interface name to create
   and where the plugins live, in the environment. The plugin execs its IPAM plugin
   (``host-local``) the same way to get an address. Its answer becomes the next ``prevResult``.
4. Keep the last answer and the runtime's arguments (libcni writes both to
   ``/var/lib/cni/results/NAME-ID-IFNAME``): the runtime needs them later.
5. **CHECK** now and then (the same chain, with the kept answer as ``prevResult``): is the
   interface still there, with its address and routes? A plugin that finds it broken says so.
6. **DEL** when the container stops, *before* the namespace goes: the chain in reverse order, with
   the kept answer and the same ``runtimeConfig`` (``portmap`` removes nothing without its ports).
   The bridge plugin can only remove its masquerade chain while it can still look into the
   namespace and read the address; ``host-local`` frees the address (its file in
   ``/var/lib/cni/networks/NAME/``). The bridge, and ``ip_forward``, stay.

A plugin that fails exits non-zero and prints ``{"code": 7, "msg": "...", "details": "..."}``:
:class:`CniError` carries that ``msg`` as its one line. Input the plugin would choke on half-way
(after it has made the bridge) is refused here first: :class:`CniConfigError`.

Podman's backend, ``netavark``, takes another shape of the same job: ``netavark --config DIR setup
/run/netns/c1`` with the container's networks *and its address* as JSON on stdin (Podman does the
IPAM itself), and ``teardown`` with the same JSON. See :func:`netavark`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netlab import netns
from netlab.errors import NetlabError, ToolMissingError
from netlab.lab import footprints
from netlab.names import check_ifname
from netlab.plumbing.i18n import _

__all__ = [
    "CNI_PATH",
    "NETAVARK",
    "CniConfigError",
    "CniError",
    "Result",
    "add",
    "bridge_network",
    "check",
    "delete",
    "exec_plugin",
    "ipam_files",
    "netavark",
    "podman_options",
    "traces",
]

CNI_PATH = "/usr/lib/cni"  # Debian's containernetworking-plugins (upstream: /opt/cni/bin)
STATE = Path("/var/lib/cni")  # host-local's leases in networks/NAME/, libcni's kept answers in results/
NETAVARK = "/usr/lib/podman/netavark"
CNI_VERSION = "1.0.0"
TIMEOUT = 30  # seconds a plugin may take (containerd gives the whole ADD a few minutes)
# libcni's rule for network names and container ids (pkg/utils/utils.go)
VALID_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$")


class CniError(NetlabError):
    """A CNI plugin (or netavark) refused: its own ``msg`` is the line, its ``details`` the hint."""


class CniConfigError(CniError, ValueError):
    """A network config, container id, namespace or interface name refused before any plugin ran."""


@dataclass(frozen=True)
class Result:
    """A plugin chain's answer to ADD (the CNI result JSON), and the commands that produced it."""

    raw: dict[str, Any]
    commands: tuple[str, ...] = field(default=(), compare=False)

    @property
    def addresses(self) -> list[str]:
        """The addresses handed out (``10.0.0.2/24``), as ``ip addr`` writes them."""
        return [ip["address"] for ip in self.raw.get("ips", [])]

    @property
    def interfaces(self) -> list[dict[str, Any]]:
        """The interfaces made: the bridge, the host's veth end, and the container's (with ``sandbox``)."""
        return list(self.raw.get("interfaces", []))

    def __str__(self) -> str:
        return json.dumps(self.raw, indent=2)


# -- the network configuration -------------------------------------------------------------------


def bridge_network(
    name: str,
    *,
    bridge: str = "cni0",
    subnet: str = "10.88.0.0/16",
    masquerade: bool = True,
    hairpin: bool = True,
    ports: bool = True,
) -> dict[str, Any]:
    """The configuration list containerd ships (``10-containerd-net.conflist``), for ``subnet``.

    ``bridge`` with ``host-local`` IPAM: a gateway address on the bridge, a default route in the
    container, masquerading to the outside, hairpin mode on its port; then ``portmap``, which
    publishes ports when the runtime passes them (``runtimeConfig.portMappings``).
    """
    plugins: list[dict[str, Any]] = [
        {
            "type": "bridge",
            "bridge": bridge,
            "isGateway": True,
            "ipMasq": masquerade,
            "hairpinMode": hairpin,
            "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]], "routes": [{"dst": "0.0.0.0/0"}]},
        }
    ]
    if ports:
        plugins.append({"type": "portmap", "capabilities": {"portMappings": True}})
    return {"cniVersion": CNI_VERSION, "name": name, "plugins": plugins}


# -- the three commands ----------------------------------------------------------------------------


def add(
    network: dict[str, Any],
    container: str,
    netns_path: str,
    *,
    ifname: str = "eth0",
    ports: Iterable[tuple[int, int]] = (),
    path: str = CNI_PATH,
) -> Result:
    """ADD: run the chain in order, each plugin with the one before's answer; keep the last answer.

    ``netns_path`` is a namespace name (``c1``, meaning ``/run/netns/c1``) or a path. ``ports``
    are (host port, container port) pairs for ``portmap``, as ``-p 8080:80`` gives them.
    """
    where = _checked(network, container, netns_path, ifname, path)
    runtime = {"portMappings": [{"hostPort": h, "containerPort": c, "protocol": "tcp"} for h, c in ports]}
    previous: dict[str, Any] | None = None
    commands: list[str] = []
    _make_state(network["name"])
    with footprints.watch():  # the chains and rules the plugins make are the lesson's: a reset removes them
        for plugin in network["plugins"]:
            config = _plugin_config(network, plugin, previous, runtime)
            answer = exec_plugin(config, "ADD", container=container, netns_path=where, ifname=ifname, path=path)
            commands.append(shell_line(config, "ADD", container=container, netns_path=where, ifname=ifname, path=path))
            previous = answer or previous
    result = Result(previous or {}, tuple(commands))
    _keep(network["name"], container, ifname, result.raw, runtime)
    return result


def check(
    network: dict[str, Any], container: str, netns_path: str, *, ifname: str = "eth0", path: str = CNI_PATH
) -> Result:
    """CHECK: ask each plugin, in order, whether what ADD made is still as it answered."""
    where = _checked(network, container, netns_path, ifname, path)
    kept, runtime = _kept(network["name"], container, ifname)
    if kept is None:
        raise CniError(
            _("no ADD result kept for {container} on network {network}: nothing to CHECK").format(
                container=container, network=network["name"]
            ),
            hint=_("run ADD first: cni.add(network, {container!r}, ...)").format(container=container),
            subject=container,
        )
    for plugin in network["plugins"]:
        config = _plugin_config(network, plugin, kept, runtime)
        exec_plugin(config, "CHECK", container=container, netns_path=where, ifname=ifname, path=path)
    return Result(kept)


def delete(
    network: dict[str, Any], container: str, netns_path: str, *, ifname: str = "eth0", path: str = CNI_PATH
) -> None:
    """DEL: the chain in reverse, each plugin with the kept answer; then forget the answer.

    Safe to repeat, as the CNI spec asks of every plugin: a second DEL finds nothing and succeeds.
    Call it *before* deleting the namespace (a runtime does): the bridge plugin reads the address
    inside it to find the masquerade chain it made for it.
    """
    where = _checked(network, container, netns_path, ifname, path, must_exist=False)
    kept, runtime = _kept(network["name"], container, ifname)
    _make_state(network["name"])  # host-local makes its folder on any command, DEL too
    for plugin in reversed(network["plugins"]):
        config = _plugin_config(network, plugin, kept, runtime)
        exec_plugin(config, "DEL", container=container, netns_path=where, ifname=ifname, path=path)
    _results_file(network["name"], container, ifname).unlink(missing_ok=True)


# -- one plugin, one exec ------------------------------------------------------------------------


def exec_plugin(
    config: dict[str, Any], command: str, *, container: str, netns_path: str, ifname: str, path: str = CNI_PATH
) -> dict[str, Any] | None:
    """Exec one plugin as libcni does: ``config`` on stdin, ``CNI_*`` in the environment, JSON back."""
    binary = Path(path) / config["type"]
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),  # the plugins run iptables
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container,
        "CNI_NETNS": netns_path,
        "CNI_IFNAME": ifname,
        "CNI_PATH": path,
    }
    try:
        done = subprocess.run(
            [str(binary)], input=json.dumps(config), env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired as exc:
        raise CniError(
            _("CNI plugin {plugin} did not answer {command} within {seconds} s").format(
                plugin=config["type"], command=command, seconds=TIMEOUT
            ),
            hint=_("the plugin may be waiting for a lock in {state}: is another runtime using it?").format(state=STATE),
            subject=config["type"],
        ) from exc
    if done.returncode != 0:
        raise _plugin_error(config["type"], command, done.stdout, done.stderr)
    return json.loads(done.stdout) if done.stdout.strip() else None


def shell_line(
    config: dict[str, Any], command: str, *, container: str, netns_path: str, ifname: str, path: str = CNI_PATH
) -> str:
    """The same exec as one shell line, to paste in a terminal."""
    env = f"CNI_COMMAND={command} CNI_CONTAINERID={container} CNI_NETNS={netns_path} CNI_IFNAME={ifname}"
    return f"echo {shlex.quote(json.dumps(config))} | {env} CNI_PATH={path} {path}/{config['type']}"


def _plugin_error(plugin: str, command: str, stdout: str, stderr: str) -> CniError:
    """The plugin's own error JSON (code, msg, details) as one line and a hint."""
    try:
        said = json.loads(stdout)
    except ValueError:
        said = {}
    if not isinstance(said, dict):
        said = {}
    words = said.get("msg") or said.get("error") or stderr.strip() or stdout.strip() or _("no message")
    line = " ".join(str(words).split())
    details = " ".join(str(said.get("details", "")).split())
    code = said.get("code")
    message = _("CNI plugin {plugin} refused {command}: {msg}").format(plugin=plugin, command=command, msg=line)
    if code is not None:
        message += f" (code {code})"
    return CniError(
        message,
        hint=details or _("read the config the plugin got, and what the kernel holds: ip -br link, iptables -t nat -S"),
        subject=said or stdout,
    )


def _plugin_config(
    network: dict[str, Any], plugin: dict[str, Any], previous: dict[str, Any] | None, runtime: dict[str, Any]
) -> dict[str, Any]:
    """What one plugin of the chain reads on stdin (libcni's buildOneConfig)."""
    config = {**plugin, "name": network["name"], "cniVersion": network["cniVersion"]}
    if previous is not None:
        config["prevResult"] = previous
    wanted = {key: value for key, value in runtime.items() if plugin.get("capabilities", {}).get(key) and value}
    if wanted:
        config["runtimeConfig"] = wanted
    return config


# -- refusing bad input before anything runs ------------------------------------------------------


def _checked(
    network: object, container: str, netns_path: str, ifname: str, path: str, *, must_exist: bool = True
) -> str:
    """Check everything a plugin would only find wrong half-way; return the namespace's path."""
    if not isinstance(network, dict) or not isinstance(network.get("plugins"), list) or not network["plugins"]:
        raise CniConfigError(
            _("a CNI network config needs a list of plugins"),
            hint=_('write it as {{"cniVersion": "1.0.0", "name": "NAME", "plugins": [{{"type": "bridge", ...}}]}}'),
            subject=network,
        )
    for problem, value in (
        (_("invalid CNI network name {value!r}"), network.get("name")),
        (_("invalid CNI container id {value!r}"), container),
    ):
        if not isinstance(value, str) or not VALID_ID.match(value):
            raise CniConfigError(
                problem.format(value=value),
                hint=_("use letters, digits, '_', '.' and '-', starting with a letter or digit"),
                subject=value,
            )
    if not isinstance(network.get("cniVersion"), str):
        raise CniConfigError(
            _("the network config has no cniVersion"), hint=_('add "cniVersion": "1.0.0"'), subject=network
        )
    check_ifname(ifname)
    for plugin in network["plugins"]:
        if (
            not isinstance(plugin, dict)
            or not isinstance(plugin.get("type"), str)
            or not VALID_ID.match(plugin["type"])
        ):
            raise CniConfigError(
                _("a plugin in the network config has no valid type: {plugin}").format(plugin=json.dumps(plugin)),
                hint=_('give each plugin its program\'s name, such as "type": "bridge"'),
                subject=plugin,
            )
        for kind in (plugin["type"], (plugin.get("ipam") or {}).get("type")):
            if kind and not (Path(path) / kind).is_file():
                raise ToolMissingError(
                    _("CNI plugin {plugin} is not in {path}").format(plugin=kind, path=path),
                    hint="sudo apt-get install containernetworking-plugins",
                    subject=kind,
                )
    where = str(netns.path(netns_path)) if "/" not in netns_path else netns_path
    if must_exist and not netns.is_namespace(Path(where)):
        raise CniConfigError(
            _("{path} is not a network namespace").format(path=where),
            hint=_("the runtime makes the namespace first: ip netns add {name}").format(name=Path(where).name),
            subject=where,
        )
    return where


# -- what libcni keeps between ADD and CHECK/DEL --------------------------------------------------


def _make_state(network: str) -> None:
    """libcni's and host-local's folders, made here when missing and recorded as netlab's: a reset
    removes them again (and the network's leases, when netlab made its folder)."""
    leases = STATE / "networks" / network
    fresh = not leases.exists()
    footprints.make_dirs([STATE, STATE / "networks", STATE / "results", leases])
    if fresh:
        footprints.own(leases)


def _results_file(network: str, container: str, ifname: str) -> Path:
    return STATE / "results" / f"{network}-{container}-{ifname}"


def _keep(network: str, container: str, ifname: str, result: dict[str, Any], runtime: dict[str, Any]) -> None:
    """Write the answer, and the runtime's arguments (the ports): portmap's DEL needs them again."""
    file = _results_file(network, container, ifname)
    file.parent.mkdir(parents=True, exist_ok=True)
    kept = {"kind": "cniCacheV1", "containerId": container, "ifName": ifname, "networkName": network}
    file.write_text(json.dumps({**kept, "capabilityArgs": runtime, "result": result}))
    footprints.own(file)


def _kept(network: str, container: str, ifname: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The kept answer and runtime arguments; (None, {}) if ADD never ran (DEL must still work then)."""
    try:
        kept = json.loads(_results_file(network, container, ifname).read_text())
        return kept["result"], kept.get("capabilityArgs", {})
    except (FileNotFoundError, ValueError, KeyError):
        return None, {}


# -- Podman's way: netavark ------------------------------------------------------------------------


def podman_options(
    container: str,
    *,
    network: str,
    bridge: str,
    subnet: str,
    gateway: str,
    address: str,
    ports: Sequence[tuple[int, int]] = (),
) -> dict[str, Any]:
    """The JSON Podman gives ``netavark setup``: the container, its networks, its address (Podman's IPAM).

    ``ports`` are (host port, container port) pairs.
    """
    info = {
        "name": network,
        "id": (network.encode().hex() * 64)[:64],  # Podman's network id: 64 hex digits
        "driver": "bridge",
        "network_interface": bridge,
        "subnets": [{"subnet": subnet, "gateway": gateway}],
        "ipv6_enabled": False,
        "internal": False,
        "dns_enabled": False,
    }
    mappings = [{"host_ip": "", "host_port": h, "container_port": c, "protocol": "tcp", "range": 1} for h, c in ports]
    return {
        "container_id": container,
        "container_name": container,
        "networks": {network: {"interface_name": "eth0", "static_ips": [address]}},
        "network_info": {network: info},
        "port_mappings": mappings,
    }


def netavark(command: str, options: dict[str, Any], netns_path: str, *, config: str = "/run/netlab/netavark") -> Any:
    """``netavark --config DIR setup|teardown NETNS`` with ``options`` on stdin; its JSON answer."""
    if command not in ("setup", "teardown"):
        raise CniConfigError(
            _("netavark knows setup and teardown, not {command!r}").format(command=command),
            hint=_("use 'setup' to connect, 'teardown' to disconnect"),
            subject=command,
        )
    if not Path(NETAVARK).is_file():
        raise ToolMissingError(_("netavark is not installed"), hint="sudo apt-get install netavark", subject=NETAVARK)
    where = str(netns.path(netns_path)) if "/" not in netns_path else netns_path
    if not netns.is_namespace(Path(where)):
        raise CniConfigError(
            _("{path} is not a network namespace").format(path=where),
            hint=_("the runtime makes the namespace first: ip netns add {name}").format(name=Path(where).name),
            subject=where,
        )
    footprints.make_dirs([Path(config)])
    argv = [NETAVARK, "--config", config, command, where]
    with footprints.watch():  # netavark's chains (or its nft table) are the lesson's
        done = subprocess.run(argv, input=json.dumps(options), capture_output=True, text=True, timeout=TIMEOUT)
    if done.returncode != 0:
        raise _plugin_error("netavark", command, done.stdout, done.stderr)
    return json.loads(done.stdout) if done.stdout.strip() else None


# -- what a runtime leaves beside the links: for comparing with a hand-built network --------------


def ipam_files(network: str) -> dict[str, str]:
    """host-local's leases: ``{"10.0.0.2": "c1 eth0"}``, from ``/var/lib/cni/networks/NAME/``."""
    folder = STATE / "networks" / network
    if not folder.is_dir():
        return {}
    leases = {}
    for file in sorted(folder.iterdir()):
        if file.name[0].isdigit() or ":" in file.name:  # an address; not lock or last_reserved_ip.0
            leases[file.name] = " ".join(file.read_text().split())
    return leases


def traces(network: str) -> list[str]:
    """What the kernel and the disk hold beside links and routes, one line each, sorted.

    Bridge ports in hairpin mode (``bridge -d link``), the iptables chains that are not built in
    (``iptables -t nat -S``, ``-t filter``), and host-local's lease files. Names that are random
    (the host's veth end, a chain's hash) stay as they are: compare two lists with ``set``.
    """
    found = []
    bridge = subprocess.run(["bridge", "-j", "-d", "link", "show"], capture_output=True, text=True)
    for port in json.loads(bridge.stdout or "[]"):
        if port.get("hairpin"):
            found.append(
                _("hairpin on: bridge port {port} of {bridge}").format(port=port["ifname"], bridge=port.get("master"))
            )
    for table in ("nat", "filter"):
        rules = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True).stdout
        found += [f"iptables -t {table} -N {line.split()[1]}" for line in rules.splitlines() if line.startswith("-N ")]
    found += [
        _("lease file {file}: {owner}").format(file=STATE / "networks" / network / address, owner=owner)
        for address, owner in ipam_files(network).items()
    ]
    return sorted(found)
