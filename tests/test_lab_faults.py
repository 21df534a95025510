"""Labs attacked on purpose: races, kills at the worst moment, files that are not journals, borrowed devices.

Each test is one case of a class: it must end in a one-line error with a hint (never a
traceback), lose nothing, and leave the world as it found it (the autouse fixture checks).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from conftest import sh

from netlab import Lab, nat, netns
from netlab.errors import InvalidNameError, LabExistsError, NamespaceNotFoundError, NetlabError
from netlab.lab import cleanup, journal

NETLAB = str(Path(sys.executable).with_name("netlab"))


def ip_links(netns_name: str | None = None) -> dict[str, dict]:
    prefix = ["ip", "-n", netns_name] if netns_name else ["ip"]
    return {lk["ifname"]: lk for lk in json.loads(sh(*prefix, "-j", "-d", "link").stdout)}


# -- journals: created whole, once -----------------------------------------------------------------

RACER = textwrap.dedent("""
    import sys
    from netlab import Lab
    from netlab.errors import LabExistsError
    try:
        lab = Lab("race")
    except LabExistsError as exc:
        print("lost", exc.message, flush=True)
        sys.exit(0)
    print("won", flush=True)
    sys.stdin.read()          # hold the lab until the test closes our stdin
    lab.close()
""")


def test_two_labs_of_one_name_started_at_once_never_share_a_journal():
    """Six rounds of two processes racing for Lab("race"): one wins, the other is told so, the journal is whole."""
    for _ in range(6):
        racers = [
            subprocess.Popen([sys.executable, "-c", RACER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        try:
            said = {p.stdout.readline().split()[0]: p for p in racers}
            assert sorted(said) == ["lost", "won"]
            record = journal.read(journal.record_dir() / "race.jsonl")
            winner = said["won"]
            assert record is not None and record.pid == winner.pid and record.alive
        finally:
            for p in racers:
                p.communicate("")
    assert "race" not in journal.lab_ids()
    assert not [f for f in os.listdir(journal.record_dir()) if f.endswith(".tmp")]


# -- processes: on record before they run ---------------------------------------------------------

KILLED_BEFORE_JOURNAL = textwrap.dedent("""
    import os, sys
    from netlab import Lab
    from netlab.lab import journal
    lab = Lab("doomed_popen")
    lab.netns("doomed")
    real_add = journal.Journal.add
    def add(self, ev, **fields):
        if ev == "process":
            os._exit(9)        # killed after the fork, before the pid is on record
        return real_add(self, ev, **fields)
    journal.Journal.add = add
    lab.popen("doomed", ["sh", "-c", "echo ran > " + sys.argv[1] + "; exec sleep 60"])
""")


def test_a_process_is_on_record_before_it_runs(tmp_path):
    marker = tmp_path / "ran"
    out = subprocess.run([sys.executable, "-c", KILLED_BEFORE_JOURNAL, str(marker)], capture_output=True, text=True)
    assert out.returncode == 9
    # The child never ran its command: it read end-of-file instead of "go", and exited.
    assert not marker.exists()
    assert netns.pids("doomed") == []
    (report,) = cleanup.cleanup(lab="doomed_popen")
    assert any("namespace doomed" in item for item in report.removed) and netns.list() == []


def test_popen_journals_the_pid_with_its_start_time_and_keeps_the_callers_preexec(tmp_path):
    marker = tmp_path / "pre"
    with Lab() as lab:
        lab.netns("p1")
        proc = lab.popen("p1", ["sleep", "60"], preexec_fn=lambda: marker.touch())
        obj = lab.record.find("process", pid=proc.pid)
        assert obj is not None and obj["start"] == journal.process_start(proc.pid)
        assert netns.pids("p1") == [proc.pid] and marker.exists()
        with pytest.raises(NetlabError) as err:
            lab.popen("p1", ["no-such-command-here"])
        assert "not found" in str(err.value) and len(lab.record.of("process")) == 1
    assert proc.poll() is not None


# A Jupyter kernel restart: SIGTERM to an idle kernel whose lab has a process running.
TERMINATED = textwrap.dedent("""
    import signal
    from netlab import Lab
    lab = Lab("sigterm")
    lab.netns("termed")
    child = lab.popen("termed", ["sleep", "600"])
    print(child.pid, flush=True)
    signal.pause()             # idle, waiting for the next cell
""")


def test_sigterm_closes_the_labs_of_the_process_and_leaves_nothing():
    owner = subprocess.Popen([sys.executable, "-c", TERMINATED], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        child = int(owner.stdout.readline())
        assert netns.pids("termed") == [child]
        owner.terminate()
        assert owner.wait(timeout=60) == 128 + signal.SIGTERM  # SystemExit: atexit ran
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        left = cleanup.cleanup(lab="sigterm")  # whatever happened, the sandbox ends as it began
    assert left == [], [str(report) for report in left]
    assert sh("ip", "netns", "list").stdout == ""
    assert not (journal.record_dir() / "sigterm.jsonl").exists()
    assert journal.process_start(child) is None  # stopped and reaped by its lab


def test_a_lab_handles_sigterm_only_while_open_and_never_over_a_handler_of_yours():
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with Lab():
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    def mine(signum, frame):
        pass

    signal.signal(signal.SIGTERM, mine)
    try:
        with Lab():
            assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


# -- what a lab did not create, it neither adopts nor deletes ---------------------------------------


def test_a_users_nft_table_named_like_the_labs_is_never_adopted():
    sh("nft", "add", "table", "inet", "netlab_adopt")
    sh("nft", "add", "chain", "inet", "netlab_adopt", "mine")
    try:
        with Lab("adopt") as lab:
            with pytest.raises(LabExistsError) as err:
                lab.masquerade("10.9.0.0/24", out="lo")
            assert "did not create it" in err.value.message and "nft delete table" in err.value.hint
            assert lab.record.of("nft") == []
        assert "chain mine" in sh("nft", "list", "table", "inet", "netlab_adopt").stdout  # untouched
    finally:
        sh("nft", "delete", "table", "inet", "netlab_adopt")


def test_a_table_made_again_by_someone_else_is_left_alone():
    lab = Lab("remade")
    lab.masquerade("10.9.0.0/24", out="lo")
    handle = lab.record.of("nft")[0]["handle"]
    assert isinstance(handle, int)
    nat.remove_table("netlab_remade")
    sh("nft", "add", "table", "inet", "netlab_remade")  # a user's own table, same name, new handle
    try:
        report = lab.close()
        assert report is not None and any("another table now" in item for item in report.left)
        assert "netlab_remade" in sh("nft", "list", "tables").stdout
    finally:
        sh("nft", "delete", "table", "inet", "netlab_remade")


def test_rules_added_by_hand_inside_the_labs_table_go_with_it():
    with Lab("handrule") as lab:
        lab.sysctl("net.ipv4.ip_forward", 1)
        lab.masquerade("10.9.0.0/24", out="lo")
        sh("nft", "add", "rule", "inet", "netlab_handrule", "postrouting", "ip", "saddr", "10.8.0.0/24", "masquerade")
    assert "netlab_handrule" not in sh("nft", "list", "tables").stdout
    assert sh("sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "0"


def test_a_users_veth_moved_into_a_lab_namespace_comes_back_at_close():
    sh("ip", "link", "add", "mine0", "type", "veth", "peer", "name", "mine1")
    try:
        mac = ip_links()["mine0"]["address"]
        with Lab() as lab:
            lab.netns("borrow")
            lab.move("mine0", "borrow", new_name="eth9")
            assert "eth9" in ip_links("borrow") and "mine0" not in ip_links()
        back = ip_links()
        assert "mine0" in back and "mine1" in back and back["mine0"]["address"] == mac
    finally:
        sh("ip", "link", "delete", "mine0", check=False)


BORROWER = textwrap.dedent("""
    import os
    from netlab import Lab
    lab = Lab("borrower")
    lab.netns("borrow2")
    lab.move("mine2", "borrow2")
    os._exit(0)               # like kill -9
""")


def test_a_borrowed_device_comes_back_after_a_crash_too():
    sh("ip", "link", "add", "mine2", "type", "veth", "peer", "name", "mine3")
    try:
        subprocess.run([sys.executable, "-c", BORROWER], check=True)
        assert "mine2" in ip_links("borrow2")
        out = sh(NETLAB, "cleanup")
        assert "given back" in out.stdout and "Traceback" not in out.stderr
        assert {"mine2", "mine3"} <= set(ip_links()) and netns.list() == []
    finally:
        sh("ip", "link", "delete", "mine2", check=False)


# -- bad input builds nothing ------------------------------------------------------------------------

BAD_STARS: list[object] = [-3, 0, True, "abc", [], ["a", "a"], 2.5, None]


@pytest.mark.parametrize("namespaces", BAD_STARS, ids=[repr(x) for x in BAD_STARS])
def test_star_with_a_bad_count_says_so_and_builds_nothing(namespaces):
    before = set(ip_links())
    with Lab() as lab:
        with pytest.raises(InvalidNameError) as err:
            lab.star(namespaces)  # type: ignore[arg-type]
        assert err.value.hint and "\n" not in err.value.message
        assert set(ip_links()) == before and netns.list() == [] and lab.record.objects == {}


# -- files in the record directory that are not journals ------------------------------------------


def _bad_journals(directory: Path) -> list[Path]:
    """One file of each untrusted kind; returns them (the caller removes them)."""
    directory.mkdir(parents=True, exist_ok=True)
    made = []
    shapes = {
        "list": "[1, 2, 3]\n",
        "nohead": '{"ev": "netns", "seq": 1, "name": "x", "inode": 5}\n',
        "strpid": '{"ev": "lab", "lab": "strpid", "pid": "42", "root": 1}\n',
        "badline": '{"ev": "lab", "lab": "badline", "pid": 1, "root": 1}\n{"ev": "netns", "seq": "x"}\n',
        "garbage": "not json at all\n{}\n",
        "badname": '{"ev": "lab", "lab": "../etc", "pid": 1, "root": 1}\n',
    }
    for name, text in shapes.items():
        (directory / f"{name}.jsonl").write_text(text)
        made.append(directory / f"{name}.jsonl")
    os.mkfifo(directory / "fifo.jsonl")
    made.append(directory / "fifo.jsonl")
    (directory / "link.jsonl").symlink_to("/etc/passwd")
    made.append(directory / "link.jsonl")
    (directory / "dir.jsonl").mkdir()
    made.append(directory / "dir.jsonl")
    other = directory / "other.jsonl"
    other.write_text('{"ev": "lab", "lab": "other", "pid": 1, "root": 1}\n')
    try:
        os.chown(other, 65534, 65534)  # a journal of user nobody's
        made.append(other)
    except OSError:  # rootless: no other user is mapped into this user namespace
        other.unlink()
    return made


def _remove(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()


def test_files_that_are_not_journals_are_ignored_and_reported():
    bad = _bad_journals(journal.record_dir())
    try:
        assert journal.all_records() == []
        problems = journal.problems()
        assert len(problems) == len(bad)
        # Everything that reads the record directory keeps working: labs, cleanup, Lab.sysctl.
        for argv in (["labs"], ["cleanup"], ["cleanup", "--all", "--dry-run"]):
            out = subprocess.run([NETLAB, *argv], capture_output=True, text=True, timeout=60)
            assert out.returncode == 0 and "Traceback" not in out.stderr
            assert out.stderr.count("ignored") == len(bad)
        with Lab() as lab:
            lab.sysctl("net.ipv4.conf.lo.forwarding", 0)
        with pytest.raises(LabExistsError) as err:
            Lab("fifo")
        assert "not a regular file" in err.value.message and "rm " in err.value.hint
        assert all(os.path.lexists(path) for path in bad)  # none deleted, none opened for writing
    finally:
        _remove(bad)


def test_two_cleanups_at_once_take_turns():
    code = textwrap.dedent("""
        import os
        from netlab import Lab
        lab = Lab("twice")
        lab.bridge("br-twice")
        for i in range(20):
            lab.netns(f"tw{i}")
            lab.connect(f"tw{i}", bridge="br-twice")
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", code], check=True)
    cleaners = [subprocess.Popen([NETLAB, "cleanup"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    cleaners.append(subprocess.Popen([NETLAB, "cleanup"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [c.communicate(timeout=120) for c in cleaners]
    assert [c.returncode for c in cleaners] == [0, 0], outs
    assert not any("Traceback" in err for _, err in outs)
    said = "".join(out for out, _ in outs)
    assert said.count("namespace tw3 ") == 1  # removed once, by one of them
    assert netns.list() == [] and "br-twice" not in ip_links() and journal.lab_ids() == []


# -- named namespaces: racing add and delete -------------------------------------------------------


def test_add_racing_delete_only_ever_says_why_in_one_line():
    errors: list[BaseException] = []

    def adder() -> None:
        for _ in range(150):
            try:
                netns.add("racy")
            except NetlabError:
                pass
            except BaseException as exc:  # anything else would be a traceback for a learner
                errors.append(exc)

    def deleter() -> None:
        for _ in range(150):
            try:
                netns.delete("racy")
            except NetlabError:
                pass
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=adder), threading.Thread(target=deleter)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if os.path.lexists(netns.run_dir() / "racy"):
        netns.delete("racy")
    assert errors == []
    with pytest.raises(NamespaceNotFoundError):
        netns.delete("racy")


def test_a_bind_mount_of_another_namespace_kind_is_not_a_network_namespace():
    from netlab import inodes

    file = netns.run_dir() / "utsy"
    file.touch()
    sh("mount", "--bind", "/proc/self/ns/uts", str(file))
    try:
        assert "utsy" not in netns.list() and "utsy" not in netns.stale()
        assert not any("utsy" in info.names for info in inodes.namespaces())
        assert "utsy" not in sh(NETLAB, "netns", "list").stdout
    finally:
        sh("umount", str(file))
        file.unlink()
