"""Writes pyro_subsample_indices.json, used by test_subsample_pyro_draw.py: the indices
pyro-ppl 1.9.2 draws for a subsampled plate after a seed, and the generator's next draws.

Run once with pyro-ppl 1.9.2 installed (not this project), from this directory:

    ~/.cache/pyro-anchors/pyro-ppl/bin/python make_pyro_subsample_indices.py
"""
import json

import torch

import pyro
from pyro import poutine

CASES = [(0, 10, 3), (0, 100, 10), (1, 50000, 20), (7, 1000, 999), (3, 5, 5), (3, 5, 0),
         (11, 2000000, 5)]


def record(seed, n, k):
    pyro.set_rng_seed(seed)

    def model():
        with pyro.plate("data", n, subsample_size=k) as idx:
            return idx

    idx = poutine.trace(model).get_trace().nodes["data"]["value"]
    after = torch.rand(3).tolist()  # where the draw left the generator
    return {"seed": seed, "size": n, "subsample_size": k, "indices": idx.tolist(),
            "next_uniforms": after}


if __name__ == "__main__":
    fixture = {"source": "pyro-ppl 1.9.2 run as a black box (pyro.plate subsample site value "
                         "after pyro.set_rng_seed(seed), then torch.rand(3))",
               "torch_version": torch.__version__,
               "cases": [record(*case) for case in CASES]}
    with open("pyro_subsample_indices.json", "w") as f:
        json.dump(fixture, f)
