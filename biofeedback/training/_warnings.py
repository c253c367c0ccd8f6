"""What a :class:`~._dataset.Dataset` holds that a researcher should hear about.

Each check gives one sentence (or None): classes told apart by which
electrodes were left out, subjects holding one class, people a new-day split
never scores, switching stretches longer than the recordings, and recordings
a model was trained on. ``train`` and ``evaluate`` log them; the report
shows the first two.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

from .._words import agree, listed

#: A class with fewer windows than this to train on is said in a warning
#: (:meth:`DatasetWarnings.few_windows_warning`): a classifier cannot estimate
#: a state's spread from a handful of overlapping windows (2 s every 0.5 s).
MIN_CLASS_WINDOWS = 5
#: What scikit-learn warns when a class holds too few windows, said instead by
#: :meth:`DatasetWarnings.few_windows_warning`: a covariance of one window, a
#: stratified split of a class with fewer windows than folds.
_SKLEARN_FEW = (r"Only one sample available", r"The least populated class in y has only")


@contextlib.contextmanager
def few_windows_said():
    """Fit inside this: scikit-learn's warnings about a class with too few
    windows are not printed, :meth:`DatasetWarnings.few_windows_warning`
    says it in one sentence."""
    with warnings.catch_warnings():
        for message in _SKLEARN_FEW:
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        yield

#: One class holding this many times the training windows of another is said in
#: a warning (:meth:`DatasetWarnings.unbalanced_warning`).
UNBALANCED_RATIO = 2.0
#: A channel left out of this much larger a share of one class's windows than of
#: another's is worth a warning (see :meth:`DatasetWarnings.electrode_warning`).
ELECTRODE_SPREAD = 0.5


#: A new-day split's held-out session begun less than this many hours after the
#: person's session before is said in a warning (:meth:`DatasetWarnings.same_day_warning`).
SAME_DAY_HOURS = 12.0
#: A held-out group holding more than this share of the windows scored, with
#: the pooled figure this far from the mean over groups, is said in a warning
#: (:func:`pooled_share_warning`).
POOLED_SHARE, POOLED_GAP = 0.5, 0.05


def pooled_share_warning(result) -> str | None:
    """When one held-out group holds most of the windows a validation scored
    (``result``: a :class:`~._validation.CVResult`), so that the pooled
    balanced accuracy is mostly its own and far from the mean over groups:
    one much longer recording, or one person recorded far longer."""
    import math

    folds = [f for f in result.folds if f.get("n_windows")
             and not math.isnan(f.get("balanced_accuracy", math.nan))]
    total = sum(f["n_windows"] for f in folds)
    if len(folds) < 3 or not total:
        return None
    top = max(folds, key=lambda f: f["n_windows"])
    mean = sum(f["balanced_accuracy"] for f in folds) / len(folds)
    share = top["n_windows"] / total
    if share <= POOLED_SHARE or abs(result.balanced_accuracy - mean) < POOLED_GAP:
        return None
    return (f"{top['test']} holds {share:.0%} of the windows scored, so the pooled balanced "
            f"accuracy ({result.balanced_accuracy:.2f}) is mostly theirs ({top['test']}: "
            f"{top['balanced_accuracy']:.2f}); the mean over the {len(folds)} held-out "
            f"groups is {mean:.2f}. Read the rows per group, or record about as long of "
            "each.")


class DatasetWarnings:
    """The checks of a :class:`~._dataset.Dataset` (a mixin: reads its fields)."""

    def electrode_warning(self, spread: float = ELECTRODE_SPREAD) -> str | None:
        """One sentence when which electrodes are left out differs by class.

        A channel left out (railed, flat, mains-dominated, bad) in a much larger
        share of one class's windows than of another's lets a classifier learn
        the electrode instead of the state: it then fails on any recording
        where contact does not follow the class. None when no channel's share
        differs by ``spread`` or more between two classes.
        """
        worst = None
        for ch, by in self.left_out_by_class().items():
            hi, lo = max(by, key=by.get), min(by, key=by.get)
            gap = by[hi] - by[lo]
            if gap >= spread and (worst is None or gap > worst[0]):
                worst = (gap, ch, hi, by[hi], lo, by[lo])
        if worst is None:
            return None
        _, ch, hi, p_hi, lo, p_lo = worst
        return (f"The quality gates leave {ch} out of {p_hi:.0%} of the {hi!r} windows "
                f"but {p_lo:.0%} of the {lo!r} ones, so a model reading every channel "
                "(lda-channels, logreg, rf, hgb, riemann) can learn that electrode instead "
                "of the state (the default lda reads only the channels kept); check its "
                "contact in those recordings.")

    def unbalanced_warning(self, ratio: float = UNBALANCED_RATIO) -> str | None:
        """One sentence when one class holds ``ratio`` times the windows of another.

        Every registered classifier learns the classes' shares of the training
        windows as how often each state occurs (LDA's priors, a logistic
        regression's intercept), and those shares are only how long each state
        was recorded: the model then leans toward the longer-recorded state,
        live as in validation. None when the classes are within ``ratio``.
        """
        counts = {c: int((self.y == c).sum()) for c in self.classes}
        if len(counts) < 2:
            return None
        hi, lo = max(counts, key=counts.get), min(counts, key=counts.get)
        if counts[hi] < ratio * max(counts[lo], 1):
            return None
        return (f"The classes hold unbalanced numbers of windows ({hi!r} "
                f"{counts[hi]}, {lo!r} {counts[lo]}): the classifier takes these shares, "
                "which are how long each state was recorded and how much of it the "
                "quality gates kept, for how often each state occurs, so it leans toward "
                f"{hi!r}; record each state for about as long with good contact, or label "
                "equal stretches with a manifest (start,stop).")

    def one_class_warning(self) -> str | None:
        """One sentence when some subjects hold windows of one class only (None
        when none does, or the data hold one class).

        Held out, such a subject is scored on that class alone (its recall, not a
        balanced accuracy), and no stream switching state is built from them: a
        split that looks like a new person is then a test of one state.
        """
        classes = self.classes
        if len(classes) < 2:
            return None
        subjects = sorted(set(self.subject.tolist()))
        one = {}
        for s in subjects:
            held = sorted(set(self.y[self.subject == s].tolist()))
            if len(held) == 1:
                one[s] = held[0]
        if not one:
            return None
        shown = ", ".join(f"{s} ({c!r})" for s, c in list(one.items())[:4])
        more = f" and {len(one) - 4} more" if len(one) > 4 else ""
        return (f"{len(one)} of {len(subjects)} subjects hold windows of one class only: "
                f"{shown}{more}; "
                "held out, each is scored on that class alone (its recall, not a balanced "
                "accuracy) and gives no stream that switches state, so check their labels "
                "and subject names.")

    def few_windows_warning(self, folds=()) -> str | None:
        """One sentence when a classifier is fitted on fewer than
        :data:`MIN_CLASS_WINDOWS` windows of a class: in the whole data, or on
        the training side of one of the validation ``folds``
        (:attr:`CVResult.folds <biofeedback.training.CVResult>`)."""
        sides = [("in the whole data", {c: int((self.y == c).sum()) for c in self.classes})]
        sides += [(f"with {f['test']} held out", f.get("train_windows_per_class") or {})
                  for f in folds]
        few = [(n, c, where) for where, counts in sides for c, n in counts.items()
               if n < MIN_CLASS_WINDOWS]
        if not few:
            return None
        n, c, where = min(few)
        return (f"The class {c!r} has only {n} window{'' if n == 1 else 's'} to train on "
                f"({where}), too few for a classifier to estimate that state; label "
                f"longer stretches of it (at least {MIN_CLASS_WINDOWS} windows).")

    def unscored_days_warning(self, cv) -> str | None:
        """Which people a new-day split (``cv``) leaves unscored: one session each."""
        if cv not in ("new-day", "new-person-new-day"):
            return None
        from ._labels import _session_order

        once = sorted(s for s, days in _session_order(self).items() if len(days) < 2)
        if not once:
            return None
        n = len(set(self.subject.tolist()))
        k = len(once)
        return (f"--cv {cv} scores {n - k} of {n} subjects: {listed(once, 6)} "
                f"{agree(k, 'has', 'have')} one session, so {agree(k, 'is', 'are')} "
                "only trained on, never scored.")

    def unscored_class_warning(self, counts, skip) -> str | None:
        """The classes of which no window was scored (``counts``: the windows
        scored per subject and class, as validation and ``evaluate`` give
        them), and why when their recordings are too short to be scored after
        the ``skip`` seconds scoring skips (:data:`~._streams.SCORE_AFTER`)."""
        never = [c for c in self.classes if not sum(n.get(c, 0) for n in counts.values())]
        if not never:
            return None
        k = len(never)
        said = (f"No window of {agree(k, 'the class', 'the classes')} "
                f"{listed(map(repr, never))} was scored, so the figures leave "
                f"{agree(k, 'it', 'them')} out")
        lasts = [f.recording.duration for f in self.files
                 if f.label in never and f.recording is not None]
        need = skip + self.window_length
        if lasts and max(lasts) < need:
            return (f"{said}: {agree(k, 'its', 'their')} recordings last at most "
                    f"{max(lasts):.1f} s, and a one-state recording is scored from "
                    f"{skip:g} s on; record at least {need:g} s of each state.")
        return f"{said}."

    def session_dates_warning(self, cv) -> str | None:
        """Which people a new-day split (``cv``) takes the sessions of in the
        order of their recordings' dates, where that is not their names' order."""
        if cv not in ("new-day", "new-person-new-day"):
            return None
        import datetime as dt

        from ._labels import _session_dates, _session_key, _session_order

        dates = _session_dates(self)
        moved = sorted((s, days) for s, days in _session_order(self, dates).items()
                       if days != sorted(days, key=_session_key))
        if not moved:
            return None
        s, days = moved[0]

        def when(day):
            stamp = dt.datetime.fromtimestamp(dates[s, day], dt.timezone.utc)
            return f"{day} on {stamp:%Y-%m-%d %H:%M} UTC"

        example = listed(map(when, days), 4, ", then ")
        return (f"--cv {cv} takes each person's sessions in the order their recordings' "
                f"dates give, which is not the order of their names for "
                f"{listed([m for m, _ in moved], 6)} ({s}: {example}): the last of them "
                "is held out.")

    def same_day_warning(self, cv, hours: float = SAME_DAY_HOURS) -> str | None:
        """Which people ``--cv new-day`` scores on a last session begun within
        ``hours`` of one of their earlier ones (by the dates their recordings
        hold): that is a later session of the same day, not a new day."""
        if cv != "new-day":
            return None
        from ._labels import _session_dates, _session_order

        dates = _session_dates(self)
        near = []
        for s, days in sorted(_session_order(self, dates).items()):
            if len(days) < 2 or any((s, d) not in dates for d in days):
                continue
            gap = (dates[s, days[-1]] - dates[s, days[-2]]) / 3600.0
            if gap < hours:
                near.append(f"{s}: {days[-1]} began {gap:.1f} h after {days[-2]}")
        if not near:
            return None
        return (f"--cv new-day holds out sessions begun within {hours:g} h of the person's "
                f"session before ({listed(near, 4, '; ')}): their score is a later "
                "session's of the same day, not a returning user's on a new day.")

    def long_switch_warning(self, switch, skip) -> str | None:
        """When ``switch`` (--switch-every) exceeds what any one-state recording
        leaves after the ``skip`` seconds scoring skips
        (:data:`~._streams.SCORE_AFTER`): every stretch is then a whole
        remainder, and the streams switch more often than the figure printed
        beside them."""
        import statistics

        left = [f.recording.duration - skip for f in self.files
                if f.label is not None and f.recording is not None]
        # recordings that leave nothing: no stream is built, which its builder says
        if not (switch and left and 0 < max(left) < switch):
            return None
        return (f"--switch-every {switch:g} s is longer than any recording leaves after "
                f"its first {skip:g} s (at most {max(left):.1f} s), so each stretch "
                "is a whole remainder and the streams switch about every "
                f"{statistics.median(left):.0f} s; give at most {max(left):.0f} s.")

    def seen_in_training(self, training) -> dict:
        """The recordings (by file name) and subjects of this dataset that the
        model's ``training`` summary (:meth:`summary`) lists."""
        # by stem: a training recording converted to another format is the same
        # data; by the EEG's digest: the same data under another name
        from ..io._read import file_stem

        # as patterns read names: a FIF's _raw ending is no part of it
        # ('p01_raw.fif' converted is 'p01.edf')
        trained = {file_stem(n) for n in training.get("files") or () if isinstance(n, str)}
        known = set(training.get("eeg_digests") or ()) if isinstance(
            training.get("eeg_digests"), list) else set()
        digests = self.digests or [None] * len(self.files)
        files = sorted(Path(f.path).name for f, d in zip(self.files, digests)
                       if file_stem(f.path) in trained or (d is not None and d in known))
        subjects = sorted(set(self.subject.tolist()) & set(training.get("subjects") or ()))
        return {"files": files, "subjects": subjects}

    def seen_in_training_warning(self, training) -> str | None:
        """Scored again, recordings or people a model was trained on give a
        training score, not a new one: one sentence when some are."""
        seen = self.seen_in_training(training)
        if seen["files"]:
            return (f"{len(seen['files'])} of the {len(self.files)} recordings scored were "
                    f"in the model's training data ({listed(seen['files'], 3)}); their score "
                    "is not that of new data: score recordings the model has not seen.")
        if seen["subjects"]:
            return (f"The subjects {listed(seen['subjects'], 6)} were in the model's "
                    "training data: the score is a returning user's, not a new person's.")
        return None
