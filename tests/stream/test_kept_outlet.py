"""What a KeptOutlet keeps for closing a recording is what it sent."""

import numpy as np
import pytest

pytestmark = pytest.mark.lsl


def test_the_kept_samples_are_copies_of_what_was_pushed(uid):
    from biofeedback.stream import eeg_outlet, marker_outlet

    outlet = eeg_outlet(f"kept-{uid}", f"kept-{uid}", ["C3", "C4"], 250.0)
    chunk = np.arange(6, dtype=float).reshape(3, 2)
    outlet.push_chunk(chunk, [1.0, 2.0, 3.0])
    chunk[:] = -1.0  # the caller reuses its buffer for the next chunk
    n, ts, values = outlet.tail()
    assert n == 3
    np.testing.assert_array_equal(ts, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(values, np.arange(6, dtype=float).reshape(3, 2))

    markers = marker_outlet(f"kept-mk-{uid}", f"kept-mk-{uid}")
    rows = [["block_start"], ["cue"]]
    markers.push_chunk(rows, [1.0, 2.0])
    sample = ["threshold"]
    markers.push_sample(sample, 3.0)
    rows[0][0], sample[0] = "changed", "changed"
    assert markers.tail()[2] == [["block_start"], ["cue"], ["threshold"]]
