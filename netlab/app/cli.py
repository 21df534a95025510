"""The ``netlab`` command.

netlab lab [--port N] [--lesson NN]   JupyterLab on the notebooks, in a private network world
netlab sandbox [CMD ...]        run CMD (default: a shell) in a private network world
netlab netns add|delete|list|exec|identify|pids|attach ...   same as `ip netns ...`
netlab lsns                     every network namespace and what keeps it alive
netlab doctor                   can this machine run the lab, and what to fix
netlab labs                     the labs on record (/run/netlab) and whether their owner runs
netlab cleanup [--all] [--dry-run] [--lab NAME]   remove what dead labs left behind (crash recovery)
netlab reset [--dry-run]        bring the lab's world back to its clean start (in a sandbox: empty)
netlab kernelspec install [--user|--sys-prefix|--prefix P]   a Jupyter kernel with its own sandbox
netlab show [--format tree|dot|mermaid|json] [--png FILE] [--everything]   what the kernel holds now
netlab reproduce [--output PATH]... [--format md|html]   prove the article's claims here, write a report
netlab capture [-n NS] IFACE [-c N] [-w FILE] [FILTER]   see the packets, like `ip netns exec NS tcpdump -ni IFACE`
"""

from __future__ import annotations

import argparse
import sys

from netlab.errors import NetlabError
from netlab.i18n import _


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from netlab.sandbox import exec_in_sandbox

    argv = args.command[1:] if args.command[:1] == ["--"] else args.command
    exec_in_sandbox(argv)
    return 0  # not reached


def _cmd_netns(args: argparse.Namespace) -> int:
    from netlab import netns

    action = args.action
    if action == "add":
        netns.add(args.name)
    elif action in ("delete", "del"):
        netns.delete(args.name)
    elif action == "list":
        for name in netns.list():
            print(name)
        for name in netns.stale():
            stale = _("{name} (stale: a plain file, not a namespace; `netlab netns delete {name}` removes it)")
            print(stale.format(name=name))
    elif action == "attach":
        netns.attach(args.name, args.pid)
    elif action == "identify":
        print("\n".join(netns.identify(args.pid if args.pid is not None else "self")))
    elif action == "pids":
        print("\n".join(str(p) for p in netns.pids(args.name)))
    elif action == "exec":
        argv = args.command[1:] if args.command[:1] == ["--"] else args.command
        if not argv:
            raise NetlabError("netns exec: which command?", hint=f"e.g. netlab netns exec {args.name} ip -br link")
        from netlab import enter

        proc = enter.popen(args.name, argv)
        return proc.wait()
    return 0


def _cmd_lsns(args: argparse.Namespace) -> int:
    from netlab.inodes import namespaces

    print(f"{'NS':<18} {'NAMES':<16} " + _("HELD BY"))
    for info in namespaces():
        marks = _(" (init)") if info.init else ""
        marks += _(" (you)") if info.current else ""
        held = "; ".join(info.held_by) or _("nothing (about to be freed)")
        print(f"{info.label:<18} {','.join(info.names) or '-':<16} {held}{marks}")
    return 0


def _cmd_lab(args: argparse.Namespace) -> int:
    from pathlib import Path

    from netlab.app.labserver import find_notebooks, serve_lab

    notebooks = Path(args.notebooks).resolve() if args.notebooks else find_notebooks()
    return serve_lab(
        notebooks=notebooks, port=args.port, host_network=args.host_network, lang=args.lang, lesson=args.lesson
    )


def _cmd_doctor(args: argparse.Namespace) -> int:
    from netlab.app.doctor import doctor

    checks = doctor()
    for check in checks:
        print(check)
    failed = [c.name for c in checks if c.required and not c.ok]
    summary = _("all required checks passed") if not failed else _("{count} required check(s) failed")
    print("\n" + summary.format(count=len(failed)))
    return 1 if failed else 0


def _cmd_kernelspec(args: argparse.Namespace) -> int:
    from netlab.app.kernelspec import install

    prefix = sys.prefix if args.sys_prefix else args.prefix
    where = install(user=args.user, prefix=prefix)
    print(
        _(
            'netlab: installed the kernelspec "{name}" in {path}\n'
            "  its kernels need a server started with --KernelManager.transport=ipc (docs/classroom.md)"
        ).format(name=where.name, path=where)
    )
    return 0


def _cmd_labs(args: argparse.Namespace) -> int:
    from netlab.lab.journal import all_records, problems

    for record in all_records():
        print(record)
    for problem in problems():
        print(f"netlab: ignored {problem} (not a journal netlab can trust; remove it by hand)", file=sys.stderr)
    return 0


def _cmd_cleanup(args: argparse.Namespace) -> int:
    from netlab.lab.cleanup import cleanup
    from netlab.lab.journal import problems

    for problem in problems():
        print(f"netlab: ignored {problem} (not a journal netlab can trust; remove it by hand)", file=sys.stderr)
    reports = cleanup(all=args.all, dry_run=args.dry_run, lab=args.lab)
    for report in reports:
        print((_("(dry run) ") if args.dry_run and not report.skipped else "") + str(report))
    if not reports:
        print(_("netlab: no labs on record: nothing to clean up"))
    return 1 if any(report.errors for report in reports) else 0


def _cmd_show(args: argparse.Namespace) -> int:
    from netlab.view.snapshot import snapshot
    from netlab.view.text import to_dot, to_mermaid, tree

    if args.png:
        _check_output(args.png, "--png")
    topology = snapshot(everything=args.everything, settle=0.5)
    if args.format == "tree":
        print(tree(topology, routes=not args.no_routes, color=sys.stdout.isatty()))
    elif args.format == "dot":
        print(to_dot(topology), end="")
    elif args.format == "mermaid":
        print(to_mermaid(topology), end="")
    else:
        import json

        print(json.dumps(topology.as_dict(), indent=2))
    if args.png:
        from netlab.view.draw import draw

        draw(topology, path=args.png)
        drew = _("netlab: drew {count} namespaces into {path}").format(count=len(topology.namespaces), path=args.png)
        print(drew, file=sys.stderr)
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from netlab.teach.reproduce import command

    for output in args.output or []:
        _check_output(output, "--output")
    return command(args.output, format=args.format)


def _cmd_capture(args: argparse.Namespace) -> int:
    from netlab.app.capture_cmd import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="netlab", description="Learn Linux network namespaces for real.")
    sub = parser.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("sandbox", help="run a command in a private network + mount namespace")
    p.add_argument("command", nargs=argparse.REMAINDER, help="command to run (default: $SHELL)")
    p.set_defaults(func=_cmd_sandbox)

    p = sub.add_parser("netns", help="named namespaces, like `ip netns`")
    ns_sub = p.add_subparsers(dest="action", required=True)
    for action in ("add", "delete", "pids"):
        ns_sub.add_parser(action).add_argument("name")
    ns_sub.add_parser("list")
    a = ns_sub.add_parser("attach")
    a.add_argument("name")
    a.add_argument("pid", type=int)
    a = ns_sub.add_parser("identify")
    a.add_argument("pid", type=int, nargs="?")
    a = ns_sub.add_parser("exec")
    a.add_argument("name")
    a.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cmd_netns)

    p = sub.add_parser("lab", help="JupyterLab on the notebooks, in a private network world")
    p.add_argument("--notebooks", help="folder of notebooks (default: the lessons that come with netlab)")
    p.add_argument("--port", type=_port, default=8888, help="port on 127.0.0.1 (default: 8888)")
    p.add_argument(
        "--host-network",
        action="store_true",
        help="use this machine's own network namespace, as the VM does (root only)",
    )
    p.add_argument(
        "--lang",
        metavar="LANG",
        help="the lessons and JupyterLab in this language, e.g. zh-CN (default: from NETLAB_LANG or LANG; English)",
    )
    p.add_argument(
        "--lesson",
        metavar="NN",
        help="open lesson NN (e.g. 04) with its notebook and two terminals side by side",
    )
    p.set_defaults(func=_cmd_lab)

    p = sub.add_parser("doctor", help="can this machine run the lab? what to fix")
    p.set_defaults(func=_cmd_doctor)

    p = sub.add_parser("lsns", help="every network namespace and what keeps it alive")
    p.set_defaults(func=_cmd_lsns)

    p = sub.add_parser("kernelspec", help="a Jupyter kernel that runs in a sandbox of its own")
    ks_sub = p.add_subparsers(dest="action", required=True)
    a = ks_sub.add_parser("install", help='install the "netlab" kernelspec: Python 3 (netlab sandbox)')
    where = a.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="for you only (~/.local/share/jupyter/kernels)")
    where.add_argument("--sys-prefix", action="store_true", help="into this Python environment (sys.prefix)")
    where.add_argument("--prefix", help="under PREFIX/share/jupyter/kernels")
    p.set_defaults(func=_cmd_kernelspec)

    p = sub.add_parser("labs", help="the labs on record and whether their owner still runs")
    p.set_defaults(func=_cmd_labs)

    p = sub.add_parser("cleanup", help="remove what crashed labs left behind, and nothing else")
    p.add_argument("--all", action="store_true", help="also labs whose owner is still running")
    p.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    p.add_argument("--lab", help="only this lab")
    p.set_defaults(func=_cmd_cleanup)

    p = sub.add_parser("reset", help="bring the lab's world back to its clean start (in a sandbox: empty)")
    p.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    p.set_defaults(func=_cmd_reset)

    p = sub.add_parser("show", help="every namespace, interface, veth pair, bridge and route, read from the kernel")
    p.add_argument(
        "--format",
        choices=("tree", "dot", "mermaid", "json"),
        default="tree",
        help="tree (default), Graphviz DOT, Mermaid, or JSON",
    )
    p.add_argument("--png", metavar="FILE", help="also draw the diagram into FILE (.png, .svg or .pdf)")
    p.add_argument(
        "--everything",
        action="store_true",
        help="also namespaces outside this lab's world (in a sandbox: the machine's own)",
    )
    p.add_argument("--no-routes", action="store_true", help="leave the routes out of the tree")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("reproduce", help="run every experiment of the article in a sandbox, report what holds")
    p.add_argument(
        "--output",
        "-o",
        action="append",
        metavar="PATH",
        help="report file, .html (diagrams embedded) or .md; repeat for both (default: netlab-reproduce.html)",
    )
    p.add_argument("--format", choices=("md", "html"), help="report format (default: from the file's suffix)")
    p.set_defaults(func=_cmd_reproduce)

    p = sub.add_parser("capture", help="see the packets on an interface, like `ip netns exec NS tcpdump -ni IFACE`")
    from netlab.app.capture_cmd import add_arguments

    add_arguments(p)
    p.set_defaults(func=_cmd_capture)
    return parser


def _cmd_reset(args: argparse.Namespace) -> int:
    from netlab.teach.lesson import reset

    done = reset(dry_run=args.dry_run)
    print(("(dry run) " if args.dry_run else "") + str(done))
    return 1 if done.problems else 0


def _port(text: str) -> int:
    """A TCP port for argparse: 1-65535, or a one-line usage error."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1-65535)")
    return port


def _check_output(path: str, option: str) -> None:
    """A file to write: its folder must exist, and it must not be a folder itself."""
    from pathlib import Path

    target = Path(path)
    if target.is_dir():
        raise NetlabError(f"{option} {path} is a directory", hint=f"name a file in it, e.g. {target / 'report.html'}")
    if not target.parent.is_dir():
        raise NetlabError(f"{option} {path}: no directory {target.parent}", hint=f"create it: mkdir -p {target.parent}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NetlabError as exc:
        print(f"netlab: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a file or a port given on the command line: one line, never a traceback
        where = f": {exc.filename}" if exc.filename else ""
        print(f"netlab: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
