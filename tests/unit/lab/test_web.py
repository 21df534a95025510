"""The parts of lesson 07's web measurements that need no namespace: a transfer's words, the table, bad sizes."""

from __future__ import annotations

import pytest

from netlab.lab import web
from netlab.lab.web import Transfer


def test_a_transfer_says_its_rate_and_its_helper_time():
    transfer = Transfer("pasta", 64_000_000, 0.5, helper_cpu=0.25)
    assert transfer.rate == 128_000_000
    assert str(transfer) == "pasta: 64 MB in 0.50 s, 128 MB/s; the helper used 0.25 s of CPU"
    assert str(Transfer("veth", 1_000_000, 0.0)) == "veth: 1 MB in 0.00 s, 0 MB/s"


def test_the_table_keeps_the_best_of_each_path_fastest_first():
    rows = web.table(
        [
            Transfer("slirp4netns", 100_000_000, 1.0, helper_cpu=0.9),
            Transfer("veth", 100_000_000, 0.1),
            Transfer("slirp4netns", 100_000_000, 0.5, helper_cpu=0.8),  # the better of the two
            Transfer("pasta", 100_000_000, 0.25, helper_cpu=0.3),
        ]
    ).splitlines()
    assert [row.split()[0] for row in rows] == ["veth", "pasta", "slirp4netns"]
    assert rows[0].split()[1:6] == ["1000", "MB/s", "100", "%", "-"]
    assert rows[1].split()[1:6] == ["400", "MB/s", "40", "%", "0.30"]
    assert rows[2].split()[1:6] == ["200", "MB/s", "20", "%", "0.80"]
    assert rows[0].endswith("█" * 30) and rows[2].endswith(" " + "█" * 6)


def test_no_transfers_make_an_empty_table():
    assert web.table([]) == ""


@pytest.mark.parametrize("size", [-1, 1.5, True, "32M"])
def test_a_bad_size_is_refused_before_anything_starts(size):
    with pytest.raises(web.WebError, match="invalid file size") as info:
        web.serve(None, "203.0.113.1", size=size)
    assert "\n" not in info.value.message and "2**20" in info.value.hint
