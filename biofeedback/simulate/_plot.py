"""Plot scripted truth against the engine's estimates."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_truth", "STATE_INDEX"]

#: The estimate that should follow each scripted state.
STATE_INDEX = {
    "relaxed": "alpha_rel",
    "engaged": "engagement",
    "approach": "faa",
    "drowsy": "theta_beta",
}


def _as_series(estimates) -> tuple[dict, np.ndarray | None, np.ndarray | None]:
    """name -> (times, values), plus times and gated mask if known."""
    if isinstance(estimates, dict):
        return dict(estimates), None, None
    t = np.asarray(estimates.t_end, dtype=float)
    est = np.asarray(estimates.estimates, dtype=float)
    series = {n: (t, est[:, i]) for i, n in enumerate(estimates.estimate_names)}
    return series, t, np.asarray(estimates.gated, dtype=bool)


def plot_truth(truth: dict, estimates, *, show_events: bool = True):
    """One panel per scripted state: its level and the estimate meant to follow it.

    Parameters
    ----------
    truth : dict
        A truth table (:meth:`Simulation.truth_table`).
    estimates : EngineOutput | dict
        The engine's stacked output, or ``{name: (times, values)}``.
    show_events : bool
        Shade the times where events (artifacts, faults) are active.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    series, t_win, gated = _as_series(estimates)
    states = [k for k in truth if k not in ("time", "events")]
    fig, axes = plt.subplots(max(1, len(states)), 1, sharex=True,
                             figsize=(9, 2.5 * max(1, len(states))), squeeze=False)
    time = np.asarray(truth["time"])
    active = np.array([bool(e) for e in truth["events"]])
    for ax, state in zip(axes[:, 0], states):
        ax.plot(time, truth[state], color="0.2", lw=2, label=f"scripted {state} level")
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel(f"{state}\nlevel (0-1)")
        if show_events and active.any():
            ax.fill_between(time, 0, 1, where=active, color="tab:red", alpha=0.15,
                            transform=ax.get_xaxis_transform(), lw=0,
                            label="artifact or fault")
        name = STATE_INDEX.get(state)
        if name in series:
            t, v = series[name]
            v = np.asarray(v, dtype=float)
            if gated is not None:
                v = np.where(gated, np.nan, v)
            t = np.asarray(t, dtype=float)
            if t.size > 2:  # break the line where windows are missing (gaps)
                step = np.median(np.diff(t))
                cut = np.flatnonzero(np.diff(t) > 2.5 * step) + 1
                t = np.insert(t, cut, np.nan)
                v = np.insert(v, cut, np.nan)
            ax2 = ax.twinx()
            ax2.plot(t, v, color="tab:blue", lw=1, label=f"estimate: {name}")
            ax2.set_ylabel(name, color="tab:blue")
            lines = ax.get_legend_handles_labels()
            lines2 = ax2.get_legend_handles_labels()
            ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="lower left",
                      bbox_to_anchor=(0, 1), ncol=3, fontsize="small", frameon=False)
        else:
            ax.legend(loc="lower left", bbox_to_anchor=(0, 1), ncol=3, fontsize="small",
                      frameon=False)
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    return fig
