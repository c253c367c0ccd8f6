"""Make the training figures of the docs: ``python docs/make_training_figures.py``.

Leave-one-subject-out validation of the default classifier (``lda``: log
band powers of the channels the quality gates keep, each centred on its
channel's level and pooled per band, then LDA) on the shared Muse recordings
(``../shared/data/muse-mental-state``, never copied into the repository),
windows after the first 20 s, each window alone and through the engine's
state filter (30 s dwell; uncalibrated, its evidence weight chosen by nested
leave-one-subject-out as ``train`` does by default; with the guided
calibration of 20 s per state, the fixed weight hop / window). Writes

- ``docs/img/training_confusion.png``: pooled confusion matrices of the held-out
  windows, each window alone and through the state filter;
- ``docs/img/training_per_subject.png``: balanced accuracy per held-out
  subject for each protocol.

Prints the figures' numbers, which are those of ``docs/training.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
DATA = HERE.parent.parent / "shared" / "data" / "muse-mental-state"


def main(data=DATA, out=HERE / "img") -> int:
    data = Path(data)
    if not sorted(data.glob("*.csv")):
        print(f"No Muse recordings in {data}: skipping the training figures.")
        return 0
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from biofeedback.training import (
        cross_validate,
        evidence_grid,
        extract_dataset,
        label_files,
    )
    from biofeedback.training._report import _per_group_fig, plot_confusion

    ds = extract_dataset(label_files([data]), n_jobs=1)  # clean windows, as cues
    from biofeedback.training._streams import CalibrationPlan

    guided = CalibrationPlan((("relaxed", 20.0), ("neutral", 20.0), ("concentrating", 20.0)))
    results = {
        "window alone": cross_validate(ds, "lda", score_after=20.0),
        "state filter": cross_validate(ds, "lda", score_after=20.0, dwell=30.0,
                                       evidence=evidence_grid(ds.config), switch_every=30.0),
        "guided calibration": cross_validate(ds, "lda", calibration=guided),
        "guided+filter": cross_validate(ds, "lda", calibration=guided, dwell=30.0),
    }
    for title, r in results.items():
        folds = " ".join(f"{f['test'][-1]} {f['balanced_accuracy']:.2f}"
                         for f in r.folds)
        print(f"{title:<20} mean over folds {r.mean_fold_accuracy:.3f}, pooled "
              f"{r.balanced_accuracy:.3f} ({folds})")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.8))
    for ax, title in zip(axes, ("window alone", "state filter"), strict=True):
        r = results[title]
        label = ("each window alone" if title == "window alone"
                 else "HMM state filter, 30 s dwell")
        plot_confusion(ax, r, "")
        ax.set_title(f"{label}\nbalanced accuracy {r.balanced_accuracy:.2f} (pooled)",
                     fontsize=9)
    fig.suptitle("Held-out subjects (LOSO), LDA on the clean channels' log band powers "
                 "(pooled), windows after the first 20 s", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "training_confusion.png", dpi=110)
    plt.close(fig)

    fig = _per_group_fig(plt, results)
    fig.set_size_inches(8.5, 3.4)
    fig.axes[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.axes[0].set_title("LOSO balanced accuracy per held-out subject (chance 0.33)",
                          fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "training_per_subject.png", dpi=110)
    plt.close(fig)
    print(f"Wrote {out / 'training_confusion.png'} and {out / 'training_per_subject.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
