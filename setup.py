"""Build of the Python package `fpf` (metadata in pyproject.toml).

libfpf (this directory's Cargo crate) is compiled as a plain cdylib by setuptools-rust and
copied into the package as fpf/libfpf.so, where the ctypes loader finds it: there is no
Python binding in the library, so the same file serves every Python 3 and the wheel is
tagged py3-none-<platform>.
"""

import os
import sys

from setuptools import setup
from setuptools_rust import Binding, RustExtension, Strip, build_rust

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

LIB_NAME = {"darwin": "libfpf.dylib", "win32": "fpf.dll"}.get(sys.platform, "libfpf.so")


class BuildRust(build_rust):
    """Names the library as the loader looks for it, not as an extension module."""

    def get_dylib_ext_path(self, ext, target_fname):
        path = super().get_dylib_ext_path(ext, target_fname)
        return os.path.join(os.path.dirname(path), LIB_NAME)


class BdistWheel(bdist_wheel):
    """No Python ABI is involved: one wheel per platform, for any Python 3."""

    def get_tag(self):
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(
    rust_extensions=[
        RustExtension("fpf.libfpf", path="Cargo.toml", binding=Binding.NoBinding,
                      strip=Strip.Debug, py_limited_api=False),
    ],
    cmdclass={"build_rust": BuildRust, "bdist_wheel": BdistWheel},
)
