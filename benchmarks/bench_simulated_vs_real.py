"""A classifier's accuracy on simulated states, next to the real Muse recordings.

Simulated data are easy: the states differ exactly as the scenario says and
nothing else changes. This benchmark trains the same classifier the same way
on both and prints the two accuracies side by side, so that nobody mistakes
one for the other.

- Real: ``../shared/data/muse-mental-state`` (four subjects, relaxed /
  neutral / concentrating, ~60 s each, Muse 2016).
- Simulated: four simulated "subjects" (own seed, own alpha frequency and
  amplitudes) wearing the same headset, 60 s per state: ``relaxed``,
  neutral, ``engaged`` (for "concentrating"), a blink every 7 s.

Both go through the default pipeline's engine (2 s windows every 0.5 s,
gated windows dropped); features are the engine's log band powers; the
classifier is ``logreg``. Scores are balanced accuracy, leave one subject
out (the honest split), and random 5-fold over overlapping windows (the
leaky split published results use), for contrast.

Run from the repository root::

    python benchmarks/bench_simulated_vs_real.py

Results also go to ``benchmarks/results/simulated_vs_real.txt``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = Path(os.environ.get("BIOFEEDBACK_SHARED_DATA", REPO.parent / "shared" / "data"))
CLASSES = ("relaxed", "neutral", "concentrating")
LINES = []


def out(line=""):
    print(line)
    LINES.append(line)


def _features(data, timestamps, ch_names, sfreq, profile):
    from biofeedback.config import load_pipeline
    from biofeedback.engine import Engine

    engine = Engine(load_pipeline(), ch_names, sfreq, profile)
    res = engine.run(data, timestamps, chunk_size=int(sfreq // 4))
    return res.features[~res.gated]


def real_dataset():
    from biofeedback.hardware import get_profile
    from biofeedback.io import read_recording

    folder = DATA / "muse-mental-state"
    if not folder.is_dir():
        return None
    X, y, groups = [], [], []
    for path in sorted(folder.glob("subject*-*-1.csv")):
        m = re.match(r"subject(\w)-(\w+)-\d+", path.stem)
        subject, state = m.group(1), m.group(2)
        rec = read_recording(path)
        f = _features(rec.data, rec.timestamps, rec.ch_names, rec.sfreq,
                      get_profile(rec.profile or "muse_2016"))
        X.append(f)
        y += [state] * len(f)
        groups += [subject] * len(f)
    return np.concatenate(X), np.array(y), np.array(groups)


def simulated_dataset():
    from biofeedback.simulate import simulate
    from biofeedback.simulate._scenario import Background, Event, Scenario, Segment

    X, y, groups = [], [], []
    for subject in range(4):
        rng = np.random.default_rng([2024, subject])
        bg = Background(
            exponent=float(rng.uniform(0.8, 1.4)),
            amplitude_uv=float(rng.uniform(6, 12)),
            alpha_hz=float(rng.uniform(9.0, 11.5)),
            alpha_uv=float(rng.uniform(3, 8)),
            theta_uv=float(rng.uniform(2, 4)),
            beta_uv=float(rng.uniform(1.5, 3)),
        )
        for k, (label, state) in enumerate(
            (("relaxed", "relaxed"), ("neutral", "neutral"), ("concentrating", "engaged"))
        ):
            scen = Scenario(
                name=f"sim-{subject}-{label}", board="muse_2016", duration=60.0,
                seed=1000 * subject + k,
                timeline=(Segment(at=0.0, state=state, level=1.0, ramp=0.0),),
                events=(Event(kind="blink", at=3.0, every=7.0, count=8),),
                background=bg,
            )
            sim = simulate(scen)
            f = _features(sim.data, sim.timestamps, sim.ch_names, sim.sfreq, sim.profile)
            X.append(f)
            y += [label] * len(f)
            groups += [f"s{subject}"] * len(f)
    return np.concatenate(X), np.array(y), np.array(groups)


def scores(X, y, groups):
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import KFold, LeaveOneGroupOut, cross_val_predict

    from biofeedback.estimators import make_classifier

    clf = make_classifier("logreg")
    loso = cross_val_predict(clf, X, y, groups=groups, cv=LeaveOneGroupOut())
    rand = cross_val_predict(clf, X, y, cv=KFold(5, shuffle=True, random_state=0))
    per_subject = {
        g: balanced_accuracy_score(y[groups == g], loso[groups == g]) for g in np.unique(groups)
    }
    return balanced_accuracy_score(y, loso), balanced_accuracy_score(y, rand), per_subject


def main():
    import warnings

    from _results import save_results

    warnings.simplefilter("ignore", UserWarning)
    out("Classifier accuracy: simulated states vs real Muse recordings")
    out("logreg on the engine's log band powers, 3 classes (chance 0.33), balanced accuracy")
    out()
    rows = []
    sim = simulated_dataset()
    rows.append(("simulated (4 scripted subjects)", sim))
    real = real_dataset()
    if real is None:
        out(f"(real recordings not found at {DATA}; only the simulated row is shown)")
    else:
        rows.append(("real Muse (4 subjects, session 1)", real))
    out(f"{'data':<36}{'windows':>8}{'leave-one-subject-out':>24}{'random 5-fold':>15}")
    for name, (X, y, groups) in rows:
        loso, rand, per = scores(X, y, groups)
        out(f"{name:<36}{len(y):>8}{loso:>24.3f}{rand:>15.3f}")
        out(f"{'':<4}per held-out subject: "
            + ", ".join(f"{g} {a:.2f}" for g, a in per.items()))
    out()
    out("The simulated score only says that the pipeline can separate states that")
    out("differ as scripted; the real leave-one-subject-out score is the one to quote.")
    save_results("simulated_vs_real.txt", LINES, echo=False)


if __name__ == "__main__":
    from _results import parse_args

    parse_args(__doc__)
    main()
