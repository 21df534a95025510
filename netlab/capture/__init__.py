"""See the packets: capture on any interface of any namespace, like ``tcpdump``.

``ip netns exec netns1 tcpdump -ni veth1`` shows every frame that crosses ``veth1`` inside
``netns1``. tcpdump does it with a *packet socket*, and so does netlab, in three steps::

    1. setns(/run/netns/netns1)                 a thread enters the namespace
    2. socket(AF_PACKET) + bind("veth1")        a socket that gets a copy of every frame veth1
                                                sends or receives (``ring.py``)
    3. read the frames                          each with the time the kernel saw it, and
                                                whether it went out or came in

A socket belongs to the namespace of the thread that created it, for its whole life, even when
another thread reads it: so netlab opens the socket in its namespace worker thread (see
``netlab.plumbing.threads``; your own thread never moves), and one reader thread collects the frames of
all capture points. The kernel stamps every frame on one clock, so the frames of several points
line up in time. This works as root and in the rootless sandbox (root of its user namespace has
``CAP_NET_RAW`` there), where Debian's tcpdump cannot start. Each frame is read with
``netlab.plumbing.frames`` (a tcpdump-like summary), and with scapy when you ask for ``packet.scapy``.

    >>> from netlab.capture import capture
    >>> with capture(("netns1", "veth1"), "veth0", proto=("arp", "icmp")) as cap:
    ...     netlab.ping(None, "10.1.1.1")
    >>> for packet in cap:
    ...     print(packet)                                 # seconds since the capture started
     0.041902  veth0         out  ARP, Request who-has 10.1.1.1 tell 10.1.1.2, length 28
     0.041908  netns1:veth1  in   ARP, Request who-has 10.1.1.1 tell 10.1.1.2, length 28
     ...
    >>> cap.save("ping.pcap")                             # for Wireshark or tcpdump -r

A capture point is an interface name (in the caller's namespace, or ``netns=``), a pair
``(target, interface)`` with any target of ``netlab.targets``, or a ``Point``. A capture ends
after ``count`` packets, after ``timeout`` seconds, or at ``stop()`` (the end of a ``with``
block, even one left by an exception), when its interface goes away, whichever comes first;
``cap.ended`` says which, in words. An interface that is down is waited for (said once, in
``cap.notes``): the kernel passes a packet socket nothing until the interface is up. Filters are
simple: ``proto``, ``host``, ``port`` keywords, or a tcpdump-like ``filter="icmp and host
10.0.0.2"`` (see ``parse_filter``).

A capture you leave running writes to a file as it goes, like ``tcpdump -w``::

    >>> cap = capture("veth0", write="long.pcap")     # every frame to the file, as it comes
    >>> ...; cap.stop(); len(cap), len(cap.packets)   # all of them counted; the latest 10000 here
    (250000, 10000)

The file is checked before anything is captured (its folder exists, it is not a folder or a
device), and every way of stopping leaves it complete: a pcap is a header and whole records.

Keep a capture short: its socket holds its namespace alive (like any socket; see lesson 04), so
a namespace deleted while a capture runs lives on, devices and all, until the capture stops.

The package, file by file::

    session.py   capture() and Capture: the points, the reader thread, how a capture ends
    ring.py      the packet socket and the ring of frames the kernel shares with us (TPACKET)
    runs.py      a flood read many frames at a time (numpy over the ring), for the file
    records.py   Packet, Stats and the bounded window of packets a capture keeps in memory
    options.py   capture points and options, checked before anything is opened
"""

from __future__ import annotations

from netlab.capture.session import (
    Capture,
    CaptureError,
    Filter,
    FilterError,
    Packet,
    PcapFileError,
    Point,
    PointSpec,
    Stats,
    capture,
    parse_filter,
    target_of,
)

__all__ = [
    "Capture",
    "CaptureError",
    "Filter",
    "FilterError",
    "Packet",
    "PcapFileError",
    "Point",
    "PointSpec",
    "Stats",
    "capture",
    "parse_filter",
    "target_of",
]
