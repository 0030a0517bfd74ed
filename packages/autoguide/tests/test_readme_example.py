"""The README's example runs as written."""
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"



def test_readme_example_runs(run_readme_example):
    pytest.importorskip("pyro.optim", reason="the example trains with pyro.optim.Adam")
    ns = run_readme_example(README)
    # exact posterior of mu: N(0.75, 0.5^2); the trained guide's median lies well inside
    assert abs(ns["guide"].median()["mu"].item() - 0.75) < 0.15
