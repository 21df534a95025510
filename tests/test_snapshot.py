"""How a snapshot finds namespaces and reads them: names from the mount table, and enough open files.

``inodes.namespaces()`` takes the names from one read of ``/proc/self/mountinfo`` (no listing
of the run directory, no ``stat`` per name); these tests hold it to what ``findmnt``, ``ls -i``
and ``netns.list()`` say. A snapshot keeps two files open per namespace, so a big lab needs more
than the 1024 files most systems allow a process: it raises its own soft limit when it must.
"""

from __future__ import annotations

import resource
import uuid

from conftest import sh

from netlab import Lab, inodes, netns, snapshot


def _findmnt_nsfs() -> dict[str, int]:
    """{mount point: namespace inode} of every nsfs mount, as findmnt and ls -i see them."""
    targets = sh("findmnt", "-n", "-r", "-t", "nsfs", "-o", "TARGET").stdout.split("\n")
    found = {}
    for target in filter(None, targets):
        target = target.encode().decode("unicode_escape")  # findmnt -r writes a space as \x20
        found[target] = int(sh("ls", "-i", "-d", target).stdout.split()[0])
    return found


def test_names_and_mounts_agree_with_findmnt_and_ls(tmp_path):
    tag = uuid.uuid4().hex[:6]
    plain, spaced = f"t-{tag}", f"t {tag} spaced"
    stale = netns.run_dir() / f"t-{tag}-stale"
    extra = tmp_path / "pinned"
    netns.add(plain)
    try:
        assert sh("ip", "netns", "add", spaced).returncode == 0
        stale.touch()  # a plain file where a name would be: ``ip netns add`` interrupted
        extra.touch()
        sh("mount", "--bind", str(netns.path(plain)), str(extra))
        try:
            table = {info.inode: info for info in inodes.namespaces()}
            mounts = _findmnt_nsfs()
            plain_ino = mounts[str(netns.path(plain))]
            assert table[plain_ino].names == [plain]
            assert sorted(table[plain_ino].mounts) == sorted([str(netns.path(plain)), str(extra)])
            assert mounts[str(extra)] == plain_ino
            assert table[mounts[f"{netns.run_dir()}/{spaced}"]].names == [spaced]
            named = sorted(name for info in table.values() for name in info.names)
            assert named == netns.list()  # the same names as listing the run directory
            assert stale.name not in named
            for info in table.values():  # every bind mount findmnt shows, and no other
                for mount in info.mounts:
                    assert mounts[mount] == info.inode
            assert sorted(mounts) == sorted(m for info in table.values() for m in info.mounts)
        finally:
            sh("umount", str(extra))
    finally:
        stale.unlink(missing_ok=True)
        sh("ip", "netns", "delete", spaced, check=False)
        netns.delete(plain)


def test_a_snapshot_raises_its_open_file_limit_when_the_lab_needs_more(tmp_path):
    count = 150  # two files each while it reads: over the limit set below
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lab = Lab(f"files_{uuid.uuid4().hex[:6]}", progress=False)
    try:
        names = lab.star(count, subnet="10.77.0.0/16", prefix=f"f{uuid.uuid4().hex[:4]}-")
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        topology = snapshot()
        assert {ns.title for ns in topology.namespaces if not ns.root} >= set(names)
        assert len(topology.veth_pairs()) == count
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= 2 * count
        listed = set(sh("ip", "netns", "list").stdout.split())
        assert set(names) <= listed
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        lab.close()
