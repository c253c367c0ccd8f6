"""A recording made elsewhere filed as a participant's session, on its own date.

``biofeedback sessions --add FILE --participant ID`` reads a recording made
with another program or on another machine (any format the readers read),
takes the day it was recorded from the file itself (:attr:`Recording.started`:
Unix timestamps, an XDF header's date, an EDF's or FIF's ``meas_date``), runs
it through the engine and protocol a live session uses, in simulated time, and
files it as the participant's next session: an XDF with the EEG, estimates and
cues, its sidecar (dated by the recording), and its index row. Its figures are
the engine's, as a live session's are. A recording that does not say when it
was made is refused unless ``--date`` says it.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from pathlib import Path

from ..errors import PipelineConfigError

__all__ = ["add_recording", "parse_date"]


def parse_date(text) -> _dt.datetime:
    """``--date``: ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM[:SS][+HH:MM]`` (local time
    when no offset is given), as an aware datetime."""
    from ._layout import StudyError

    try:
        when = _dt.datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise StudyError(f"--date {text!r} is not a date: give YYYY-MM-DD, or "
                         "YYYY-MM-DDTHH:MM for the time too.") from None
    return when if when.tzinfo is not None else when.astimezone()


def _day(when: _dt.datetime) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


def add_recording(fname, participant, *, root=None, pipeline=None, protocol=None,
                  date=None) -> dict:
    """File the recording ``fname`` as ``participant``'s next session.

    Parameters
    ----------
    fname : path-like
        A recording (XDF, EDF, FIF, BrainFlow or muse-lsl CSV, ...).
    participant : str
        Participant ID.
    root : path-like | None
        Study root (created if needed, as a live session creates it).
    pipeline : path-like | str | None
        The pipeline whose protocol the recording is run through (default:
        the shipped default, as ``live``).
    protocol : str | None
        Task label (default: the pipeline's name).
    date : datetime | str | None
        When it was recorded (``--date``); wins over the file's own date.
        Needed when the file holds none.

    Returns
    -------
    record : dict
        The session's index record; its ``started_at`` is the recording's date.

    Raises
    ------
    StudyError
        When the file says no date and ``date`` is None, or its date is not
        after the participant's latest numbered session (sessions are numbered
        in the order they were recorded).
    """
    from .._signals import signals_after
    from ..config import load_pipeline
    from ..features._plan import checked_pipeline
    from ..io import read_recording
    from ..recorder import software_versions
    from ..replay import profile_from_recording
    from ..stream import RecordingSource
    from ._carry import CarryOver
    from ._index import StudyIndex, _when
    from ._layout import StudyError, check_participant, reserve_session, session_name
    from ._simulate import run_and_file

    participant = check_participant(participant)
    fname = Path(fname).expanduser()
    rec = read_recording(fname)
    rec.require_rate("be run through the engine")
    rec.require_numbers()
    if date is not None:
        when, said = (parse_date(date) if not isinstance(date, _dt.datetime) else date), \
            "--date"
    elif rec.started is not None and math.isfinite(rec.started):
        # to the second: a first sample a hair before 09:30 was recorded at 09:30
        when, said = _dt.datetime.fromtimestamp(round(rec.started)).astimezone(), "recording"
    else:
        raise StudyError(
            f"{fname} does not say when it was recorded (its timestamps hold no date, "
            "nor its header); give --date YYYY-MM-DD (or YYYY-MM-DDTHH:MM) to file it on "
            "the day it was recorded.")
    config = checked_pipeline(load_pipeline(pipeline))
    if not config.feedback.enabled:
        raise PipelineConfigError(f"{config.fname}: the pipeline has no protocol "
                                  "([[feedback.blocks]]) to run the recording through.")
    config.check_baseline()
    profile = profile_from_recording(rec)
    if config.board != profile.name:  # the recording's headset, as live's --board
        config = dataclasses.replace(config, board=profile.name)
    with StudyIndex(root) as index:
        index.sync()
        rows = index.sessions(participant)
        later = [r for r in rows if r.get("session") is not None and r.get("status") !=
                 "running" and _when(r) >= when.timestamp()]
        if later:
            last = later[-1]
            if not math.isfinite(_when(last)):  # a sidecar's date edited by hand
                side = (f" of its sidecar {index.root / last['sidecar']}"
                        if last.get("sidecar") else " of its sidecar")
                raise StudyError(
                    f"Session {session_name(last)} of {participant} has no date that can "
                    f"be read ({last.get('started_at') or ''!r}), so {fname} cannot be "
                    f"numbered after it; set started_at in the programme{side} to when "
                    "it was recorded (YYYY-MM-DDTHH:MM:SS), then add the file again.")
            raise StudyError(
                f"{fname} was recorded on {_day(when)}, not after session "
                f"{session_name(last)} of {participant} "
                f"({_day(_dt.datetime.fromisoformat(last['started_at']))}): sessions are "
                "numbered in the order they were recorded, so add the earlier recordings "
                "first.")
        with signals_after():
            paths = reserve_session(index.root, participant, protocol or config.name)
        try:
            info = {"participant": participant, "session": paths.session, "task": paths.task,
                    "simulated": False, "added_from": fname.name, "date_from": said,
                    "started_at": when.isoformat(timespec="seconds"),
                    "carried_thresholds": [], "carried_from": None,
                    "carried_calibration_from": None}
            carried = CarryOver(index.root, participant, rows, info,
                                thresholds=config.feedback.threshold_start == "carry",
                                feedback=config.feedback, pipeline=config.to_dict())
            source = RecordingSource(rec, profile, realtime=False, chunk_duration=60.0)
            run_and_file(source, lambda: rec, config, paths, info, carried,
                         software_versions(), source_format=rec.source_format)
        except BaseException:  # its number is free again: nothing was filed
            paths.give_back()
            raise
        finally:
            paths.release()
        return index.add_session(paths.folder, participant, paths.session)
