"""A variational autoencoder on the 8x8 handwritten digits (Kingma & Welling 2014).

Data: 1797 images of 8x8 pixels, each pixel a count 0..16 (``data/digits.csv.gz``, the UCI
optical digits as shipped by scikit-learn). Each image has a 2-dimensional latent code;
a neural decoder gives the 64 pixels' probabilities, and a neural encoder (the guide)
amortizes the posterior of the codes::

    z_i ~ Normal(0, I_2)                                  one code per image
    x_ij ~ Binomial(16, sigmoid(decoder(z_i)_j))          64 pixels
    guide: z_i ~ Normal(encoder_loc(x_i), encoder_scale(x_i))

Reference: the best model without a latent code, independent pixels with their own
probability (``p_j = mean_i x_ij / 16``), has an exact negative log likelihood of 252.7 nats
per image (``baseline_nll()``); the VAE's negative ELBO, an upper bound of its own negative
log likelihood, falls below it within a hundred steps (about 165 nats per image after 400
steps with ``--lr 0.01``): two latent dimensions capture what the pixels share.

Run with ``pyro fit examples/vae_digits.py --num-steps 400 --lr 0.01`` (the file's
guide; the summary shows the first codes, ``--out`` writes all).

**References:** Kingma, D. P. and Welling, M. (2014). "Auto-encoding variational Bayes."
ICLR. Alpaydin, E. and Kaynak, C. (1998). Optical Recognition of Handwritten Digits, UCI
Machine Learning Repository.
"""
import gzip
import os

import numpy as np
import torch
from torch import nn

import pyro
import pyro.distributions as dist

#: the exact per-image negative log likelihood of independent pixels (``baseline_nll()``)
REFERENCE = {"baseline_nll": 252.69}

DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "digits.csv.gz")
LATENT, HIDDEN = 2, 64


def load_data(path: str = DATA_FILE) -> dict:
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    return {"x": torch.from_numpy(table[:, :64])}  # the last column, the label, is unused


def baseline_nll(x: torch.Tensor) -> float:
    """The exact per-image negative log likelihood of independent Binomial(16, p_j) pixels
    at their maximum-likelihood ``p_j``."""
    p = (x.double().mean(0) / 16).clamp(1e-12, 1 - 1e-12)
    return float(-dist.Binomial(16, probs=p).log_prob(x.double()).sum(-1).mean())


def _mlp(inputs: int, outputs: int) -> nn.Module:
    return nn.Sequential(nn.Linear(inputs, HIDDEN), nn.Softplus(), nn.Linear(HIDDEN, outputs))


torch.manual_seed(0)  # the networks' initial weights
decoder = _mlp(LATENT, 64)
encoder = _mlp(64, 2 * LATENT)


def model(x):
    pyro.module("decoder", decoder)
    with pyro.plate("image", x.shape[0]):
        z = pyro.sample("z", dist.Normal(x.new_zeros(LATENT), 1.0).to_event(1))
        pyro.sample("x", dist.Binomial(16, logits=decoder(z)).to_event(1), obs=x)


def guide(x):
    pyro.module("encoder", encoder)
    with pyro.plate("image", x.shape[0]):
        loc, raw_scale = encoder(x / 16).split(LATENT, -1)
        pyro.sample("z", dist.Normal(loc, nn.functional.softplus(raw_scale) + 1e-3).to_event(1))


data = load_data()
