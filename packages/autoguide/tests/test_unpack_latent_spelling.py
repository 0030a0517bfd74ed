"""Programs written for Pyro 1.9 read a fitted AutoContinuous guide's latent vector back
per site with ``guide._unpack_latent``; the public ``unpack_latent`` is the same method."""
import torch

import pyro
import pyro.distributions as dist
from pyro.infer.autoguide import AutoDiagonalNormal


def model():
    pyro.sample("a", dist.Normal(0.0, 1.0))
    pyro.sample("b", dist.LogNormal(torch.zeros(2), 1.0).to_event(1))


def test_private_spelling_unpacks_like_the_public_one():
    pyro.clear_param_store()
    guide = AutoDiagonalNormal(model)
    guide()
    latent = torch.tensor([0.5, -1.0, 2.0])
    public = [(site["name"], value) for site, value in guide.unpack_latent(latent)]
    private = [(site["name"], value) for site, value in guide._unpack_latent(latent)]
    assert [name for name, _ in public] == ["a", "b"]
    assert [name for name, _ in private] == ["a", "b"]
    for (_, u), (_, v) in zip(public, private):
        assert torch.equal(u, v)
    # unconstrained pieces, in the model's order
    assert torch.equal(public[0][1], torch.tensor(0.5))
    assert torch.equal(public[1][1], torch.tensor([-1.0, 2.0]))
