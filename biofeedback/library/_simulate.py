"""Simulated participants: a training programme written in simulated time.

A scenario with a ``[participant]`` table describes a person whose control
over a state grows (or not) across sessions and within a session.
:func:`simulate_sessions` runs the pipeline's protocol on that person N
times through the one engine, protocol and cue policy a live session uses,
as fast as the CPU allows, and files each session in the study layout as a
live session would have recorded it: the XDF (EEG, estimates, markers and
cues, written directly: no LabRecorder is needed in simulated time), the
sidecar, and the index row.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt

import numpy as np

from .._logging import logger
from .._markers import SESSION_END, SESSION_START
from ..errors import PipelineConfigError
from ..feedback._base import Sink

__all__ = ["participant_scenario", "participant_seed", "simulate_sessions"]


def participant_seed(seed: int, participant: str) -> int:
    """The seed of a simulated participant: the scenario's ``seed`` and the ID.

    ``seed * 2**32 + crc32(ID)`` (CRC-32 of the ID's UTF-8 bytes): two people
    simulated from one scenario differ, and each is the same at every run, on
    every machine (Python's own ``hash`` of a text changes between runs). Each
    session then takes ``participant_seed * 1009 + session`` (see
    :func:`participant_scenario`).
    """
    import zlib

    return int(seed) * 2**32 + zlib.crc32(str(participant).encode("utf-8"))


def participant_scenario(scenario, session: int, blocks, window_length: float):
    """The scenario of one session of a simulated participant.

    Parameters
    ----------
    scenario : Scenario
        With a ``participant``.
    session : int
        Session number (1-based): how far the person has come.
    blocks : list of BlockConfig
        The protocol the session runs.
    window_length : float
        Seconds of data before the first window (the protocol starts there).

    Returns
    -------
    scenario : Scenario
        Its timeline scripted from the blocks, long enough for the protocol,
        and its own seed (every session's signal differs).
    """
    from ..simulate._scenario import STATES, Segment

    p = scenario.participant
    if p is None:
        raise PipelineConfigError(
            f"{scenario.fname or scenario.name}: the scenario has no [participant] table; "
            "simulate a training programme with a scenario that has one (learner, "
            "non_learner).")
    n_train = sum(b.kind == "training" for b in blocks)
    t = float(window_length)
    timeline = [Segment(0.0, p.state, level=p.rest, ramp=0.0)]
    j = -1
    for b in blocks:
        if b.kind == "training":
            j += 1
            level = p.level(session, j / (n_train - 1) if n_train > 1 else 0.0, scenario.seed)
        elif b.kind == "transfer":
            pos = max(j, 0) / (n_train - 1) if n_train > 1 else 0.0
            level = p.transfer * p.level(session, pos, scenario.seed)
        elif b.kind == "calibration" and b.state in STATES:
            # a guided calibration block: the person does the state it asks for
            timeline.append(Segment(t, b.state, level=1.0, ramp=min(p.ramp, b.duration / 2)))
            t += b.duration
            continue
        else:
            level = p.rest
        timeline.append(Segment(t, p.state, level=level, ramp=min(p.ramp, b.duration / 2)))
        t += b.duration
    return dataclasses.replace(scenario, timeline=tuple(timeline), duration=t + 1.0,
                               seed=int(scenario.seed) * 1009 + int(session))


class _Events(Sink):
    """Collect the session's markers (truth, gaps) as a live recorder would."""

    name = "events"
    lossless = True

    def __init__(self):
        self.markers = []

    def open(self, info):
        pass

    def write(self, result):
        pass

    def event(self, kind, timestamp, text=""):
        self.markers.append((float(timestamp), text or kind))

    def close(self):
        pass


def _run_one(scen, config, paths, info, carried, software, model=None, model_meta=None):
    """Run one simulated session and write its XDF and sidecar; returns the summary."""
    from ..simulate import ScenarioSource

    source = ScenarioSource(scen, realtime=False, truth_markers=True)
    return run_and_file(source, lambda: source.simulation.to_recording(t0=0.0), config,
                        paths, info, carried, software, model, model_meta,
                        source_format="simulated")


def run_and_file(source, eeg_of, config, paths, info, carried, software, model=None,
                 model_meta=None, source_format="simulated"):
    """Run a session on ``source`` in simulated time and write its XDF and sidecar as
    a live session records them; returns the summary and the protocol sink.

    ``eeg_of()`` gives, once the session ran, the Recording of the EEG it read
    (its samples, markers and gaps, on the clock of the session's windows): the
    XDF keeps it up to the last window.
    """
    from .._outputs import atomic_output
    from .._stops import INTERRUPT, exit_status
    from ..feedback._protocol_sink import ProtocolSink
    from ..io import Recording
    from ..io._recording import Stream
    from ..io._xdf import write_xdf
    from ..recorder import write_sidecar
    from ..session import Session

    psink = ProtocolSink(config.feedback, [], lsl=False, terminal=False, fname=config.fname,
                         carried=carried)
    events = _Events()
    session = Session(source, config, [psink, events], model=model, publish=False,
                      record=False, keep_results=True, protocol=psink)
    summary = session.run()
    results = session.results
    if (session.engine is None or not results) and exit_status(summary.stopped_by):
        # a signal as the session started: nothing to file (its number is given back)
        raise KeyboardInterrupt("SIGINT" if summary.stopped_by == INTERRUPT
                                else summary.stopped_by)
    names = list(session.engine.estimate_names)
    rec = eeg_of()
    last = results[-1].t_end if results else 0.0
    keep = rec.timestamps <= last
    t_first = float(rec.timestamps[0]) if rec.timestamps.size else 0.0
    markers = [(t_first, SESSION_START)]
    markers += [(t, s) for t, s in rec.markers if t <= last]
    markers += [(last, SESSION_END)]
    est = np.array([[*r.estimates.tolist(), float(r.gated)] for r in results]).T
    cues = [(t, s) for t, s in psink.markers]
    sid = session.session_id
    streams = {
        "biofeedback-Estimates": Stream("biofeedback-Estimates", "Estimates", est,
                                        np.array([r.t_end for r in results]),
                                        ch_names=[*names, "gated"]),
        "biofeedback-Cues": Stream("biofeedback-Cues", "Markers", [s for _, s in cues],
                                   np.array([t for t, _ in cues])),
    }
    out = Recording(data=rec.data[:, keep], sfreq=rec.sfreq, ch_names=rec.ch_names,
                    timestamps=rec.timestamps[keep], markers=sorted(markers),
                    gaps=[g for g in rec.gaps if g.onset <= last], streams=streams,
                    source_format=source_format, profile=rec.profile)
    summary.recording = paths.xdf
    summ = dataclasses.asdict(summary)
    summ["recording"] = str(paths.xdf)
    sidecar = {
        "session_id": sid,
        "board_profile": source.profile.to_dict(),
        "source": source.describe(),
        "pipeline": config.to_dict(),
        "engine": session.engine.describe(),
        "software": software,
        "streams": {k: {"name": f"biofeedback-{k}", "source_id": f"biofeedback-{k}"}
                    for k in ("EEG", "Estimates", "Markers", "Cues")},
        **(model_meta or {}),
        "programme": info,
        "feedback": psink.describe(),
        "summary": summ,
    }
    # the sidecar is written before the XDF moves into place: an XDF has its sidecar
    with atomic_output(paths.xdf) as tmp:
        write_xdf(out, tmp, overwrite=True)
        write_sidecar(paths.xdf, sidecar)
    return summary, psink


def simulate_sessions(scenario, participant, n_sessions, *, root=None, pipeline=None,
                      protocol=None, report=False, progress=True, model=None,
                      seed=None) -> list[dict]:
    """Simulate ``n_sessions`` sessions of a participant and file them.

    Parameters
    ----------
    scenario : Scenario | path-like | str
        A scenario with a ``[participant]`` table (e.g. "learner").
    participant : str
        Participant ID (letters and digits).
    n_sessions : int
        Sessions to add after the participant's existing ones.
    root : path-like | None
        Study root.
    pipeline : path-like | str | None
        The pipeline (its protocol): a file or a shipped name ("programme");
        default: the shipped default.
    protocol : str | None
        Task label (default: the pipeline's name).
    report : bool
        Also write each session's HTML report (about a second each).
    progress : bool
        Show a progress bar.
    model : path-like | None
        A model file, read once; every session starts from a fresh copy of it,
        as a live session starts from the file. Its pipeline is used unless
        ``pipeline`` is given. With ``threshold_start = "carry"`` its
        calibration is carried over too.
    seed : int | None
        The participant's seed (``simulate --seed``): the same data for any
        ID. Default: :func:`participant_seed` of the scenario's seed and the
        ID, so two people of one scenario differ.

    Returns
    -------
    records : list of dict
        The index record of each session written.

    Raises
    ------
    KeyboardInterrupt
        When a signal (Ctrl-C, SIGTERM, SIGHUP) stopped a session: that session
        is kept, as a live one is (``partial``), unless it had no window yet
        (its number is given back), and no other starts; the exception's
        ``records`` holds the sessions written, its argument the signal's name.
    """
    from .._signals import signals_after
    from .._stops import INTERRUPT, exit_status, in_words
    from .._words import counted
    from ..config import load_pipeline
    from ..recorder import software_versions
    from ..simulate import read_scenario
    from ._carry import CarryOver, save_calibration
    from ._index import StudyIndex
    from ._layout import check_participant, reserve_session

    scen = read_scenario(scenario)
    participant = check_participant(participant)
    if scen.participant is None:
        participant_scenario(scen, 1, (), 0.0)  # raises the sentence
    scen = dataclasses.replace(scen, seed=participant_seed(scen.seed, participant)
                               if seed is None else int(seed))
    if int(n_sessions) < 1:
        raise PipelineConfigError(f"--sessions must be at least 1, got {n_sessions}.")
    sha = None
    if model is not None:
        from ..recorder import file_sha256
        from ..training import load_model

        sha = file_sha256(model)
        first = load_model(model)  # never run: each session runs a copy of it
    if model is not None and pipeline is None:
        config = first.config
    else:
        from ..features._plan import checked_pipeline

        config = checked_pipeline(load_pipeline(pipeline))
    if model is not None:  # as live does: the protocol must give the model its calibration
        first.check_protocol(config.feedback)
    if not config.feedback.enabled:
        raise PipelineConfigError(f"{config.fname}: the pipeline has no protocol "
                                  "([[feedback.blocks]]) to train with.")
    config.check_baseline()
    profile = scen.profile
    if config.board != profile.name:
        config = dataclasses.replace(config, board=profile.name)
    software = software_versions()
    records = []
    bar = None
    with StudyIndex(root) as index:
        index.sync()  # a session killed or deleted since the last one
        if progress:
            from .._logging import progress_bar

            bar = progress_bar(total=int(n_sessions), unit="session", desc=f"sub-{participant}")
        for _ in range(int(n_sessions)):
            paths = None
            try:
                # a signal waits until the folder is one to give back: Ctrl-C as
                # the number was reserved kept it taken, the folder marked running
                with signals_after():
                    paths = reserve_session(index.root, participant, protocol or config.name)
                scen_k = participant_scenario(scen, paths.session, config.feedback.blocks,
                                              config.window.length)
                # the model as read from the file: no calibration, nor channel
                # selection, of an earlier session
                loaded = copy.deepcopy(first) if model is not None else None
                info = {"participant": participant, "session": paths.session,
                        "task": paths.task, "simulated": True,
                        "scenario": scen.name, "scenario_file": scen.fname,
                        "seed": scen_k.seed,
                        "started_at": _dt.datetime.now().astimezone().isoformat(
                            timespec="seconds"),
                        "carried_thresholds": [], "carried_from": None,
                        "carried_calibration_from": None}
                # decided when the session opens, on its headset (the scenario's board)
                carried = CarryOver(index.root, participant, index.sessions(participant),
                                    info, model=loaded, model_sha256=sha,
                                    thresholds=config.feedback.threshold_start == "carry",
                                    feedback=config.feedback, pipeline=config.to_dict())
                meta = {"model": {"file": str(model), "sha256": sha}} if model else None
                summary, psink = _run_one(scen_k, config, paths, info, carried, software,
                                          loaded, meta)
                if loaded is not None:
                    save_calibration(paths.sidecar, loaded, sha)
                if report:
                    from ..feedback._report import write_report

                    write_report(paths.xdf, paths.report)
            except BaseException as err:  # its number is free again if nothing was written
                if paths is not None:
                    paths.give_back()
                if isinstance(err, KeyboardInterrupt):  # the sessions filed before it
                    err.records = records
                raise
            finally:
                if paths is not None:
                    paths.release()
            rec = index.add_session(paths.folder, participant, paths.session)
            if rec is not None:
                records.append(rec)
            if bar is not None:
                bar.update(1)
            if exit_status(summary.stopped_by) is not None:
                # Ctrl-C (or SIGTERM) ended the session in progress, which is kept as a
                # live one is (partial); the programme stops there instead of going on
                if bar is not None:
                    bar.close()
                logger.warning("sub-%s: %s stopped the programme in session %02d, after %s "
                               "of %d; what was simulated is filed and indexed.",
                               participant, in_words(summary.stopped_by), paths.session,
                               counted(len(records), "session"), int(n_sessions))
                sig = "SIGINT" if summary.stopped_by == INTERRUPT else summary.stopped_by
                err = KeyboardInterrupt(sig)
                err.records = records  # what the command lists before it ends
                raise err
    if bar is not None:
        bar.close()
    logger.info("Simulated %d sessions of %s.", len(records), participant)
    return records
