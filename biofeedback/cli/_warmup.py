"""``biofeedback warmup``: compile the numba kernels once, after installing."""

from __future__ import annotations

HELP = """\
Compile the signal-processing kernels (numba) once and cache them on disk, so
that the first live session, replay or training after installing starts at
once instead of waiting for the compiler. Every later run loads the cache.
Running it again is harmless and quick.

Examples:
  pip install . && biofeedback warmup
  biofeedback warmup --quiet
"""


def add_parser(sub):
    p = sub.add_parser("warmup", help="compile the numba kernels once after installing",
                       description=HELP)
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys
    import time

    t0 = time.perf_counter()
    if not args.quiet:
        print("Compiling the signal-processing kernels (once per installation, "
              "up to a minute)...", file=sys.stderr, flush=True)
    import dataclasses

    from ..config import load_pipeline
    from ..engine import Engine
    from ..features import FEATURES
    from ..hardware import get_profile

    profile = get_profile("synthetic")
    config = load_pipeline()
    config = config.replace(features=dataclasses.replace(config.features, names=tuple(FEATURES)))
    # the kernels' types do not depend on the board: one engine computing
    # every feature compiles what any board and pipeline use, live and in batch
    engine = Engine(config, profile.ch_names, profile.sfreq, profile)
    engine.warm_up(batch=True)
    # segments that are not whole Welch steps take the general batch kernel
    import numpy as np

    from ..features import FeatureSet

    odd = FeatureSet(dataclasses.replace(config.features, welch_overlap=0.3),
                     profile.ch_names, profile.sfreq, profile, n_times=engine.win_len)
    noise = np.random.default_rng(0).standard_normal((2, len(profile.ch_names), engine.win_len))
    odd.batch(noise * 1e-5, np.ones(noise.shape[:2], bool))
    from ..io._parse_kernels import warm_up as warm_up_parser

    warm_up_parser()  # the text-file parser
    from .._kernels._quality import channel_stats

    channel_stats(np.zeros((1, 2)), 1.0, 1.0)  # the readers' check of long recordings
    if not args.quiet:
        print(f"Ready in {time.perf_counter() - t0:.1f} s; later runs load the compiled "
              "kernels from the cache.", file=sys.stderr)
    return 0
