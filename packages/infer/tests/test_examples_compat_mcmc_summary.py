"""MCMC results laid out as Pyro lays them out: sites in sorted order (get_samples,
diagnostics, summary), and summary tables with Pyro's label column (Pyro's examples
lkj.py / neutra.py print mcmc.summary())."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import MCMC, NUTS
from pyro.infer.mcmc.util import format_summary


@pytest.mark.parametrize("name,shape,width", [
    ("a", (), 10),                 # short names: a 10-wide label column
    ("abcdefghi", (), 11),         # a scalar site's name gets two spaces before it
    ("abcdefghijklmnop", (), 18),
    ("ab", (12,), 10),             # 'ab[11]'
    ("abcdefgh", (2,), 11),        # 'abcdefgh[1]': components get no extra spaces
    ("L_omega", (3, 3), 12),       # 'L_omega[2,2]'
    ("abcdefghijkl", (2, 3), 17),
])
def test_summary_label_column_width(name, shape, width):
    torch.manual_seed(0)
    text = format_summary({name: torch.randn((2, 20) + shape)}, prob=0.9)
    header, first = text.splitlines()[:2]
    # 'mean' is right-aligned in a 10-wide column after the label column
    assert header.index("mean") == width + 6
    label = name if not shape else name + "[" + ",".join("0" * len(shape)) + "]"
    assert first[:width] == label.rjust(width)


def test_summary_mixed_sites_share_the_widest_label():
    torch.manual_seed(1)
    text = format_summary({"abcdefghijk": torch.randn(2, 20), "b": torch.randn(2, 20, 2)})
    lines = text.splitlines()
    assert lines[0].index("mean") == 13 + 6
    assert lines[1].startswith("  abcdefghijk ") and lines[2].startswith("         b[0] ")


def model():
    pyro.sample("zeta", dist.Normal(0.0, 1.0))
    pyro.sample("B", dist.Normal(0.0, 1.0).expand([2]).to_event(1))
    pyro.sample("alpha", dist.Normal(0.0, 1.0))


def test_mcmc_sites_in_sorted_order(capsys):
    pyro.set_rng_seed(0)
    mcmc = MCMC(NUTS(model), num_samples=8, warmup_steps=4, num_chains=2,
                disable_progbar=True)
    mcmc.run()
    expected = ["B", "alpha", "zeta"]  # str order, as Pyro: not the model's order
    assert list(mcmc.get_samples()) == expected
    assert list(mcmc.get_samples(group_by_chain=True)) == expected
    assert list(mcmc.diagnostics())[:3] == expected
    mcmc.summary()
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()
            if line.strip() and line.split()[0] in ("B[0]", "B[1]", "alpha", "zeta")]
    assert rows == ["B[0]", "B[1]", "alpha", "zeta"]
