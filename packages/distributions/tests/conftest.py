"""Test setup of pyro-distributions: the fixtures shared by every package's tests
(:mod:`pyro.testing_fixtures`: one intra-op thread; each test starts from an empty
ParamStore, RNG seed 0 and validation on, the switch that also sets torch's
``validate_args`` default)."""
from pyro.testing_fixtures import fresh_pyro_state, pytest_configure, run_readme_example  # noqa: F401
