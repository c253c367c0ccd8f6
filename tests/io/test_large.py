"""A multi-hundred-MB file streams: peak memory stays near the decoded array."""

import tracemalloc

import numpy as np
import pytest

from biofeedback.io import read_recording


@pytest.mark.slow
def test_large_muse_csv_streams(tmp_path):
    rng = np.random.default_rng(0)
    n_block = 200_000
    vals = rng.normal(0, 30, (n_block, 5))
    fname = tmp_path / "big.csv"
    with open(fname, "w") as fid:
        fid.write("timestamps,TP9,AF7,AF8,TP10,Right AUX\n")
        for rep in range(25):  # ~250 MB of text
            t = 1.7e9 + (rep * n_block + np.arange(n_block)) / 256.0
            block = np.column_stack([t, vals])
            np.savetxt(fid, block, fmt=["%.4f"] + ["%.3f"] * 5, delimiter=",")
    size = fname.stat().st_size
    assert size > 200e6
    tracemalloc.start()
    try:
        rec = read_recording(fname)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rec.n_times == 25 * n_block
    # The text is never held whole: peak stays under 3x the EEG array (the
    # decoded table plus one block of text) and well under the file size x2.
    assert peak < 3 * rec.data.nbytes, (peak / 1e6, rec.data.nbytes / 1e6)
    assert peak < 2 * size
