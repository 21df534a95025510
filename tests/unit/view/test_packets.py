"""The packet table as HTML (``netlab/view/packets.py``), from frames built by hand."""

from __future__ import annotations

import re
import socket
import struct

from netlab.capture.records import Packet
from netlab.view.packets import table_html


def _arp_request(sender: str, target: str) -> bytes:
    """An Ethernet broadcast frame asking who has ``target``, as ``sender`` sends it."""
    mac = bytes.fromhex("020000000001")
    ethernet = b"\xff" * 6 + mac + struct.pack("!H", 0x0806)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + socket.inet_aton(sender) + bytes(6)
    return ethernet + arp + socket.inet_aton(target)


def test_every_cell_stays_on_one_line_to_the_left_and_a_wide_table_scrolls_in_its_box():
    """JupyterLab right-aligns table cells and wraps them: at 1280 pixels "who-has" came out right-aligned
    and broken mid-phrase, the heading 方向 on two lines."""
    frame = _arp_request("10.1.1.1", "10.1.1.2")
    packets = [Packet("netns1:veth1", 1e9 + n, float(n), frame, True, len(frame)) for n in range(3)]
    page = table_html(packets)
    cells = re.findall(r"<t([hd]) style='([^']*)'", page)
    assert len(cells) == 4 * len(re.findall(r"<th ", page)), page  # a heading row and three rows
    for _kind, style in cells:
        assert "text-align:left" in style and "white-space:nowrap" in style, style
    assert re.match(r"<div class='netlab-packets' style='overflow-x:auto", page), page[:80]
    assert "who-has 10.1.1.2 tell 10.1.1.1" in page
