"""Writes the pyro-ppl 1.9 ParamStore files used by test_reliability_param_files.py.

Run once with pyro-ppl 1.9.2 installed (not this project), from this directory:

    ~/.cache/pyro-anchors/pyro-ppl/bin/python make_pyro_ppl_fixtures.py

It prints the constrained values, which the test compares with what this project loads.
"""
import torch
from torch.distributions import constraints, transform_to
from torch.distributions.transforms import AffineTransform, ComposeTransform, ExpTransform

import pyro
import pyro.distributions as dist
from pyro.infer.autoguide import AutoNormal


def model():
    pyro.sample("z", dist.Normal(torch.zeros(2), 1.0).to_event(1))


class ShiftedPositive(constraints.Constraint):
    """A user-defined constraint: not something a loader may create from a file."""

    def check(self, value):
        return value > 1.0


@transform_to.register(ShiftedPositive)
def _shifted_exp(constraint):
    return ComposeTransform([ExpTransform(), AffineTransform(1.0, 1.0)])


pyro.set_rng_seed(0)
pyro.param("loc", torch.tensor([0.5, -1.0]))
pyro.param("scale", torch.tensor([1.0, 2.0]), constraint=constraints.positive)
pyro.param("probs", torch.tensor([0.2, 0.3, 0.5]), constraint=constraints.simplex)
pyro.param("p", torch.tensor(0.25), constraint=constraints.unit_interval)
pyro.param("ab", torch.tensor(1.5), constraint=constraints.interval(1.0, 2.0))
pyro.param("tril", torch.tensor([[2.0, 0.0], [0.5, 1.0]]), constraint=constraints.lower_cholesky)
AutoNormal(model)()  # AutoNormal.locs.z, AutoNormal.scales.z (softplus_positive)
store = pyro.get_param_store()
store.save("pyro_ppl_1_9_param_store.pt")
for name, value in store.items():
    print(name, value.detach().tolist(), store._constraints[name])

pyro.clear_param_store()
pyro.param("x", torch.tensor([2.0]), constraint=ShiftedPositive())
pyro.get_param_store().save("pyro_ppl_1_9_custom_constraint.pt")
