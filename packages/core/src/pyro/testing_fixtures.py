"""pytest fixtures shared by the test suites of the Pyro packages.

Each package's ``tests/conftest.py`` imports what it uses::

    from pyro.testing_fixtures import fresh_pyro_state, pytest_configure  # noqa: F401

so that every package still tests alone with only pyro-core installed beside it. Importing
this module imports pytest: it is meant for test suites only.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import pyro
from pyro.util import validation_enabled

__all__ = ["fresh_pyro_state", "pytest_configure", "run_readme_example"]


def pytest_configure(config: pytest.Config) -> None:
    """One intra-op thread: the tensors in tests are tiny, and extra threads only slow a
    shared machine down."""
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def fresh_pyro_state() -> Iterator[None]:
    """Every test starts from an empty ParamStore, RNG seed 0 (torch, numpy and
    ``random``) and validation on, and leaves the ParamStore empty and the validation
    switch as it found it."""
    pyro.clear_param_store()
    pyro.set_rng_seed(0)
    with validation_enabled(is_validate=True):
        yield
    pyro.clear_param_store()


def _readme_example(readme: Path) -> str:
    text = readme.read_text()
    _, found, section = text.partition("\n## Example\n")
    start = section.find("```python\n")
    if not found or start < 0:
        raise AssertionError(f"{readme} has no ```python block under an '## Example' heading")
    body = section[start + len("```python\n"):]
    return body[: body.index("```")]


@pytest.fixture
def run_readme_example() -> Callable[[Path], dict[str, Any]]:
    """``run_readme_example(path_to_README.md)`` executes the first ``python`` block under
    the README's ``## Example`` heading and returns its global namespace."""

    def run(readme: Path) -> dict[str, Any]:
        namespace: dict[str, Any] = {"__name__": "readme_example"}
        exec(compile(_readme_example(readme), str(readme), "exec"), namespace)
        return namespace

    return run
