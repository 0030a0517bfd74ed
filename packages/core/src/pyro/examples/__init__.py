"""Real models on real data, each a model file for ``pyro fit`` (defining ``model`` and
``data``, some their own ``guide``) with its published reference value in its docstring
(``REFERENCE``), checked by ``packages/core/tests/test_examples.py``. The repository's
top-level ``examples/`` links to this folder; the data sets, with their sources and
licenses, are in ``data/`` (see ``data/README.md``).

=====================  ==========================================  ==========================
file                   model                                       ``pyro fit`` options
=====================  ==========================================  ==========================
eight_schools.py       hierarchical coaching effects (Rubin 1981)  ``--algo nuts`` or svi
baseball.py            partial pooling of batting averages         ``--algo nuts``
                       (Efron & Morris 1975)
coin.py                the coin of the intro slides (Beta-Bern.)   svi with its Beta guide
scale.py               the scale of the intro tutorial             svi with its Normal guide
linear_regression.py   Bayesian linear regression, diabetes data   svi or ``--algo nuts``
vae_digits.py          a VAE on the 8x8 digits                     svi with its encoder guide
rsa.py                 rational speech acts, nested Search         ``--algo search``
distributed_svi.py     data-parallel SVI (``torchrun``)            svi; see its docstring
=====================  ==========================================  ==========================
"""
