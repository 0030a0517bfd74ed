"""Backend-generic Pyro programs through the `pyro-api <https://github.com/pyro-ppl/pyro-api>`_
package: models written against ``pyro.generic.pyro``, ``distributions``, ``handlers``,
``infer``, ``optim`` and ``ops`` run on any registered backend (``"pyro"`` is this
project; ``"numpyro"``, ``"funsor"``, ... where installed), chosen with
:func:`pyro_backend`.

Example::

    from pyro.generic import distributions as dist, infer, ops, optim, pyro, pyro_backend

    def model():
        loc = pyro.param("loc", ops.tensor(0.0))
        pyro.sample("x", dist.Normal(loc, 1.0), obs=ops.tensor(1.0))

    with pyro_backend("pyro"):
        svi = infer.SVI(model, lambda: None, optim.Adam({"lr": 0.1}), infer.Trace_ELBO())
        svi.step()

Needs pyro-api (``pip install pyro-core[generic]`` or ``pip install pyro-api``).
"""
try:
    from pyroapi import (
        distributions,
        handlers,
        infer,
        ops,
        optim,
        pyro,
        pyro_backend,
        register_backend,
    )
except ImportError as e:
    if e.name != "pyroapi":
        raise
    raise ImportError(
        "pyro.generic needs the pyro-api package: pip install pyro-core[generic] "
        "(or: pip install pyro-api)"
    ) from None

__all__ = [
    "distributions",
    "handlers",
    "infer",
    "ops",
    "optim",
    "pyro",
    "pyro_backend",
    "register_backend",
]
