# %% [markdown]
# # A live session in a notebook
#
# `LiveSession` runs a live session on its own thread, so the notebook stays
# free: read the newest estimates and raw EEG while it runs, then plot them.
# It runs on BrainFlow's synthetic board: no hardware needed. Open this file
# in Jupyter with jupytext, or run it as a script:
#
#     python docs/examples/live_notebook.py
#
# `BIOFEEDBACK_EXAMPLE_SECONDS` sets how long the session runs (default 20 s)
# and `BIOFEEDBACK_EXAMPLE_FIGURE` where the figure is saved (default: shown).

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np

from biofeedback.live import LiveSession

SECONDS = float(os.environ.get("BIOFEEDBACK_EXAMPLE_SECONDS", "20"))
FIGURE = os.environ.get("BIOFEEDBACK_EXAMPLE_FIGURE")

# %% [markdown]
# Start the session. `start()` returns once the engine has given its first
# window; nothing is recorded unless `record=True`.

# %%
live = LiveSession("synthetic", name="notebook-example")
live.start()
print(f"{len(live.ch_names)} channels at {live.sfreq:g} Hz; estimates: "
      f"{', '.join(live.estimate_names)}")

# %% [markdown]
# While it runs, read the newest windows and the newest raw samples. Reads
# never consume: another call gives the same data plus what arrived since.

# %%
time.sleep(SECONDS)
recent = live.get_estimates(last=5)
print(recent.to_data_frame().round(3).to_string(index=False))
data, timestamps = live.get_data(seconds=2.0)

# %% [markdown]
# Stop it: the summary says what the session did.

# %%
summary = live.stop()
print("\n".join(summary.lines()))
est = live.get_estimates()
df = est.to_data_frame()

# %% [markdown]
# Plot the estimates over the session (gated windows shaded) and the last
# two seconds of raw EEG.

# %%
t = df["t_end"] - df["t_end"].iloc[0]
names = ["engagement", "arousal", "alpha_rel"]
fig, axes = plt.subplots(len(names) + 1, 1, figsize=(8, 7), layout="constrained")
for ax, name in zip(axes[: len(names)], names, strict=True):
    ax.plot(t, df[name], lw=1.2)
    for x in t[df["gated"]]:
        ax.axvspan(x - 0.25, x + 0.25, color="0.85", lw=0)
    ax.set_ylabel(name)
axes[len(names) - 1].set_xlabel("time in session (s)")
raw_t = timestamps - timestamps[0]
uv = data[:4] * 1e6  # the first four channels
uv -= np.median(uv, axis=1, keepdims=True)
step = 6 * float(np.median(np.std(uv, axis=1))) or 1.0
offsets = -np.arange(len(uv))[:, None] * step
axes[-1].plot(raw_t, (uv + offsets).T, lw=0.6)
axes[-1].set_yticks(offsets[:, 0], live.ch_names[:4])
axes[-1].set_xlabel(f"last 2 s of raw EEG (s); {step:.0f} µV between traces")
if FIGURE:
    fig.savefig(FIGURE, dpi=80)
else:
    plt.show()
