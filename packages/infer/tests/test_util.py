"""pyro.infer.util helpers."""
import torch

from pyro.infer.util import MultiFrameTensor, torch_item, zero_grads
from pyro.poutine.indep_messenger import CondIndepStackFrame

A = CondIndepStackFrame("a", -1, 3, 0, 3)
B = CondIndepStackFrame("b", -2, 2, 0, 2)


def test_multi_frame_tensor_sums_down_to_target_plates():
    g = torch.tensor(1.0)
    la = torch.tensor([1.0, 2.0, 3.0])
    lab = torch.arange(6.0).reshape(2, 3)
    mft = MultiFrameTensor((frozenset(), g), (frozenset([A]), la), (frozenset([A, B]), lab))
    # to plate a: global + own a-slice + sum over b of the ab terms
    assert torch.equal(mft.sum_to([A]), 1.0 + la + lab.sum(0))
    # to no plate: everything summed
    assert mft.sum_to([]).item() == 1.0 + 6.0 + 15.0
    mft.add((frozenset(), torch.tensor(2.0)))
    assert mft[frozenset()].item() == 3.0


def test_small_helpers():
    assert torch_item(torch.tensor(2.5)) == 2.5 and torch_item(3) == 3
    p = torch.ones(2, requires_grad=True)
    (p * 2).sum().backward()
    zero_grads([p])
    assert p.grad is None
