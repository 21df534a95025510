"""Where the files go in a wheel; everything else about the package is in pyproject.toml.

The lessons live at the top of the repository (``notebooks/``, where a learner looks for them),
and ship inside the package as ``netlab/notebooks/`` (translations such as ``zh-CN/`` included),
so that ``netlab lab`` from an installed package finds them. pyproject.toml cannot map a folder
outside the package into it; this ``package_dir`` entry does.

Every folder of ``netlab/`` is listed as a package, those without Python code too (the message
catalogs in ``netlab/locale/``): Python can import any folder, and setuptools warns, at length, about
one that holds package data but is not listed.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["netlab", "netlab.*"], exclude=["*.__pycache__"]), "netlab.notebooks"],
    package_dir={"netlab.notebooks": "notebooks"},
)
