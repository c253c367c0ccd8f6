"""Assemble a live session from Python exactly as ``biofeedback live`` does.

:func:`build_session` is the one place where a source, the pipeline, an
optional model, the terminal view, the feedback protocol with its cue sinks,
the recording and the report are put together. The command line only parses
its arguments and calls it, so a session built here cues, records and
reports the same as one started from a terminal.
"""

from __future__ import annotations

from pathlib import Path

from .._words import counted

__all__ = ["build_session", "make_source", "feedback_sinks", "view_sinks"]


def check_duration(config, duration) -> None:
    """Refuse a ``duration`` shorter than one window of ``config``.

    The first estimate comes once a whole window of data has arrived, so a
    shorter session gives no estimate and no cue. (It also ran longer than
    asked: its duration counts data from the first sample, and the first
    chunk read holds what the source sent while the engine warmed up and the
    outlets opened, 0.5 to 1.5 s.)

    Raises
    ------
    PipelineConfigError
        Naming the window length and its field.
    """
    from ..config import field_name
    from ..errors import PipelineConfigError

    length = config.window.length
    if duration is not None and duration + 1e-9 < length:
        raise PipelineConfigError(
            f"The session's duration ({duration:g} s) is shorter than one window "
            f"({field_name(config.fname, 'window', 'length')} = {length:g} s), so it would end "
            f"before its first estimate; make it (--duration) at least {length:g} s.")


def make_source(board=None, *, lsl=None, lsl_type="EEG", scenario=None, params=None,
                config=None, lsl_timeout=5.0):
    """The source a live session reads: a board, an LSL stream or a scenario.

    Parameters
    ----------
    board : str | None
        A board profile name (``biofeedback boards``); with ``lsl``, says
        which headset the stream comes from. Default: the pipeline's board.
    lsl : str | None
        Read an LSL EEG stream with this name (``""``: resolve by ``lsl_type``).
    lsl_type : str
        Stream type when ``lsl == ""``.
    scenario : str | path-like | None
        A scripted simulated headset: a scenario file or a shipped name.
    params : dict | None
        BrainFlow connection parameters (``serial_port``, ``mac_address``...).
    config : PipelineConfig | None
        The pipeline (its ``board`` is the default board).
    lsl_timeout : float
        Seconds to wait for the LSL stream.

    Returns
    -------
    source : Source

    Raises
    ------
    PipelineConfigError
        When more than one source is named, a board is read over LSL, or
        BrainFlow connection parameters come with an LSL stream or a scenario.
    """
    from ..errors import PipelineConfigError
    from ..hardware import BrainFlowSource, get_profile

    if scenario and (board or lsl is not None):
        raise PipelineConfigError("Choose one source: --board, --lsl or --scenario.")
    given = [k for k, v in (params or {}).items() if v not in (None, "")]
    if given and (scenario or lsl is not None):
        raise PipelineConfigError(
            f"--{given[0].replace('_', '-')} connects a BrainFlow board and does nothing "
            f"with --{'scenario' if scenario else 'lsl'}; leave it out, or use --board NAME.")
    if scenario:
        from ..simulate import ScenarioSource

        return ScenarioSource(scenario, realtime=True)
    if lsl is not None:
        from ..stream import LSLSource

        profile = get_profile(board) if board else None
        return LSLSource(lsl or None, stream_type=lsl_type, profile=profile, timeout=lsl_timeout)
    if board is None:
        from ..config import load_pipeline

        board = (config or load_pipeline()).board
    profile = get_profile(board)
    if profile.connection == "lsl" and not (params or {}).get("file"):
        raise PipelineConfigError(f"The {profile.name!r} profile is read with --lsl NAME.")
    if (params or {}).get("file") and profile.brainflow_board is not None:
        # a profile BrainFlow does not drive (lsl) is refused as such below
        _check_playback_sidecar(params["file"], profile)
    return BrainFlowSource(profile, dict(params or {}))


def _check_playback_sidecar(fname, profile):
    """Refuse a playback file whose sidecar says BrainFlow's playback board
    would play it as what it is not: a recording no board made (``convert``
    writes one in the synthetic board's rows), or one at another rate than
    ``profile``'s. Played, either ran at the file's pace under the board's
    rate and channel names, and the gates refused every window."""
    from ..errors import HardwareError
    from ..hardware import list_profiles
    from ..io._sidecar import no_board, read_sidecar

    side = read_sidecar(fname, warnings=[])  # only adds context: unreadable is none
    if not isinstance(side, dict):
        return
    try:
        sfreq = float(side.get("sfreq") or profile.sfreq)
    except (TypeError, ValueError):
        sfreq = profile.sfreq
    n_ch = side.get("ch_names")
    held = (f"{counted(len(n_ch), 'channel')} at {sfreq:g} Hz" if isinstance(n_ch, list)
            else f"samples at {sfreq:g} Hz")
    as_board = (f"BrainFlow's playback board would play it as the {profile.name} board "
                f"({len(profile.ch_names)} channels at {profile.sfreq:g} Hz)")
    offline = f"replay it offline with 'biofeedback replay {fname}' instead"
    name = Path(fname).with_suffix(".json").name
    if no_board(side):
        source = side.get("source_format")
        raise HardwareError(
            f"{fname} holds {held} that no BrainFlow board recorded (its sidecar {name} "
            f"says so{f'; converted from {source}' if source else ''}): {as_board}; "
            f"{offline}.")
    if abs(sfreq - profile.sfreq) > 0.01 * profile.sfreq:
        known = list_profiles().get(side.get("profile")) if isinstance(
            side.get("profile"), str) else None
        fix = (f"pass --board {known.name}" if known is not None and known.board_id is not None
               and abs(known.sfreq - sfreq) <= 0.01 * sfreq else offline)
        raise HardwareError(f"{fname} holds {held} (its sidecar {name}): {as_board}; {fix}.")


def view_sinks(view="none") -> list:
    """The terminal view: ``"dashboard"`` (in place), ``"plain"``, ``"auto"`` or ``"none"``."""
    import sys

    from ..feedback import TerminalView

    if view == "none":
        return []
    if view == "auto":
        view = "dashboard" if sys.stdout.isatty() else "plain"
    return [TerminalView(color=(view == "dashboard"))]


def check_cue_packages(config, *, realtime=True, record=True) -> None:
    """Refuse cue sinks whose optional package is missing, before anything runs.

    The OSC sink cannot send without python-osc; the audio sink, asked to
    play live with no WAV to write, would do nothing without sounddevice
    (with a WAV it writes the cues and warns that they are not played).

    Parameters
    ----------
    config : PipelineConfig
    realtime : bool
        The source runs in real time (only then is audio played live).
    record : bool
        The session records (``wav = "auto"`` writes beside the recording).

    Raises
    ------
    MissingDependencyError
        One sentence naming the ``pip install "biofeedback[EXTRA]"`` to run.
    """
    from .._checks import _import_optional

    fb = config.feedback
    if not fb.enabled:
        return
    if "osc" in fb.sinks:
        _import_optional("pythonosc.udp_client", "osc", "the OSC cue sink", "python-osc")
    wav = fb.audio.wav
    writes_wav = wav not in ("", "auto") or (wav == "auto" and record)
    if "audio" in fb.sinks and fb.audio.live and realtime and not writes_wav:
        try:
            _import_optional("sounddevice", "audio", "playing the audio cues")
        except OSError:  # installed without PortAudio: the sink says so when it opens
            pass


def feedback_sinks(config, *, has_model=False, terminal=True, carried=None) -> list:
    """The protocol sink and its cue sinks for ``config.feedback``.

    Returns an empty list when the pipeline describes no protocol (no
    ``[[feedback.blocks]]``). Targets are checked here, before the session
    starts, so a typo stops the session with the file, line and field.

    Parameters
    ----------
    config : PipelineConfig
    has_model : bool
        A model runs, so class probabilities ``p_<class>`` may be targets.
    terminal : bool
        Let a terminal view show the cue.
    carried : dict | None
        The previous session's thresholds (``threshold_start = "carry"``).

    Raises
    ------
    PipelineConfigError
        A block trains an estimate the pipeline does not compute.
    """
    from ..feedback._cues import AudioCue, OscCue
    from ..feedback._protocol import check_targets
    from ..feedback._protocol_sink import ProtocolSink

    fb = config.feedback
    if not fb.enabled:
        return []
    known = list(config.features.indices)
    # class probabilities exist only with a model; checked again once it is loaded
    if has_model:
        known += [t for t in {fb.block_target(b)[0] for b in fb.blocks} if t.startswith("p_")]
    check_targets(fb, known, config.fname)
    cue_sinks = []
    if "audio" in fb.sinks:
        wav = fb.audio.wav
        if wav not in ("", "auto") and Path(wav).exists():
            from .._toml import _where
            from ..errors import PipelineConfigError

            # a session never replaces a file it did not create
            where = _where(config.fname, "feedback.audio", "wav") if config.fname else "wav"
            raise PipelineConfigError(
                f"{where}: {wav} exists; name a new file (or \"auto\": beside the "
                "recording).")
        cue_sinks.append(AudioCue(fb.audio))
    if "osc" in fb.sinks:
        cue_sinks.append(OscCue(fb.osc))
    return [ProtocolSink(fb, cue_sinks, lsl="lsl" in fb.sinks,
                         terminal="terminal" in fb.sinks and terminal,
                         fname=config.fname, carried=carried)]


def _load_model(model):
    if model is None or not isinstance(model, (str, Path)):
        return model, {}
    from ..recorder import file_sha256
    from ..training import load_model

    return load_model(model), {"model": {"file": str(model), "sha256": file_sha256(model)}}


def _write_feedback_report(recording):
    from ..feedback._report import write_report

    recording = Path(recording)
    return write_report(recording, recording.with_suffix(".html"))


def session_pipeline(pipeline=None, model=None):
    """The pipeline a session runs: ``pipeline`` (a file, a shipped name or a
    PipelineConfig), else the one the model was trained with, else the
    default; its features checked before any board or recording is opened."""
    from ..config import PipelineConfig, load_pipeline
    from ..features._plan import checked_pipeline

    if isinstance(pipeline, PipelineConfig):
        return checked_pipeline(pipeline)
    if model is not None and pipeline is None:
        return model.config  # the pipeline it was trained with (checked on load)
    return checked_pipeline(load_pipeline(pipeline))


def build_session(source=None, pipeline=None, model=None, *, sinks=(), view="none",
                  feedback=True, record=True, recordings_dir=None, recording_fname=None,
                  also_record=(), duration=None, report=True, on_end=(),
                  extra_sidecar=None, carried=None, name="biofeedback", give_up=60.0):
    """Assemble a live session: source, engine, view, protocol, cues, recording.

    Parameters
    ----------
    source : Source | str | None
        A :class:`~biofeedback.stream.Source`, or a board profile name
        (``"synthetic"``, ``"cyton"``...), or None for the pipeline's board.
        :func:`make_source` builds LSL and scenario sources.
    pipeline : path-like | PipelineConfig | None
        The pipeline. Default: the model's own pipeline when a model is given,
        else ``pipelines/default.toml``.
    model : path-like | LoadedModel | None
        A model file (``biofeedback train``; its hash goes to the sidecar) or
        a loaded model: adds class probabilities to the estimates. A model
        that calibrates per user must find its calibration in the protocol's
        blocks before feedback.
    sinks : list of Sink
        Further sinks (a dashboard, a CSV writer...): see *Extending a
        session* below.
    view : {"none", "plain", "dashboard", "auto"}
        The terminal view.
    feedback : bool
        Run the pipeline's feedback protocol (``[feedback]``) and its cue
        sinks (LSL Cues stream, audio, OSC).
    record : bool
        Record with LabRecorder (also needs ``[recording] enabled``).
    recordings_dir : path-like | None
        Where recordings go (default: the pipeline's ``[recording] dir``).
    recording_fname : path-like | None
        The recording's exact path (e.g. inside a participant's folder).
    also_record : list of str
        Further LabRecorder predicates, e.g. ``"type='Markers'"``.
    duration : float | None
        Stop after this many seconds of data (or of wall-clock time, when data
        stop coming). It wins over the protocol's ``end = "stop"``: the last
        block goes on until ``duration``. Default: the protocol's end, or
        :meth:`~biofeedback.session.Session.stop`.
    report : bool
        Let :meth:`~biofeedback.session.Session.report` write the HTML report
        beside the recording (when a protocol runs).
    on_end : list of callable
        ``hook(session, summary)`` run at the end of ``run()``, once the
        recording and its sidecar are closed.
    extra_sidecar : dict | None
        Added to the recording's JSON sidecar.
    carried : dict | None
        The previous session's thresholds (``threshold_start = "carry"``).
    name : str
        Prefix of the session's LSL stream names.
    give_up : float | None
        End the session, its recording closed, when the source has sent no
        data for this many seconds (None: wait for ever).

    Returns
    -------
    session : Session
        Not started: call ``session.run()`` (blocking), then
        ``session.report()`` and ``session.summary_lines()``.

    Raises
    ------
    PipelineConfigError
        A typo in the pipeline (with file, line and field), or a protocol
        target the session does not compute.
        A ``duration`` shorter than one window (no estimate would come).
    ModelError
        The protocol does not give the calibration the model needs.

    Notes
    -----
    **Running.** ``summary = session.run()`` blocks until the protocol ends,
    ``duration`` passes, the source ends or ``session.stop()`` is called;
    Ctrl-C ends it cleanly too. Then ``session.report()`` writes
    ``<recording>.html`` (an explicit step, never a side effect) and
    ``session.summary_lines()`` gives what ``biofeedback live`` prints, the
    recording's path last.

    **Stopping.** ``session.stop()`` (or ``session.stop_event.set()``) is
    thread-safe and may be called from a signal handler or another thread::

        signal.signal(signal.SIGTERM, lambda *_: session.stop())

    The session then closes as at the end of its duration: sinks finish, the
    recorder takes the last chunks, the sidecar gets its summary.

    **Extending a session.**

    - *Extra sinks* (a dashboard, a database writer): subclass
      :class:`~biofeedback.session.Sink` and pass it in ``sinks``. Set
      ``lossless = True`` to get every window on the processing thread (and
      be fast), else it runs on its own thread with the newest window only.
      Its ``open(info)`` gets a :class:`~biofeedback.session.SessionInfo`:
      ``info.protocol.protocol.latest`` is the newest cue, ``info.recording``
      the XDF path. A sink that raises is switched off and named in the
      summary; the session goes on. ``sidecar()`` adds entries to the
      recording's sidecar and ``summary_lines()`` lines to the summary
      (``latency_lines()`` beside the session's latency). A sink whose
      ``stop_requested`` is set (a reason) before it is opened stops the
      session before it records (the dashboard's stop button).
    - *End-of-session hooks* (indexing into a database): ``on_end``
      callables run after the recording and its sidecar are final.
    - *Where the recording goes* (participant folders): ``recording_fname``
      names the file; ``recordings_dir`` a folder for time-stamped names.

    Examples
    --------
    A 20 s session on BrainFlow's synthetic board, without recording:

    >>> from biofeedback.live import build_session
    >>> session = build_session("synthetic", duration=20, record=False)  # doctest: +SKIP
    >>> summary = session.run()  # doctest: +SKIP
    >>> print("\\n".join(session.summary_lines()))  # doctest: +SKIP
    """
    from ..session import Session

    model, model_meta = _load_model(model)
    config = session_pipeline(pipeline, model)
    if duration is not None and config.feedback.end == "stop":
        # an explicit duration wins over the protocol's end: the last block goes on
        import dataclasses

        config = config.replace(feedback=dataclasses.replace(config.feedback, end="continue"))
    if feedback and config.feedback.enabled:  # its threshold must come from the baseline
        config.check_baseline()
    if model is not None and feedback:  # its calibration must come from this protocol
        model.check_protocol(config.feedback)
        if config.feedback.enabled:  # and its classes are the ones the blocks name
            from ..feedback._protocol import check_targets

            classes = [str(c) for c in model.classes_]
            check_targets(config.feedback, [*config.features.indices,
                                            *(f"p_{c}" for c in classes)],
                          config.fname, classes=classes)
    if source is None or isinstance(source, str):
        source = make_source(source, config=config)
    check_duration(config, duration)
    protocol = None
    all_sinks = view_sinks(view)
    if feedback:
        check_cue_packages(config, realtime=source.realtime,
                           record=record and config.recording.enabled)
        fb_sinks = feedback_sinks(config, has_model=model is not None,
                                  terminal=view != "none", carried=carried)
        protocol = fb_sinks[0] if fb_sinks else None
        all_sinks += fb_sinks
    all_sinks += list(sinks)
    return Session(
        source, config, all_sinks, model=model,
        record=record and config.recording.enabled,
        recordings_dir=recordings_dir or config.recording.dir,
        recording_fname=recording_fname, also_record=also_record, duration=duration,
        name=name, extra_sidecar={**model_meta, **(extra_sidecar or {})},
        protocol=protocol, on_end=on_end,
        report_writer=_write_feedback_report if report and protocol is not None else None,
        give_up=give_up,
    )
