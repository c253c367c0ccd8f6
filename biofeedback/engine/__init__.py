"""The engine: chunks and timestamps in, per-window estimates out.

The engine is pure and clock-agnostic: it never reads a clock, starts a thread
or touches a device. Live sessions, replay and batch training drive the same
object, so a replayed recording gives the estimates the live run gave.

Windows sit on a sample grid that starts at the first sample after a (re)start:
a window ends every ``hop`` samples once ``length`` samples are in. How the
samples were chunked never changes the output. A timestamp jump longer than
``preprocessing.gap_reset`` seconds restarts filters and windows, because the
samples on both sides of a gap do not belong to one signal.

The package's modules, one job each: ``_engine`` (the :class:`Engine` object:
its filters, gates, feature set, model and state), ``_prepare`` (what both
drivers share: segments between gaps, causal filtering, window ends, gates),
``_live`` (:meth:`Engine.process`, a window at a time), ``_batch``
(:meth:`Engine.process_batch`, stacks of windows), ``_model`` (class
probabilities, calibration, state filter; :class:`EngineModel`, what the
engine reads of a model), ``_span`` (:class:`IndexSpan`) and
``_results`` (:class:`WindowResult`, :class:`EngineOutput`).
"""

from ._engine import Engine
from ._model import (
    EngineModel,
    model_usable,  # noqa: F401  (training scores with the same rule)
)
from ._results import EngineOutput, WindowResult
from ._span import IndexSpan  # noqa: F401  (importable here, as before)

__all__ = ["Engine", "EngineModel", "WindowResult", "EngineOutput"]
