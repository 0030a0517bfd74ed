"""The README's example runs as written."""
import math
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs(run_readme_example):
    ns = run_readme_example(README)
    # log N(1; 0, 10) + sum_i log N(x_i; 1, 1), computed here independently
    data = ns["data"].tolist()
    expected = -0.5 * (1 / 10) ** 2 - math.log(10 * math.sqrt(2 * math.pi)) + sum(
        -0.5 * (x - 1.0) ** 2 - 0.5 * math.log(2 * math.pi) for x in data)
    assert ns["trace"].log_prob_sum().item() == pytest.approx(expected, rel=1e-6)
