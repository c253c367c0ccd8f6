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


def test_a_recording_made_with_a_model_names_it_in_replay(tmp_path, caplog):
    """Replayed without its model, a session's recording named no model: the
    warning now gives the file its sidecar recorded, printed safely."""
    rec = read_recording(SAMPLE)
    side = dict(rec.provenance["sidecar"])
    side["model"] = {"file": "study/sub-P01/models/p01\x1b[2J.bfm", "sha256": "0" * 64}
    rec.provenance["sidecar"] = side
    replay(rec)
    said = [r.getMessage() for r in caplog.records if "made with a model" in r.getMessage()]
    assert said == ["This recording was made with a model, study/sub-P01/models/p01?[2J.bfm; "
                    "pass it (--model) to replay its probabilities."]
