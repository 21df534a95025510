"""The unit tier: pure code, no namespaces, no sandbox, any user (``python -m pytest tests/unit``).

Being a package keeps its module names apart from the kernel tests' (``unit.test_text`` is not
``test_text``), so a unit test may share a file name with a kernel test.
"""
