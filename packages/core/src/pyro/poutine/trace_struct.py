"""The :class:`Trace`: an ordered record of the sites of one execution."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Dict, Iterator, List, Optional

import torch

from ..primitive_distributions import ScoreParts, scale_and_mask, score_parts_of
from ..util import is_validation_enabled, warn_if_inf, warn_if_nan
from .util import site_is_subsample

SiteFilter = Callable[[str, Dict[str, Any]], bool]


def _allow_all(name, site):
    return True


class Trace(Mapping):
    """An ordered mapping of site name -> site (a dict with the keys of
    :class:`~pyro.poutine.runtime.Message` plus the log densities once computed).

    ``trace.nodes`` is the same dict (Pyro's spelling). Besides sample and param sites,
    traces made by :func:`~pyro.poutine.trace` hold an ``"_INPUT"`` node (type ``"args"``)
    and a ``"_RETURN"`` node (type ``"return"``).
    """

    __slots__ = ("nodes", "graph_type")

    def __init__(self, graph_type: str = "flat") -> None:
        if graph_type not in ("flat", "dense"):
            raise ValueError(f"graph_type must be 'flat' or 'dense', got {graph_type!r}")
        self.nodes: Dict[str, Dict[str, Any]] = {}
        self.graph_type = graph_type

    # ----------------------------------------------------------- mapping API

    def __getitem__(self, name: str) -> Dict[str, Any]:
        return self.nodes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, name: object) -> bool:
        return name in self.nodes

    def __repr__(self) -> str:
        return f"Trace({list(self.nodes)})"

    def add_node(self, site_name: str, **kwargs: Any) -> None:
        """Add a site. A second sample site with one name is an error: names identify
        sites across model and guide, so each must be unique."""
        old = self.nodes.get(site_name)
        if old is not None and (old["type"] == "sample" or kwargs.get("type") == "sample"):
            raise RuntimeError(
                f"Multiple {kwargs.get('type')} sites named {site_name!r}: each site needs a "
                f"unique name. Inside a loop or a sequential plate, include the index, e.g. "
                f"pyro.sample(f'{site_name}_{{i}}', ...)"
            )
        self.nodes[site_name] = kwargs

    def remove_node(self, site_name: str) -> None:
        del self.nodes[site_name]

    def copy(self) -> "Trace":
        """A shallow copy: a new node dict whose sites are new dicts sharing the values."""
        new = Trace(self.graph_type)
        new.nodes = {name: site.copy() for name, site in self.nodes.items()}
        return new

    def detach_(self) -> "Trace":
        """Detach every site value in place (``value.detach()``)."""
        for site in self.nodes.values():
            v = site.get("value")
            if isinstance(v, torch.Tensor):
                site["value"] = v.detach()
        return self

    # ----------------------------------------------------------- log densities

    def _sample_sites(self, site_filter: SiteFilter):
        for name, site in self.nodes.items():
            if site["type"] == "sample" and site_filter(name, site) and not site_is_subsample(site):
                yield name, site

    def log_prob_sum(self, site_filter: SiteFilter = _allow_all) -> torch.Tensor:
        """The sum over sample sites of their scaled and masked log densities (a scalar).
        Uses the per-site ``log_prob`` cached by :meth:`compute_log_prob` when present."""
        total = 0.0
        for name, site in self._sample_sites(site_filter):
            if "log_prob_sum" in site:
                term = site["log_prob_sum"]
            else:
                try:
                    lp = site["fn"].log_prob(site["value"], *site["args"], **site["kwargs"])
                except ValueError as e:
                    raise _site_error(name, site, e) from e
                term = scale_and_mask(lp, site["scale"], site["mask"]).sum()
                site["log_prob_sum"] = term
            total = total + term
        if not isinstance(total, torch.Tensor):
            total = torch.tensor(float(total))
        elif is_validation_enabled():
            self._check_finite(total, site_filter)
        return total

    def _check_finite(self, total: torch.Tensor, site_filter: SiteFilter) -> None:
        # One check of the sum; the sites are examined only when it is NaN or +inf
        # (-inf is a legitimate zero-probability value).
        if bool(torch.isnan(total)) or bool(total == float("inf")):
            for name, site in self._sample_sites(site_filter):
                term = site.get("log_prob_sum")
                if term is not None:
                    warn_if_nan(term, f"log_prob_sum at site {name!r}")
                    warn_if_inf(term, f"log_prob_sum at site {name!r}", allow_neginf=True)

    def compute_log_prob(self, site_filter: SiteFilter = _allow_all) -> None:
        """Compute and cache on each sample site ``unscaled_log_prob`` (shape
        ``batch_shape``), ``log_prob`` (scaled and masked) and ``log_prob_sum``."""
        for name, site in self._sample_sites(site_filter):
            if "log_prob" in site:
                continue
            try:
                lp = site["fn"].log_prob(site["value"], *site["args"], **site["kwargs"])
            except ValueError as e:
                raise _site_error(name, site, e) from e
            site["unscaled_log_prob"] = lp
            lp = scale_and_mask(lp, site["scale"], site["mask"])
            site["log_prob"] = lp
            site["log_prob_sum"] = lp.sum()

    def compute_score_parts(self) -> None:
        """Compute ``score_parts`` (log_prob, score_function, entropy_term), scaled and
        masked, for each non-subsample sample site, plus the keys of
        :meth:`compute_log_prob`. Plain torch distributions get the reparameterized /
        score-function split from ``has_rsample``."""
        for name, site in self._sample_sites(_allow_all):
            if "score_parts" in site:
                continue
            try:
                parts = score_parts_of(site["fn"], site["value"])
            except ValueError as e:
                raise _site_error(name, site, e) from e
            site["unscaled_log_prob"] = parts.log_prob
            parts = ScoreParts(*parts).scale_and_mask(site["scale"], site["mask"])
            site["score_parts"] = parts
            site["log_prob"] = parts.log_prob
            site["log_prob_sum"] = parts.log_prob.sum()

    # ------------------------------------------------------------ node views

    @property
    def param_nodes(self) -> List[str]:
        return [n for n, s in self.nodes.items() if s["type"] == "param"]

    @property
    def stochastic_nodes(self) -> List[str]:
        """Latent (unobserved) sample sites, plate subsample sites excluded."""
        return [n for n, s in self.nodes.items()
                if s["type"] == "sample" and not s["is_observed"] and not site_is_subsample(s)]

    @property
    def observation_nodes(self) -> List[str]:
        return [n for n, s in self.nodes.items() if s["type"] == "sample" and s["is_observed"]]

    @property
    def reparameterized_nodes(self) -> List[str]:
        return [n for n in self.stochastic_nodes
                if getattr(self.nodes[n]["fn"], "has_rsample", False)]

    @property
    def nonreparam_stochastic_nodes(self) -> List[str]:
        return [n for n in self.stochastic_nodes
                if not getattr(self.nodes[n]["fn"], "has_rsample", False)]

    def iter_stochastic_nodes(self):
        """Iterate over ``(name, site)`` of latent sample sites."""
        for name in self.stochastic_nodes:
            yield name, self.nodes[name]

    # ------------------------------------------------------------- display

    def format_shapes(self, title: str = "Trace Shapes:", last_site: Optional[str] = None) -> str:
        """A table of each site's batch and event shapes (and log-prob shapes when
        computed), for debugging shape errors."""
        rows = [[title, "", ""], ["Param Sites:", "", ""]]
        for name, site in self.nodes.items():
            if site["type"] == "param":
                rows.append([name, " ".join(map(str, site["value"].shape)), ""])
            if name == last_site:
                break
        rows.append(["Sample Sites:", "", ""])
        for name, site in self.nodes.items():
            if site["type"] != "sample":
                continue
            fn = site["fn"]
            batch = getattr(fn, "batch_shape", ())
            event = getattr(fn, "event_shape", ())
            rows.append([f"{name} dist", " ".join(map(str, batch)) + " |",
                         " ".join(map(str, event))])
            value = site["value"]
            if isinstance(value, torch.Tensor):
                cut = value.dim() - len(event)
                rows.append(["value", " ".join(map(str, value.shape[:cut])) + " |",
                             " ".join(map(str, value.shape[cut:]))])
            if "log_prob" in site:
                rows.append(["log_prob", " ".join(map(str, site["log_prob"].shape)) + " |", ""])
            if name == last_site:
                break
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        return "\n".join(
            f"{r[0].rjust(widths[0])} {r[1].rjust(widths[1])} {r[2].ljust(widths[2])}".rstrip()
            for r in rows
        )


def _site_error(name: str, site: Dict[str, Any], err: Exception) -> ValueError:
    fn = site["fn"]
    value = site["value"]
    shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
    return ValueError(
        f"Error computing log_prob at site {name!r} ({type(fn).__name__} with batch_shape "
        f"{tuple(getattr(fn, 'batch_shape', ()))}, event_shape "
        f"{tuple(getattr(fn, 'event_shape', ()))}, value shape {shape}): {err}"
    )
