"""poutine.enum_messenger.enumerate_site and the variable map each site records."""
import pytest
import torch
import torch.distributions as dist

import pyro
from pyro import poutine
from pyro.poutine.enum_messenger import enumerate_site


def msg_for(fn, **infer):
    return {"name": "s", "fn": fn, "infer": infer}


def test_enumerate_site_gives_the_support():
    values = enumerate_site(msg_for(dist.Categorical(torch.ones(2, 3) / 3)))
    assert torch.equal(values, torch.arange(3).reshape(3, 1))
    values = enumerate_site(msg_for(dist.Bernoulli(0.3)))
    assert torch.equal(values, torch.tensor([0.0, 1.0]))


def test_enumerate_site_errors_name_the_site():
    with pytest.raises(ValueError, match="'s'.*no finite support"):
        enumerate_site(msg_for(dist.Normal(0.0, 1.0)))
    with pytest.raises(ValueError, match="'s'.*Monte Carlo"):
        enumerate_site(msg_for(dist.Bernoulli(0.5), num_samples=10))


def test_downstream_sites_record_which_variable_each_dim_holds():
    def chain():
        x = torch.tensor(0)
        for t in pyro.markov(range(4)):
            x = pyro.sample(f"x{t}", dist.Categorical(torch.tensor([[0.9, 0.1], [0.2, 0.8]])[x]),
                            infer={"enumerate": "parallel"})
            pyro.sample(f"y{t}", dist.Normal(x.float(), 1.0), obs=torch.tensor(0.0))

    tr = poutine.trace(poutine.enum(chain, first_available_dim=-1)).get_trace()
    # dims are recycled (x0 and x2 share one), the ids are not
    dims = [tr.nodes[f"x{t}"]["infer"]["_enumerate_dim"] for t in range(4)]
    assert dims[0] == dims[2] and dims[1] == dims[3] and dims[0] != dims[1]
    for t in range(4):
        x_id = tr.nodes[f"x{t}"]["infer"]["_dim_to_id"][dims[t]]
        assert tr.nodes[f"y{t}"]["infer"]["_dim_to_id"][dims[t]] == x_id
    assert len({tr.nodes[f"x{t}"]["infer"]["_dim_to_id"][dims[t]] for t in range(4)}) == 4
