"""Lets the examples here `import fpf` from a clone without installing anything: this file
replaces itself by the package in python/fpf of this repository (which finds libfpf through
FPF_LIB or the cargo target directory). Installed with `pip install <repo>`, the package is
the same code with the library inside it."""

import os
import sys

sys.path.insert(0, os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "..", "..", "python")))
del sys.modules[__name__]
import fpf  # noqa: E402,F401  the package; `import fpf` in the examples gets it
