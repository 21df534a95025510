"""The article's two-shell experiment, checked step by step from what the kernel holds.

The article's last section runs in two shells (notebook 04, in the two terminals that
``netlab lab --lesson 04`` opens next to the notebook)::

    shell 1: unshare -n bash                       a bash in a brand-new network namespace
             readlink /proc/$$/ns/net; echo $$     its inode, and its pid
    shell 2: touch /var/run/netns/netns1
             mount --bind /proc/PID/ns/net /var/run/netns/netns1     pin the namespace to a file
    shell 1: exit                                  the process is gone ...
    shell 2: ls -i /var/run/netns/netns1           ... the inode is unchanged: the mount holds it
             nsenter --net=/var/run/netns/netns1 bash                 go back in (then exit)
             umount /var/run/netns/netns1          let it go: the kernel frees the namespace

``ArticleShells.check()`` looks at the kernel each time it runs (``/proc/*/ns/net``, the nsfs
mounts) and remembers what it saw, so run it after each step: a step counts once it has been
seen, however it was done (in the shells, or with the notebook's Python cells)::

    >>> shells = ArticleShells("netns1")
    >>> shells.check()          # after `unshare -n bash` in shell 1
    ✘ not yet: the article's two shells, step by step
      ✔ a process in a new network namespace: pid 4242 (bash), net:[4026532301]
      ✘ /run/netns/netns1 does not hold it yet
      hint: in shell 2: touch /var/run/netns/netns1; mount --bind /proc/4242/ns/net /var/run/netns/netns1
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from netlab import persist
from netlab.enter import popen
from netlab.inodes import nsfs_mounts
from netlab.plumbing.i18n import _
from netlab.teach.checks import CheckResult

__all__ = ["ArticleShells"]


def _net_inode(pid: int | str) -> int | None:
    """The network namespace inode of process ``pid`` (None when it is gone or not ours to read)."""
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def _stop(proc: subprocess.Popen | None) -> None:
    """``kill PID`` for a process this object started, if it still runs (never one it did not start)."""
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()


def _processes_in(ino: int) -> list[int]:
    """Every process whose network namespace is ``ino``, oldest first."""
    found = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _net_inode(p.name) == ino]
    return sorted(found)


@dataclass
class ArticleShells:
    """Watch the article's two-shell flow for the name ``name`` (the article's ``netns1``)."""

    name: str = "netns1"
    run_dir: Path = Path("/run/netns")
    pid: int | None = None  # shell 1's bash (or the process the Python way started)
    inode: int | None = None  # its namespace
    seen: dict[str, str] = field(default_factory=dict)  # step -> what showed it
    started: subprocess.Popen | None = field(default=None, repr=False)  # the Python way's shell 1
    entered: subprocess.Popen | None = field(default=None, repr=False)  # the Python way's nsenter shell

    @property
    def path(self) -> Path:
        return self.run_dir / self.name

    def _pinned(self) -> int | None:
        """The namespace bind-mounted on ``path`` now (the last mount on top wins), else None."""
        target = str(self.path.resolve()) if self.path.exists() else str(self.path)
        pinned = [ino for ino, where in nsfs_mounts() if where == target]
        return pinned[-1] if pinned else None

    def _find_unshared(self) -> None:
        """The newest process in an unnamed namespace other than ours: shell 1 after `unshare -n bash`."""
        mine = _net_inode("thread-self")
        named = {ino for ino, _where in nsfs_mounts()}
        candidates = []
        for entry in Path("/proc").iterdir():
            ino = _net_inode(entry.name) if entry.name.isdigit() else None
            if ino is not None and ino != mine and ino not in named:
                candidates.append((int(entry.name), ino))
        if candidates:
            self.pid, self.inode = max(candidates)

    def _observe(self) -> None:
        pinned = self._pinned()
        if self.pid is None or ("pinned" not in self.seen and _net_inode(self.pid) is None):
            if pinned is not None and _processes_in(pinned):
                self.pid, self.inode = _processes_in(pinned)[0], pinned
            elif pinned is None:
                self._find_unshared()
        if self.pid is not None and "unshared" not in self.seen:
            self.seen["unshared"] = _(
                "a process in a new network namespace: pid {pid} ({command}), net:[{inode}]"
            ).format(pid=self.pid, command=_command(self.pid), inode=self.inode)
        if self.inode is None:
            return
        if pinned == self.inode:
            self.seen.setdefault(
                "pinned", _("{path} is a bind mount of net:[{inode}]").format(path=self.path, inode=self.inode)
            )
        alive = self.pid is not None and _net_inode(self.pid) == self.inode
        if "pinned" in self.seen and not alive and pinned == self.inode:
            self.seen.setdefault(
                "gone", _("pid {pid} has exited; net:[{inode}] lives on").format(pid=self.pid, inode=self.inode)
            )
            if self.path.stat().st_ino == self.inode:
                self.seen.setdefault(
                    "inode", _("ls -i {path} still shows {inode}").format(path=self.path, inode=self.inode)
                )
        if "gone" in self.seen:
            others = [p for p in _processes_in(self.inode) if p != self.pid]
            if others and pinned == self.inode:
                self.seen.setdefault(
                    "entered",
                    _("entered again: pid {pid} ({command}) is in net:[{inode}]").format(
                        pid=others[0], command=_command(others[0]), inode=self.inode
                    ),
                )
            if "entered" in self.seen and pinned is None and not others:
                self.seen.setdefault(
                    "unmounted",
                    _("{path} is no longer a mount; net:[{inode}] is freed").format(path=self.path, inode=self.inode),
                )

    # -- the Python way of the shells' steps: each one run twice does what it did once ----------

    def unshare(self) -> subprocess.Popen:
        """Shell 1's ``unshare -n bash``, the Python way: ``unshare -n sleep 600``; the experiment follows it.

        Run again while that process still runs, it is the same process (one namespace, one pid);
        once it has exited, a new one starts the experiment over.
        """
        if self.started is None or self.started.poll() is not None:
            self.started = persist.start_unshared(["sleep", "600"])
            self.pid, self.inode, self.seen = self.started.pid, _net_inode(self.started.pid), {}
        return self.started

    def exit(self) -> None:
        """Shell 1's ``exit``: the process ``unshare()`` started ends (``kill PID``), if it still runs."""
        _stop(self.started)

    def nsenter(self) -> subprocess.Popen:
        """Shell 2's ``nsenter --net=/var/run/netns/NAME bash``: ``... sleep 600``; run again, the same one."""
        if self.entered is None or self.entered.poll() is not None:
            self.entered = popen(None, ["nsenter", f"--net={self.path}", "sleep", "600"])
        return self.entered

    def leave(self) -> None:
        """Shell 2's ``exit`` from the nsenter shell: the process ``nsenter()`` started ends."""
        _stop(self.entered)

    def check(self) -> CheckResult:
        """Look at the kernel now; say which steps have been seen, and what to do next."""
        self._observe()
        result = CheckResult(_("the article's two shells, step by step"))
        path, pid = self.path, self.pid or "PID"
        var_path = f"/var/run/netns/{self.name}"

        def shell(number: int, command: str) -> str:
            return _("in shell {number}: {command}").format(number=number, command=command)

        steps = [
            ("unshared", _("no process in a new network namespace yet"), shell(1, "unshare -n bash; echo $$")),
            (
                "pinned",
                _("{path} does not hold it yet").format(path=path),
                shell(2, f"touch {var_path}; mount --bind /proc/{pid}/ns/net {var_path}"),
            ),
            ("gone", _("pid {pid} is still running").format(pid=pid), shell(1, "exit")),
            ("inode", _("the inode has not been compared yet"), shell(2, f"ls -i {var_path}")),
            (
                "entered",
                _("nobody has entered it again yet"),
                shell(2, f"nsenter --net={var_path} bash") + _(" (look around, then exit)"),
            ),
            (
                "unmounted",
                _("{path} still holds it, or a process is still inside").format(path=path),
                shell(2, f"umount {var_path}"),
            ),
        ]
        for key, failed, hint in steps:
            ok = key in self.seen
            result.steps.append((self.seen[key] if ok else failed, ok))
            if not ok:
                if key == "unmounted" and self.inode is not None and self._pinned() is None:
                    inside = _processes_in(self.inode)
                    held = _("net:[{inode}] is still held by pid {pid}").format(inode=self.inode, pid=inside[0])
                    result.steps[-1] = (held, False)
                    hint = _("exit the shell that nsenter started (pid {pid})").format(pid=inside[0])
                result.hint = hint
                break
        return result
