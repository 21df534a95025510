"""``netlab capture``: tcpdump for a namespace, where Debian's tcpdump cannot run (rootless).

    netlab capture -n netns1 veth1                    ip netns exec netns1 tcpdump -ni veth1
    netlab capture -n netns1 veth1 -c 4 icmp          ... -c 4 icmp
    netlab capture -n netns1 veth1 -w ping.pcap       ... -w ping.pcap   (then Wireshark, tcpdump -r)
    netlab capture -n 1234 eth0 'arp or icmp'         nsenter -t 1234 -n tcpdump -ni eth0 'arp or icmp'

Options may come before or after the interface and the filter, as with tcpdump.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from netlab.plumbing.i18n import _

__all__ = ["add_arguments", "run"]

USAGE = "netlab capture [-n NS] IFACE [-c N] [-s SNAPLEN] [-w FILE] [FILTER ...]"
SIGNALS = (signal.SIGTERM, signal.SIGHUP)  # `timeout`, `kill`, a closed terminal: stop, keep the file


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--netns", metavar="NS", help=_("namespace: a name, a /path or a pid (default: here)"))
    parser.add_argument("-c", "--count", type=int, metavar="N", help=_("stop after N packets"))
    parser.add_argument("-w", "--write", metavar="FILE", help=_("write a pcap (or .pcapng) file instead of printing"))
    parser.add_argument(
        "-s", "--snaplen", type=int, metavar="SNAPLEN", help=_("bytes kept of each frame (default 1982; 65535: whole)")
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The subcommand's arguments; the words after the options are read again by ``run``."""
    parser.usage = USAGE
    _options(parser)
    parser.add_argument(
        "words", nargs=argparse.REMAINDER, metavar="IFACE [FILTER]", help=_("e.g. veth1 icmp, eth0 'tcp and port 80'")
    )


def _words(args: argparse.Namespace) -> argparse.Namespace:
    """IFACE, FILTER and options in any order (argparse alone wants options before positionals)."""
    parser = argparse.ArgumentParser(prog="netlab capture", usage=USAGE, add_help=False)
    _options(parser)
    parser.add_argument("iface", metavar="IFACE")
    parser.add_argument("filter", nargs="*", metavar="FILTER")
    return parser.parse_intermixed_args(args.words, namespace=argparse.Namespace(**vars(args)))


class Signalled(Exception):
    """A signal that asks the capture to stop (SIGTERM, SIGHUP), raised in the main thread."""


def _raise(signum: int, _frame: FrameType | None) -> None:
    raise Signalled(signal.Signals(signum).name)


def run(args: argparse.Namespace) -> int:
    """Capture until ``-c`` packets, Ctrl-C, SIGTERM or SIGHUP; print each packet, or write them
    to ``-w FILE`` as they come. Every way of stopping keeps the file whole and says why it ended."""
    from netlab.capture import capture, target_of

    args = _words(args)

    def show(packet) -> None:
        print(packet.line(), flush=True)

    cap = capture(
        args.iface,
        netns=target_of(args.netns),
        count=args.count,
        filter=" ".join(args.filter) or None,
        on_packet=() if args.write else show,
        write=args.write,
        window=0,  # printed or written as they come: nothing to keep in memory
        snaplen=args.snaplen,
    )
    before = {number: signal.signal(number, _raise) for number in SIGNALS}
    try:
        print(
            _("netlab: capturing on {point}; Ctrl-C stops").format(point=cap.points[0].label),
            file=sys.stderr,
            flush=True,
        )
        cap.wait()
    except KeyboardInterrupt:
        cap.stop(why=_("stopped by {signal}").format(signal="SIGINT"))
    except Signalled as signalled:
        cap.stop(why=_("stopped by {signal}").format(signal=signalled))
    finally:
        cap.stop()
        for number, handler in before.items():
            signal.signal(number, handler)
    stats = cap.stats[cap.points[0].label]
    summary = _("{count} packets captured, {dropped} dropped by the kernel; {why}").format(
        count=len(cap), dropped=stats.dropped, why=cap.ended
    )
    print("\n" + summary, file=sys.stderr)
    return 0
