"""A scripted synthetic headset: known states, injected artifacts and faults.

A scenario file (``pipelines/scenarios/*.toml``) scripts a headset's mental
state, its artifacts and its transport faults; :func:`simulate` turns it into
samples and ground truth, :class:`ScenarioSource` feeds it to the engine or a
live session (:func:`run_scenario` runs it through the engine, its script
beside the estimates), :class:`LSLPublisher` publishes it as a real LSL stream
with a ground-truth marker stream. See ``docs/scenarios.md``.
"""

from ._generator import channel_regions, simulate
from ._lsl import LSLPublisher
from ._plot import plot_truth
from ._scenario import EVENT_KINDS, STATES, Scenario, list_scenarios, read_scenario
from ._simulation import Simulation
from ._source import ScenarioSource, count_missing_packets
from ._truth import ScenarioRun, run_scenario, write_truth

__all__ = [
    "EVENT_KINDS",
    "LSLPublisher",
    "STATES",
    "Scenario",
    "ScenarioRun",
    "ScenarioSource",
    "Simulation",
    "channel_regions",
    "count_missing_packets",
    "list_scenarios",
    "plot_truth",
    "read_scenario",
    "run_scenario",
    "simulate",
    "write_truth",
]
