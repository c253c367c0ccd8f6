"""Reliability of every index on the shared Muse recordings and the demo scenario.

For each index, on the clean windows of each recording:

- window-to-window: Pearson correlation between the values of windows that do
  not overlap and follow each other (2 s apart; for an index averaged over a
  span, ``span + 2 s`` apart, so that neither data nor span overlap),
  pooled over recordings: does one estimate predict the next, where the
  levels that differ between people and states are what is to be measured;
- split-half: the recording means over odd and even non-overlapping 2 s epochs,
  correlated across recordings, stepped up with Spearman-Brown (2r / (1 + r)):
  how well a recording's mean level is measured.

Indices are computed by the engine as live (``faa`` over its causal
``index_span``, 8 s by default; ``faa_1win`` is the single-window value, span
0, for comparison). The demo scenario's rank correlations with its script are
printed too: the demo's approach level is 0 in three quarters of its windows,
so no estimate whose values are not tied there can reach a Spearman
correlation above the printed ceiling; the ROC AUC of the approach stretch
against the rest is the tie-free figure.
Run: python benchmarks/bench_index_reliability.py [DATA_DIR];
results in benchmarks/results/reliability.txt.
"""

import dataclasses
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "muse-mental-state"


def engine_outputs(files, config):
    from biofeedback.engine import Engine
    from biofeedback.hardware import get_profile
    from biofeedback.io import read_recording

    outs = []
    for f in files:
        rec = read_recording(f)
        eng = Engine(config, rec.ch_names, rec.sfreq, get_profile(rec.profile))
        outs.append(eng.run(rec.data, rec.timestamps))
    return outs


def reliability(outs, name, lag):
    a, b, half = [], [], []
    for out in outs:
        v = out.estimates[:, out.estimate_names.index(name)].copy()
        v[out.gated] = np.nan
        if name in ("engagement", "arousal", "theta_beta", "arousal_high_beta"):
            v = np.log(v)  # ratios: on the log scale their spread is symmetric
        x, y = v[:-lag], v[lag:]
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < 5:
            continue
        a.append(x[ok])
        b.append(y[ok])
        epochs = v[::lag]
        odd, even = epochs[1::2], epochs[0::2]
        if np.isfinite(odd).sum() and np.isfinite(even).sum():
            half.append((np.nanmean(odd), np.nanmean(even)))
    r_w = float(np.corrcoef(np.concatenate(a), np.concatenate(b))[0, 1])
    h = np.array(half)
    r_h = float(np.corrcoef(h[:, 0], h[:, 1])[0, 1])
    return r_w, 2 * r_h / (1 + r_h), sum(len(x) for x in a)


def demo_correlations(config):
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    from biofeedback.simulate import run_scenario

    run = run_scenario("demo", config)
    out, levels = run.output, run.levels()
    names = run.source.simulation.state_names
    approach = levels[names.index("approach")]
    engaged = levels[names.index("engaged")] - levels[names.index("relaxed")]

    def est(n):
        return out.estimates[:, out.estimate_names.index(n)]

    faa, e = est("faa"), est("engagement")
    m = ~out.gated & np.isfinite(faa)
    rho_faa = spearmanr(faa[m], approach[m])[0]
    # the best any estimate can do whose values are not tied where the script is
    jitter = np.random.default_rng(0).random(m.sum()) * 1e-9
    ceiling = spearmanr(approach[m] + jitter, approach[m])[0]
    m2 = ~out.gated & np.isfinite(e)
    rho_eng = spearmanr(e[m2], engaged[m2])[0]
    # tie-free: how well faa ranks the windows of the approach stretch above the others
    auc = roc_auc_score(approach[m] > 0.5, faa[m])
    return rho_faa, ceiling, rho_eng, int(m.sum()), float(np.mean(approach[m] == 0)), auc


def main():
    from _results import save_results

    from biofeedback.config import load_pipeline

    files = sorted(DATA.glob("*.csv"))
    base = load_pipeline()
    one = dataclasses.replace(base, features=dataclasses.replace(base.features,
                                                                 index_span={}))
    lag = int(round(base.window.length / base.window.hop))
    lines = [f"Index reliability on {len(files)} Muse recordings (clean windows; "
             f"window-to-window: neighbours sharing no data, {base.window.length:g} s apart "
             "(spanned indices: span + window apart); "
             "split-half: odd vs even 2 s epochs, Spearman-Brown)",
             f"{'index':<18}{'window-to-window':>18}{'split-half':>12}{'pairs':>8}"]
    outs = engine_outputs(files, base)
    outs1 = engine_outputs(files, one)
    for name in base.features.indices:
        span = base.features.index_span.get(name)
        # spanned indices: neighbours whose spans do not overlap either
        lag_i = lag + int(round((span or 0) / base.window.hop))
        r_w, r_h, n = reliability(outs, name, lag_i)
        label = f"{name} ({span:g} s)" if span else name
        lines.append(f"{label:<18}{r_w:>18.2f}{r_h:>12.2f}{n:>8d}")
        if span:
            r_w, r_h, n = reliability(outs1, name, lag)
            lines.append(f"{name + ' (1 window)':<18}{r_w:>18.2f}{r_h:>12.2f}{n:>8d}")
    for cfg, what in ((base, "faa over 8 s"), (one, "faa, single windows")):
        rho_faa, ceiling, rho_eng, n, tied, auc = demo_correlations(cfg)
        lines.append(f"demo scenario, {what}: Spearman faa vs scripted approach {rho_faa:.3f} "
                     f"(ceiling {ceiling:.3f} for any estimate without ties: the script's "
                     f"approach level is 0 in {tied:.0%} of the windows; {rho_faa / ceiling:.0%} "
                     f"of it); approach windows ranked above the others (ROC AUC) {auc:.3f}; "
                     f"engagement vs engaged-minus-relaxed {rho_eng:.3f} ({n} clean windows)")
    save_results("reliability.txt", lines)


if __name__ == "__main__":
    from _results import parse_args

    DATA = parse_args(__doc__, data=DATA)
    main()
