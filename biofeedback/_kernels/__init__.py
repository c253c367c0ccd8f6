"""numba kernels behind the signal layer, one module per job.

- :mod:`._welch`: Welch PSD as a matrix product (one window, live; many
  windows; any segment length);
- :mod:`._blocks`: batch Welch through shared step-long blocks;
- :mod:`._features`: band sums, spectral entropy, time-domain features;
- :mod:`._quality`: per-channel window statistics of the quality gates;
- :mod:`._iir`: the causal second-order-section filter.

Private: kernels trust their caller. They take C-contiguous float64 arrays of
the documented shapes; the public wrappers convert, check lengths and raise
``ValueError`` before a kernel runs. Every kernel is compiled lazily on first
use with ``cache=True`` so a second process loads machine code from disk.

Compile time is part of the user's first session, so the kernels are written
to compile fast: element loops instead of slice assignments (a slice
assignment costs numba seconds of compilation; a loop, milliseconds), one
array layout per argument (callers pass whole C-contiguous arrays and row
offsets, never views), so each kernel compiles one signature.
"""

from . import _welch
from ._blocks import welch_windows_blocks
from ._features import band_sums, spectral_entropy, time_features
from ._iir import sosfilt
from ._quality import window_stats
from ._welch import welch_rows, welch_update, welch_windows

__all__ = ["welch_rows", "welch_update", "welch_windows", "welch_windows_blocks",
           "band_sums", "spectral_entropy", "time_features", "window_stats", "sosfilt",
           "live_kernels", "live_kernels_cached"]


def live_kernels() -> tuple:
    """The kernels the default live engine calls, each compiled on its first run.

    ``benchmarks/bench_startup.py`` times each one's first compile; a test
    keeps this list equal to what the default engine's warm-up compiles.
    """
    return (sosfilt, window_stats, _welch._segments, _welch._periodograms_mean,
            _welch._slide, band_sums)


def live_kernels_cached() -> bool:
    """Whether every kernel of :func:`live_kernels` has an on-disk cache yet.

    False on the first run after installing (or with a new ``NUMBA_CACHE_DIR``),
    when a session should compile while its source connects. A cheap look
    for numba's index files; any doubt answers False.
    """
    import os

    try:
        return all(os.path.exists(k._cache._cache_file._index_path) for k in live_kernels())
    except Exception:  # noqa: BLE001 - numba internals moved: assume not cached
        return False
