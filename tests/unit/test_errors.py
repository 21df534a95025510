"""The errors tree (netlab/errors.py): one line saying what is wrong, then a hint saying what to do."""

from __future__ import annotations

import builtins
import errno
import inspect
import re

import pytest

import netlab.errors
from netlab.errors import (
    DeviceError,
    DeviceExistsError,
    NamespaceExistsError,
    NetlabError,
    NetlabPermissionError,
    permission_error,
)

ERRORS = [obj for _, obj in inspect.getmembers(netlab.errors, inspect.isclass) if issubclass(obj, NetlabError)]


def _tree_in_docstring() -> dict[str, tuple[str, str]]:
    """The tree drawn in the module docstring: class -> (its NetlabError parent, the OSError/ValueError it also is)."""
    drawn: dict[str, tuple[str, str]] = {}
    parents = ["NetlabError"]
    for line in (netlab.errors.__doc__ or "").splitlines():
        match = re.match(r"^\s*([│ ]*)[├└]── (\w+)\s*(?:\((\w+)\))?", line)
        if match:
            depth = len(match.group(1)) // 4
            parents[depth + 1 :] = [match.group(2)]
            drawn[match.group(2)] = (parents[depth], match.group(3) or "")
    return drawn


def test_the_docstring_draws_the_real_tree():
    drawn = _tree_in_docstring()
    assert set(drawn) == {cls.__name__ for cls in ERRORS} - {"NetlabError"}
    for cls in ERRORS:
        if cls is not NetlabError:
            parent, also = drawn[cls.__name__]
            assert cls.__bases__[0].__name__ == parent, cls
            assert [base.__name__ for base in cls.__bases__[1:]] == ([also] if also else []), cls
            assert not also or issubclass(cls, getattr(builtins, also))


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_one_line_then_the_hint(cls):
    err = cls("namespace 'netns1' already exists", hint="pick another name, or delete it first", subject="netns1")
    assert str(err) == "namespace 'netns1' already exists\n  hint: pick another name, or delete it first"
    assert (err.message, err.hint, err.subject) == (
        "namespace 'netns1' already exists",
        "pick another name, or delete it first",
        "netns1",
    )
    assert str(cls("no hint here")) == "no hint here"


def test_os_errors_keep_their_meaning():
    err = NamespaceExistsError("namespace 'netns1' already exists", errno=errno.EEXIST)
    assert isinstance(err, FileExistsError) and isinstance(err, OSError)
    assert err.errno == errno.EEXIST and err.strerror == "namespace 'netns1' already exists"
    with pytest.raises(FileExistsError):
        raise err
    assert issubclass(DeviceExistsError, DeviceError) and issubclass(DeviceExistsError, FileExistsError)


def test_a_permission_error_says_what_was_refused_and_what_to_do():
    err = permission_error("create a network namespace", PermissionError(errno.EPERM, "Operation not permitted"))
    assert isinstance(err, NetlabPermissionError) and isinstance(err, PermissionError)
    assert err.message == "not allowed to create a network namespace: EPERM (Operation not permitted)"
    assert "netlab sandbox" in err.hint
    assert err.errno == errno.EPERM
    assert "\n" not in err.message
