"""slirp4netns and pasta for a rootless container (netlab.lab.rootless), checked with ip -j, ss and nsenter.

Kernel tests: each makes its own "host" and "internet" namespaces (a veth pair between them), starts the
helpers inside "host", and stops everything it started; the ``no_residue`` fixture checks that no
namespace, link or process is left. Nothing here runs in the root namespace: its links are compared.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from conftest import sh

from netlab import netns
from netlab.lab import rootless, web

pytestmark = pytest.mark.skipif(
    not (shutil.which("slirp4netns") and shutil.which("pasta") and os.path.exists("/dev/net/tun")),
    reason="slirp4netns, pasta (passt) and /dev/net/tun are needed",
)


@dataclass
class Scene:
    host: str
    internet: str
    server: web.Server


@pytest.fixture
def scene() -> Iterator[Scene]:
    """A host and an internet of their own (203.0.113.0/24), and a web server in the internet."""
    tag = uuid.uuid4().hex[:6]
    host, internet = f"h-{tag}", f"i-{tag}"
    root_links = sh("ip", "-br", "link").stdout
    server = None
    try:
        for argv in (
            ["ip", "netns", "add", host],
            ["ip", "netns", "add", internet],
            ["ip", "-n", host, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", internet],
            ["ip", "-n", host, "addr", "add", "203.0.113.2/24", "dev", "eth0"],
            ["ip", "-n", internet, "addr", "add", "203.0.113.1/24", "dev", "eth0"],
            ["ip", "-n", host, "link", "set", "eth0", "up"],
            ["ip", "-n", internet, "link", "set", "eth0", "up"],
            ["ip", "-n", host, "route", "add", "default", "via", "203.0.113.1"],
        ):
            sh(*argv)
        server = web.serve(internet, "203.0.113.1", size=4 * web.MIB)
        yield Scene(host, internet, server)
    finally:
        if server is not None:
            server.stop()
        for name in (host, internet):
            if name in netns.list():
                netns.delete(name)
    assert sh("ip", "-br", "link").stdout == root_links, "the root namespace's links changed"


@pytest.fixture
def box(scene: Scene) -> Iterator[rootless.Container]:
    """A rootless container in the scene's host, stopped after the test whatever happened in it."""
    container = rootless.container(scene.host)
    yield container
    container.stop()


def _links(pid: int) -> dict[str, list[str]]:
    """The container's interfaces and their IPv4 addresses, read by nsenter and ip -j."""
    out = json.loads(sh("nsenter", "-t", str(pid), "-n", "ip", "-j", "addr").stdout)
    return {
        link["ifname"]: [f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"] if a["family"] == "inet"]
        for link in out
    }


def _owners(namespace: str) -> str:
    """``ss -tnp`` in a namespace: the established TCP connections and the processes that own them."""
    return sh("ip", "netns", "exec", namespace, "ss", "-tnp").stdout


def test_the_container_has_namespaces_of_its_own_and_only_lo(scene, box):
    try:
        assert os.stat(f"/proc/{box.pid}/ns/user").st_ino != os.stat("/proc/self/ns/user").st_ino
        host_net = sh("ip", "netns", "exec", scene.host, "readlink", "/proc/self/ns/net").stdout.strip()
        assert os.readlink(f"/proc/{box.pid}/ns/net") != host_net
        assert list(_links(box.pid)) == ["lo"]
        assert sh("cat", f"/proc/{box.pid}/uid_map").stdout.split()[0] == "0"  # root inside
    finally:
        box.stop()
    assert box.proc.returncode is not None


def test_slirp4netns_makes_tap0_inside_and_nothing_in_the_host(scene, box):
    host_links = sh("ip", "-n", scene.host, "-br", "link").stdout  # a container's namespaces add none
    helper = rootless.slirp4netns(box, host=scene.host)
    try:
        assert _links(box.pid) == {"lo": ["127.0.0.1/8"], "tap0": ["10.0.2.100/24"]}
        route = json.loads(sh("nsenter", "-t", str(box.pid), "-n", "ip", "-j", "route", "show", "default").stdout)
        assert route[0]["gateway"] == "10.0.2.2" and route[0]["dev"] == "tap0"
        assert sh("ip", "-n", scene.host, "-br", "link").stdout == host_links  # no veth, bridge or tap
        assert sh("ip", "netns", "exec", scene.host, "nft", "list", "ruleset").stdout.strip() == ""
        with web.connect(box.pid, "203.0.113.1", 8000):
            inside = sh("nsenter", "-t", str(box.pid), "-n", "ss", "-tn").stdout
            assert "10.0.2.100:" in inside and "203.0.113.1:8000" in inside
            outside = _owners(scene.host)
            assert "203.0.113.2:" in outside and f'("slirp4netns",pid={helper.pid},' in outside
    finally:
        helper.stop()
    assert helper.proc.returncode is not None


def test_pasta_gives_the_container_the_host_s_address(scene, box):
    helper = rootless.pasta(box, host=scene.host)
    try:
        assert helper.ifname == "eth0"
        assert _links(box.pid)["eth0"] == ["203.0.113.2/24"]
        with web.connect(box.pid, "203.0.113.1", 8000):
            outside = _owners(scene.host)
            assert f"pid={helper.pid}," in outside and "203.0.113.1:8000" in outside
        transfer = web.throughput(box.pid, scene.server.url, through="pasta", helper=helper)
        assert transfer.bytes == 4 * web.MIB and transfer.rate > 0 and transfer.helper_cpu is not None
    finally:
        helper.stop()


def test_throughput_counts_every_byte_and_the_table_keeps_the_best_of_each_path(scene, box):
    helper = rootless.slirp4netns(box, host=scene.host, mtu=1500)
    try:
        transfers = [
            web.throughput(target, scene.server.url, through=name)
            for _round in range(2)
            for name, target in (("host", scene.host), ("slirp", box.pid))
        ]
    finally:
        helper.stop()
    assert {t.bytes for t in transfers} == {4 * web.MIB}
    rows = web.table(transfers).splitlines()
    assert len(rows) == 2 and {row.split()[0] for row in rows} == {"host", "slirp"}
    assert "MB in" in str(transfers[0])


@pytest.mark.parametrize(
    ("start", "said", "device"),
    [
        (rootless.slirp4netns, "slirp4netns stopped before it was ready", "tap0"),
        # pasta 2023 names the tun device it could not make, pasta 2025 (Debian 13) the tap
        (rootless.pasta, "pasta stopped before it was ready: .*(tun|tap)", "eth0"),
    ],
    ids=["slirp4netns", "pasta"],
)
def test_a_second_helper_for_the_same_container_fails_in_one_line_and_leaves_nothing(scene, box, start, said, device):
    helper = start(box, host=scene.host)
    try:
        with pytest.raises(rootless.RootlessError, match=f"^{said}") as info:
            start(box, host=scene.host)  # its device is there already: the second cannot make its own
        assert "\n" not in info.value.message and helper.tool in info.value.hint
        assert helper.running() and device in _links(box.pid)
    finally:
        helper.stop()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda s: rootless.slirp4netns(2**22 + 7, host=s.host),
            rootless.RootlessError,
            "no container process with pid",
        ),
        (lambda s: rootless.pasta(-1, host=s.host), rootless.RootlessError, "no container process with pid"),
        (
            lambda s: rootless.slirp4netns(os.getpid(), host=None),
            rootless.RootlessError,
            "host's own network namespace",
        ),
        (
            lambda s: rootless.slirp4netns(os.getpid(), host=s.host, mtu=65522),
            rootless.RootlessError,
            "invalid MTU 65522",
        ),
        (lambda s: web.serve(s.internet, "203.0.113.1", size=-1), web.WebError, "invalid file size -1"),
        (lambda s: web.serve(s.internet, "203.0.113.9"), web.WebError, "the web server did not start on 203.0.113.9"),
        (lambda s: web.throughput(s.host, "ftp://203.0.113.1/x"), web.WebError, "not an http:// URL"),
        (lambda s: web.throughput(s.host, "http://203.0.113.1:8001/x"), web.WebError, "the transfer of .* failed"),
        (lambda s: web.connect(s.host, "203.0.113.1", 8001), web.WebError, "no connection to 203.0.113.1 port 8001"),
    ],
)
def test_bad_input_is_one_line_and_starts_nothing(scene, call, error, message):
    with pytest.raises(error, match=message) as info:
        call(scene)
    assert "\n" not in info.value.message and info.value.hint
