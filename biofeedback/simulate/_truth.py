"""The ground truth: written as a table, and set beside the live engine's output."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .._outputs import atomic_output

__all__ = ["ScenarioRun", "run_scenario", "write_truth"]


def write_truth(truth: dict, fname) -> Path:
    """Write a truth table (see :meth:`Simulation.truth_table`) as CSV.

    Columns: ``time`` (s, recording clock), one level (0-1) per scripted
    state, ``events`` (";"-joined kinds active at that time, empty if none).
    Written to a temporary file moved into place once whole.
    """
    fname = Path(fname)
    names = [k for k in truth if k not in ("time", "events")]
    with atomic_output(fname) as tmp, open(tmp, "w", newline="") as fid:
        writer = csv.writer(fid)
        writer.writerow(["time", *names, "events"])
        for i, t in enumerate(truth["time"]):
            writer.writerow(
                [f"{t:.3f}", *(f"{truth[n][i]:.4f}" for n in names), truth["events"][i]]
            )
    return fname


@dataclass
class ScenarioRun:
    """A scenario's delivered chunks through the live engine (see :func:`run_scenario`).

    Attributes
    ----------
    source : ScenarioSource
        The source, read to its end (its ``simulation`` holds the script).
    engine : Engine
    output : EngineOutput
        Every window the engine gave.
    events : list of SourceEvent
        What the source reported (drops, disconnects, truth markers).
    """

    source: object
    engine: object
    output: object
    events: list = field(default_factory=list)

    def levels(self):
        """Scripted level of every state at the centre of each window.

        Returns
        -------
        levels : ndarray, shape (n_states, n_windows)
            Rows in the order of ``source.simulation.state_names``.
        """
        half = self.engine.win_len / self.source.sfreq / 2.0
        return self.source.simulation.level_at(self.output.t_end - self.source.t0 - half)


def run_scenario(scenario, config=None, *, chunk_duration: float = 0.25) -> ScenarioRun:
    """Run a scenario through the live engine as fast as it computes.

    The :class:`ScenarioSource` delivers the scenario's chunks (with its
    faults: losses, gaps, disconnects) and each goes through
    :meth:`biofeedback.engine.Engine.process`, as in a live session.

    Parameters
    ----------
    scenario : str | path-like | Scenario
        A shipped scenario's name, a scenario file or a scenario.
    config : PipelineConfig | None
        The pipeline (None: the default one).
    chunk_duration : float
        Seconds per chunk.

    Returns
    -------
    run : ScenarioRun

    Examples
    --------
    >>> from biofeedback.simulate import run_scenario
    >>> run = run_scenario("demo")  # doctest: +SKIP
    >>> run.levels().shape[1] == len(run.output.t_end)  # doctest: +SKIP
    True
    """
    from ..config import load_pipeline
    from ..engine import Engine, EngineOutput
    from ._source import ScenarioSource

    config = load_pipeline() if config is None else config
    src = ScenarioSource(scenario, realtime=False, chunk_duration=chunk_duration)
    engine = Engine(config, src.ch_names, src.sfreq, src.profile)
    results, events = [], []
    with src:
        for chunk, ev in src.iter_chunks():
            events += ev
            if chunk is not None:
                results += engine.process(chunk.data, chunk.timestamps)
    return ScenarioRun(src, engine, EngineOutput.from_results(results, engine), events)
