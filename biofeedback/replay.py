"""Replay a recording through the engine a live session uses."""

from __future__ import annotations

from ._logging import logger
from ._stops import INTERRUPT, SIGHUP, SIGTERM
from .errors import BiofeedbackError

__all__ = ["replay", "config_from_recording", "profile_from_recording"]


def config_from_recording(recording, pipeline=None):
    """The pipeline to replay with: ``pipeline`` if given, else the sidecar's."""
    from ._toml import from_dict
    from .config import PipelineConfig, load_pipeline, stored_pipeline
    from .features._plan import checked_pipeline

    if pipeline is not None:
        return checked_pipeline(load_pipeline(pipeline))
    side = recording.provenance.get("sidecar") or {}
    if "pipeline" in side:
        from .errors import PipelineConfigError

        fname = recording.provenance.get("fname", "the recording")
        try:
            return checked_pipeline(
                from_dict(PipelineConfig, stored_pipeline(side["pipeline"]),
                          f"{fname} sidecar [pipeline]"),
                f"{fname} sidecar [pipeline.features]")
        except PipelineConfigError as err:
            # never replay silently with another pipeline than the live run's
            raise PipelineConfigError(
                f"The pipeline saved with this recording does not fit this version of "
                f"biofeedback ({err}); pass --pipeline FILE to replay with another one."
            ) from None
    return load_pipeline()


def profile_from_recording(recording, profile=None):
    """The board profile a recording was made with (see
    :func:`biofeedback.hardware.profile_for_recording`)."""
    from .hardware import profile_for_recording

    return profile_for_recording(recording, profile)


def replay(recording, *, pipeline=None, out=None, realtime=False, speed=1.0, model=None,
           sinks=()):
    """Run a recording through the engine; return every window's output.

    Parameters
    ----------
    recording : path-like | Recording
        A file any reader reads, or a Recording.
    pipeline : path-like | None
        Pipeline TOML; default: the one in the recording's sidecar, else the
        shipped default.
    out : path-like | None
        Write the estimates to this CSV (see :class:`~biofeedback.session.CsvSink`).
    realtime : bool
        Pace by the recording's clock (and publish LSL streams as live does).
    speed : float
        Speed factor with ``realtime``.
    model : object | None
        A loaded model (:func:`~biofeedback.training.load_model` refuses one
        whose calibration cannot be computed).
    sinks : list of Sink
        Further sinks.

    Returns
    -------
    output : EngineOutput

    Raises
    ------
    BiofeedbackError
        When the recording gives no window (shorter than one, or cut by gaps
        into stretches that are); ``out`` is then not written.
    """
    from .engine import EngineOutput
    from .io import Recording, read_recording
    from .session import CsvSink, Session
    from .stream import RecordingSource

    rec = recording if isinstance(recording, Recording) else read_recording(recording)
    if model is not None:  # 'EEG Fp1', 'fp1' for a model's 'Fp1': read as the model names them
        rec = _as_model_names(rec, model)
    rec.require_rate()
    rec.require_numbers()  # before a realtime replay spends the recording's length on it
    side = rec.provenance.get("sidecar") or {}
    if model is not None and pipeline is None and "pipeline" not in side:
        config = model.config  # the pipeline the model was trained with
    else:
        config = config_from_recording(rec, pipeline)
    profile = profile_from_recording(rec)
    if side.get("model") and model is None:
        from .stream._peers import printable

        used = side["model"].get("file") if isinstance(side["model"], dict) else None
        logger.warning("This recording was made with a model%s; pass it (--model) to replay "
                       "its probabilities.",
                       f", {printable(used, 200)}" if isinstance(used, str) else "")
    sinks = list(sinks)
    csv = None
    if out is not None:  # moved into place only when the whole replay succeeded
        from pathlib import Path

        out = Path(out).expanduser()  # "~/est.csv", as read_recording takes it
        csv = CsvSink(out, commit_on_close=False)
        sinks.append(csv)
    # as fast as possible: long chunks through the engine's batch driver
    source = RecordingSource(rec, profile, realtime=realtime, speed=speed,
                             chunk_duration=0.1 if realtime else 60.0)
    session = Session(source, config, sinks, model=model, publish=realtime, record=False,
                      keep_results=True)
    try:
        summary = session.run()
        if csv is not None and summary.stopped_by in (INTERRUPT, SIGTERM, SIGHUP):
            # the session ends on Ctrl-C, SIGTERM or SIGHUP as at its end: the
            # CSV of the windows so far replaced the whole one of a replay before
            raise KeyboardInterrupt(*([] if summary.stopped_by == INTERRUPT
                                      else [summary.stopped_by]))
        if csv is not None and "csv" in summary.sink_errors:
            raise BiofeedbackError(f"Writing {out} failed: {summary.sink_errors['csv']}.")
        if not session.results:
            _no_window(rec, config)
        if _all_nan(session.results):
            _no_window(rec, config, nan=True)
    except BaseException:
        if csv is not None:
            csv.discard()
        raise
    if csv is not None:
        csv.commit()
    output = EngineOutput.from_results(session.results, session.engine)
    output.summary = summary  # losses, gaps: what the replay counted
    return output


def _as_model_names(rec, model):
    """``rec`` with the channels that spell the model's 10-20 sites otherwise
    renamed to the model's names, said in a warning, as ``evaluate`` reads them."""
    import dataclasses

    from .hardware._profiles import names_by_site, respelt_note

    names = names_by_site(list(rec.ch_names), list(model.ch_names))
    note = respelt_note("The recording names", rec.ch_names, names)
    if note is None:
        return rec
    logger.warning("%s", note)
    return dataclasses.replace(rec, ch_names=names)


def _all_nan(results):
    """Whether every window holds NaN or inf in every channel (none is usable)."""
    import numpy as np

    from .quality import FLAGS

    return bool(results) and all(
        bool(np.all(r.quality & FLAGS["nan"])) for r in results)


def _no_window(rec, config, nan=False):
    """Say why a replay gave no estimate: too short for one window, or no
    window holds a channel of numbers."""
    fname = rec.provenance.get("fname", "The recording")
    win = config.window.length
    if nan:
        raise BiofeedbackError(
            f"{fname}: no window to estimate, as every {win:g} s window holds NaN or inf "
            "samples in every channel; 'biofeedback info FILE' says where they are.")
    need = int(round(win * rec.sfreq))  # a window's samples
    what = (f"holds {rec.n_times} samples ({rec.n_times / rec.sfreq:.2f} s), fewer than the "
            f"{need} of one {win:g} s window"
            if rec.n_times < need else
            f"is cut by gaps into stretches each shorter than one {win:g} s window")
    raise BiofeedbackError(
        f"{fname}: no window to estimate, as the recording {what}; record for longer, or "
        "replay with --pipeline FILE whose [window] length is shorter.")
