"""The ``netlab`` command.

netlab lab [--port N]           JupyterLab on the notebooks, in a private network world
netlab sandbox [CMD ...]        run CMD (default: a shell) in a private network world
netlab netns add|delete|list|exec|identify|pids|attach ...   same as `ip netns ...`
netlab lsns                     every network namespace and what keeps it alive
netlab doctor                   can this machine run the lab, and what to fix
netlab labs                     the labs on record (/run/netlab) and whether their owner runs
netlab cleanup [--all] [--dry-run] [--lab NAME]   remove what dead labs left behind (crash recovery)
netlab kernelspec install [--user|--sys-prefix|--prefix P]   a Jupyter kernel with its own sandbox
netlab show [--format tree|dot|mermaid|json] [--png FILE] [--everything]   what the kernel holds now
netlab reproduce [--output PATH]... [--format md|html]   prove the article's claims here, write a report
"""

from __future__ import annotations

import argparse
import sys

from netlab.errors import NetlabError


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from netlab.sandbox import exec_in_sandbox

    argv = args.command[1:] if args.command[:1] == ["--"] else args.command
    exec_in_sandbox(argv)
    return 0  # not reached


def _cmd_netns(args: argparse.Namespace) -> int:
    from netlab import enter, netns

    action = args.action
    if action == "add":
        netns.add(args.name)
    elif action in ("delete", "del"):
        netns.delete(args.name)
    elif action == "list":
        for name in netns.list():
            print(name)
        for name in netns.stale():
            print(f"{name} (stale: a plain file, not a namespace; `netlab netns delete {name}` removes it)")
    elif action == "attach":
        netns.attach(args.name, args.pid)
    elif action == "identify":
        print("\n".join(netns.identify(args.pid if args.pid is not None else "self")))
    elif action == "pids":
        print("\n".join(str(p) for p in netns.pids(args.name)))
    elif action == "exec":
        argv = args.command[1:] if args.command[:1] == ["--"] else args.command
        proc = enter.popen(args.name, argv)
        return proc.wait()
    return 0


def _cmd_lsns(args: argparse.Namespace) -> int:
    from netlab.inodes import namespaces

    print(f"{'NS':<18} {'NAMES':<16} HELD BY")
    for info in namespaces():
        marks = " (init)" if info.init else ""
        marks += " (you)" if info.current else ""
        held = "; ".join(info.held_by) or "nothing (about to be freed)"
        print(f"{info.label:<18} {','.join(info.names) or '-':<16} {held}{marks}")
    return 0


def _cmd_lab(args: argparse.Namespace) -> int:
    from pathlib import Path

    from netlab.app.labserver import serve_lab

    return serve_lab(notebooks=Path(args.notebooks).resolve(), port=args.port, host_network=args.host_network)


def _cmd_doctor(args: argparse.Namespace) -> int:
    from netlab.app.doctor import doctor

    checks = doctor()
    for check in checks:
        print(check)
    failed = [c.name for c in checks if c.required and not c.ok]
    print("\nall required checks passed" if not failed else f"\n{len(failed)} required check(s) failed")
    return 1 if failed else 0


def _cmd_kernelspec(args: argparse.Namespace) -> int:
    from netlab.app.kernelspec import install

    prefix = sys.prefix if args.sys_prefix else args.prefix
    where = install(user=args.user, prefix=prefix)
    print(
        f'netlab: installed the kernelspec "{where.name}" in {where}\n'
        "  its kernels need a server started with --KernelManager.transport=ipc (docs/classroom.md)"
    )
    return 0


def _cmd_labs(args: argparse.Namespace) -> int:
    from netlab.lab.journal import all_records

    for record in all_records():
        print(record)
    return 0


def _cmd_cleanup(args: argparse.Namespace) -> int:
    from netlab.lab.cleanup import cleanup

    reports = cleanup(all=args.all, dry_run=args.dry_run, lab=args.lab)
    for report in reports:
        print(("(dry run) " if args.dry_run and not report.skipped else "") + str(report))
    if not reports:
        print("netlab: no labs on record: nothing to clean up")
    return 1 if any(report.errors for report in reports) else 0


def _cmd_show(args: argparse.Namespace) -> int:
    from netlab.view.snapshot import snapshot

    topology = snapshot(everything=args.everything, settle=0.5)
    if args.format == "tree":
        print(topology.tree(routes=not args.no_routes, color=sys.stdout.isatty()))
    elif args.format == "dot":
        print(topology.to_dot(), end="")
    elif args.format == "mermaid":
        print(topology.to_mermaid(), end="")
    else:
        import json

        print(json.dumps(topology.as_dict(), indent=2))
    if args.png:
        topology.draw(path=args.png)
        print(f"netlab: drew {len(topology.namespaces)} namespaces into {args.png}", file=sys.stderr)
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from netlab.teach.reproduce import command

    return command(args.output, format=args.format)


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
    p.add_argument("--notebooks", default="notebooks", help="folder of notebooks (default: ./notebooks)")
    p.add_argument("--port", type=int, default=8888, help="port on 127.0.0.1 (default: 8888)")
    p.add_argument(
        "--host-network",
        action="store_true",
        help="use this machine's own network namespace, as the VM does (root only)",
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NetlabError as exc:
        print(f"netlab: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
