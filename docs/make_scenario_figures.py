"""Make the scenario figures of the docs: ``python docs/make_scenario_figures.py``.

Runs the shipped demo scenario through the default pipeline's engine, as fast
as it computes, and plots each scripted state's level against the estimate
meant to follow it. Writes ``docs/img/scenario_truth_vs_estimate.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def truth_vs_estimate(scenario="demo", fname=HERE / "img" / "scenario_truth_vs_estimate.png"):
    import matplotlib

    matplotlib.use("Agg")
    from biofeedback.simulate import plot_truth, run_scenario

    run = run_scenario(scenario)
    fig = plot_truth(run.source.truth_table(), run.output)
    fig.suptitle(f"Scenario '{run.source.scenario.name}': scripted state (black) and the "
                 "engine's estimate (blue, gated windows left out)", fontsize="medium")
    fig.tight_layout()
    fname.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(fname, dpi=110)
    return fname


if __name__ == "__main__":
    print(truth_vs_estimate())
