"""Markov chain Monte Carlo: the :class:`MCMC` driver and the :class:`HMC` and
:class:`NUTS` kernels (Hamiltonian Monte Carlo on the unconstrained latent space)."""
from .adaptation import ArrowheadMassMatrix, BlockMassMatrix, WarmupAdapter
from .api import MCMC, StreamingMCMC
from .hmc import HMC
from .mcmc_kernel import MCMCKernel
from .nuts import NUTS
from .rwkernel import RandomWalkKernel
from .util import initialize_model, print_summary, summary

__all__ = [
    "HMC",
    "MCMC",
    "NUTS",
    "RandomWalkKernel",
    "StreamingMCMC",
    "ArrowheadMassMatrix",
    "BlockMassMatrix",
    "MCMCKernel",
    "WarmupAdapter",
    "initialize_model",
    "print_summary",
    "summary",
]
