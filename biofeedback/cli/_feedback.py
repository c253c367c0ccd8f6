"""Cue sinks a pipeline asks for (the feedback section of the pipeline file)."""

from __future__ import annotations


def feedback_sinks(config, args=None) -> list:
    """The protocol sink and its cue sinks for ``config.feedback``.

    Returns an empty list when the pipeline describes no protocol (no
    ``[[feedback.blocks]]``). Targets are checked here, before the session
    starts, so a typo stops ``biofeedback live`` with the file, line and field.

    Raises
    ------
    PipelineConfigError
        A block trains an estimate the pipeline does not compute.
    """
    from ..feedback._cues import AudioCue, OscCue
    from ..feedback._protocol import ProtocolSink, check_targets

    fb = config.feedback
    if not fb.enabled:
        return []
    has_model = bool(getattr(args, "model", None)) if args is not None else False
    known = list(config.features.indices)
    # class probabilities exist only with a model; checked again once it is loaded
    targets = {fb.block_target(b)[0] for b in fb.blocks}
    if has_model:
        known += [t for t in targets if t.startswith("p_")]
    check_targets(fb, known, config.fname)
    cue_sinks = []
    if "audio" in fb.sinks:
        cue_sinks.append(AudioCue(fb.audio))
    if "osc" in fb.sinks:
        cue_sinks.append(OscCue(fb.osc))
    view = getattr(args, "view", "auto") if args is not None else "none"
    return [ProtocolSink(fb, cue_sinks, lsl="lsl" in fb.sinks,
                         terminal="terminal" in fb.sinks and view != "none",
                         fname=config.fname)]
