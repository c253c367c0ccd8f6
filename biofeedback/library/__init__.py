"""A training programme: participants, numbered sessions, an index, progress.

- :mod:`._layout`: the BIDS-shaped study layout under one root, participant
  IDs, atomic session numbers.
- :mod:`._index`: the SQLite index of the session files (rebuilt from them).
- :mod:`._progress`: learning curves, trends with 95 % intervals, the learner
  criterion and the end-of-session line; :mod:`._progress_html` its HTML report.
- :mod:`._simulate`: simulated participants who learn (or not).
- :mod:`._add`: a recording made elsewhere filed as a session, on its own date.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_LAZY = {
    "StudyError": "._layout",
    "SessionPaths": "._layout",
    "study_root": "._layout",
    "check_participant": "._layout",
    "reserve_session": "._layout",
    "latest_model": "._layout",
    "StudyIndex": "._index",
    "progress": "._progress",
    "write_progress_html": "._progress_html",
    "compare_line": "._progress",
    "simulate_sessions": "._simulate",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
