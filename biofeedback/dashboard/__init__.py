"""A live dashboard in the browser: traces, spectra, estimates, cues, electrodes.

:class:`DashboardServer` serves one page (uPlot, shipped in ``static/``; the
page loads nothing from the network) and pushes JSON messages over a
WebSocket. :class:`DashboardSink` feeds it from a running session;
:class:`LSLFeeder` from LSL streams (a session in another process, or any EEG
stream). Needs the ``dashboard`` extra (aiohttp).
"""

from ._feed import DisplayFeed, head_positions, quality_classes
from ._lsl import LSLFeeder
from ._server import DashboardServer
from ._sink import DashboardSink

__all__ = ["DashboardServer", "DashboardSink", "DisplayFeed", "LSLFeeder", "head_positions",
           "quality_classes"]
