"""pyro.infer documents itself (the docstring comes before the namespace line), and its
sources cite papers and Pyro's names, not the project's internal history or design notes
(DESIGN.md is not shipped)."""
import pathlib
import re

import pyro.infer

SRC = pathlib.Path(__file__).resolve().parents[1] / "src"


def test_package_docstring():
    assert pyro.infer.__doc__ and pyro.infer.__doc__.startswith("Inference (pyro-infer)")


def test_sources_do_not_cite_internal_notes():
    pattern = re.compile(r"seed[ -]?0\d|seed-era|DESIGN\.md", re.IGNORECASE)
    offenders = [
        f"{path.relative_to(SRC)}:{i}"
        for path in sorted(SRC.rglob("*.py"))
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, offenders
