"""The shipped sample recording replays to the estimates its live run recorded."""

from pathlib import Path

import numpy as np

from biofeedback.io import read_recording
from biofeedback.replay import replay

SAMPLE = Path(__file__).resolve().parents[1] / "recordings" / "sample_synthetic.xdf"


def test_sample_replays_to_its_recorded_estimates():
    rec = read_recording(SAMPLE)
    recorded = rec.streams["biofeedback-Estimates"]
    out = replay(SAMPLE)
    assert len(out.t_end) == len(recorded.timestamps) > 40
    np.testing.assert_allclose(out.t_end, recorded.timestamps, atol=1e-3)
    live = np.asarray(recorded.data).T
    np.testing.assert_allclose(out.estimates, live[:, :-1], rtol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(out.gated, live[:, -1].astype(bool))
