"""Plumbing: how netlab talks to the kernel and to you, under the lesson's modules.

Nothing here enters a namespace or knows the lesson: ``rtnl`` and ``capture/ring.py``, which open
their sockets inside a namespace (``netlab.enter.call``), live beside the lesson's modules instead.

syscalls.py        mount, umount2, setns, unshare, pidfd: the system calls the ``ip`` command makes
threads.py         the worker threads that enter a namespace (namespaces are per thread)
netlink_socket.py  a netlink socket, its message format and the one receive loop
frames.py          Ethernet, ARP, IPv4/6, ICMP, TCP and UDP headers, read in plain Python
pcap.py            pcap and pcapng files, written as packets come, and checked before a capture
bpf.py             capture filters compiled to classic BPF, so the kernel drops what nobody asked for
addresses.py       IP addresses and subnets, checked with the learner's hint
commands.py        the ``ip`` command equivalent to each step, printed for the learner
i18n.py            the learner's language (gettext)
"""
