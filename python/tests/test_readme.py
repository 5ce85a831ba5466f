"""The README's Python snippet runs as written (and finds the tutorial's 8 stable points)."""

import contextlib
import io
import os
import re

import pytest

from conftest import ROOT


def test_readme_python_snippet():
    path = os.path.join(ROOT, "README.md")
    if not os.path.exists(path):
        pytest.skip("README.md is not here")
    text = open(path, encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    snippet = next((b for b in blocks if "FixedPointFinder" in b), None)
    assert snippet is not None, "no Python snippet with FixedPointFinder in the README"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(snippet, "README.md", "exec"), {"__name__": "readme"})
    assert "Stable fixed points: 8 / " in out.getvalue(), out.getvalue()
