"""The scale of the introductory tutorial: how heavy is the object?

We guess that an object weighs 8.5 (prior ``weight ~ Normal(8.5, 1)``); a noisy scale
(``measurement ~ Normal(weight, 0.75)``) reads 9.5. The guide is ``Normal(a, b)`` with
learned ``a`` and positive ``b``, as in the tutorial.

Reference: the posterior is Gaussian (conjugate), with precision ``1 + 1/0.75**2`` and mean
``(8.5 + 9.5/0.75**2) / (1 + 1/0.75**2)``: ``Normal(9.14, 0.6)``, the tutorial's
"a = 9.14, b = 0.6".

Run with ``pyro fit examples/scale.py`` (the file's own guide) or ``--algo nuts``.

**References:** Pyro's "An Introduction to Inference in Pyro"
(pyro.ai/examples/intro_long.html).
"""
import torch

import pyro
import pyro.distributions as dist
from pyro.distributions import constraints

_precision = 1.0 + 1.0 / 0.75**2
#: the exact posterior mean and standard deviation
REFERENCE = {"weight": ((8.5 + 9.5 / 0.75**2) / _precision, _precision**-0.5)}


def model(guess, measurement):
    weight = pyro.sample("weight", dist.Normal(guess, 1.0))
    return pyro.sample("measurement", dist.Normal(weight, 0.75), obs=measurement)


def guide(guess, measurement):
    a = pyro.param("a", torch.tensor(guess))
    b = pyro.param("b", torch.tensor(1.0), constraint=constraints.positive)
    return pyro.sample("weight", dist.Normal(a, b))


data = {"guess": 8.5, "measurement": torch.tensor(9.5)}
