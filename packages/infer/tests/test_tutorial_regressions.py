"""Regressions found by running Pyro's tutorials and examples unchanged (the HMM example)."""

import math

import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer import TraceEnum_ELBO

PROBS = torch.tensor([0.1, 0.2, 0.3, 0.4])


def _normal_pdf(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _guide():
    pass


def test_mask_leaves_a_summed_out_variable_normalized():
    # The HMM example masks the steps after each sequence's end: a masked-out enumerated
    # variable (with masked dependents) contributes log 1, not log(number of values).
    def model():
        with pyro.plate("s", 2):
            with poutine.mask(mask=torch.tensor([True, False])):
                x = pyro.sample("x", dist.Categorical(PROBS), infer={"enumerate": "parallel"})
                pyro.sample("y", dist.Normal(x.float(), 1.0), obs=torch.tensor(0.0))

    expected = -math.log(sum(p * _normal_pdf(k) for k, p in enumerate(PROBS.tolist())))
    loss = TraceEnum_ELBO(max_plate_nesting=1).loss(model, _guide)
    assert abs(loss - expected) < 1e-5


def test_mask_on_an_enumerated_site_keeps_its_prior():
    def model():
        with poutine.mask(mask=torch.tensor(False)):
            x = pyro.sample("x", dist.Categorical(PROBS), infer={"enumerate": "parallel"})
        pyro.sample("y", dist.Normal(x.float(), 1.0), obs=torch.tensor(0.0))

    expected = -math.log(sum(p * _normal_pdf(k) for k, p in enumerate(PROBS.tolist())))
    loss = TraceEnum_ELBO(max_plate_nesting=0).loss(model, _guide)
    assert abs(loss - expected) < 1e-5


def test_sizeless_plate_with_enumerated_guide():
    # The semi-supervised VAE tutorial: `with pyro.plate("data"):` (no size) and a guide
    # that enumerates y, under TraceEnum_ELBO's shape validation.
    from pyro.infer import config_enumerate

    data = torch.tensor([0.0, 1.0, 1.0])

    def model():
        with pyro.plate("data"):
            y = pyro.sample("y", dist.Bernoulli(torch.full((3,), 0.5)))
            pyro.sample("x", dist.Normal(y, 1.0), obs=data)

    @config_enumerate
    def guide():
        with pyro.plate("data"):
            pyro.sample("y", dist.Bernoulli(torch.full((3,), 0.5)))

    with pyro.validation_enabled(True):
        loss = TraceEnum_ELBO(max_plate_nesting=1).loss(model, guide)
    # the guide equals the prior, so the ELBO is sum_i sum_y q(y) log N(x_i | y, 1)
    expected = 0.0
    for x in data.tolist():
        for y in (0.0, 1.0):
            expected -= 0.5 * math.log(_normal_pdf(x - y))
    assert abs(loss - expected) < 1e-5
