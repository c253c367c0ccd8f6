"""Live sessions from Python: assembled as the command line does, or run in the background.

- :func:`build_session` assembles a session (source, view, protocol and cues,
  recording, report) exactly as ``biofeedback live`` does; ``run()`` blocks.
- :class:`LiveSession` runs one on its own thread for notebooks:
  ``start()``/``stop()`` or a ``with`` block, ``get_estimates(last=N)`` and
  ``get_data(seconds)`` while it runs.
"""

from ._build import build_session, feedback_sinks, make_source, view_sinks
from ._handle import LiveSession

__all__ = ["build_session", "make_source", "feedback_sinks", "view_sinks", "LiveSession"]
