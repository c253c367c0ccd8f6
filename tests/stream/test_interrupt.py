"""Ctrl-C as an LSL source opens its inlet leaves no inlet open.

Python raises KeyboardInterrupt between any two bytecodes: the test wraps
the inlet's making with one that makes it, then raises SIGINT (a key
pressed as it returns), on a real outlet on loopback.
"""

import signal
import time

import pytest

from biofeedback.stream import LSLSource
from biofeedback.stream._lsl import LSLSource as _LSLSource
from biofeedback.stream._pylsl import import_pylsl


@pytest.mark.lsl
def test_ctrl_c_as_the_inlet_opens_closes_it(monkeypatch, ctrl_c, uid):
    """A source counted as started once its _open returned: Ctrl-C in it, or
    as it returned, left its inlet subscribed to the sender's outlet."""
    pylsl = import_pylsl()
    name = f"interrupt-{uid}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 4, 250.0, "float32", name))
    real = _LSLSource._make_inlet

    def make_inlet(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        signal.raise_signal(signal.SIGINT)
        return out

    monkeypatch.setattr(_LSLSource, "_make_inlet", make_inlet)
    source = LSLSource(name, timeout=5.0)
    with pytest.raises(KeyboardInterrupt):
        source.start()
    assert source._inlet is None
    deadline = time.monotonic() + 5.0
    while outlet.have_consumers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not outlet.have_consumers(), "the inlet stayed subscribed after Ctrl-C"
