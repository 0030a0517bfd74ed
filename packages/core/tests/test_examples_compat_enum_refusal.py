"""Pyro's dmm example (``--tmcelbo``) marks its continuous guide sites with
``config_enumerate(guide, num_samples=K, expand=False)``. Monte Carlo enumeration is not
supported by poutine.enum here (README): the refusal must say so, and name what does
draw such samples, rather than blame the site's continuous support."""
import pytest
import torch.distributions as dist

import pyro
from pyro import poutine


def test_continuous_site_asking_for_monte_carlo_enumeration_names_the_request():
    def guide():
        pyro.sample("z_1", dist.Normal(0.0, 1.0),
                    infer={"enumerate": "parallel", "num_samples": 4, "expand": False})

    with pytest.raises(ValueError, match="'z_1'.*Monte Carlo enumeration.*TraceTMC_ELBO"):
        poutine.enum(guide, first_available_dim=-1)()


def test_continuous_site_marked_for_exact_enumeration_still_blames_its_support():
    def guide():
        pyro.sample("z_1", dist.Normal(0.0, 1.0), infer={"enumerate": "parallel"})

    with pytest.raises(ValueError, match="'z_1'.*Normal has no finite support"):
        poutine.enum(guide, first_available_dim=-1)()
