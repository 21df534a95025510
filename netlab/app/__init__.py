"""The programs around the library: the ``netlab`` command and the servers it starts.

cli.py         ``netlab ...``: argument parsing, one line per error
doctor.py      ``netlab doctor``: what this machine lacks for the lab, and how to fix it
labserver.py   ``netlab lab``: JupyterLab, its kernels and terminals in one private sandbox
terminals.py   the lab's terminals: login shells that still find ``netlab`` and ``ip``
kernelspec.py  the ``netlab`` Jupyter kernelspec: every kernel in a sandbox of its own
"""
