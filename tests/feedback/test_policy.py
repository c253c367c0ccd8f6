"""The cue policy and the protocol schedule, on synthetic scores (pure, no clock)."""

import math

import numpy as np
import pytest

from biofeedback.feedback._config import BlockConfig, FeedbackConfig
from biofeedback.feedback._policy import CuePolicy, Smoother, format_marker, parse_marker
from biofeedback.feedback._protocol import Protocol

HOP = 0.25


def _run(policy, values, gated=None, t0=0.0):
    gated = np.zeros(len(values), bool) if gated is None else gated
    out = [policy.update(t0 + i * HOP, v, g) for i, (v, g) in enumerate(zip(values, gated))]
    return [s for s, _ in out], [sc for _, sc in out]


def test_baseline_percentile_sets_the_threshold(rng):
    base = rng.normal(10.0, 2.0, 4000)
    up = CuePolicy("up", reward_rate=0.65)
    up.calibrate(base)
    assert up.threshold == pytest.approx(np.percentile(base, 35))
    assert np.mean(base > up.threshold) == pytest.approx(0.65, abs=0.01)
    assert up.scale == pytest.approx(2.0, rel=0.05)  # IQR / 1.349 of a normal
    down = CuePolicy("down", reward_rate=0.65)
    down.calibrate(base)
    assert np.mean(base < down.threshold) == pytest.approx(0.65, abs=0.01)


def test_hysteresis_and_dwell_stop_flicker_on_a_noisy_score(rng):
    noisy = 0.2 * rng.standard_normal(2000)  # hovering on the threshold
    plain = CuePolicy("up", 0.5, hysteresis=0.0, dwell=0.0, adapt=False)
    plain.calibrate([-1.0, 0.0, 1.0])
    calm = CuePolicy("up", 0.5, hysteresis=0.3, dwell=1.0, adapt=False)
    calm.calibrate([-1.0, 0.0, 1.0])
    s_plain, _ = _run(plain, noisy)
    s_calm, _ = _run(calm, noisy)
    switches = lambda s: int(np.sum(np.array(s[1:]) != np.array(s[:-1])))  # noqa: E731
    assert switches(s_plain) > 500  # without the policy the cue flickers
    assert switches(s_calm) < switches(s_plain) / 3
    # no state is held less than the dwell time
    changes = np.flatnonzero(np.array(s_calm[1:]) != np.array(s_calm[:-1])) + 1
    assert np.all(np.diff(changes) * HOP >= 1.0)


def test_hysteresis_band_decides_on_and_off():
    pol = CuePolicy("up", 0.5, hysteresis=1.0, dwell=0.0, adapt=False)
    pol.calibrate([-1.0, 0.0, 1.0])  # threshold 0, scale ~1.07
    states, _ = _run(pol, [0.3, 0.7, 0.3, -0.3, -0.7, -0.3])
    assert states == ["no_reward", "reward", "reward", "reward", "no_reward", "no_reward"]


def test_gated_windows_pause_and_never_reward():
    pol = CuePolicy("up", 0.5, hysteresis=0.0, dwell=0.5, adapt=True)
    pol.calibrate([-1.0, 0.0, 1.0])
    values = np.full(40, 5.0)  # far above threshold: would be rewarded
    gated = np.zeros(40, bool)
    gated[10:20] = True
    thr_before = None
    states, scores = [], []
    for i, (v, g) in enumerate(zip(values, gated)):
        if i == 10:
            thr_before = pol.threshold
        s, sc = pol.update(i * HOP, v, g)
        states.append(s)
        scores.append(sc)
        if i == 19:
            assert pol.threshold == thr_before  # no adaptation on noise
    assert all(s == "paused" for s in states[10:20])
    assert all(math.isnan(sc) for sc in scores[10:20])
    assert states[9] == "reward"
    # after the artifact (last gated at t=4.75 s) feedback resumes off and holds it
    # for the 0.5 s dwell
    assert states[20] == "no_reward" and states[21] == "reward"
    # NaN estimates pause too
    assert pol.update(100.0, float("nan"), False)[0] == "paused"


@pytest.mark.parametrize("direction, shift", [("up", 1.0), ("up", -1.0), ("down", 1.0)])
def test_reward_rate_adapts_to_the_target(rng, direction, shift):
    base = rng.normal(0.0, 1.0, 400)
    pol = CuePolicy(direction, reward_rate=0.65, hysteresis=0.3, dwell=0.5, adapt=True,
                    adapt_speed=0.2)
    pol.calibrate(base)
    # the person has changed since the baseline: without adaptation the reward rate
    # would be far from 65 %
    train = rng.normal(shift, 1.0, 8000)
    fixed = CuePolicy(direction, 0.65, hysteresis=0.3, dwell=0.5, adapt=False)
    fixed.calibrate(base)
    s_fixed, _ = _run(fixed, train)
    states, _ = _run(pol, train)
    late = np.mean(np.array(states[4000:]) == "reward")
    assert abs(np.mean(np.array(s_fixed) == "reward") - 0.65) > 0.15
    assert late == pytest.approx(0.65, abs=0.07)


def test_smoother_time_constant_and_gating():
    sm = Smoother(tau=1.0)
    sm.update(0.0, [0.0])
    out = sm.update(1.0, [1.0])
    assert out[0] == pytest.approx(1 - math.exp(-1))
    held = sm.update(2.0, [100.0], gated=True)
    assert held[0] == pytest.approx(out[0])  # gated windows do not enter
    assert Smoother(0.0).update(0.0, [3.0])[0] == 3.0


def test_markers_round_trip():
    text = format_marker("block_start", name="train 1", kind="training", value=0.5,
                         instructions="Keep it 'green', please")
    kind, fields = parse_marker(text)
    assert kind == "block_start"
    assert fields == {"name": "train 1", "kind": "training", "value": "0.5",
                      "instructions": "Keep it 'green', please"}


def _config(**kw):
    blocks = (BlockConfig("rest", "baseline", 5.0, instructions="Eyes open"),
              BlockConfig("up", "training", 5.0),
              BlockConfig("down", "training", 5.0, target="b", direction="down"))
    return FeedbackConfig(target="a", blocks=blocks, min_baseline=2.0, dwell=0.0, **kw)


def test_a_calibration_blocks_start_marker_names_its_state():
    """Training labels a guided calibration block with the state it asks for."""
    blocks = (BlockConfig("calm", "calibration", 2.0, state="relaxed"),
              BlockConfig("rest", "baseline", 2.0))
    prot = Protocol(FeedbackConfig(target="a", blocks=blocks), ["a"])
    events = []
    for t in 1000.0 + np.arange(20) * HOP:
        events += prot.update(t, np.zeros(1), False)[0]
    starts = [parse_marker(e)[1] for e in events if e.startswith("block_start")]
    assert [s.get("state") for s in starts] == ["relaxed", None]


def test_protocol_schedule_markers_and_determinism(rng):
    n = 80  # 20 s of windows; the protocol is 15 s long
    t = 1000.0 + np.arange(n) * HOP
    est = rng.normal(0, 1, (n, 2))
    gated = rng.random(n) < 0.1

    def run():
        prot = Protocol(_config(), ["a", "b"])
        events, cues = [], []
        for ti, e, g in zip(t, est, gated):
            ev, cue = prot.update(ti, e, g)
            events += ev
            if cue is not None:
                cues.append(cue)
        return prot, events, cues

    prot, events, cues = run()
    kinds = [parse_marker(e)[0] for e in events]
    assert kinds == ["block_start", "block_end", "block_start", "threshold", "block_end",
                     "block_start", "threshold", "block_end", "protocol_end"]
    starts = [parse_marker(e)[1] for e in events if e.startswith("block_start")]
    assert [s["name"] for s in starts] == ["rest", "up", "down"]
    assert starts[0]["instructions"] == "Eyes open" and starts[2]["target"] == "b"
    assert prot.done and len(cues) == 60  # 15 s of 0.25 s windows, then the end
    blocks = [c.block for c in cues]
    assert blocks == ["rest"] * 20 + ["up"] * 20 + ["down"] * 20
    assert {c.state for c in cues[:20]} <= {"baseline", "paused"}
    assert {c.state for c in cues[20:]} <= {"reward", "no_reward", "paused"}
    for c, g in zip(cues, gated):
        assert (c.state == "paused") == bool(g)
    assert all(c.target == "b" and c.direction == "down" for c in cues[40:])
    # the same windows give the same cues (replay == live)
    _, events2, cues2 = run()
    assert events2 == events and [c.marker() for c in cues2] == [c.marker() for c in cues]
    summ = prot.summary()
    assert [b["name"] for b in summ["blocks"]] == ["rest", "up", "down"]
    assert 0 <= summ["reward_rate"] <= 1


def test_protocol_without_enough_baseline_calibrates_on_training(rng):
    cfg = FeedbackConfig(target="a", min_baseline=2.0,
                         blocks=(BlockConfig("up", "training", 10.0),))
    prot = Protocol(cfg, ["a"])
    states = [prot.update(i * HOP, [rng.normal()], False)[1].state for i in range(40)]
    assert states[:8] == ["calibrating"] * 8
    assert set(states[10:]) <= {"reward", "no_reward"}


def test_protocol_continue_keeps_the_last_block(rng):
    cfg = _config(end="continue")
    prot = Protocol(cfg, ["a", "b"])
    for i in range(200):
        _, cue = prot.update(i * HOP, rng.normal(size=2), False)
    assert not prot.done and cue.block == "down"


def test_threshold_follows_an_estimate_that_leaves_the_baseline_range():
    # a calm baseline (tiny spread), then the trained value climbs 50 baseline
    # SDs: the threshold must follow so the reward rate returns to its target
    rng = np.random.default_rng(3)
    pol = CuePolicy("up", 0.65, hysteresis=0.3, dwell=1.0)
    pol.calibrate(0.1 + 0.01 * rng.standard_normal(80))
    t, states = 0.0, []
    for _ in range(600):  # 300 s at a 0.5 s hop
        t += 0.5
        value = 0.6 + 0.05 * rng.standard_normal()
        states.append(pol.update(t, value, gated=False)[0])
    late = np.mean([s == "reward" for s in states[-240:]])  # the last two minutes
    assert 0.5 < late < 0.8
    assert pol.threshold > 0.45


def test_the_score_keeps_moving_after_the_estimate_leaves_the_baseline_range():
    pol = CuePolicy("up", 0.65, hysteresis=0.3, dwell=1.0)
    pol.calibrate(0.1 + 0.001 * np.arange(-40, 40))  # a calm baseline
    t, scores = 0.0, []
    for i in range(240):
        t += 0.5
        scores.append(pol.update(t, 0.6 + 0.1 * math.sin(i / 6.0), gated=False)[1])
    late = np.array(scores[120:])
    assert late.min() < 0.45 and late.max() > 0.55
    # it follows the estimate instead of sitting pinned at 0 or 1
    assert np.mean((late <= 0.0) | (late >= 1.0)) < 0.1


def test_transfer_block_decides_cues_but_shows_none_and_holds_the_threshold(rng):
    cfg = FeedbackConfig(target="a", min_baseline=2.0, dwell=0.0, blocks=(
        BlockConfig("rest", "baseline", 5.0), BlockConfig("up", "training", 5.0),
        BlockConfig("hold", "transfer", 5.0)))
    prot = Protocol(cfg, ["a"])
    cues = []
    for i in range(60):
        _, cue = prot.update(i * HOP, [rng.normal() + (3.0 if i >= 40 else 0.0)], False)
        cues.append(cue)
    transfer = [c for c in cues if c is not None and c.block == "hold"]
    assert len(transfer) == 20 and {c.kind for c in transfer} == {"transfer"}
    # computed as in training (the estimate jumped: mostly "reward") ...
    assert {c.state for c in transfer} <= {"reward", "no_reward"}
    assert sum(c.state == "reward" for c in transfer) > 15
    # ... but nobody saw it, so the threshold did not chase the jump
    assert len({c.threshold for c in transfer}) == 1
    summ = prot.summary()
    hold = summ["blocks"][2]
    assert hold["kind"] == "transfer" and hold["reward_rate"] > 0.75
    assert hold["threshold_start"] == hold["threshold_end"]
    assert summ["baseline"]["a"]["n"] == 20


def test_threshold_start_carry_uses_the_previous_sessions_threshold(rng):
    blocks = (BlockConfig("rest", "baseline", 5.0), BlockConfig("up", "training", 5.0))
    carried = {("a", "up"): (7.5, 0.5)}
    base = Protocol(FeedbackConfig(target="a", min_baseline=2.0, blocks=blocks), ["a"],
                    carried=carried)
    carry = Protocol(FeedbackConfig(target="a", min_baseline=2.0, blocks=blocks,
                                    threshold_start="carry"), ["a"], carried=carried)
    for i in range(30):
        x = [rng.normal()]
        base.update(i * HOP, x, False)
        ev, _ = carry.update(i * HOP, x, False)
        if i == 20:
            assert any("source=carried" in e for e in ev)
    # "baseline" ignores what was carried; "carry" starts from it
    assert abs(base.stats[1].threshold_start) < 3
    assert carry.stats[1].threshold_start == 7.5
    assert carry.summary()["thresholds"][0]["source"] == "carried"
    # nothing carried (a first session): the baseline sets it as usual
    first = Protocol(FeedbackConfig(target="a", min_baseline=2.0, blocks=blocks,
                                    threshold_start="carry"), ["a"])
    for i in range(30):
        first.update(i * HOP, [rng.normal()], False)
    assert first.summary()["thresholds"][0]["source"] == "baseline"


def test_unknown_threshold_start_and_block_kind_are_refused():
    with pytest.raises(ValueError, match="threshold_start"):
        FeedbackConfig(threshold_start="last")._validate()
    with pytest.raises(ValueError, match="kind"):
        BlockConfig("x", "hidden")._validate()


def test_the_summary_says_a_threshold_set_in_training_not_from_the_baseline(rng):
    """A baseline all gated: the block's first clean seconds set the threshold, and say so."""
    from biofeedback.feedback._protocol_sink import ProtocolSink

    cfg = FeedbackConfig(target="a", min_baseline=2.0,
                         blocks=(BlockConfig("rest", "baseline", 5.0),
                                 BlockConfig("up", "training", 10.0)))
    prot = Protocol(cfg, ["a"])
    for i in range(80):
        prot.update(i * HOP, [rng.normal()], i * HOP < 5.0)  # every baseline window gated
    prot.finish()
    sink = ProtocolSink(cfg, [], lsl=False, terminal=False)
    sink.protocol = prot
    lines = sink.summary_lines()
    up = next(line for line in lines if line.startswith("block up"))
    assert "(set from the block's first clean seconds: the baseline had too little" in up
    assert "block rest (baseline): 0 clean windows" in "\n".join(lines)
    assert [b["threshold_source"] for b in prot.summary()["blocks"]] == ["", "training_start"]

    # with a clean baseline the line says nothing more
    prot = Protocol(cfg, ["a"])
    for i in range(80):
        prot.update(i * HOP, [rng.normal()], False)
    prot.finish()
    sink.protocol = prot
    up = next(line for line in sink.summary_lines() if line.startswith("block up"))
    assert up.endswith(f"{prot.stats[1].threshold_end:.4g}")
    assert prot.summary()["blocks"][1]["threshold_source"] == "baseline"


def test_the_summary_names_a_calibration_block_as_one():
    """A guided calibration block was listed as '(baseline)' in the summary."""
    from biofeedback.feedback._protocol_sink import ProtocolSink

    cfg = FeedbackConfig(target="a", min_baseline=2.0,
                         blocks=(BlockConfig("calm", "calibration", 5.0, state="relaxed"),
                                 BlockConfig("rest", "baseline", 5.0),
                                 BlockConfig("up", "training", 10.0)))
    prot = Protocol(cfg, ["a"])
    for i in range(80):
        prot.update(i * HOP, [float(i % 7)], False)
    prot.finish()
    sink = ProtocolSink(cfg, [], lsl=False, terminal=False)
    sink.protocol = prot
    text = "\n".join(sink.summary_lines())
    assert "block calm (calibration): 20 clean windows" in text
    assert "block rest (baseline): 20 clean windows" in text
