"""The summary says when samples came at another rate than the nominal one."""

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
