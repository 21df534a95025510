"""Capture points and options checked before any socket (netlab/capture/options.py): labels, refusals, hints."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from netlab.capture.options import CaptureError, Point, as_point, check_options, no_interface, target_of
from netlab.errors import DeviceNotFoundError, InvalidNameError, NetlabError
from netlab.targets import NEW

FINE = {"count": None, "timeout": None, "buffer": 16, "window": 10_000, "snaplen": None}  # capture()'s defaults


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("NETLAB_LANG", "en")


def one_line_with_a_hint(err: NetlabError) -> str:
    assert "\n" not in err.message and err.hint, (err.message, err.hint)
    return err.message


def options(**changed) -> dict:
    return {**FINE, **changed}


# -- points ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("netns", "label", "command"),
    [
        (None, "veth1", ["tcpdump", "-ni", "veth1"]),
        ("netns1", "netns1:veth1", ["ip", "netns", "exec", "netns1", "tcpdump", "-ni", "veth1"]),
        (4242, "pid 4242:veth1", ["nsenter", "-t", "4242", "-n", "tcpdump", "-ni", "veth1"]),
        (Path("/run/netns/lab1"), "lab1:veth1", ["nsenter", "--net=/run/netns/lab1", "tcpdump", "-ni", "veth1"]),
    ],
)
def test_a_point_is_labelled_by_where_it_is_and_says_what_you_would_type(netns, label, command):
    point = Point("veth1", netns)
    assert (point.label, point.command) == (label, command)


def test_a_label_given_is_kept_and_a_point_says_its_namespace_in_words():
    assert Point("veth1", "netns1", label="left").label == "left"
    assert Point("veth1", "netns1").where == "namespace 'netns1'"
    assert Point("veth0").where == "the current namespace"


@pytest.mark.parametrize("name", ["", "bad name", "a/b", "x" * 16, "eth0\nrm -rf", 7])
def test_a_point_with_a_name_the_kernel_would_refuse_is_refused_in_one_line(name):
    with pytest.raises(InvalidNameError) as err:
        Point(name)  # type: ignore[arg-type]
    assert "interface name" in one_line_with_a_hint(err.value)


def test_a_point_cannot_be_in_a_new_namespace():
    with pytest.raises(CaptureError) as err:
        Point("veth0", NEW)
    assert one_line_with_a_hint(err.value) == "cannot capture in a new namespace"


def test_a_point_is_a_name_a_pair_or_a_point():
    assert as_point("veth0", "netns1") == Point("veth0", "netns1")  # a name: in the capture's netns=
    assert as_point(("netns2", "veth1"), "netns1") == Point("veth1", "netns2")  # a pair names its own
    assert as_point((None, "veth0"), "netns1") == Point("veth0")
    given = Point("veth1", 4242, label="pod")
    assert as_point(given, "netns1") is given


@pytest.mark.parametrize("spec", [42, None, ("veth0",), ("netns1", "veth1", "x"), ("netns1", 5), ["netns1", "veth1"]])
def test_anything_else_is_not_a_capture_point(spec):
    with pytest.raises(CaptureError) as err:
        as_point(spec, None)  # type: ignore[arg-type]
    assert one_line_with_a_hint(err.value) == f"cannot capture on {spec!r}"


# -- options --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changed",
    [
        {},
        {"count": 1, "timeout": 0.5},
        {"timeout": 3, "buffer": 1, "window": 0, "snaplen": 64},
        {"buffer": 1024, "snaplen": 262144, "count": 10**9},
    ],
)
def test_options_in_range_pass(changed):
    assert check_options([Point("veth0")], **options(**changed)) is None


@pytest.mark.parametrize(
    ("changed", "words"),
    [
        ({"count": 0}, "count must be a positive whole number, not 0"),
        ({"count": -3}, "count must be a positive whole number, not -3"),
        ({"count": 2.0}, "count must be a positive whole number, not 2.0"),
        ({"count": True}, "count must be a positive whole number, not True"),
        ({"count": "4"}, "count must be a positive whole number, not '4'"),
        ({"timeout": 0}, "timeout must be a positive number of seconds, not 0"),
        ({"timeout": -1.5}, "timeout must be a positive number of seconds, not -1.5"),
        ({"timeout": "2"}, "timeout must be a positive number of seconds, not '2'"),
        ({"timeout": True}, "timeout must be a positive number of seconds, not True"),
        ({"buffer": 0}, "buffer must be 1 to 1024 MiB, not 0"),
        ({"buffer": 1025}, "buffer must be 1 to 1024 MiB, not 1025"),
        ({"buffer": None}, "buffer must be 1 to 1024 MiB, not None"),
        ({"window": -1}, "window must be a whole number of packets, 0 or more, not -1"),
        ({"window": None}, "window must be a whole number of packets, 0 or more, not None"),
        ({"snaplen": 63}, "snaplen must be 64 to 262144 bytes, not 63"),
        ({"snaplen": 262145}, "snaplen must be 64 to 262144 bytes, not 262145"),
        ({"snaplen": 1500.0}, "snaplen must be 64 to 262144 bytes, not 1500.0"),
    ],
)
def test_each_option_out_of_range_is_refused_in_one_line_with_a_hint(changed, words):
    with pytest.raises(CaptureError) as err:
        check_options([Point("veth0")], **options(**changed))
    assert one_line_with_a_hint(err.value) == words


def test_no_point_or_a_point_named_twice_is_refused_before_the_numbers():
    with pytest.raises(CaptureError) as err:
        check_options([], **options(count=0))
    assert one_line_with_a_hint(err.value) == "no capture point"
    twice = [Point("veth1", "netns1"), as_point(("netns1", "veth1"), None)]
    with pytest.raises(CaptureError) as err:
        check_options(twice, **options(count=0))
    assert one_line_with_a_hint(err.value) == "capture points repeat: ['netns1:veth1', 'netns1:veth1']"
    check_options([Point("veth1", "netns1"), Point("veth1", "netns2"), Point("veth1")], **FINE)  # three places


def test_the_same_interface_in_two_namespaces_given_by_path_is_two_points():
    """Unnamed namespaces (a container's) are entered by ``/proc/PID/ns/net`` (``Namespace.target``)."""
    first, second = Point("eth0", Path("/proc/4242/ns/net")), Point("eth0", Path("/proc/4343/ns/net"))
    assert (
        (first.label, second.label)
        == ("pid 4242:eth0", "pid 4343:eth0")
        == (
            Point("eth0", 4242).label,
            Point("eth0", 4343).label,
        )
    )
    assert Point("eth0", Path("/run/netns/c1")).label == "c1:eth0"
    check_options([first, second], **FINE)


@pytest.mark.parametrize("seconds", [float("nan"), float("inf")])
def test_a_timeout_that_is_no_number_of_seconds_is_refused_before_the_capture_starts(seconds):
    """The reader thread computes ``int((deadline - now) * 1000)``: ValueError for NaN, OverflowError for inf."""
    with pytest.raises(CaptureError) as err:
        check_options([Point("veth0")], **options(timeout=seconds))
    assert one_line_with_a_hint(err.value).startswith("timeout must be a positive number of seconds")


# -- words to objects, objects to words ----------------------------------------------------------


def test_a_missing_interface_is_a_device_error_naming_the_ones_there():
    err = no_interface("veth9", "netns1", {"veth1", "lo", "eth0"})
    assert isinstance(err, DeviceNotFoundError) and isinstance(err, FileNotFoundError)
    assert (err.errno, err.subject) == (errno.ENODEV, "veth9")
    assert one_line_with_a_hint(err) == "no interface 'veth9' in namespace 'netns1'"
    assert err.hint == "its interfaces are eth0, lo, veth1; list them with ip netns exec netns1 ip -br link"
    here = no_interface("veth9", None, {"lo"})
    assert here.message == "no interface 'veth9' in the current namespace" and here.hint.endswith("with ip -br link")


@pytest.mark.parametrize(
    ("typed", "target"),
    [(None, None), ("netns1", "netns1"), ("4242", 4242), ("/run/netns/netns1", Path("/run/netns/netns1"))],
)
def test_a_namespace_typed_on_the_command_line_is_a_name_a_pid_or_a_path(typed, target):
    found = target_of(typed)
    assert found == target and type(found) is type(target)


def test_a_namespace_typed_with_digits_int_cannot_read_is_no_crash():
    try:
        target_of("²")
    except NetlabError:
        pass  # a refusal in one line is fine; a name is fine too
