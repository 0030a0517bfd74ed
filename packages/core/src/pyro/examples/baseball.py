"""Baseball batting averages with partial pooling (Efron & Morris 1975).

Data: hits in the first 45 at-bats of the 1970 season for 18 players
(``data/baseball.csv``). Each player's chance of a hit ``theta_i`` is drawn from a common
Beta population with mean ``phi`` and concentration ``kappa``; partial pooling shrinks each
player's raw average ``hits / 45`` toward the pooled average, the more so the more the
averages agree with one population::

    phi ~ Uniform(0, 1)                         population mean chance of a hit
    kappa ~ Pareto(1, 1.5)                      population concentration
    theta_i ~ Beta(phi * kappa, (1 - phi) * kappa)
    hits_i ~ Binomial(at_bats_i, theta_i)

Reference (Efron & Morris 1975, table 1): the pooled average is 215 / 810 = 0.265, and
their James-Stein estimates keep about a fifth of each player's distance from it
(shrinkage factor ``c = 0.212``): Roberto Clemente's 0.400 becomes about 0.294, Max
Alvis's 0.156 about 0.242. The posterior means of ``phi`` (about 0.27) and of
``theta_i`` (between the pooled and the raw average, in the raw averages' order) agree.

Run with ``pyro fit examples/baseball.py --algo nuts`` (or ``--algo svi``).

**References:** Efron, B. and Morris, C. (1975). "Data analysis using Stein's estimator
and its generalizations." JASA 70(350), 311-319. Carpenter, B. (2016), "Hierarchical
partial pooling for repeated binary trials" (Stan case study).
"""
import csv
import os

import torch

import pyro
import pyro.distributions as dist

DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "baseball.csv")

#: Efron & Morris's pooled average and James-Stein shrinkage factor
REFERENCE = {"phi": 215 / 810, "shrinkage": 0.212}


def load_data(path: str = DATA_FILE) -> dict:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {
        "at_bats": torch.tensor([float(r["at_bats"]) for r in rows]),
        "hits": torch.tensor([float(r["hits"]) for r in rows]),
    }


def james_stein(hits: torch.Tensor, at_bats: torch.Tensor, c: float = 0.212) -> torch.Tensor:
    """Efron & Morris's estimate: the pooled average plus ``c`` times the distance to it."""
    pooled = hits.sum() / at_bats.sum()
    return pooled + c * (hits / at_bats - pooled)


def model(at_bats, hits):
    phi = pyro.sample("phi", dist.Uniform(0.0, 1.0))
    kappa = pyro.sample("kappa", dist.Pareto(1.0, 1.5))
    with pyro.plate("player", len(at_bats)):
        theta = pyro.sample("theta", dist.Beta(phi * kappa, (1.0 - phi) * kappa))
        pyro.sample("obs", dist.Binomial(at_bats, theta), obs=hits)


data = load_data()
