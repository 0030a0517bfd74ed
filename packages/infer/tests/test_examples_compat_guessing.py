"""Pyro's example programs (sparse_gamma_def's vectorized evaluation ELBO, enumeration
without enumerated sites) as run by users: the ``"pyro"`` logger reports a guessed
``max_plate_nesting`` at INFO, and TraceTMC_ELBO warns when nothing is enumerated."""
import logging
import warnings

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import (
    EnergyDistance,
    RenyiELBO,
    Trace_ELBO,
    TraceEnum_ELBO,
    TraceMeanField_ELBO,
    TraceTMC_ELBO,
    config_enumerate,
)


def model():
    with pyro.plate("a", 3):
        with pyro.plate("b", 2, dim=-2):
            x = pyro.sample("x", dist.Normal(0.0, 1.0))
            pyro.sample("y", dist.Normal(x, 1.0), obs=torch.zeros(2, 3))


def guide():
    with pyro.plate("a", 3):
        with pyro.plate("b", 2, dim=-2):
            pyro.sample("x", dist.Normal(0.0, 1.0))


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def pyro_log():
    handler = _Records()
    logger = logging.getLogger("pyro")  # does not propagate: caplog would not see it
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


@pytest.mark.parametrize("make_loss, expected", [
    (lambda: TraceEnum_ELBO(strict_enumeration_warning=False), 2),
    (lambda: Trace_ELBO(num_particles=2, vectorize_particles=True), 3),
    (lambda: TraceMeanField_ELBO(num_particles=2, vectorize_particles=True), 3),
    (lambda: TraceTMC_ELBO(strict_enumeration_warning=False), 2),
])
def test_guessed_max_plate_nesting_is_logged_once(pyro_log, make_loss, expected):
    pyro.set_rng_seed(0)
    loss = make_loss()
    loss.loss(model, guide)
    loss.loss(model, guide)  # known now: not guessed (nor logged) again
    assert pyro_log == [f"Guessed max_plate_nesting = {expected}"]
    assert loss.max_plate_nesting == expected


def test_energy_distance_logs_the_particle_plate_too(pyro_log):
    pyro.set_rng_seed(0)
    EnergyDistance(num_particles=2)(model, guide)
    assert pyro_log == ["Guessed max_plate_nesting = 3"]


@pytest.mark.parametrize("make_loss", [
    lambda: Trace_ELBO(),  # nothing guessed
    lambda: Trace_ELBO(num_particles=2, vectorize_particles=True, max_plate_nesting=2),
    lambda: RenyiELBO(num_particles=2),  # particles not vectorized: nothing guessed
])
def test_nothing_logged_when_nothing_guessed(pyro_log, make_loss):
    pyro.set_rng_seed(0)
    make_loss().loss(model, guide)
    assert pyro_log == []


def test_tmc_warns_when_nothing_is_enumerated():
    pyro.set_rng_seed(0)
    with pytest.warns(UserWarning, match="TraceTMC_ELBO found no sample sites configured"):
        TraceTMC_ELBO(max_plate_nesting=2).loss(model, guide)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TraceTMC_ELBO(max_plate_nesting=2, strict_enumeration_warning=False).loss(model, guide)
        TraceTMC_ELBO(max_plate_nesting=2).loss(
            config_enumerate(model, default="parallel", num_samples=2, expand=False),
            config_enumerate(guide, default="parallel", num_samples=2, expand=False))
