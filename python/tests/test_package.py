"""The package itself: where its library comes from, and what it exports."""

import os

import fpf
from conftest import CI


def test_library_is_the_packaged_one_when_installed():
    assert os.path.exists(fpf.lib_path)
    if CI and not os.environ.get("FPF_LIB"):
        # CI runs these tests against the installed wheel: its own copy of the library.
        assert fpf.lib_origin == "installed", fpf.lib_path
        assert os.path.dirname(fpf.lib_path) == os.path.dirname(fpf.__file__)
    assert fpf.abi_version() == fpf.ABI_VERSION
    assert fpf.version() == fpf.__version__


def test_public_names_exist():
    for name in fpf.__all__:
        assert hasattr(fpf, name), name
