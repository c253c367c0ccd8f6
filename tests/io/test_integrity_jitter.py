"""Timestamp gap detection on packetised, jittery clocks."""

import numpy as np

from biofeedback.io._integrity import timestamp_gaps


def test_packet_jitter_is_not_a_gap_but_a_lost_packet_is():
    rng = np.random.default_rng(0)
    sfreq, per_packet, n_packets = 256.0, 12, 500
    n = per_packet * n_packets
    ts = np.arange(n) / sfreq
    # each packet's timestamps shift together by up to 1 ms (host receive jitter)
    ts += np.repeat(rng.uniform(-1e-3, 1e-3, n_packets), per_packet)
    assert timestamp_gaps(ts, sfreq) == []
    lost = np.delete(ts, np.arange(1200, 1212))  # one whole packet missing
    gaps = timestamp_gaps(lost, sfreq)
    assert len(gaps) == 1 and abs(gaps[0].n_missing - 12) <= 1
