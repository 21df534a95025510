"""Wiring from a real ipykernel cell (where pyroute2's sync API alone would fail), and teardown on kernel restart."""

from __future__ import annotations

import json

import pytest
from conftest import sh
from test_in_jupyter_kernel import execute

from netlab import netns
from netlab.lab import journal

jupyter_client = pytest.importorskip("jupyter_client")


@pytest.fixture
def manager():
    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.start_kernel()
    try:
        yield manager
    finally:
        if manager.is_alive():
            manager.shutdown_kernel(now=True)


def connect(manager):
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return client


def test_lab_cells_build_ping_and_nat_then_a_restart_cleans_up(manager):
    client = connect(manager)
    out = execute(
        client,
        """
        import asyncio
        from netlab import Lab, links, probe
        print("loop running:", asyncio.get_event_loop().is_running())
        try:
            from pyroute2 import IPRoute
            IPRoute().close()
            print("plain pyroute2: ok")
        except Exception as exc:
            print("plain pyroute2 fails:", exc)
        lab = Lab("notebook")
        lab.netns("netns1")
        lab.connect("netns1", address="10.1.1.1/24", ifname="veth1", host_ifname="veth0",
                    host_address="10.1.1.2/24", gateway="10.1.1.2")
        print(lab.ping("netns1", "10.1.1.2"))
        lab.netns("internet")
        lab.connect("internet", address="203.0.113.1/24", host_ifname="uplink", host_address="203.0.113.2/24")
        lab.sysctl("net.ipv4.ip_forward", 1)
        lab.masquerade("10.1.1.0/24", out="uplink")
        print(probe("netns1", "203.0.113.1", 80, server="internet"))
        print([link.name for link in links.list("netns1")])
    """,
    )
    assert "loop running: True" in out
    assert "ping 10.1.1.2 from netns1: 1/1 received" in out
    assert "the server in internet saw 203.0.113.2" in out and "NAT rewrote the source" in out
    assert "['lo', 'veth1']" in out
    assert sorted(netns.list()) == ["internet", "netns1"] and journal.lab_ids() == ["notebook"]
    client.stop_channels()

    # "Restart kernel": a graceful shutdown ends the interpreter, and atexit closes the open lab.
    manager.restart_kernel(now=False)
    assert netns.list() == [] and journal.lab_ids() == []
    assert {lk["ifname"] for lk in json.loads(sh("ip", "-j", "link").stdout)}.isdisjoint({"veth0", "uplink"})
    assert sh("nft", "list", "tables").stdout == ""

    client = connect(manager)  # the new kernel starts from a clean world and can build again
    assert "['netns1']" in execute(
        client,
        """
        from netlab import Lab
        with Lab("notebook") as lab:
            print(lab.namespaces if lab.netns("netns1") else None)
    """,
    )
    client.stop_channels()


def test_a_rerun_setup_cell_closes_the_previous_runs_lab_and_a_killed_kernels_leftovers(manager):
    client = connect(manager)
    build = """
        from netlab.teach import lesson; lesson.start("03")
        from netlab import Lab
        lab = Lab("internet_access")
        lab.netns("c1")
        lab.sysctl("net.ipv4.ip_forward", 1)
        lab.masquerade("10.0.0.0/24", out="lo")
        print("built")
    """
    assert execute(client, build).splitlines() == ["netlab: lesson 03: clean start", "built"]
    # The learner runs the setup cell again (the `lab` of the first run is still open in this kernel).
    out = execute(client, build).splitlines()
    assert out[0].startswith("netlab: lesson 03: removed lab internet_access (") and out[1] == "built"
    client.stop_channels()
    # The kernel is killed outright (SIGKILL, no atexit): the new kernel's lesson start clears what it left.
    manager.restart_kernel(now=True)
    assert netns.list() == ["c1"] and sh("sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"
    client = connect(manager)
    out = execute(client, 'from netlab.teach import lesson; lesson.start("04")')
    assert out.startswith("netlab: lesson 04: removed lab internet_access (")
    assert netns.list() == [] and journal.lab_ids() == [] and sh("nft", "list", "tables").stdout == ""
    assert sh("sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "0"
    client.stop_channels()
