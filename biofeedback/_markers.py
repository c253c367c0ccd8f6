"""The kinds of marker the project writes, by name.

A marker's first word is its kind; the rest is ``key=value`` fields
(:func:`biofeedback.feedback.format_marker`). Every module that writes or
reads one of these markers names its kind from here, so the readers (the
study index, the session report, the dashboard, loss counting, training's
labels) cannot drift from the writers.
"""

from __future__ import annotations

# -- the protocol (biofeedback.feedback): cues, thresholds, blocks, pauses
CUE = "cue"
THRESHOLD = "threshold"
BLOCK_START = "block_start"
BLOCK_END = "block_end"
PROTOCOL_END = "protocol_end"
FEEDBACK_PAUSED = "feedback_paused"
FEEDBACK_RESUMED = "feedback_resumed"
# -- the session (biofeedback.session), its losses and its headset
SESSION_START = "session_start"
SESSION_END = "session_end"
GAP_START = "gap_start"
GAP_END = "gap_end"
DROPPED = "dropped"
#: Every loss of the recording is marked (:mod:`biofeedback.io._losses`).
LOSSES_MARKED = "losses_marked"
AMPLITUDE_WARNING = "amplitude_warning"
#: The samples come at a rate other than the nominal one (said once, live).
RATE_WARNING = "rate_warning"
#: A channel stopped giving EEG: NaN, flat, at the rail, a bad electrode (said once, live).
CHANNEL_WARNING = "channel_warning"
CLOCK_JUMP = "clock_jump"
DASHBOARD_MARK = "dashboard_mark"
# -- a scenario's ground truth (biofeedback.simulate)
#: ``state NAME level=L ramp=R``: the scripted state from then on.
STATE = "state"
#: ``event KIND channels=... duration=D``: an artifact's onset.
EVENT = "event"
#: ``fault KIND duration=D``: an outage's onset.
FAULT = "fault"

#: The markers a session writes about itself (not about the person's state).
SESSION_KINDS = (CUE, THRESHOLD, BLOCK_START, BLOCK_END, PROTOCOL_END, FEEDBACK_PAUSED,
                 FEEDBACK_RESUMED, SESSION_START, SESSION_END, GAP_START, GAP_END,
                 DROPPED, LOSSES_MARKED, AMPLITUDE_WARNING, RATE_WARNING, CHANNEL_WARNING,
                 CLOCK_JUMP, DASHBOARD_MARK)
#: A scenario's truth markers.
TRUTH_KINDS = (STATE, EVENT, FAULT)
