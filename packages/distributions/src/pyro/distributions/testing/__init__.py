"""Tools to test distributions: goodness-of-fit tests of samplers (:mod:`.gof`), fakes
without reparameterized samplers (:mod:`.fakes`), naive and rejection samplers with
alternative gradient estimators (:mod:`.naive_dirichlet`, :mod:`.rejection_gamma`,
:mod:`.rejection_exponential`) and special functions (:mod:`.special`)."""

__all__ = ["fakes", "gof", "naive_dirichlet", "rejection_exponential", "rejection_gamma",
           "special"]
