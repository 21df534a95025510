"""Everything a capture needs is checked before it starts: the namespace, the interface, the filter.

Each refusal is one line with a hint, from the library and from ``netlab capture``, and comes
before any packet socket, thread or file is made: nothing is left half-created. (The ``-w``
target is checked in ``test_session.py``.)
"""

from __future__ import annotations

import os
import subprocess
import threading

import pytest
from scenes import article_veth
from test_capture import NETLAB

from netlab.capture import FilterError, capture
from netlab.errors import DeviceNotFoundError, NamespaceNotFoundError


def packet_sockets() -> set[str]:
    """The AF_PACKET sockets this process holds (``/proc/self/net/packet`` lists every one of the
    namespace; ours are matched by the inodes of our file descriptors)."""
    ours = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            ours.add(target[8:-1])
    return ours


def nothing_made(before_fds: set[str], path) -> None:
    assert not path.exists(), "the capture file was created"
    assert not [t for t in threading.enumerate() if t.name == "netlab-capture"], "a reader thread was started"
    assert packet_sockets() <= before_fds, "a socket was left open"


def refused(*argv: str) -> str:
    """``netlab capture ARGV`` must refuse at once: exit 1, a message and a hint, no traceback."""
    result = subprocess.run([NETLAB, "capture", *argv], capture_output=True, text=True, timeout=20)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 2 and lines[0].startswith("netlab: ") and lines[1].strip().startswith("hint: "), lines
    assert "capturing on" not in result.stderr
    return lines[0]


def test_a_namespace_that_does_not_exist_is_refused_before_anything(tmp_path):
    out = tmp_path / "x.pcap"
    before = packet_sockets()
    with article_veth():
        with pytest.raises(NamespaceNotFoundError) as caught:
            capture(("netns1", "veth1"), ("no-such-netns", "veth1"), write=out)
        assert "no-such-netns" in str(caught.value) and caught.value.hint
        nothing_made(before, out)
    line = refused("-n", "no-such-netns", "veth1", "-w", str(out))
    assert line == "netlab: namespace 'no-such-netns' does not exist"
    assert not out.exists()


def test_an_interface_that_does_not_exist_is_refused_before_anything(tmp_path):
    out = tmp_path / "x.pcap"
    before = packet_sockets()
    with article_veth():
        with pytest.raises(DeviceNotFoundError) as caught:
            capture(("netns1", "veth1"), ("netns1", "veth9"), write=out)  # the first point is fine
        assert str(caught.value).splitlines()[0] == "no interface 'veth9' in namespace 'netns1'"
        assert "veth1" in caught.value.hint and "ip netns exec netns1 ip -br link" in caught.value.hint
        nothing_made(before, out)
        line = refused("-n", "netns1", "veth9", "-w", str(out), "icmp")
        assert line == "netlab: no interface 'veth9' in namespace 'netns1'"
        assert not out.exists()


def test_an_interface_that_is_down_is_not_refused(tmp_path):
    """Down is not absent: the capture starts and waits for it (test_session.py)."""
    with article_veth():
        subprocess.run(["ip", "link", "set", "veth0", "down"], check=True)
        with capture("veth0", write=tmp_path / "down.pcap") as cap:
            assert cap.running and len(cap.notes) == 1


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ("icmp and bogus", "netlab: cannot read the filter 'icmp and bogus' at 'bogus'"),
        ("port 99999", "netlab: 99999 is not a port number"),
        ("host 10.1.1", "netlab: '10.1.1' is not an IP address"),
    ],
)
def test_a_filter_that_does_not_parse_is_refused_before_anything(tmp_path, words, message):
    out = tmp_path / "x.pcap"
    before = packet_sockets()
    with article_veth():
        with pytest.raises(FilterError):
            capture("veth0", filter=words, write=out)
        nothing_made(before, out)
        assert refused("veth0", "-w", str(out), words) == message
        assert not out.exists()


def test_every_check_comes_before_the_first_socket(tmp_path):
    """A bad filter and a missing namespace together: the filter is read first, nothing is opened."""
    out = tmp_path / "x.pcap"
    line = refused("-n", "no-such-netns", "veth1", "-w", str(out), "icmp and bogus")
    assert line.startswith("netlab: cannot read the filter")
    assert not out.exists()
