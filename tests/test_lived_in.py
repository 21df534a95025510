"""A lived-in machine: every lesson, then `netlab reset`, and the machine's own configuration is as it was.

The issue. A private world that plays a real machine (own network, mount and PID namespaces; /run a shared
mount as systemd makes it; the machine's own bridge with an address, a namespace running a service, iptables
rules in both backends including a legacy DROP policy with an SSH ACCEPT, an nft table, a Docker-like bridge
with MASQUERADE, ip_forward=1, a pre-existing br0) runs every notebook top to bottom in both languages, then
`netlab reset`; the machine's configuration is then identical (ip -d link/addr/route, ip netns, iptables-save
of both backends, nft list ruleset, the sysctls, its processes). Where a lesson cannot run because a name it
teaches is taken (br0), it stops with one clear sentence and deletes nothing.

How (tests/helpers/lived_in.py): each test nests a world of its own in the sandbox, configures it as the
machine (``MACHINE``), and runs everything there without ``NETLAB_SANDBOX``, so netlab is in host mode, as on
the VM. The English notebooks run as tests/test_notebooks.py runs them (its checks included), the Chinese ones
as tests/test_chinese_reader.py does (a kernel whose netlab speaks Chinese), each language in one world, one
notebook after the other, as a learner goes through them. The machine's configuration is read with the
system's tools before, after each notebook (to say which lesson took what first) and after `netlab reset`.

The machine's namespace is ``vpn``: a name no lesson makes, so that every lesson can run. Names a lesson does
make are the second test's (``TAKEN``): a bridge ``br0`` (lesson 03) and a namespace ``router`` (challenge 5,
notebook 05); there the lesson's first cell must stop, in one line that names it, and change nothing, and
`netlab reset` after it too.

Root run only: nesting a world takes the machine's root (``scripts/test-rootless`` leaves this file out).
About 4 to 6 minutes on 2 cores (3.5 min of CPU): 1.5 to 2.5 minutes a language for the notebooks, 10 to 20 s
for each stopped lesson.
"""

from __future__ import annotations

import time

import pytest
from helpers.lived_in import NOTEBOOKS, TAKEN, Trail, World, build_machine, machine_root, report

pytestmark = [
    pytest.mark.lived_in,
    pytest.mark.skipif(not machine_root(), reason="nests a world of its own in the sandbox: the root run only"),
]
LANGS = list(NOTEBOOKS)


@pytest.mark.parametrize("lang", LANGS)
def test_every_lesson_then_netlab_reset_leaves_the_machine_as_it_was(lang, tmp_path):
    start = time.monotonic()
    with World(tmp_path) as world:
        machine = build_machine(world)
        before = machine.dump()
        runs, trail = [], Trail(before)
        for path in NOTEBOOKS[lang]:
            runs.append(run := world.notebook(lang, path))
            trail.after(run.name, machine.dump())
        reset = world.netlab_reset()
        after = machine.dump()
        trail.after("`netlab reset`", after)
    print(f"{lang}: {'; '.join(map(str, runs))}; in all {time.monotonic() - start:.0f} s")
    problems = []
    if after != before:
        problems.append(
            "the machine's configuration after every lesson and `netlab reset` is not what it was "
            "(- the machine's, + after):\n" + report(before, after)
        )
        problems.append(f"where each difference first appeared (- gone, + new), after:\n{trail}")
        problems.append(f"what `netlab reset` said:\n{reset}")
    elif reset.rc != 0:
        problems.append(f"`netlab reset` failed:\n{reset}")
    for run in runs:
        if not run.ok:
            problems.append(f"{run.name} did not run top to bottom on this machine:\n{run.error}")
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", TAKEN)
def test_a_lesson_whose_name_the_machine_has_stops_at_once_and_deletes_nothing(name, lang, tmp_path):
    number, _config = TAKEN[name]  # br0: lesson 03's bridge; router: challenge 5's namespace
    lesson = next(path for path in NOTEBOOKS[lang] if path.name.startswith(f"{number}-"))
    where = f"{lang}/{lesson.stem} on a machine with its own {name}"
    with World(tmp_path) as world:
        machine = build_machine(world, taken=name)
        before = machine.dump()
        first = world.first_cell(lang, lesson)  # the setup cell: `lesson.start("NN")`
        after_lesson = machine.dump()
        reset = world.netlab_reset()
        after_reset = machine.dump()
    problems = []
    if not first.stopped:
        problems.append(f"{where}: its first cell did not stop (Run All would go on to build a {name} of its own)")
    lines = [line for line in first.output.splitlines() if line.strip()]
    said_once = len(lines) == 2 and lines[0].startswith("netlab: ") and name in lines[0]  # the sentence, its hint
    if not said_once or "Traceback" in first.output:
        problems.append(
            f"{where}: its first cell must say why it stops in one sentence that names {name} (and a hint), no Python "
            f"traceback; it showed {len(lines)} line(s):\n{first.output}"
        )
    if after_lesson != before:
        problems.append(
            f"{where}: its first cell changed the machine (- the machine's, + after):\n" + report(before, after_lesson)
        )
    if after_reset != before:
        problems.append(
            f"{where}: then `netlab reset` left the machine changed (- the machine's, + after):\n"
            + report(before, after_reset)
            + f"\nwhat `netlab reset` said:\n{reset}"
        )
    elif reset.rc != 0:
        problems.append(f"`netlab reset` failed:\n{reset}")
    assert not problems, "\n\n".join(problems)
