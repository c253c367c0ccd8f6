"""The summary says when samples came at another rate than the nominal one."""

import re

import pytest

from biofeedback.session._summary import SessionSummary, rate_note


def _summary(n_samples, duration, lost=0):
    s = SessionSummary("x")
    s.n_samples, s.duration = n_samples, duration
    s.losses = {"total": lost}
    return s


def test_a_sender_two_percent_fast_is_said_and_losses_do_not_count_as_slowness():
    note = rate_note(_summary(3061, 12.0), 250.0)  # 255 Hz
    assert note.startswith("the samples came at 255.00 Hz, 2.0 % above the nominal "
                           "250 Hz")
    assert "2.0 % below" in rate_note(_summary(2941, 12.0), 250.0)
    # 250 Hz with 60 samples counted lost is on time; half a percent is jitter
    assert rate_note(_summary(2941, 12.0, lost=60), 250.0) is None
    assert rate_note(_summary(3016, 12.0), 250.0) is None
    assert rate_note(_summary(600, 2.0), 250.0) is None  # too short to tell


@pytest.mark.lsl
@pytest.mark.slow
def test_a_live_session_on_a_fast_sender_says_its_rate_and_keeps_it_in_the_summary(
        uid, capsys):
    """The whole path: a sender declaring 250 Hz that sends 255 Hz, read by
    `live --lsl`; the session's end says the rate, once, and keeps it in its notes."""
    import threading

    import numpy as np
    import pylsl

    from biofeedback.cli import main

    name = f"fast-{uid}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 4, 250.0, "float32", name))
    stop = threading.Event()

    def send():
        rng, t0, n = np.random.default_rng(0), pylsl.local_clock(), 0
        while not stop.wait(0.02):
            due = int((pylsl.local_clock() - t0) * 255.0)
            outlet.push_chunk(rng.normal(0, 10, (due - n, 4)).tolist(),
                              (t0 + np.arange(n, due) / 255.0).tolist())
            n = due

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    try:
        code = main(["live", "--lsl", name, "--duration", "12", "--no-record",
                     "--view", "none"])
    finally:
        stop.set()
        thread.join()
    out, err = capsys.readouterr()
    assert code == 0, err
    said = [ln for ln in (out + err).splitlines() if "the nominal 250 Hz" in ln]
    assert len(said) == 1, out + err
    assert re.search(r"came at 25[45]\.\d\d Hz, [12]\.\d % above the nominal 250 Hz", said[0])
    assert said[0].startswith("warning: the samples came at")  # the summary's line
