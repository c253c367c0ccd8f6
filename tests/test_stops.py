"""Every way a session can end has its words, where the names are."""

from biofeedback import _stops


def test_every_reason_a_session_ends_for_is_said_in_words():
    names = {v for k, v in vars(_stops).items() if k.isupper() and isinstance(v, str)}
    assert names == set(_stops._WORDS)
    assert _stops.in_words(_stops.INTERRUPT) == "Ctrl-C"
    assert _stops.in_words("an app's own reason") == "an app's own reason"
