"""The ``pyro`` command line: ``pyro fit`` (the main job) and ``pyro plugins``.

``pyro fit MODEL.py --algo NAME`` loads a model file, runs the fitting recipe (runner)
registered as NAME by a plugin (pyro-infer provides ``svi``, ``nuts``, ``hmc``,
``importance`` and ``search``), and prints a posterior summary of every latent site.

A model file is a Python file defining:

- ``model``: a function ``model(**data)`` built from ``pyro.sample`` / ``pyro.plate``;
  observed sites use ``obs=`` with arrays taken from ``data``.
- ``data``: a dict of keyword arguments for ``model`` (or a function returning one).
- optionally ``guide``: a guide function ``guide(**data)``, used by ``--algo svi`` unless
  ``--guide`` names an autoguide (``--guide NAME`` may also name another function of the
  file).

Every argument is checked before anything is fitted; errors are one ``pyro: error:`` line.
SVI trains in a fresh parameter store. With no model file, ``pyro fit`` fits the bundled
eight-schools example.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import runpy
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

import torch

from .atomic_file import atomic_write
from .plugins import format_plugins, get_registry


def bundled_example() -> str:
    """The eight-schools model file, shipped in pyro-core as ``pyro/examples/`` (the
    repository's ``examples/`` links there)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "examples", "eight_schools.py")
    if os.path.isfile(path):
        return path
    raise CLIError(
        "the bundled eight-schools example is missing from this installation; "
        "give a model file: pyro fit MODEL.py"
    )


class CLIError(Exception):
    """A usage error reported as one line by the CLI."""


def load_model_file(path: str) -> tuple[Callable, dict[str, Any]]:
    """Run the model file at ``path`` and return its ``model`` and ``data``.

    :raises CLIError: if the file is missing or does not define them.
    """
    namespace = load_model_namespace(path)
    return namespace["model"], namespace["data"]


def _flatten(name: str, draws: torch.Tensor, event_ndim: int) -> list[tuple[str, torch.Tensor]]:
    # draws: (num_chains, num_draws) + shape; one row per scalar element
    shape = draws.shape[2:]
    if not shape:
        return [(name, draws)]
    flat = draws.reshape(draws.shape[:2] + (-1,))
    rows = []
    for i in range(flat.shape[-1]):
        index = []
        rest = i
        for size in reversed(shape):
            index.append(rest % size)
            rest //= size
        rows.append((f"{name}[{','.join(map(str, reversed(index)))}]", flat[..., i]))
    return rows


def summary_rows(
    samples: dict[str, torch.Tensor], group_by_chain: bool = False, prob: float = 0.9
) -> list[dict[str, Any]]:
    """Per scalar element of every site: mean, std, the ``(1-prob)/2``, 50% and
    ``(1+prob)/2`` quantiles, and with several draws per chain n_eff and r_hat.

    :param samples: site -> tensor of draws, shape ``(num_draws,) + site_shape`` or, with
        ``group_by_chain``, ``(num_chains, num_draws) + site_shape``.
    """
    from .ops import stats
    lo, hi = (1 - prob) / 2, (1 + prob) / 2
    rows = []
    for name, value in samples.items():
        value = torch.as_tensor(value).detach().double()
        if not group_by_chain:
            value = value.unsqueeze(0)
        for label, x in _flatten(name, value, 0):
            pooled = x.reshape(-1)
            q = torch.quantile(pooled, torch.tensor([lo, 0.5, hi], dtype=pooled.dtype))
            row = {
                "site": label,
                "mean": pooled.mean().item(),
                "std": pooled.std().item() if pooled.numel() > 1 else 0.0,
                "lo": q[0].item(),
                "median": q[1].item(),
                "hi": q[2].item(),
            }
            if group_by_chain and x.shape[1] >= 4:
                row["n_eff"] = float(stats.effective_sample_size(x))
                row["r_hat"] = float(stats.split_gelman_rubin(x))
            rows.append(row)
    return rows


def format_summary(rows: list[dict[str, Any]], prob: float = 0.9) -> str:
    """The summary table of :func:`summary_rows` as text."""
    lo, hi = 100 * (1 - prob) / 2, 100 * (1 + prob) / 2
    cols = [
        ("mean", "mean"),
        ("std", "std"),
        ("lo", f"{lo:g}%"),
        ("median", "50%"),
        ("hi", f"{hi:g}%"),
    ]
    if rows and "n_eff" in rows[0]:
        cols += [("n_eff", "n_eff"), ("r_hat", "r_hat")]
    width = max([len("site")] + [len(r["site"]) for r in rows])
    lines = [" " * width + "".join(f"{title:>10}" for _, title in cols)]
    for r in rows:
        cells = []
        for key, _ in cols:
            v = r.get(key, math.nan)
            cells.append(f"{v:>10.2f}")
        lines.append(f"{r['site']:>{width}}" + "".join(cells))
    return "\n".join(lines)


OUT_EXTENSIONS = (".pt", ".npz", ".csv", ".nc")
PLOT_EXTENSIONS = (".png", ".pdf", ".svg", ".jpg", ".jpeg")


def _write_samples(samples: dict[str, torch.Tensor], path: str,
                   group_by_chain: bool = False) -> None:
    import numpy as np

    ext = _check_out_path(path)
    tensors = {k: torch.as_tensor(v).detach().cpu() for k, v in samples.items()}
    if ext == ".nc":
        idata = to_inference_data(tensors, group_by_chain)
        with tempfile.TemporaryDirectory() as tmp:  # netCDF writers want a path
            staged = os.path.join(tmp, "samples.nc")
            idata.to_netcdf(staged)
            with open(staged, "rb") as src, atomic_write(path) as f:
                shutil.copyfileobj(src, f)
        return
    with atomic_write(path) as f:
        if ext == ".pt":
            torch.save(tensors, f)
        elif ext == ".npz":
            # numpy's stub types **kwds as if a key could be ``allow_pickle``
            arrays: dict[str, Any] = {k: v.numpy() for k, v in tensors.items()}
            np.savez(f, **arrays)
        else:
            columns = []
            for name, v in tensors.items():
                if group_by_chain:
                    v = v.flatten(0, 1)
                columns += _flatten(name, v.unsqueeze(0), 0)
            header = ",".join(label for label, _ in columns)
            table = np.stack([x.reshape(-1).numpy() for _, x in columns], axis=1)
            np.savetxt(f, table, delimiter=",", header=header, comments="")


def to_inference_data(samples: dict[str, torch.Tensor], group_by_chain: bool = False) -> Any:
    """The samples as an ``arviz.InferenceData`` with a posterior group (dims ``chain,
    draw, ...``; one chain unless ``group_by_chain``).

    :raises CLIError: naming arviz, when it is not installed.
    """
    try:
        import arviz
    except ImportError:
        raise CLIError("ArviZ output needs arviz: pip install 'pyro-infer[arviz]'") from None
    posterior = {}
    for name, v in samples.items():
        v = torch.as_tensor(v).detach().cpu()
        posterior[name] = (v if group_by_chain else v.unsqueeze(0)).numpy()
    return arviz.from_dict(posterior=posterior)


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CLIError("--plot needs matplotlib: pip install 'pyro-core[plot]'") from None
    return plt


def plot_samples(samples: dict[str, torch.Tensor], group_by_chain: bool = False,
                 path: str | None = None, max_rows: int = 40) -> Any:
    """One row per scalar element (the first ``max_rows``): its trace plot (draw index
    against value, one line per chain) and its marginal histogram. Written to ``path``
    (the format from its extension) when given.

    :returns: the matplotlib figure (closed when written to ``path``).
    """
    plt = _pyplot()
    rows = []
    for name, v in samples.items():
        v = torch.as_tensor(v).detach().double().cpu()
        rows += _flatten(name, v if group_by_chain else v.unsqueeze(0), 0)
    rows = rows[:max_rows]
    n = max(1, len(rows))
    fig, axes = plt.subplots(n, 2, figsize=(9, 1.4 * n + 0.6), squeeze=False,
                             gridspec_kw={"width_ratios": [2, 1]})
    for (trace_ax, hist_ax), (label, x) in zip(axes, rows):
        for chain in x:  # x: (num_chains, num_draws)
            trace_ax.plot(chain.numpy(), lw=0.6)
        trace_ax.set_ylabel(label, rotation=0, ha="right", va="center")
        hist_ax.hist(x.reshape(-1).numpy(), bins=40, density=True, color="#4C72B0")
        hist_ax.set_yticks([])
    axes[0, 0].set_title("trace")
    axes[0, 1].set_title("marginal")
    axes[-1, 0].set_xlabel("draw")
    fig.tight_layout()
    if path is not None:
        fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"
        try:
            with atomic_write(path) as f:
                fig.savefig(f, format="jpeg" if fmt == "jpg" else fmt)
        finally:
            plt.close(fig)
    return fig


def _check_writable(option: str, path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CLIError(f"{option} {path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise CLIError(f"{option} {path}: directory {directory} is not writable")
    if os.path.isdir(path):
        raise CLIError(f"{option} {path} is a directory; give a file name")


def _check_out_path(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in OUT_EXTENSIONS:
        raise CLIError(f"--out {path}: use a .pt, .npz or .csv file name, or .nc for ArviZ "
                       f"netCDF")
    if ext == ".nc" and importlib.util.find_spec("arviz") is None:
        raise CLIError(f"--out {path}: netCDF output needs arviz: pip install "
                       f"'pyro-infer[arviz]'")
    return ext


def _is_elbo_class(obj: Any) -> bool:
    return isinstance(obj, type) and any(c.__name__ == "ELBO" for c in obj.__mro__[1:])


def check_fit_args(args: argparse.Namespace) -> None:
    """Check every ``pyro fit`` argument before anything is loaded or fitted.

    :raises CLIError: naming the argument, its value and what is allowed.
    """
    def at_least(option: str, value: float | None, low: float) -> None:
        if value is not None and not value >= low:
            raise CLIError(f"{option} must be at least {low:g}, got {value}")

    at_least("--num-steps", args.num_steps, 1)
    at_least("--num-samples", args.num_samples, 1)
    at_least("--warmup-steps", args.warmup_steps, 0)
    at_least("--num-chains", args.num_chains, 1)
    at_least("--num-particles", args.num_particles, 1)
    at_least("--threads", args.threads, 1)
    if args.lr is not None and not (math.isfinite(args.lr) and args.lr > 0):
        raise CLIError(f"--lr must be a positive number, got {args.lr}")
    if not 0 < args.prob < 1:
        raise CLIError(f"--prob must be between 0 and 1, got {args.prob}")
    runners = get_registry("runners")
    if args.algo not in runners:
        installed = ", ".join(sorted(runners)) or "none"
        raise CLIError(
            f"no fitting recipe named {args.algo!r} (installed: {installed}); "
            f"pyro-infer provides svi, nuts, hmc, importance and search, and plugins add more"
        )
    if args.loss is not None:
        if args.algo != "svi":
            raise CLIError(f"--loss applies to --algo svi, not {args.algo}")
        inference = get_registry("inference")
        if args.loss not in inference or not _is_elbo_class(inference.get(args.loss)):
            names = sorted(n for n in inference if _is_elbo_class(inference.get(n)))
            raise CLIError(f"--loss {args.loss}: not an ELBO; use one of {', '.join(names)}")
    if args.num_particles is not None and args.algo != "svi":
        raise CLIError(f"--num-particles applies to --algo svi, not {args.algo}")
    if args.guide is not None and args.algo not in ("svi", "importance"):
        raise CLIError(f"--guide applies to --algo svi or importance, not {args.algo}")
    if args.out:
        _check_out_path(args.out)
        _check_writable("--out", args.out)
    if args.plot:
        if os.path.splitext(args.plot)[1].lower() not in PLOT_EXTENSIONS:
            raise CLIError(f"--plot {args.plot}: use a .png, .pdf, .svg or .jpg file name")
        _check_writable("--plot", args.plot)
        _pyplot()
    if args.model is not None and not os.path.isfile(args.model):
        raise CLIError(f"model file {args.model!r} not found")


def _resolve_guide(args: argparse.Namespace, namespace: dict[str, Any], path: str) -> Any:
    """The guide option for the runner: a function of the model file, an autoguide name,
    or ``None`` (the runner's default)."""
    name = args.guide
    if name is None:
        file_guide = namespace.get("guide")
        return file_guide if callable(file_guide) and args.algo == "svi" else None
    autoguides = get_registry("autoguides")
    if callable(namespace.get(name)) and name not in autoguides:
        return namespace[name]
    if args.algo == "importance":
        raise CLIError(f"--guide {name}: importance takes a guide function defined in {path}")
    if name not in autoguides:
        names = ", ".join(sorted(autoguides)) or "none (install pyro-autoguide)"
        raise CLIError(f"--guide {name}: neither an autoguide ({names}) nor a function "
                       f"defined in {path}")
    return name


_SKIP = object()


def _jsonable(value: Any) -> Any:
    """``value`` as JSON data (numbers, strings, small lists, dicts), or ``_SKIP``."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, dict):
        out = {str(k): _jsonable(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not _SKIP}
    if isinstance(value, (list, tuple)) and len(value) <= 1000:
        items = [_jsonable(v) for v in value]
        return _SKIP if any(v is _SKIP for v in items) else items
    return _SKIP


def _abridge(rows: list[dict[str, Any]], keep: int = 10, limit: int = 25
             ) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The rows to print: all rows of a site with at most ``limit`` elements, the first
    ``keep`` of a larger one (a VAE's per-image codes); and the count left out per site."""
    per_site: dict[str, int] = {}
    for r in rows:
        site = r["site"].split("[")[0]
        per_site[site] = per_site.get(site, 0) + 1
    shown: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for r in rows:
        site = r["site"].split("[")[0]
        seen[site] = seen.get(site, 0) + 1
        if per_site[site] <= limit or seen[site] <= keep:
            shown.append(r)
    hidden = {s: n - keep for s, n in per_site.items() if n > limit}
    return shown, hidden


def load_model_namespace(path: str) -> dict[str, Any]:
    """Run the model file at ``path``: its namespace, with ``model`` checked and ``data``
    made a dict (see :func:`load_model_file`).

    :raises CLIError: if the file is missing or does not define them.
    """
    if not os.path.isfile(path):
        raise CLIError(f"model file {path!r} not found")
    namespace = runpy.run_path(path, run_name="__pyro_model__")
    model, data = namespace.get("model"), namespace.get("data")
    if not callable(model):
        raise CLIError(f"{path} must define `model`, a function model(**data) using pyro.sample")
    if callable(data):
        data = data()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CLIError(
            f"{path}: `data` must be a dict of keyword arguments for model (or a "
            f"function returning one), got {type(data).__name__}"
        )
    namespace["data"] = data
    return namespace


def fit_command(args: argparse.Namespace) -> int:
    check_fit_args(args)
    path = args.model or bundled_example()
    namespace = load_model_namespace(path)
    model, data = namespace["model"], namespace["data"]
    runners = get_registry("runners")
    runner = runners[args.algo]  # check_fit_args made sure it is installed
    options = {
        "num_steps": args.num_steps,
        "num_samples": args.num_samples,
        "warmup_steps": args.warmup_steps,
        "num_chains": args.num_chains,
        "seed": args.seed,
        "lr": args.lr,
        "progress_bar": not (args.no_progress or args.json),
        "loss": args.loss,
        "num_particles": args.num_particles,
        "guide": _resolve_guide(args, namespace, path),
    }
    options = {k: v for k, v in options.items() if v is not None}
    torch.set_num_threads(args.threads)
    try:
        result = runner(model, data, **options)
    except ValueError as e:
        raise CLIError(f"{args.algo} on {path}: {e}") from e
    if not isinstance(result, dict) or "samples" not in result:
        raise CLIError(
            f"runner {args.algo!r} ({runners.provider(args.algo)}) returned "
            f"{type(result).__name__}, not a dict with 'samples'"
        )
    samples = result["samples"]
    group_by_chain = bool(result.get("group_by_chain", False))
    rows = summary_rows(samples, group_by_chain, args.prob)
    if args.json:
        info = _jsonable({k: v for k, v in result.get("info", {}).items() if k != "losses"})
        print(json.dumps({"model": path, "algo": args.algo, "prob": args.prob,
                          "summary": rows, "info": info}))
    else:
        print(f"\n{os.path.basename(path)}: posterior summary ({args.algo})")
        shown, hidden = _abridge(rows)
        print(format_summary(shown, args.prob))
        for site, count in hidden.items():
            print(f"({site}: {count} more elements not shown; --out or --json has them all)")
    out = sys.stderr if args.json else sys.stdout
    if args.out:
        _write_samples(samples, args.out, group_by_chain)
        print(f"samples written to {args.out}", file=out)
    if args.plot:
        plot_samples(samples, group_by_chain, args.plot)
        print(f"plot written to {args.plot}", file=out)
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one ``pyro: error:`` line (raised as CLIError)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CLIError(message)


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pyro", description="Pyro: probabilistic programming on PyTorch"
    )
    sub = parser.add_subparsers(dest="command")
    fit = sub.add_parser(
        "fit",
        help="fit a model file and print a posterior summary",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument(
        "model", nargs="?", help="model file (default: the bundled eight-schools example)"
    )
    fit.add_argument(
        "--algo", default="svi",
        help="fitting recipe: svi, nuts, hmc, importance, search or a plugin's",
    )
    fit.add_argument("--loss", help="svi: the ELBO by name (default Trace_ELBO), e.g. "
                     "TraceEnum_ELBO, TraceMeanField_ELBO, RenyiELBO")
    fit.add_argument("--guide", help="svi: an autoguide by name (default AutoNormal, or the "
                     "model file's `guide` when it defines one) or a guide function of the file")
    fit.add_argument("--num-particles", type=int, help="svi: ELBO particles (default 1)")
    fit.add_argument("--num-steps", type=int, help="optimization steps (svi)")
    fit.add_argument("--num-samples", type=int, help="posterior draws to report")
    fit.add_argument("--warmup-steps", type=int, help="MCMC warmup steps")
    fit.add_argument("--num-chains", type=int, help="MCMC chains")
    fit.add_argument("--lr", type=float, help="learning rate (svi)")
    fit.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    fit.add_argument("--prob", type=float, default=0.9, help="credible interval mass (default 0.9)")
    fit.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    fit.add_argument("--out", help="write posterior samples to a .pt, .npz, .csv or .nc "
                     "(ArviZ netCDF, needs arviz) file")
    fit.add_argument("--plot", help="write trace plots and marginal histograms to a .png, .pdf "
                     ".svg or .jpg file (needs matplotlib)")
    fit.add_argument("--json", action="store_true",
                     help="print the summary as one JSON object (messages go to stderr)")
    fit.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub.add_parser("plugins", help="list installed plugins and what each registers")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "fit":
            return fit_command(args)
        if args.command == "plugins":
            print(format_plugins())
            return 0
        parser.print_help()
        return 2
    except CLIError as e:
        print(f"pyro: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
