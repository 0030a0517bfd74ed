"""The ``pyro`` command line: ``pyro fit`` (the main job) and ``pyro plugins``.

``pyro fit MODEL.py --algo NAME`` loads a model file, runs the fitting recipe (runner)
registered as NAME by a plugin (pyro-infer provides ``svi``, ``nuts``, ``hmc`` and
``importance``), and prints a posterior summary of every latent site.

A model file is a Python file defining:

- ``model``: a function ``model(**data)`` built from ``pyro.sample`` / ``pyro.plate``;
  observed sites use ``obs=`` with arrays taken from ``data``.
- ``data``: a dict of keyword arguments for ``model`` (or a function returning one).

With no model file, ``pyro fit`` fits the bundled eight-schools example.
"""

from __future__ import annotations

import argparse
import math
import os
import runpy
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

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


def load_model_file(path: str) -> Tuple[Callable, Dict[str, Any]]:
    """Run the model file at ``path`` and return its ``model`` and ``data``.

    :raises CLIError: if the file is missing or does not define them.
    """
    if not os.path.isfile(path):
        raise CLIError(f"model file {path!r} not found")
    namespace = runpy.run_path(path, run_name="__pyro_model__")
    model = namespace.get("model")
    data = namespace.get("data")
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
    return model, data


def _flatten(name: str, draws: torch.Tensor, event_ndim: int) -> List[Tuple[str, torch.Tensor]]:
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
    samples: Dict[str, torch.Tensor], group_by_chain: bool = False, prob: float = 0.9
) -> List[Dict[str, Any]]:
    """Per scalar element of every site: mean, std, the ``(1-prob)/2``, 50% and
    ``(1+prob)/2`` quantiles, and with several draws per chain n_eff and r_hat.

    :param samples: site -> tensor of draws, shape ``(num_draws,) + site_shape`` or, with
        ``group_by_chain``, ``(num_chains, num_draws) + site_shape``.
    """
    try:
        from .ops import stats
    except ImportError:  # pragma: no cover - stats ships with core
        stats = None
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
            if group_by_chain and stats is not None and x.shape[1] >= 4:
                row["n_eff"] = float(stats.effective_sample_size(x))
                row["r_hat"] = float(stats.split_gelman_rubin(x))
            rows.append(row)
    return rows


def format_summary(rows: List[Dict[str, Any]], prob: float = 0.9) -> str:
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


def _write_samples(samples: Dict[str, torch.Tensor], path: str) -> None:
    import numpy as np

    ext = os.path.splitext(path)[1].lower()
    if ext not in (".pt", ".npz", ".csv"):
        raise CLIError(f"--out {path}: use a .pt, .npz or .csv file name")
    tensors = {k: torch.as_tensor(v).detach().cpu() for k, v in samples.items()}
    with atomic_write(path) as f:
        if ext == ".pt":
            torch.save(tensors, f)
        elif ext == ".npz":
            np.savez(f, **{k: v.numpy() for k, v in tensors.items()})
        else:
            columns = []
            for name, v in tensors.items():
                columns += _flatten(name, v.unsqueeze(0), 0)
            header = ",".join(label for label, _ in columns)
            table = np.stack([x.reshape(-1).numpy() for _, x in columns], axis=1)
            np.savetxt(f, table, delimiter=",", header=header, comments="")


def _plot(samples: Dict[str, torch.Tensor], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CLIError("--plot needs matplotlib: pip install matplotlib") from None
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    rows = []
    for name, v in samples.items():
        rows += _flatten(name, torch.as_tensor(v).detach().double().unsqueeze(0), 0)
    n = len(rows)
    fig, axes = plt.subplots(n, 1, figsize=(6, 1.4 * n + 0.5), squeeze=False)
    try:
        for ax, (label, x) in zip(axes[:, 0], rows):
            ax.hist(x.reshape(-1).numpy(), bins=40, density=True, color="#4C72B0")
            ax.set_ylabel(label, rotation=0, ha="right", va="center")
            ax.set_yticks([])
        fig.tight_layout()
        with atomic_write(path) as f:
            fig.savefig(f, format=fmt)
    finally:
        plt.close(fig)


def fit_command(args: argparse.Namespace) -> int:
    path = args.model or bundled_example()
    model, data = load_model_file(path)
    runners = get_registry("runners")
    runner = runners.get(args.algo)
    if runner is None:
        installed = ", ".join(sorted(runners)) or "none"
        raise CLIError(
            f"no fitting recipe named {args.algo!r} (installed: {installed}); "
            f"pyro-infer provides svi, nuts, hmc and importance, and plugins add more"
        )
    options = {
        "num_steps": args.num_steps,
        "num_samples": args.num_samples,
        "warmup_steps": args.warmup_steps,
        "num_chains": args.num_chains,
        "seed": args.seed,
        "lr": args.lr,
        "progress_bar": not args.no_progress,
    }
    options = {k: v for k, v in options.items() if v is not None}
    torch.set_num_threads(args.threads)
    result = runner(model, data, **options)
    if not isinstance(result, dict) or "samples" not in result:
        raise CLIError(
            f"runner {args.algo!r} ({runners.provider(args.algo)}) returned "
            f"{type(result).__name__}, not a dict with 'samples'"
        )
    samples = result["samples"]
    group_by_chain = bool(result.get("group_by_chain", False))
    print(f"\n{os.path.basename(path)}: posterior summary ({args.algo})")
    print(format_summary(summary_rows(samples, group_by_chain, args.prob), args.prob))
    if args.out:
        _write_samples(samples, args.out)
        print(f"samples written to {args.out}")
    if args.plot:
        _plot(
            {
                k: torch.as_tensor(v).flatten(0, 1) if group_by_chain else v
                for k, v in samples.items()
            },
            args.plot,
        )
        print(f"plot written to {args.plot}")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
        "--algo", default="svi", help="fitting recipe: svi, nuts, hmc, importance or a plugin's"
    )
    fit.add_argument("--num-steps", type=int, help="optimization steps (svi)")
    fit.add_argument("--num-samples", type=int, help="posterior draws to report")
    fit.add_argument("--warmup-steps", type=int, help="MCMC warmup steps")
    fit.add_argument("--num-chains", type=int, help="MCMC chains")
    fit.add_argument("--lr", type=float, help="learning rate (svi)")
    fit.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    fit.add_argument("--prob", type=float, default=0.9, help="credible interval mass (default 0.9)")
    fit.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    fit.add_argument("--out", help="write posterior samples to a .pt, .npz or .csv file")
    fit.add_argument("--plot", help="write marginal histograms to an image file (needs matplotlib)")
    fit.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub.add_parser("plugins", help="list installed plugins and what each registers")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
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
