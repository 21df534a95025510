"""Seeing the network: what the kernel holds, what changed, drawn as pictures and text.

snapshot.py  ``snapshot()``: every namespace, interface, veth pair, bridge, route and NAT rule
topology.py  ``Topology``: what a snapshot holds, its questions (peers, bridges) and its graph
diff.py      ``diff(before, after)``: what a cell changed, in sentences
diff_interface.py  what changed on one interface (its state, addresses, bridge, MTU), in sentences
draw/        matplotlib diagrams (detailed for a few namespaces, compact tiles for hundreds)
text.py      the terminal tree (``netlab show``), Graphviz DOT and Mermaid
notebook.py  how a notebook displays a snapshot or a diff
redraw.py    ``%load_ext netlab.live``: redraw after every cell that changed the network
widgets.py   the namespace explorer and the ping tester
packets.py   captured packets: a table, a ladder diagram across capture points, a live view
settings.py  projector mode: labels at least 14 px at 1080p, bigger tables
"""
