"""The README's example runs as written."""
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs(run_readme_example):
    from pyro.infer import EmpiricalMarginal

    ns = run_readme_example(README)
    # posterior of mu given y = 1: N(0.5, 1/2); the self-normalized estimate from 5000
    # weighted draws has standard error well under 0.05
    mean = EmpiricalMarginal(ns["posterior"], "mu").mean.item()
    assert abs(mean - 0.5) < 0.05
