"""A constrained parameter value's ``unconstrained()`` accessor: the leaf's own weak
reference is shared by every read (no new object per read), it gives the current leaf,
and a leaf registered anew (``__setitem__``, ``set_state``) gets a fresh reference."""
import torch
from torch.distributions import constraints

import pyro
from pyro.params.param_store import WeakTensorRef


def test_reads_share_the_leafs_reference():
    pyro.clear_param_store()
    a = pyro.param("a", torch.tensor([1.0, 2.0]), constraint=constraints.positive)
    b = pyro.param("a")
    leaf = pyro.get_param_store().get_unconstrained("a")
    assert a is not b
    assert a.unconstrained is b.unconstrained is leaf.unconstrained
    assert type(a.unconstrained) is WeakTensorRef
    assert a.unconstrained() is leaf
    assert torch.allclose(a, leaf.exp())


def test_a_leaf_registered_anew_gets_a_fresh_reference():
    pyro.clear_param_store()
    store = pyro.get_param_store()
    old = pyro.param("s", torch.tensor(0.5), constraint=constraints.unit_interval)
    store["s"] = torch.tensor(0.25)
    new = pyro.param("s")
    assert new.unconstrained() is store.get_unconstrained("s")
    assert old.unconstrained() is not new.unconstrained()
    state = store.get_state()
    store.set_state({"params": {"s": state["params"]["s"].detach().clone()},
                     "constraints": state["constraints"]})
    again = pyro.param("s")
    assert again.unconstrained() is store.get_unconstrained("s")
    assert torch.allclose(again, torch.tensor(0.25))


def test_a_replaced_self_reference_is_not_shared():
    pyro.clear_param_store()
    pyro.param("c", torch.tensor(2.0), constraint=constraints.positive)
    leaf = pyro.get_param_store().get_unconstrained("c")
    leaf.unconstrained = "not a reference"  # (a user's attribute): a new link is made
    value = pyro.param("c")
    assert type(value.unconstrained) is WeakTensorRef and value.unconstrained() is leaf
