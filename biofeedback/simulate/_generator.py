"""Turn a scenario into samples, timestamps, packet counters and the truth.

The signal model (documented in ``docs/scenarios.md``), per channel ``c``::

    x_c(t) = b_c(t) + sum_band g_c,band(t) * r_c,band(t) + n_c(t) + events

``b`` is 1/f^beta background, ``r`` unit-RMS narrow-band noise around the
theta, alpha and beta peaks, ``n`` white sensor noise and ``g`` the rhythm's
amplitude, set by the scripted state levels:
``g = base_uv * prod_state mult(state, band, region(c)) ** level_state(t)``.
Every random part draws from its own seeded generator, so changing the faults
of a scenario never changes its signal. What it gives, a
:class:`~biofeedback.simulate._simulation.Simulation`, is in
:mod:`._simulation`.
"""

from __future__ import annotations

import re

import numpy as np

from ._scenario import EVENT_KINDS, STATES, Scenario, read_scenario
from ._simulation import ScriptedEvent, Simulation

__all__ = ["simulate", "channel_regions"]

_BAND_WIDTH = {"theta": 1.0, "alpha": 1.5, "beta": 4.0}  # Gaussian SD in Hz
_TEMPORAL_EXTRA = {"F7", "F8", "P7", "P8", "T5", "T6"}


def channel_regions(ch_names) -> dict[str, set]:
    """Which regions each channel belongs to, from its 10-20 name.

    Returns a dict name -> set of "frontal"/"posterior", "left_frontal",
    "right_frontal", "temporal", "eye" (Fp/AF: blinks at full size).
    Odd numbers are left, even right, "z" midline.
    """
    out = {}
    for ch in ch_names:
        regions = set()
        up = ch.upper()
        m = re.match(r"([A-Z]+)(\d+|Z)?", up)
        prefix = m.group(1) if m else up
        num = m.group(2) if m else None
        frontal = prefix in ("FP", "AF", "F", "FC", "FT")
        regions.add("frontal" if frontal else "posterior")
        if frontal and num and num != "Z":
            regions.add("left_frontal" if int(num) % 2 else "right_frontal")
        if prefix in ("FP", "AF"):
            regions.add("eye")
        if prefix in ("T", "TP", "FT") or up in _TEMPORAL_EXTRA:
            regions.add("temporal")
        out[ch] = regions
    return out


def _default_channels(kind: str, ch_names, regions) -> tuple[list[str], np.ndarray]:
    """Channels an event touches by default, with their relative weight."""
    where = EVENT_KINDS[kind][2]
    if where == "frontal":  # blinks: full at Fp/AF, 40 % at F/FC
        chans, w = [], []
        for ch in ch_names:
            if "eye" in regions[ch]:
                chans.append(ch), w.append(1.0)
            elif "frontal" in regions[ch] and "temporal" not in regions[ch]:
                chans.append(ch), w.append(0.4)
        if chans:
            return chans, np.array(w)
        return [ch_names[0]], np.ones(1)
    if where == "temporal":
        chans = [ch for ch in ch_names if "temporal" in regions[ch]] or list(ch_names)
        return chans, np.ones(len(chans))
    if where == "all":
        return list(ch_names), np.ones(len(ch_names))
    return [ch_names[0]], np.ones(1)


# -- signal parts ------------------------------------------------------------
def _shaped_noise(rng, n, sfreq, gain_fn) -> np.ndarray:
    """White noise shaped in frequency by ``gain_fn(freqs)``, unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sfreq)
    spec *= gain_fn(freqs)
    x = np.fft.irfft(spec, n)
    rms = np.sqrt(np.mean(x**2))
    return x / rms if rms > 0 else x


def _pink(exponent):
    def gain(freqs):
        f = np.maximum(freqs, 0.5)
        g = f ** (-exponent / 2.0)
        g[freqs > 45.0] *= np.exp(-(freqs[freqs > 45.0] - 45.0) / 10.0)
        return g

    return gain


def _peak(center, width):
    return lambda freqs: np.exp(-0.5 * ((freqs - center) / width) ** 2)


def _band(lo, hi):
    return lambda freqs: ((freqs >= lo) & (freqs <= hi)).astype(float)


def _state_levels(scen: Scenario, times: np.ndarray) -> tuple[list, np.ndarray]:
    """Piecewise-linear level of each state at ``times``."""
    names = scen.states
    knots = {s: [(0.0, 0.0)] for s in names}

    def value(kn, t):
        ts, vs = zip(*kn)
        return float(np.interp(t, ts, vs))

    for seg in scen.timeline:
        for s in names:
            target = seg.level if s == seg.state else 0.0
            kn = knots[s]
            v = value(kn, seg.at)
            end = seg.at + max(seg.ramp, 1e-9)
            kn[:] = [k for k in kn if k[0] < seg.at] + [(seg.at, v), (end, target)]
    levels = np.array([np.interp(times, *zip(*knots[s])) for s in names])
    levels = levels.reshape(len(names), times.size)
    return names, levels


def _expand_events(scen, profile, regions) -> list[ScriptedEvent]:
    out = []
    for ev in scen.events:
        amp = EVENT_KINDS[ev.kind][0] if ev.amplitude_uv is None else ev.amplitude_uv
        if ev.channels:
            chans = list(ev.channels)
        else:
            chans, _ = _default_channels(ev.kind, profile.ch_names, regions)
        for i in range(ev.count):
            onset = ev.at + i * ev.every
            if onset >= scen.duration:
                break
            out.append(ScriptedEvent(ev.kind, onset, ev.default_duration, chans, amp, ev.freq))
    for o in scen.faults.disconnects:
        out.append(ScriptedEvent("disconnect", o.at, o.duration, list(profile.ch_names)))
    for o in scen.faults.loss_bursts:
        out.append(ScriptedEvent("loss_burst", o.at, o.duration, list(profile.ch_names)))
    out.sort(key=lambda e: e.onset)
    return out


def simulate(scenario) -> Simulation:
    """Generate a scenario's data, timestamps, counters and truth.

    Parameters
    ----------
    scenario : Scenario | path-like | str
        A scenario, a ``.toml`` file or a shipped scenario's name.

    Returns
    -------
    sim : Simulation
        Identical for identical scenario and seed.
    """
    scen = read_scenario(scenario)
    profile = scen.profile
    ch_names = list(profile.ch_names)
    n_ch = len(ch_names)
    sfreq = float(profile.sfreq)
    f = scen.faults
    bg = scen.background
    true_rate = sfreq * (1.0 + f.srate_ppm * 1e-6)
    n = int(np.floor(scen.duration * true_rate))
    t = np.arange(n) / true_rate
    regions = channel_regions(ch_names)
    seed = scen.seed

    # background, rhythms and sensor noise
    state_names, levels = _state_levels(scen, t)
    data = np.zeros((n_ch, n))
    bands = {"theta": (bg.theta_hz, bg.theta_uv), "alpha": (bg.alpha_hz, bg.alpha_uv),
             "beta": (bg.beta_hz, bg.beta_uv)}
    for c, ch in enumerate(ch_names):
        rng = np.random.default_rng([seed, 1, c])
        x = bg.amplitude_uv * _shaped_noise(rng, n, true_rate, _pink(bg.exponent))
        x += bg.noise_uv * np.random.default_rng([seed, 2, c]).standard_normal(n)
        for j, (band, (hz, uv)) in enumerate(bands.items()):
            if uv == 0:
                continue
            rng = np.random.default_rng([seed, 3, c, j])
            r = _shaped_noise(rng, n, true_rate, _peak(hz, _BAND_WIDTH[band]))
            log_gain = np.zeros(n)
            for s, lv in zip(state_names, levels):
                for region, mult in STATES[s].get(band, {}).items():
                    if region in regions[ch]:
                        log_gain += lv * np.log(mult)
            x += uv * np.exp(log_gain) * r
        if bg.dc_uv:
            x += np.random.default_rng([seed, 4, c]).uniform(-bg.dc_uv, bg.dc_uv)
        data[c] = x

    # artifacts
    events = _expand_events(scen, profile, regions)
    idx = {ch: i for i, ch in enumerate(ch_names)}
    replace = []
    for k, ev in enumerate(events):
        if ev.kind in ("disconnect", "loss_burst"):
            continue
        a = int(np.ceil(ev.onset * true_rate))
        b = min(n, int(np.ceil((ev.onset + ev.duration) * true_rate)))
        if b <= a:
            continue
        tt = t[a:b] - ev.onset
        rng = np.random.default_rng([seed, 5, k])
        if ev.kind == "blink":
            _, weights = _default_channels("blink", ch_names, regions)
            wmap = dict(zip(_default_channels("blink", ch_names, regions)[0], weights))
            wave = 0.5 - 0.5 * np.cos(2 * np.pi * tt / ev.duration)
            for ch in ev.channels:
                data[idx[ch], a:b] += ev.amplitude_uv * wmap.get(ch, 1.0) * wave
        elif ev.kind == "clench":
            hi = min(100.0, 0.45 * true_rate)
            edge = np.clip(np.minimum(tt, ev.duration - tt) / 0.05, 0, 1)
            for ch in ev.channels:
                emg = _shaped_noise(rng, b - a, true_rate, _band(20.0, hi))
                data[idx[ch], a:b] += ev.amplitude_uv * edge * emg
        elif ev.kind == "line_noise":
            freq = profile.line_freq if ev.freq is None else ev.freq
            for ch in ev.channels:
                phase = rng.uniform(0, 2 * np.pi)
                data[idx[ch], a:b] += ev.amplitude_uv * np.sin(2 * np.pi * freq * t[a:b] + phase)
        elif ev.kind == "pop":
            tau = ev.duration / 5.0
            for ch in ev.channels:
                data[idx[ch], a:b] += ev.amplitude_uv * np.exp(-tt / tau)
        else:  # railed, flat: applied last, they replace the signal
            replace.append((ev, a, b))
    for ev, a, b in replace:
        if ev.kind == "railed":
            value = ev.amplitude_uv or -(profile.rail_uv or 187500.0)
        else:
            value = ev.amplitude_uv
        for ch in ev.channels:
            data[idx[ch], a:b] = value
    data *= 1e-6  # µV -> V

    # transport: packets, counter, loss, disconnects, timestamps
    packet = np.arange(n) // f.packet_size
    n_packets = int(packet[-1]) + 1 if n else 0
    wrap = f.counter_wrap or profile.columns.packet_counter_wrap or 65536
    counter = packet % wrap
    p_start = np.arange(n_packets) * f.packet_size / true_rate
    p_lost = np.random.default_rng([seed, 6]).random(n_packets) < f.packet_loss
    for o in f.loss_bursts:
        p_lost |= (p_start >= o.at) & (p_start < o.at + o.duration)
    disconnected = np.zeros(n, dtype=bool)
    for o in f.disconnects:
        disconnected |= (t >= o.at) & (t < o.at + o.duration)
    lost = p_lost[packet] & ~disconnected
    device = f.clock_offset + t * (1.0 + f.drift_ppm * 1e-6)
    if f.jitter_ms:
        # the host stamps each packet on arrival and back-fills its samples at
        # the nominal rate, so jitter moves whole packets; it is clipped to
        # under half a sample period so that timestamps keep increasing
        half = 0.45 / sfreq
        jit = np.random.default_rng([seed, 8]).normal(0.0, f.jitter_ms * 1e-3, n_packets)
        jit = np.clip(jit, -half, half)
        device = device + jit[packet]
    sim = Simulation(
        scenario=scen,
        profile=profile,
        ch_names=ch_names,
        sfreq=sfreq,
        data=np.ascontiguousarray(data),
        true_times=t,
        timestamps=device,
        counter=counter.astype(np.int64),
        packet=packet.astype(np.int64),
        counter_wrap=int(wrap),
        lost=lost,
        disconnected=disconnected,
        state_names=state_names,
        levels=levels,
        events=events,
    )
    return sim
