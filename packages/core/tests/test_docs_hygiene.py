"""Documentation hygiene: the namespace roots have module docstrings, and docstrings and
messages cite papers and Pyro's names rather than the project's internal specs."""
import re
from pathlib import Path

import pytest

import pyro

PACKAGES = Path(__file__).resolve().parents[2]
INTERNAL_REFERENCES = re.compile(r"seed[ ]0{2}\d|seed-0\d|seed-era|DESIGN\.md", re.IGNORECASE)


def test_pyro_has_a_docstring():
    assert pyro.__doc__ and pyro.__doc__.startswith("Pyro")


def test_pyro_infer_has_a_docstring():
    infer = pytest.importorskip("pyro.infer", reason="pyro.infer ships with pyro-infer")
    assert infer.__doc__ and "Inference" in infer.__doc__
    # the namespace line still runs, so that pyro-autoguide's portion is found
    assert len(infer.__path__) >= 1


def _shipped_and_test_files():
    for path in sorted(PACKAGES.glob("*/**/*")):
        if path.suffix in {".py", ".md", ".toml"} and "__pycache__" not in path.parts:
            yield path


def test_no_reference_to_internal_specs():
    hits = []
    for path in _shipped_and_test_files():
        if path.resolve() == Path(__file__).resolve():
            continue
        for i, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if INTERNAL_REFERENCES.search(line):
                hits.append(f"{path.relative_to(PACKAGES)}:{i}: {line.strip()}")
    assert not hits, "cite papers or Pyro's names instead:\n" + "\n".join(hits)
