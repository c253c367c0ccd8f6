"""The signal check before a session: is every electrode in contact, is mains low?

:func:`check_signal` reads a few seconds of raw EEG and gives, per channel,
the figures a person fixing a cap needs (railed share, flatness, mains
amplitude, RMS of the filtered signal, drift) and a verdict: ``go`` or
``fix`` with what to do. The flags come from the engine's own
:class:`~biofeedback.quality.QualityGate` run over the whole span, so the
check and the session judge a channel by the same rules.

On OpenBCI boards the impedance can be measured too (:func:`measure_impedance`,
which needs the hardware): the Cyton's ADS1299 drives a 6 nA lead-off current
at 31.25 Hz into one channel at a time and the impedance follows from the
amplitude at that frequency (:func:`leadoff_impedance`); the Ganglion reports
resistance values itself in its impedance mode.
"""

from ._report import ChannelCheck, CheckLimits, CheckReport
from ._signal import (
           LEADOFF_AMPS,
           LEADOFF_HZ,
           SERIES_OHMS,  # noqa: F401 (importable here, as before)
           check_signal,
           leadoff_impedance,
)
from ._source import measure_impedance, run_check

__all__ = ["CheckLimits", "ChannelCheck", "CheckReport", "check_signal", "run_check",
           "leadoff_impedance", "measure_impedance", "LEADOFF_HZ", "LEADOFF_AMPS"]
