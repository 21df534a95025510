"""Every lesson starts from a clean world: ``lesson.start("03")``, ``lesson.reset()``, ``netlab reset``.

A learner leaves the path: stops notebook 03 half-way, solves a challenge with ``sysctl -w`` and
``iptables``, re-runs a cell twice. The next lesson must still behave as written (the ping that
has to fail fails). So each notebook's setup cell starts with one line::

    from netlab.teach import lesson; lesson.start("03")

It compares the world with a clean start and removes what earlier lessons and challenges left,
saying in one sentence what it removed ("clean start" if nothing)::

    netlab: lesson 03: removed namespaces c1, internet; links br0, uplink; nft table ip demo;
    net.ipv4.ip_forward back to 0

What "clean" means depends on where the lab runs (``netlab.sandbox``):

* in a sandbox (``netlab lab``, ``netlab sandbox``) the whole network world is the lab's, and clean
  is *empty*: no namespace, no device but ``lo``, no nft table or iptables rule, forwarding off.
* on a machine's own root namespace (the VM, a teacher's server) the machine is lived in. Clean is
  what it had when the first lesson started there this boot, the *baseline*
  (``netlab.lab.machine``), and only what is provably the kit's goes: an object that was not in
  the baseline (by identity: inode, ifindex, nft handle, the exact rule) *and* that a lesson makes
  (by name: ``c1``, ``br0``, ``nft table ip demo``, a rule on 10.0.0.0/24). Anything else made
  since (a ``docker0``, a VPN's namespace) is listed by ``netlab reset`` with the command that
  would remove it, and left. Sysctls go back to the machine's own values; firewall policies are
  never touched. A lesson whose names the machine already uses (its own ``br0``) stops at once.

A lesson open in another notebook keeps its world (``netlab.teach.sessions``): the next lesson's
start leaves it and says whose it is. ``reset()`` resets it all. Every removal goes through
``netlab.lab.removal``, which checks each object's identity again right before acting.

By hand, the same is::

    ip netns delete c1                       # each namespace (its devices go with it)
    ip link delete br0                       # each device
    nft delete table ip demo                 # each nft table
    iptables -t nat -D POSTROUTING ...       # each rule a lesson added
    sysctl -w net.ipv4.ip_forward=0          # each sysctl, to the machine's value

``Snapshot`` does the same for a challenge: ``capture()`` at its start, ``restore()`` at its close
puts back every sysctl and removes the rules and tables made meanwhile, by netlab or by hand.

A notebook's own sentences speak the learner's language too: ``lesson.ok("netns1 is gone")`` prints
a passed check, ``lesson.say("you are here")`` gives a sentence to show (a diagram's title).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netlab import enter
from netlab.errors import NetlabError
from netlab.lab import footprints
from netlab.lab.machine import World, baseline
from netlab.plumbing.i18n import _
from netlab.sandbox import in_sandbox
from netlab.teach import firewall, sessions
from netlab.teach.leftovers import (
    LESSONS,
    Cleaned,
    clean,
    close_labs,
    kit_rule,
    remove_firewall,
    remove_plugin_files,
    restore_sysctls,
)

__all__ = ["Cleaned", "LessonBlockedError", "Snapshot", "machine_value", "ok", "reset", "reset_widget", "say", "start"]


class LessonBlockedError(NetlabError):
    """A lesson cannot run as written here: a name it makes is the machine's own."""


# -- the notebooks' own sentences ---------------------------------------------------------------


def say(sentence: str, **fields: object) -> str:
    """A notebook's own sentence in the learner's language: ``say("you are here")`` gives ``你在这里``.

    Written in English in the notebook's code, like netlab's sentences, with ``{name}`` placeholders filled
    from ``fields``. ``scripts/sync-translations messages`` finds every ``say(...)`` and ``ok(...)`` in the
    English notebooks and puts the sentence in netlab's catalog, where it is translated like the others.
    """
    return _(sentence).format(**fields)


def ok(sentence: str, **fields: object) -> None:
    """Print that a lesson's check passed: ``ok("netns1 is gone")`` prints ``✔ netns1 is gone``, translated."""
    print("✔", say(sentence, **fields))


# -- the two front doors ----------------------------------------------------------------------


_closers: list[Callable[[], list[str]]] = []  # what else a lesson start closes (open challenges register)


def closes_on_start(closer: Callable[[], list[str]]) -> Callable[[], list[str]]:
    """Register ``closer``: called by every lesson start, it closes what it keeps and names what it closed."""
    _closers.append(closer)
    return closer


def start(lesson: str | None = None, *, sandbox: bool | None = None, quiet: bool = False) -> Cleaned:
    """Begin lesson ``lesson`` from a clean world; print in one sentence what was removed.

    What this process started for an earlier run of the notebook goes first: its challenges, its
    labs (``lab``) and the background processes of ``netlab.popen``, by pid; labs left by processes
    that are gone are removed too. A lesson open in another notebook keeps its world. On a machine,
    a lesson whose names the machine already uses stops here (``LessonBlockedError``), having
    changed nothing. ``sandbox`` overrides the detection.
    """
    sandboxed = in_sandbox() if sandbox is None else sandbox
    _install_error_display()
    done = Cleaned(lesson)
    machine = World.empty() if sandboxed else _machine(done)
    if not sandboxed:
        _refuse_taken(lesson, machine)
    for closer in _closers:
        done.removed += [_("challenge {name}").format(name=name) for name in closer()]
    close_labs(done, everyone=False)
    if stopped := enter.stop_background():
        done.removed.append(_("{count} process(es) this notebook started").format(count=len(stopped)))
    others = sessions.others()
    clean(done, World.now(), machine, kit_only=not sandboxed, others=others, sweep=False)
    done.notes += firewall.open_doors(lesson)
    if not others:
        done.notes += firewall.forwarding_off(lesson)
    sessions.begin(lesson or "", World.now())
    done.left.clear()  # what is not netlab's is for `netlab reset` to list, not for every lesson start
    if not quiet:
        print(done)
    return done


def machine_value(key: str, *, sandbox: bool | None = None) -> str | None:
    """The machine's own value of sysctl ``key`` (before any lesson), to put back at a lesson's end."""
    sandboxed = in_sandbox() if sandbox is None else sandbox
    return (World.empty() if sandboxed else baseline().world).sysctls.get(key)


def reset(*, sandbox: bool | None = None, dry_run: bool = False) -> Cleaned:
    """Bring the lab's world back to its clean start (``netlab reset``, the reset button).

    In a sandbox: empty. On a machine: everything netlab and the lessons made since the baseline,
    open lessons included; what is new but not provably netlab's is listed (``Cleaned.left``).
    """
    sandboxed = in_sandbox() if sandbox is None else sandbox
    done = Cleaned(None)
    machine = World.empty() if sandboxed else _machine(done)
    if not dry_run:
        close_labs(done, everyone=True)
    clean(done, World.now(), machine, kit_only=not sandboxed, others=[], sweep=sandboxed, dry_run=dry_run)
    return done


def reset_widget() -> Any:
    """A "Reset the lab" button and its output: ``display(lesson.reset_widget())``."""
    import ipywidgets as widgets

    button = widgets.Button(description=_("Reset the lab"), icon="undo", button_style="warning")
    output = widgets.Output()

    def clicked(_button: Any) -> None:
        output.outputs = ()
        try:
            output.append_stdout(f"{reset()}\n")
        except NetlabError as exc:
            output.append_stdout(f"netlab: {exc}\n")

    button.on_click(clicked)
    return widgets.VBox([button, output])


def _machine(done: Cleaned) -> World:
    """The machine's own world (its baseline); a baseline file that cannot be trusted is named."""
    found = baseline()
    if found.problem:
        done.problems.append(found.problem)
    return found.world


def _refuse_taken(lesson: str | None, machine: World) -> None:
    """Stop before anything is changed if the machine's own objects carry names this lesson makes."""
    taught = LESSONS.get(lesson or "", frozenset())
    taken = sorted((set(machine.namespaces) | set(machine.links.values())) & taught)
    if taken:
        raise LessonBlockedError(
            _(
                "lesson {lesson} makes its own {names}, and this machine already has {names}: nothing was changed"
            ).format(lesson=lesson, names=", ".join(taken)),
            hint=_taken_hint(taken[0], machine),
            subject=taken,
        )


def _taken_hint(name: str, machine: World) -> str:
    if name in machine.links.values():
        return _(
            "run the lessons in netlab's private world (`netlab lab`), "
            "or rename yours first (`ip link set {name} name {name}-own`)"
        ).format(name=name)
    return _("run the lessons in netlab's private world (`netlab lab`), where nothing of this machine is in the way")


def _install_error_display() -> None:
    """In a notebook, a netlab error shows as its message and hint (one line each), not a traceback; so
    does a name a cell uses before the cell above that makes it has run (a learner's click order)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or getattr(shell, "_netlab_errors", False):
        return

    def show(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> list[str]:
        if isinstance(value, NameError) and value.name and _in_a_cell(tb):
            value = NetlabError(  # the learner's own cell named something no cell has made yet
                _("{name} is not defined: a cell above makes it, or its name is spelt otherwise").format(
                    name=value.name
                ),
                hint=_("run the cells above first (Run > Run All Above Selected Cell)"),
            )
        elif isinstance(value, NameError):
            shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
            return []
        if isinstance(value, KeyboardInterrupt):
            call = _netlab_call(tb)
            if call is None:  # not inside netlab: IPython's own traceback
                shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
                return []
            value = NetlabError(
                _("interrupted: {call}() stopped").format(call=call),
                hint=_("the processes and labs you started keep running"),
            )
        lines = [f"netlab: {value}"]
        print(*lines)  # Jupyter shows what the handler prints; the cell still ends in error
        return lines

    shell.set_custom_exc((NetlabError, KeyboardInterrupt, NameError), show)
    shell._netlab_errors = True


def _in_a_cell(tb: Any) -> bool:
    """Whether the error was raised in a notebook cell's own code (a cell has no file on disk)."""
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and not Path(tb.tb_frame.f_code.co_filename).is_file()


def _netlab_call(tb: Any) -> str | None:
    """The netlab function a traceback went into first from the learner's code (``ping``), else None."""
    package = str(Path(__file__).resolve().parent.parent)
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.startswith(package + os.sep):
            module = tb.tb_frame.f_globals.get("__name__", "netlab")
            return f"{module}.{code.co_name}"
        tb = tb.tb_next
    return None


# -- for challenges -----------------------------------------------------------------------------


@dataclass
class Snapshot:
    """The root namespace's sysctls, nft tables and iptables rules at one moment; ``restore()`` goes back.

    A challenge captures one when it starts and restores it when it closes, so that a solution
    typed by hand (``sysctl -w``, ``iptables -A``, ``nft add table``) does not outlive it. Only
    what appeared since (by identity) goes, and of the rules only a lesson's.
    """

    world: World

    @classmethod
    def capture(cls) -> Snapshot:
        return cls(World.now())

    def restore(self) -> Cleaned:
        """Remove the rules and tables added since, and put each sysctl back. Returns what changed."""
        done = Cleaned(None)
        new = World.now().new_since(self.world)
        ours = footprints.recorded().firewall
        new = World(
            tables=new.tables,
            chains={chain: handle for chain, handle in new.chains.items() if ours.chains.get(chain) == handle},
            rules=Counter({rule: count for rule, count in new.rules.items() if kit_rule(rule, ours)}),
            legacy_chains=new.legacy_chains & ours.legacy_chains,
            sysctls=new.sysctls,
        )
        remove_firewall(done, new, ours, kit_only=False, others=[], dry_run=False)
        restore_sysctls(done, new, self.world, others=[], dry_run=False)
        # the plugins' folders (/var/lib/cni), so that the next lesson starts clean
        remove_plugin_files(done, footprints.recorded(), others=sessions.others(), dry_run=False)
        footprints.keep_present()  # what is gone is forgotten: made again later, it is not the lesson's
        return done
