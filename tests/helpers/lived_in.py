"""A lived-in machine, played inside the sandbox: a private world that netlab takes for a real machine.

The tests run inside ``netlab sandbox``. Each lived-in test builds one more world in there, what
``unshare --net --mount --pid --fork --mount-proc`` gives, set up as a machine booted by systemd::

    umount /run/netns /run/netlab                            the sandbox's, which a machine does not have
    mount -t tmpfs run /run && mount --make-shared /run     /run is a shared mount, as systemd makes it
    mkdir /run/netns /run/netlab                             plain directories on that /run
    mount -t sysfs sysfs /sys                                /sys/class/net shows this world's devices
    /var/lib: an overlay (writes land in the test's tmp_path), /var/lib/netlab a tmpfs on it
    ip link set lo up

Its PID 1 is this file run as ``init``: it runs every command the test asks for as its own child, so,
as on a real machine, every process of the world (the machine's service, the Jupyter kernels, ``netlab
reset``) descends from PID 1. The commands run without ``NETLAB_SANDBOX``, and PID 1 is not
``netlab-init``: netlab is in "host mode", as on the Vagrant VM or a teacher's server.

The machine's own configuration (``MACHINE``) is what such a machine has before netlab arrives: its
own bridge with an address and a namespace behind it running a service, iptables rules in both backends
(nft and legacy, with a DROP policy and an SSH ACCEPT; IPv6 too), an nft table, a Docker-like bridge with
MASQUERADE, forwarding on. ``TAKEN`` adds what carries a name a lesson makes: a bridge ``br0`` (lesson 03's),
a namespace ``router`` (challenge 5's).

``dump()`` reads the machine's configuration with the system's own tools, run inside the world, with
what changes by itself (timers, packet counters, comment lines) taken out: two dumps of an untouched
machine are equal. ``report()`` tells two dumps apart line by line.

The same file, run inside the world by ``World``, is the world's PID 1 (``init``), its state reader
(``dump``) and its notebook runner (``notebook``: ``test_notebooks.run_notebook`` for the English
notebooks, ``test_chinese_reader.run_chinese`` for the Chinese ones; ``first-cell``: the first code cell
only, and what it showed).
"""

from __future__ import annotations

import difflib
import http.client
import json
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
TESTS = HERE.parent.parent
REPO = TESTS.parent
NOTEBOOKS = {
    "en": sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb")),
    "zh-CN": sorted((REPO / "notebooks" / "zh-CN").glob("[0-9][0-9]-*.ipynb")),
}
# What a real machine's processes do not have: the sandbox's marker (netlab.sandbox.in_sandbox reads it).
SANDBOX_ONLY = ("NETLAB_SANDBOX",)
LANGUAGE_VARIABLES = ("NETLAB_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

# The machine's own configuration, made before netlab ever ran, as its administrator typed it.
MACHINE = """
ip link add lan0 type bridge
ip addr add 192.168.77.1/24 dev lan0
ip link set lan0 up
ip netns add vpn
ip link add vpn0 type veth peer name eth0 netns vpn
ip link set vpn0 master lan0 up
ip -n vpn link set lo up
ip -n vpn addr add 192.168.77.2/24 dev eth0
ip -n vpn link set eth0 up
ip -n vpn route add default via 192.168.77.1
ip link add docker0 type bridge
ip addr add 172.17.0.1/16 dev docker0
ip link set docker0 up
sysctl -qw net.ipv4.ip_forward=1
iptables-nft -A INPUT -s 203.0.113.0/24 -j DROP
iptables-nft -A FORWARD -s 10.0.0.0/8 -d 192.168.77.0/24 -j ACCEPT
iptables-nft -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
iptables-legacy -A INPUT -i lo -j ACCEPT
iptables-legacy -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
iptables-legacy -A INPUT -p tcp --dport 22 -j ACCEPT
iptables-legacy -P INPUT DROP
ip6tables-legacy -A INPUT -i lo -j ACCEPT
ip6tables-legacy -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
ip6tables-legacy -A INPUT -p tcp --dport 22 -j ACCEPT
ip6tables-legacy -P INPUT DROP
nft add table inet machinefw
nft add chain inet machinefw input '{ type filter hook input priority 10; policy accept; }'
nft add rule inet machinefw input tcp dport 22 accept
"""
# Things of the machine's own that carry a name a lesson makes (that lesson must stop, and delete nothing):
# a VM host's bridge br0 (lesson 03 builds one), a namespace router (challenge 5 builds one). Name: (lesson, how).
TAKEN = {
    "br0": ("03", "ip link add br0 type bridge\nip addr add 192.168.88.1/24 dev br0\nip link set br0 up"),
    "router": ("05", "ip netns add router\nip -n router link set lo up"),
}
# The machine's service: a web server in namespace vpn, started as its own child by PID 1.
SERVICE = ["ip", "netns", "exec", "vpn", "python3", "-m", "http.server", "8080", "--bind", "192.168.77.2"]
SERVICE_ADDRESS = ("192.168.77.2", 8080)

# The machine's configuration as the system's tools print it (what ``dump`` reads, in this order).
TOOLS: dict[str, list[str]] = {
    "ip -d link": ["ip", "-d", "link"],
    "ip addr": ["ip", "addr"],
    "ip route (all tables, IPv4 and IPv6)": ["ip", "route", "show", "table", "all"],
    "ip rule": ["ip", "rule"],
    "ip netns list": ["ip", "netns", "list"],
    "vpn: ip -d link": ["ip", "-n", "vpn", "-d", "link"],
    "vpn: ip addr": ["ip", "-n", "vpn", "addr"],
    "vpn: ip route": ["ip", "-n", "vpn", "route"],
    "iptables-nft-save": ["iptables-nft-save"],
    "ip6tables-nft-save": ["ip6tables-nft-save"],
    "iptables-legacy-save": ["iptables-legacy-save"],
    "ip6tables-legacy-save": ["ip6tables-legacy-save"],
    "nft list ruleset": ["nft", "list", "ruleset"],
}
# What changes by itself: bridge and port timers, packet and byte counters.
TIMER = re.compile(r"\b(\w+_timer)\s+[\d.]+")
SAVE_COUNTERS = re.compile(r"\[\d+:\d+\]")
NFT_COUNTERS = re.compile(r"\bcounter packets \d+ bytes \d+")


def machine_root() -> bool:
    """Root of the machine, not uid 0 of a user namespace (the rootless run): only then can a test nest a world."""
    return os.getuid() == 0 and Path("/proc/self/uid_map").read_text().split() == ["0", "0", "4294967295"]


def commands(script: str) -> list[list[str]]:
    return [shlex.split(line) for line in script.splitlines() if line.strip()]


def machine_env(lang: str | None = None) -> dict[str, str]:
    """The environment of a process of the machine: no sandbox marker; netlab in ``lang`` if given."""
    env = {k: v for k, v in os.environ.items() if k not in SANDBOX_ONLY}
    if lang == "en":  # as conftest's `english` fixture: whatever the machine's locale
        for name in LANGUAGE_VARIABLES:
            env.pop(name, None)
        env["LANG"] = "C.UTF-8"
    elif lang == "zh-CN":
        from test_chinese_reader import ZH  # a Chinese learner's kernel, as test_chinese_reader runs it

        env.update(ZH)
    return env


@dataclass
class Result:
    argv: list[str]
    rc: int | None  # None: timed out (and killed)
    stdout: str
    stderr: str

    def __str__(self) -> str:
        status = "timed out" if self.rc is None else f"exit {self.rc}"
        return f"$ {shlex.join(self.argv)}  ({status})\n{self.stdout}{self.stderr}"


@dataclass
class NotebookRun:
    name: str
    ok: bool
    seconds: float
    error: str  # the failing cell and its traceback, or the failing check's

    def __str__(self) -> str:
        return f"{self.name}: {'ran' if self.ok else 'FAILED'} in {self.seconds:.1f} s"


@dataclass
class FirstCell:
    stopped: bool  # the cell raised: Run All stops there
    output: str  # all it showed (streams, results, the error as displayed), colour codes removed


class World:
    """A nested world (network, mount, PID namespaces) whose PID 1 runs commands for the test."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self._buffer = b""
        overlay = tmp / "var-lib"
        (overlay / "upper").mkdir(parents=True)
        (overlay / "work").mkdir()
        self._log = tmp / "init.log"
        with open(self._log, "wb") as log:
            self.proc = subprocess.Popen(
                ["unshare", "--net", "--mount", "--pid", "--fork", "--mount-proc", "--kill-child"]
                + [sys.executable, str(HERE), "init", str(overlay)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=machine_env(),
            )
        try:
            ready = self._reply(timeout=30)
            assert ready == {"ready": True}, ready
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """PID 1 ends, and with it every process of the world; the namespaces and mounts go with them."""
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # --kill-child: PID 1 gets SIGKILL too
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()

    def _reply(self, timeout: float) -> Any:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the world's PID 1 did not answer within {timeout:.0f} s")
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise RuntimeError(f"the world's PID 1 exited: {self._log.read_text(errors='replace')}")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def _ask(self, request: dict[str, Any], timeout: float) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        reply = self._reply(timeout + 30)
        if "error" in reply:
            raise RuntimeError(f"the world's PID 1 failed: {reply['error']}")
        return reply

    def run(self, argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        """Run ``argv`` in the world, a child of its PID 1, with the machine's environment (or ``env``)."""
        reply = self._ask(
            {"run": argv, "env": env or machine_env(), "cwd": str(REPO), "timeout": timeout}, timeout=timeout
        )
        return Result(argv, reply["rc"], reply["stdout"], reply["stderr"])

    def sh(self, argv: list[str]) -> Result:
        result = self.run(argv)
        assert result.rc == 0, str(result)
        return result

    def spawn(self, argv: list[str]) -> int:
        """Start ``argv`` in the world as a service (a child of PID 1, output discarded); its pid in the world."""
        return int(self._ask({"spawn": argv, "env": machine_env(), "cwd": "/"}, timeout=10)["pid"])

    def helper(self, *args: str, lang: str | None = None, timeout: float = 120) -> Any:
        """This file's ``args`` command, run in the world; what it printed, as JSON."""
        result = self.run([sys.executable, str(HERE), *args], env=machine_env(lang), timeout=timeout)
        assert result.rc == 0, str(result)
        return json.loads(result.stdout.strip().splitlines()[-1])  # its last line: a kernel may have said more

    def dump(self, service: int) -> dict[str, str]:
        """The machine's configuration (``TOOLS``, sysctls, mounts under /run, processes, the service)."""
        return dict(self.helper("dump", str(service)))

    def notebook(self, lang: str, path: Path) -> NotebookRun:
        """Run the notebook top to bottom in a Jupyter kernel of the machine (checks included, for English)."""
        reply = self.helper("notebook", lang, str(path), lang=lang, timeout=600)
        return NotebookRun(f"{lang}/{path.stem}", reply["ok"], reply["seconds"], reply["error"])

    def first_cell(self, lang: str, path: Path) -> FirstCell:
        reply = self.helper("first-cell", str(path), lang=lang, timeout=300)
        return FirstCell(reply["stopped"], reply["output"])

    def netlab_reset(self) -> Result:
        """``netlab reset``, the command line, as the machine's administrator types it."""
        return self.run([str(Path(sys.executable).with_name("netlab")), "reset"], env=machine_env("en"))


@dataclass
class Machine:
    world: World
    service: int  # the web server's pid in the world

    def dump(self) -> dict[str, str]:
        return self.world.dump(self.service)


def build_machine(world: World, *, taken: str | None = None) -> Machine:
    """Configure the world as ``MACHINE`` (and ``TAKEN[taken]``), start the service, wait until all has settled."""
    for argv in commands(MACHINE + "\n" + (TAKEN[taken][1] if taken else "")):
        world.sh(argv)
    machine = Machine(world, world.spawn(SERVICE))
    settled = world.helper("settle", str(machine.service))
    assert "HTTP 200" in settled["service"] and "tentative" not in settled["addresses"], settled
    return machine


# -- telling two dumps apart -------------------------------------------------------------------


class Trail:
    """The machine's configuration after each step: where each difference at the end first appeared."""

    def __init__(self, before: dict[str, str]) -> None:
        self.before = before
        self.steps: list[tuple[str, dict[str, str]]] = []

    def after(self, step: str, now: dict[str, str]) -> None:
        self.steps.append((step, now))

    def __str__(self) -> str:
        """A line per step, part and sign: ``- en/00-start-here: [iptables-nft-save] 2 line(s): -A INPUT ...``."""
        width = 150
        if not self.steps:
            return ""
        end = self.steps[-1][1]
        found: dict[tuple[int, str, str], list[str]] = {}
        for key in dict.fromkeys([*self.before, *end]):
            old, new = self.before.get(key, "").splitlines(), end.get(key, "").splitlines()
            for sign, changed, present in (
                ("-", [x for x in old if x not in new], False),
                ("+", [x for x in new if x not in old], True),
            ):
                for line in changed:
                    index = next(
                        i
                        for i, (_, dump) in enumerate(self.steps)
                        if (line in dump.get(key, "").splitlines()) == present
                    )
                    found.setdefault((index, key, sign), []).append(line.strip())
        return "\n".join(
            f"  {sign} {self.steps[index][0]}: [{key}] {len(lines)} line(s): {lines[0][:width]}"
            for (index, key, sign), lines in sorted(found.items(), key=lambda item: item[0][0])
        )


def report(before: dict[str, str], after: dict[str, str], most: int = 40) -> str:
    """Each part of the configuration that differs, as a unified diff (``-`` the machine's, ``+`` now).

    At most ``most`` lines a part (a deleted interface takes a hundred sysctl lines with it).
    """
    parts = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key, ""), after.get(key, "")
        if old != new:
            diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=1))[2:]
            if len(diff) > most:
                diff = diff[:most] + [f"[... {len(diff) - most} more line(s)]"]
            parts.append(f"== {key}\n" + "\n".join(diff))
    return "\n".join(parts)


# -- inside the world ---------------------------------------------------------------------------


def _init(overlay: str) -> None:
    """PID 1 of the world: set it up as systemd would have, then run what the test asks, one at a time."""
    for argv in (
        ["umount", "/run/netns", "/run/netlab"],  # the sandbox's own, which a machine does not have
        ["mount", "-t", "tmpfs", "-o", "mode=755,nosuid,nodev", "run", "/run"],
        ["mount", "--make-shared", "/run"],
        ["mkdir", "-p", "/run/netns", "/run/netlab"],
        ["mount", "-t", "sysfs", "sysfs", "/sys"],
        ["mount", "-t", "overlay", "overlay", "-o"]
        + [f"lowerdir=/var/lib,upperdir={overlay}/upper,workdir={overlay}/work", "/var/lib"],
        ["mkdir", "-p", "/var/lib/netlab"],
        ["mount", "-t", "tmpfs", "-o", "mode=755", "netlab-state", "/var/lib/netlab"],
        ["ip", "link", "set", "lo", "up"],
    ):
        subprocess.run(argv, check=True)
    services = []  # kept, so that their Popen objects do not warn
    print(json.dumps({"ready": True}), flush=True)
    while line := sys.stdin.readline():
        request = json.loads(line)
        try:
            if "spawn" in request:
                service = subprocess.Popen(
                    request["spawn"],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=request["env"],
                    cwd=request["cwd"],
                    start_new_session=True,
                )
                services.append(service)
                reply: dict[str, Any] = {"pid": service.pid}
            else:
                reply = _run(request["run"], request["env"], request["cwd"], request["timeout"])
        except Exception as exc:
            reply = {"error": repr(exc)}
        print(json.dumps(reply), flush=True)
        _reap()  # orphans re-parented to PID 1, as init does on a real machine


def _run(argv: list[str], env: dict[str, str], cwd: str, timeout: float) -> dict[str, Any]:
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        return {"rc": proc.returncode, "stdout": out, "stderr": err}
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return {"rc": None, "stdout": out, "stderr": err}


def _reap() -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _tool(argv: list[str]) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True)
    text = proc.stdout
    if proc.returncode != 0:
        text += f"[exit {proc.returncode}] {proc.stderr.strip()}\n"
    return text


def _normal(key: str, text: str) -> str:
    if key.endswith("-save") or key.startswith("nft"):
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        text = NFT_COUNTERS.sub("counter", SAVE_COUNTERS.sub("[0:0]", text))
    return TIMER.sub(r"\1", text)


def _sysctls() -> str:
    """The forwarding switches and the rest of net.ipv4/ipv6 that a lesson could set, as ``sysctl -a`` prints."""
    base = Path("/proc/sys/net")
    files = [p for p in sorted((base / "ipv4").iterdir()) if p.is_file()]
    for family in ("ipv4", "ipv6"):
        files += sorted(p for p in (base / family / "conf").glob("*/*") if p.is_file())
    if (base / "bridge").is_dir():
        files += sorted(p for p in (base / "bridge").iterdir() if p.is_file())
    lines = []
    for path in files:
        try:
            value = " ".join(path.read_text().split())
        except OSError:
            continue  # write-only or unreadable (stable_secret)
        lines.append(f"{'.'.join(path.relative_to('/proc/sys').parts)} = {value}")
    return "\n".join(lines)


def _stat(pid: str) -> tuple[str, str] | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], fields[1]  # state, ppid


def _cmdline(pid: str) -> str:
    try:
        return " ".join(Path(f"/proc/{pid}/cmdline").read_text().split("\0")).strip()
    except OSError:
        return "?"


def _processes() -> str:
    """Every living process of the world but this reader: pid, parent, network namespace, command line."""
    lines = []
    me = str(os.getpid())
    for entry in sorted(Path("/proc").glob("[0-9]*"), key=lambda p: int(p.name)):
        stat = _stat(entry.name)
        if entry.name == me or stat is None or stat[0] == "Z":
            continue
        try:
            net = os.readlink(entry / "ns" / "net")
        except OSError:
            net = "?"
        lines.append(f"{entry.name} ppid={stat[1]} {net} {_cmdline(entry.name)}")
    return "\n".join(lines)


def _mounts() -> str:
    """Mounts under /run (where /run/netns lives): mount point, type, what it shows, propagation."""
    lines = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        dash = fields.index("-")
        point, root, tags, fstype = fields[4], fields[3], fields[6:dash], fields[dash + 1]
        if point == "/run" or point.startswith("/run/"):
            lines.append(f"{point} {fstype} {root} {' '.join(tags) or 'private'}")
    return "\n".join(lines)


def _service(pid: int) -> str:
    """Is the machine's web server the same process, in namespace vpn, and does it answer?"""
    stat = _stat(str(pid))
    if stat is None or stat[0] == "Z":
        return f"pid {pid} is gone"
    try:
        vpn = f"net:[{os.stat('/run/netns/vpn').st_ino}]"
    except OSError as exc:
        vpn = f"(no /run/netns/vpn: {exc.strerror})"
    try:
        net = os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        net = "?"
    try:
        conn = http.client.HTTPConnection(*SERVICE_ADDRESS, timeout=3)
        conn.request("GET", "/")
        answer = f"HTTP {conn.getresponse().status}"
        conn.close()
    except OSError as exc:
        answer = f"no answer ({type(exc).__name__})"
    where = "in vpn" if net == vpn else f"in {net}, vpn is {vpn}"
    return f"pid {pid} alive, {where}: {_cmdline(str(pid))}; GET http://192.168.77.2:8080/ -> {answer}"


def dump(service: int) -> dict[str, str]:
    state = {key: _normal(key, _tool(argv)) for key, argv in TOOLS.items()}
    state["sysctl (net.ipv4, conf.*, bridge)"] = _sysctls()
    state["mounts under /run"] = _mounts()
    state["processes"] = _processes()
    state["service"] = _service(service)
    return state


def _settle(service: int) -> dict[str, str]:
    """Wait until the service answers and no address is tentative (IPv6 duplicate address detection)."""
    deadline = time.monotonic() + 15
    while True:
        addresses = _tool(["ip", "addr"]) + _tool(["ip", "-n", "vpn", "addr"])
        answer = _service(service)
        if ("tentative" not in addresses and "HTTP 200" in answer) or time.monotonic() > deadline:
            return {"service": answer, "addresses": addresses}
        time.sleep(0.2)


def _notebook(lang: str, path: Path) -> dict[str, Any]:
    start = time.monotonic()
    try:
        if lang == "en":
            from test_notebooks import run_notebook  # its checks included, which read this world

            run_notebook(path)
        else:
            from test_chinese_reader import run_chinese

            run_chinese(path)
        ok, error = True, ""
    except Exception:
        from test_notebooks import ANSI_ESCAPE

        ok, error = False, ANSI_ESCAPE.sub("", traceback.format_exc())
        if len(error) > 8000:
            error = error[:3000] + "\n[...]\n" + error[-5000:]
    return {"ok": ok, "seconds": round(time.monotonic() - start, 1), "error": error}


def _shown(outputs: Iterable[Any]) -> str:
    """What the cell showed, as the learner reads it: streams, results, and the error as displayed."""
    from test_notebooks import ANSI_ESCAPE

    text = ""
    for output in outputs:
        if output.output_type == "stream":
            text += output.text
        elif output.output_type == "error":
            text += "\n".join(output.get("traceback") or [f"{output.ename}: {output.evalue}"]) + "\n"
        else:
            text += str(output.get("data", {}).get("text/plain", "")) + "\n"
    return ANSI_ESCAPE.sub("", text)


def _first_cell(path: Path) -> dict[str, Any]:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from test_notebooks import CELL_TIMEOUT

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    index, cell = next((i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code")
    with client.setup_kernel():
        try:
            client.execute_cell(cell, index)
            stopped = False
        except CellExecutionError:
            stopped = True
    return {"stopped": stopped, "output": _shown(cell.outputs)}


def main(argv: list[str]) -> None:
    sys.path.insert(0, str(TESTS))  # test_notebooks, test_chinese_reader, conftest
    command, args = argv[0], argv[1:]
    if command == "init":
        _init(args[0])
        return
    if command == "dump":
        result: Any = dump(int(args[0]))
    elif command == "settle":
        result = _settle(int(args[0]))
    elif command == "notebook":
        result = _notebook(args[0], Path(args[1]))
    elif command == "first-cell":
        result = _first_cell(Path(args[0]))
    else:
        raise SystemExit(f"lived_in.py: unknown command {command!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
