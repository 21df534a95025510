"""The ``netlab`` command.

netlab lab [--port N] [--lesson NN]   JupyterLab on the notebooks, in a private network world
netlab lab --list               the labs running now, with their addresses
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
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from netlab.errors import NamespaceNotFoundError, NetlabError, StaleNamespaceError, reason
from netlab.plumbing.i18n import N_, _
from netlab.plumbing.version import __version__


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
            raise NetlabError(
                _("netns exec: which command?"),
                hint=_("e.g. netlab netns exec {name} ip -br link").format(name=args.name),
            )
        from netlab import enter

        proc = enter.popen(args.name, argv)
        return proc.wait()
    return 0


def _cmd_lsns(args: argparse.Namespace) -> int:
    from netlab.inodes import namespaces
    from netlab.model import words

    print(f"{'NS':<18} {'NAMES':<16} " + _("HELD BY"))
    for info in namespaces():
        marks = _(" (init)") if info.init else ""
        marks += _(" (you)") if info.current else ""
        held = "; ".join(words(holder) for holder in info.held_by) or _("nothing (about to be freed)")
        print(f"{info.label:<18} {','.join(info.names) or '-':<16} {held}{marks}")
    return 0


def _cmd_lab(args: argparse.Namespace) -> int:
    from pathlib import Path

    from netlab.app.labserver import find_notebooks, running_labs, serve_lab

    if args.list:
        labs = running_labs()
        for lab in labs:
            print(lab)
        if not labs:
            print(_("netlab: no lab is running"))
        return 0
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


_IGNORED = N_("netlab: ignored {problem} (not a journal netlab can trust; remove it by hand)")


def _cmd_labs(args: argparse.Namespace) -> int:
    from netlab.lab.journal import all_records, problems

    for record in all_records():
        print(record)
    for problem in problems():
        print(_(_IGNORED).format(problem=problem), file=sys.stderr)
    return 0


def _cmd_cleanup(args: argparse.Namespace) -> int:
    from netlab.lab.cleanup import cleanup
    from netlab.lab.journal import problems

    for problem in problems():
        print(_(_IGNORED).format(problem=problem), file=sys.stderr)
    reports = cleanup(all=args.all, dry_run=args.dry_run, lab=args.lab)
    for report in reports:
        print((_("(dry run) ") if args.dry_run and not report.skipped else "") + str(report))
    if not reports:
        _check_on_record(args.lab)
        print(_("netlab: no labs on record: nothing to clean up"))
    return 1 if any(report.errors for report in reports) else 0


def _check_on_record(lab: str | None) -> None:
    """``--lab NAME`` found nothing: if other labs are on record, NAME is a typo; say which names there are."""
    from netlab.errors import LabNotFoundError
    from netlab.lab.journal import all_records

    names = [record.lab for record in all_records()]
    if lab is not None and names:
        raise LabNotFoundError(
            _("no lab named {lab}; on record: {names}").format(lab=lab, names=", ".join(names)),
            hint=_("pick one of these names (`netlab labs` tells more), or leave --lab out"),
            subject=lab,
        )


def _cmd_show(args: argparse.Namespace) -> int:
    from netlab.view.snapshot import snapshot
    from netlab.view.text import to_dot, to_mermaid, tree

    if args.png:
        from netlab.view.draw.front import check_format

        _check_output(args.png, "--png")
        check_format(args.png)  # before the snapshot: a wrong suffix is refused, not found out at the end
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


# argparse's own words ("usage:", "options", "positional arguments", its errors) go through its
# module's gettext function; while netlab builds and runs its parser they come from netlab's catalog.
ARGPARSE_WORDS = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("the following arguments are required: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("unrecognized arguments: %s"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
)


def _argparse_word(message: str | None) -> str | None:
    return _(message) if message else message  # never _(""): gettext answers that with the catalog header


@contextmanager
def _argparse_in_our_words() -> Iterator[None]:
    """argparse's words in the learner's language, for as long as netlab's parser works."""
    saved = argparse._  # type: ignore[attr-defined]
    argparse._ = _argparse_word  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._ = saved  # type: ignore[attr-defined]


def _language_option(argv: Sequence[str]) -> str | None:
    """``--lang X`` on the command line (not in a command netlab runs), so even ``--help`` speaks X."""
    for i, word in enumerate(argv):
        if word in ("--", "sandbox", "exec"):
            return None
        if word == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith("--lang="):
            return word.partition("=")[2]
    return None


def _command(sub: Any, name: str, text: str) -> argparse.ArgumentParser:
    """A subcommand whose one-line help is also the description its own ``--help`` starts with."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=text, description=text)
    return parser


def build_parser() -> argparse.ArgumentParser:
    with _argparse_in_our_words():
        return _build_parser()


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netlab",
        description=_("Learn Linux network namespaces for real."),
        epilog=_("`netlab COMMAND --help` tells more about one command. --lang zh-CN: in Chinese."),
    )
    parser.add_argument(
        "--lang",
        dest="ui_lang",
        metavar="LANG",
        help=_("speak this language, e.g. zh-CN or en (default: from NETLAB_LANG or LANG; English)"),
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"netlab {__version__} (netns-lab)",
        help=_("say netlab's version and stop"),
    )
    sub = parser.add_subparsers(dest="cmd", required=True)

    _add_sandbox(sub)
    _add_netns(sub)
    _add_lab(sub)
    _add_machine(sub)
    _add_cleanup(sub)
    _add_show(sub)
    _add_reproduce(sub)
    _add_capture(sub)
    return parser


def _add_sandbox(sub: Any) -> None:
    """``netlab sandbox``: a command in a private network world."""
    p = _command(sub, "sandbox", _("run a command in a private network + mount namespace"))
    p.add_argument("command", nargs=argparse.REMAINDER, help=_("command to run (default: $SHELL)"))
    p.set_defaults(func=_cmd_sandbox)


def _add_netns(sub: Any) -> None:
    """``netlab netns ...``: ip netns's own subcommands."""
    p = _command(sub, "netns", _("named namespaces, like `ip netns`"))
    ns_sub = p.add_subparsers(dest="action", required=True)
    ns_help = {
        "add": _("create a named namespace (ip netns add NAME)"),
        "delete": _("delete a named namespace (ip netns delete NAME)"),
        "pids": _("the processes inside a namespace (ip netns pids NAME)"),
        "list": _("the named namespaces (ip netns list)"),
        "attach": _("give the namespace of process PID a name (ip netns attach NAME PID)"),
        "identify": _("the names of the namespace of process PID (ip netns identify PID)"),
        "exec": _("run a command inside a namespace (ip netns exec NAME CMD ...)"),
    }
    for action in ("add", "delete", "pids"):
        _command(ns_sub, action, ns_help[action]).add_argument("name")
    _command(ns_sub, "list", ns_help["list"])
    a = _command(ns_sub, "attach", ns_help["attach"])
    a.add_argument("name")
    a.add_argument("pid", type=int)
    a = _command(ns_sub, "identify", ns_help["identify"])
    a.add_argument("pid", type=int, nargs="?")
    a = _command(ns_sub, "exec", ns_help["exec"])
    a.add_argument("name")
    a.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cmd_netns)


def _add_lab(sub: Any) -> None:
    """``netlab lab``: JupyterLab on the lessons."""
    p = _command(sub, "lab", _("JupyterLab on the notebooks, in a private network world"))
    p.add_argument("--notebooks", help=_("folder of notebooks (default: the lessons that come with netlab)"))
    p.add_argument("--port", type=_port, default=8888, help=_("port on 127.0.0.1 (default: 8888)"))
    p.add_argument(
        "--host-network",
        action="store_true",
        help=_("use this machine's own network namespace, as the VM does (root only)"),
    )
    p.add_argument(
        "--lang",
        metavar="LANG",
        help=_("the lessons and JupyterLab in this language, e.g. zh-CN (default: from NETLAB_LANG or LANG; English)"),
    )
    p.add_argument(
        "--lesson",
        metavar="NN",
        help=_("open lesson NN (e.g. 04) with its notebook and two terminals side by side"),
    )
    p.add_argument("--list", action="store_true", help=_("list the labs running now, with their addresses"))
    p.set_defaults(func=_cmd_lab)


def _add_machine(sub: Any) -> None:
    """``netlab doctor``, ``lsns`` and ``kernelspec install``: this machine."""
    p = _command(sub, "doctor", _("can this machine run the lab? what to fix"))
    p.set_defaults(func=_cmd_doctor)

    p = _command(sub, "lsns", _("every network namespace and what keeps it alive"))
    p.set_defaults(func=_cmd_lsns)

    p = _command(sub, "kernelspec", _("a Jupyter kernel that runs in a sandbox of its own"))
    ks_sub = p.add_subparsers(dest="action", required=True)
    a = _command(ks_sub, "install", _('install the "netlab" kernelspec: Python 3 (netlab sandbox)'))
    where = a.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help=_("for you only (~/.local/share/jupyter/kernels)"))
    where.add_argument("--sys-prefix", action="store_true", help=_("into this Python environment (sys.prefix)"))
    where.add_argument("--prefix", help=_("under PREFIX/share/jupyter/kernels"))
    p.set_defaults(func=_cmd_kernelspec)


def _add_cleanup(sub: Any) -> None:
    """``netlab labs``, ``cleanup`` and ``reset``: what labs and lessons left."""
    p = _command(sub, "labs", _("the labs on record and whether their owner still runs"))
    p.set_defaults(func=_cmd_labs)

    p = _command(sub, "cleanup", _("remove what crashed labs left behind, and nothing else"))
    p.add_argument("--all", action="store_true", help=_("also labs whose owner is still running"))
    p.add_argument("--dry-run", action="store_true", help=_("only say what would be removed"))
    p.add_argument("--lab", help=_("only this lab"))
    p.set_defaults(func=_cmd_cleanup)

    p = _command(sub, "reset", _("bring the lab's world back to its clean start (in a sandbox: empty)"))
    p.add_argument("--dry-run", action="store_true", help=_("only say what would be removed"))
    p.set_defaults(func=_cmd_reset)


def _add_show(sub: Any) -> None:
    """``netlab show``: the network, read from the kernel."""
    p = _command(sub, "show", _("every namespace, interface, veth pair, bridge and route, read from the kernel"))
    p.add_argument(
        "--format",
        choices=("tree", "dot", "mermaid", "json"),
        default="tree",
        help=_("tree (default), Graphviz DOT, Mermaid, or JSON"),
    )
    p.add_argument("--png", metavar="FILE", help=_("also draw the diagram into FILE (.png, .svg or .pdf)"))
    p.add_argument(
        "--everything",
        action="store_true",
        help=_("also namespaces outside this lab's world (in a sandbox: the machine's own)"),
    )
    p.add_argument("--no-routes", action="store_true", help=_("leave the routes out of the tree"))
    p.set_defaults(func=_cmd_show)


def _add_reproduce(sub: Any) -> None:
    """``netlab reproduce``: the article's experiments and the report."""
    p = _command(sub, "reproduce", _("run every experiment of the article in a sandbox, report what holds"))
    p.add_argument(
        "--output",
        "-o",
        action="append",
        metavar="PATH",
        help=_("report file, .html (diagrams embedded) or .md; repeat for both (default: netlab-reproduce.html)"),
    )
    p.add_argument("--format", choices=("md", "html"), help=_("report format (default: from the file's suffix)"))
    p.set_defaults(func=_cmd_reproduce)


def _add_capture(sub: Any) -> None:
    """``netlab capture``: the packets on an interface."""
    p = _command(sub, "capture", _("see the packets on an interface, like `ip netns exec NS tcpdump -ni IFACE`"))
    from netlab.app.capture_cmd import add_arguments

    add_arguments(p)
    p.set_defaults(func=_cmd_capture)


def _cmd_reset(args: argparse.Namespace) -> int:
    from netlab.teach.lesson import reset

    done = reset(dry_run=args.dry_run)
    print((_("(dry run) ") if args.dry_run else "") + str(done))
    return 1 if done.problems else 0


def _port(text: str) -> int:
    """A TCP port for argparse: 1-65535, or a one-line usage error."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(_("{value} is not a TCP port (1-65535)").format(value=repr(text)))
    return port


def _check_output(path: str, option: str) -> None:
    """A file to write: its folder must exist, and it must not be a folder itself."""
    from pathlib import Path

    target = Path(path)
    if target.is_dir():
        raise NetlabError(
            _("{option} {path} is a directory").format(option=option, path=path),
            hint=_("name a file in it, e.g. {example}").format(example=target / "report.html"),
        )
    if not target.parent.is_dir():
        raise NetlabError(
            _("{option} {path}: no directory {folder}").format(option=option, path=path, folder=target.parent),
            hint=_("create it: mkdir -p {folder}").format(folder=target.parent),
        )


def _for_the_command_line(exc: NetlabError) -> NetlabError:
    """A hint that names a Python call (``netns.add('x')``, for a notebook) becomes the command doing the same."""
    name = exc.subject
    if isinstance(name, str) and "/" not in name and "netns." in exc.hint:
        if isinstance(exc, NamespaceNotFoundError):
            exc.hint = _("see the names with `netlab netns list`; create it with `netlab netns add {name}`").format(
                name=name
            )
        elif isinstance(exc, StaleNamespaceError):
            exc.hint = _("remove it with `netlab netns delete {name}`, then add it again").format(name=name)
    return exc


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    lang = _language_option(words)
    if lang:
        os.environ["NETLAB_LANG"] = lang  # for netlab's messages here and in what it starts
    with _argparse_in_our_words():
        args = _build_parser().parse_args(words)
    try:
        return args.func(args)
    except NetlabError as exc:
        print(f"netlab: {_for_the_command_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a file or a port given on the command line: one line, never a traceback
        where = f": {exc.filename}" if exc.filename else ""
        print(f"netlab: {reason(exc)}{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
