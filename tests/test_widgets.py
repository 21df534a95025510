"""The explorer and the ping tester, driven like a learner would, without a browser."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("ipywidgets")

import scenes
from scenes import shell

from netlab import namespace_explorer, ping_tester, snapshot


def test_the_explorer_describes_the_chosen_namespace():
    with scenes.article_veth():
        explorer = namespace_explorer()
        titles = [label.split("  ·  ")[0] for label, _ in explorer.dropdown.options]
        assert titles == ["root", "netns1"]
        assert "(you are here)" in explorer.details.value  # root is chosen first

        explorer.select("netns1")
        details = explorer.details.value
        inode = os.stat("/run/netns/netns1").st_ino
        assert f"net:[{inode}]" in details and "bind mount /run/netns/netns1" in details
        assert "veth1" in details and "10.1.1.1/24" in details and "veth peer veth0 in root" in details
        assert "10.1.1.0/24 dev veth1 proto kernel scope link src 10.1.1.1" in details
        assert "no default route: reaches only 10.1.1.0/24" in details  # why it cannot reach further
        assert "(you are here)" not in details and "font-size" not in details

        shell("ip netns add extra")
        try:
            explorer.refresh_button.click()
            assert [label.split("  ·  ")[0] for label, _ in explorer.dropdown.options] == ["root", "extra", "netns1"]
            assert explorer.dropdown.value == inode  # the choice survives a refresh
        finally:
            shell("ip netns delete extra")


def test_the_explorer_shows_holders_of_an_unnamed_namespace():
    with scenes.unnamed_held_by_process() as proc:
        explorer = namespace_explorer(topology=snapshot())
        explorer.select(f"pid {proc.pid} (sleep)")
        assert f"process {proc.pid} (sleep)" in explorer.details.value
        assert "names: (none)" in explorer.details.value


def test_the_ping_tester_pings_from_the_chosen_namespace():
    with scenes.article_veth():
        tester = ping_tester(count=2)
        assert "10.1.1.1" in tester.destination.options and "10.1.1.2" in tester.destination.options
        tester.choose("netns1")
        tester.destination.value = "10.1.1.2"
        tester.button.click()
        assert tester.last.ok and tester.last.sent == 2 and tester.last.received == 2
        assert "ping 10.1.1.2 from netns1: 2/2 received, 0% loss" in tester.result.value
        assert not tester.button.disabled

        tester.choose("root")  # the other way round
        tester.destination.value = "10.1.1.1"
        tester.button.click()
        assert tester.last.ok and "2/2 received" in tester.result.value

        tester.destination.value = "10.1.1.99"  # nobody there (inside the lab subnet)
        tester.count.value = 1
        tester.button.click()
        assert not tester.last.ok and "0/1 received, 100% loss" in tester.result.value

        tester.destination.value = "not-an-address"
        tester.button.click()
        assert "is not an IP address" in tester.result.value and isinstance(tester.last, Exception)

        tester.destination.value = ""
        tester.button.click()
        assert "choose a source namespace and an address" in tester.result.value


def test_the_ping_tester_from_an_unnamed_namespace():
    with scenes.peer_namespace_deleted() as proc:
        tester = ping_tester(count=1)
        tester.choose(f"pid {proc.pid} (sleep)")
        tester.destination.value = "10.5.0.1"
        tester.button.click()
        assert tester.last.ok, tester.result.value


def test_projector_mode_makes_the_widgets_text_bigger():
    from netlab.view.settings import settings

    with scenes.article_veth():
        settings.projector = True
        try:
            explorer = namespace_explorer()
            explorer.select("netns1")
            assert "font-size:20px" in explorer.details.value
            tester = ping_tester(count=1)
            tester.choose("netns1")
            tester.destination.value = "10.1.1.2"
            tester.button.click()
            assert tester.last.ok and "font-size:20px" in tester.result.value
        finally:
            settings.projector = False
