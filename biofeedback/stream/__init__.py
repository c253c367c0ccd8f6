"""Sources, ring buffer and clocks: how samples reach the engine."""

from ._lsl import LSLSource, eeg_outlet, estimates_outlet, marker_outlet
from ._replay import RecordingSource
from ._ringbuffer import RingBuffer
from ._source import Chunk, Source, SourceEvent

__all__ = [
    "Chunk",
    "LSLSource",
    "RecordingSource",
    "RingBuffer",
    "Source",
    "SourceEvent",
    "eeg_outlet",
    "estimates_outlet",
    "marker_outlet",
]
