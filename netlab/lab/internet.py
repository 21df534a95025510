"""A lab's way out to the internet: kernel settings (``ip_forward``) and NAT, each one undone at close.

The article's third part: a setting changed with ``sysctl -w`` is written down with its old value
first, so closing the lab puts it back (even when another lab changed it before this one); the
masquerade and port-publishing rules live in the lab's own nft table, ``netlab_LAB``, which the lab
creates, writes down by its handle, and deletes, never adopting a table somebody else made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netlab import nat, sysctl
from netlab.errors import LabExistsError
from netlab.lab import cleanup, journal
from netlab.lab.steps import Steps
from netlab.plumbing.i18n import _
from netlab.targets import Target, in_words

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Internet"]


class Internet:
    """A lab's settings and NAT (``Lab.sysctl``, ``Lab.masquerade``, ``Lab.publish``), in its own nft ``table``."""

    def __init__(self, steps: Steps, *, table: str):
        self._steps = steps
        self.table = table

    def sysctl(self, key: str, value: object, *, netns: Target = None) -> str:
        """``sysctl -w KEY=VALUE``, put back to its old value when the lab closes. Returns the old value."""
        with self._steps.step():
            ino = self._steps.inode(netns)
            current = sysctl.get(key, netns=netns)
            mine = self._steps.record.find("sysctl", key=key, netns=ino)
            original = mine["old"] if mine else current
            if mine is None:  # another running lab changed it first: the original is what it saw
                for record in journal.all_records():
                    theirs = record.find("sysctl", key=key, netns=ino, new=current)
                    if record.lab != self._steps.id and record.alive and theirs:
                        original = theirs["old"]
                        break
            text = sysctl.as_text(value)
            seq = self._steps.journal.add("sysctl", key=key, netns=ino, old=original, new=text)
            try:
                old = sysctl.set(key, text, netns=netns)
            except BaseException:
                self._steps.journal.gone(seq)
                raise
            if mine is not None:
                self._steps.journal.gone(mine["seq"])
            self._steps.on_undo(lambda: None if sysctl.set(key, old, netns=netns) else None)
            return old

    def _nft_table(self, netns: Target) -> Callable[[], None]:
        """Make sure the lab's table is the lab's own; returns what to call once nft has made it."""
        ino = self._steps.inode(netns)
        if self._steps.record.find("nft", table=self.table, netns=ino) is not None:
            return lambda: None
        if cleanup.nat_table_handle(self.table, netns) is not None:
            raise LabExistsError(
                _("an nft table {family} {table} already exists in {where}, and lab {lab} did not create it").format(
                    family=nat.FAMILY, table=self.table, where=in_words(netns), lab=repr(self._steps.id)
                ),
                hint=_(
                    "a lab never adopts a table it did not make: pick another lab name, or delete yours "
                    "(nft delete table {family} {table})"
                ).format(family=nat.FAMILY, table=self.table),
                subject=self.table,
            )
        seq = self._steps.journal.add("nft", table=self.table, netns=ino, handle=None)

        def made() -> None:  # write down its handle: a table made again under this name has another
            handle = cleanup.nat_table_handle(self.table, netns)
            if handle is None:
                self._steps.journal.gone(seq)
            else:
                self._steps.journal.note("set", seq, handle=handle)

        return made

    def masquerade(self, subnet: str, *, out: str, netns: Target = None) -> None:
        """Source NAT out of ``out`` (``nft ... masquerade``), in the lab's table ``netlab_LAB``."""
        with self._steps.step():
            made = self._nft_table(netns)
            try:
                nat.masquerade(subnet, out=out, netns=netns, table=self.table)
            finally:
                made()

    def publish(self, port: int, *, to: str | tuple[str, int], proto: str = "tcp", netns: Target = None) -> None:
        """Port publishing (DNAT, ``docker -p PORT:...``), in the lab's table ``netlab_LAB``."""
        with self._steps.step():
            made = self._nft_table(netns)
            try:
                nat.publish(port, to=to, proto=proto, netns=netns, table=self.table)
            finally:
                made()
