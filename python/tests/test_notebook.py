"""python/examples/fixed_points.ipynb, executed headless in a Jupyter kernel (nbclient,
ipykernel) with this interpreter and this fpf: the find's verbose lines appear in the cell's
output, both plots are displayed (image/png outputs), and matplotlib's backend is the
notebook's own (inline) before and after. Skipped without nbclient, ipykernel or matplotlib
(a failure under CI, which installs them).

The kernel runs with ipykernel's capture of file descriptors 1 and 2 turned off, so only what
goes through Python's sys.stdout reaches the notebook, as in front ends that do not forward
a kernel's raw output: a library line written to fd 1 would be missing from the cell."""

import json
import os
import sys

import pytest

import fpf
from conftest import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOK = os.path.join(ROOT, "python", "examples", "fixed_points.ipynb")


def kernel_spec(tmp_path):
    """A kernel spec for this interpreter, found first through JUPYTER_PATH."""
    spec = tmp_path / "jupyter" / "kernels" / "fpf-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher",
                 "--IPKernelApp.capture_fd_output=False", "-f", "{connection_file}"],
        "display_name": "fpf test", "language": "python"}))
    return "fpf-test"


def outputs(cell, kind):
    return [o for o in cell.get("outputs", []) if o["output_type"] == kind]


def stdout_text(cell):
    return "".join(o["text"] for o in outputs(cell, "stream") if o["name"] == "stdout")


def test_notebook_shows_verbose_output_and_figures(tmp_path, monkeypatch):
    if not os.path.exists(NOTEBOOK):
        pytest.skip(f"{NOTEBOOK} is not here")
    name = kernel_spec(tmp_path)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    # The kernel imports the fpf these tests import (installed, or the checkout's python/).
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(fpf.__file__)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [package_root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    monkeypatch.setenv("FPF_LIB", fpf.lib_path)
    # No backend forced from outside: the kernel picks the notebook's inline one itself.
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, kernel_name=name, timeout=300,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    for c in code:
        assert not outputs(c, "error"), c
    first, _, find, plot2, plot3, last = code
    backend = stdout_text(first).split("matplotlib backend:")[1].strip()
    assert "inline" in backend, backend
    assert f"matplotlib backend after plotting: {backend}" in stdout_text(last)
    text = stdout_text(find)
    assert "Searching for fixed points from 1024 initial states." in text, text
    assert "Found 8 stable and " in text, text
    assert "Stable fixed points: 8 / " in text, text  # print_summary, in the same cell
    for c in (plot2, plot3):
        shown = [o for o in outputs(c, "display_data") if "image/png" in o["data"]]
        assert len(shown) == 1, c.get("outputs")
        assert len(shown[0]["data"]["image/png"]) > 10_000
