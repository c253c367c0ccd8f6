"""The session report's spectrogram: scipy's numbers, without importing scipy.signal."""

import subprocess
import sys

import numpy as np
import pytest

from biofeedback.feedback._report import spectrogram


@pytest.mark.parametrize(("n", "sfreq", "nperseg"),
                         [(5000, 256.0, 512), (3001, 250.0, 500), (1001, 125.0, 251),
                          (512, 256.0, 512)])
def test_the_reports_spectrogram_is_scipys(n, sfreq, nperseg):
    from scipy.signal import spectrogram as scipy_spectrogram

    rng = np.random.default_rng(0)
    # EEG-sized noise on a drift and an offset: the line each segment loses matters
    data = (rng.standard_normal((4, n)) * 1e-5 + np.linspace(0, 1e-4, n)
            + np.arange(4)[:, None] * 1e-3)
    want = scipy_spectrogram(data, fs=sfreq, nperseg=nperseg, noverlap=nperseg * 3 // 4,
                             detrend="linear", scaling="density")
    got = spectrogram(data, sfreq, nperseg, nperseg * 3 // 4)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    assert got[2].shape == want[2].shape
    np.testing.assert_allclose(got[2], want[2], rtol=0, atol=1e-10 * want[2].max())


def test_the_report_figure_leaves_scipy_signal_unimported():
    """A live session writes its report in its own process: importing
    scipy.signal for the spectrogram alone added about a second to its end."""
    code = ("import sys\n"
            "from biofeedback._data import data_dir\n"
            "from biofeedback.feedback._report import load_session, session_figure\n"
            "fig = session_figure(load_session(data_dir('recordings') / 'sample_synthetic.xdf'))\n"
            "print(len(fig.axes[-1].collections), 'scipy.signal' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "False"]  # the spectrogram is drawn, scipy unneeded
