"""The coin of the introductory slides: is it fair?

Data: 10 tosses, 6 heads and 4 tails. Prior: the probability of heads ``latent_fairness ~
Beta(10, 10)`` (we believe the coin is about fair). Guide: ``Beta(alpha_q, beta_q)`` with
learned positive parameters, as in the SVI tutorial (part I).

Reference: the exact posterior is ``Beta(10 + 6, 10 + 4) = Beta(16, 14)``, mean ``16/30 =
0.533`` and standard deviation ``0.090``; the tutorial reports "the fairness of the coin is
0.532 +- 0.090". The Beta guide can match it exactly.

Run with ``pyro fit examples/coin.py`` (the file's own guide is used), or ``--algo nuts``.

**References:** Pyro's "SVI Part I: An Introduction to Stochastic Variational Inference in
Pyro" (pyro.ai/examples/svi_part_i.html).
"""
import torch

import pyro
import pyro.distributions as dist
from pyro.distributions import constraints

#: the exact posterior mean and standard deviation (Beta(16, 14))
REFERENCE = {"latent_fairness": (16 / 30, (16 * 14 / (30**2 * 31)) ** 0.5)}


def model(tosses):
    f = pyro.sample("latent_fairness", dist.Beta(10.0, 10.0))
    with pyro.plate("toss", len(tosses)):
        pyro.sample("obs", dist.Bernoulli(f), obs=tosses)


def guide(tosses):
    alpha_q = pyro.param("alpha_q", torch.tensor(15.0), constraint=constraints.positive)
    beta_q = pyro.param("beta_q", torch.tensor(15.0), constraint=constraints.positive)
    pyro.sample("latent_fairness", dist.Beta(alpha_q, beta_q))


data = {"tosses": torch.tensor([1.0] * 6 + [0.0] * 4)}
