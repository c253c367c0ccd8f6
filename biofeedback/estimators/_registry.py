"""Registered classifiers by short name, and the factory that builds them."""

from __future__ import annotations

from dataclasses import dataclass

from .._checks import _check_option
from ._balanced import ChannelBalancedMean
from ._riemann import FilterBankTangentSpace


@dataclass(frozen=True)
class ClassifierSpec:
    """A registered classifier.

    ``input`` is "features" (the engine's feature vector), "clean_features"
    (the same with the columns of channels the gates leave out of the window
    set to NaN: :meth:`biofeedback.features.FeatureSet.clean_view`) or
    "windows" (filtered windows, for covariance-based models).
    """

    factory: object
    input: str
    description: str


def _logreg(random_state):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


def _lda_channels(random_state):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(),
                         LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))


def _lda(random_state):
    from sklearn.pipeline import Pipeline

    return Pipeline([("channelbalancedmean", ChannelBalancedMean()),
                     *_lda_channels(random_state).steps])


def _rf(random_state):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=200, min_samples_leaf=2,
                                  random_state=random_state)


def _hgb(random_state):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=200, random_state=random_state)


def _riemann(random_state):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(FilterBankTangentSpace(), StandardScaler(),
                         LogisticRegression(max_iter=2000))


#: Classifiers by short name.
CLASSIFIERS = {
    "logreg": ClassifierSpec(_logreg, "features",
                             "every channel's standardised features, L2 logistic "
                             "regression (C=1)"),
    "lda": ClassifierSpec(_lda, "clean_features",
                          "features of the clean channels, each centred on its channel's "
                          "level and pooled per band; standardised, LDA with Ledoit-Wolf "
                          "shrinkage"),
    "lda-channels": ClassifierSpec(_lda_channels, "features",
                                   "every channel's features, left-out electrodes "
                                   "included; standardised, LDA with Ledoit-Wolf "
                                   "shrinkage"),
    "rf": ClassifierSpec(_rf, "features", "random forest, 200 trees"),
    "hgb": ClassifierSpec(_hgb, "features", "histogram gradient boosting, 200 iterations"),
    "riemann": ClassifierSpec(_riemann, "windows",
                              "filter-bank covariances (OAS), Riemannian tangent space, "
                              "logistic regression"),
}


def make_classifier(name: str, *, sfreq: float | None = None, random_state: int = 0,
                    columns=None):
    """A fresh, unfitted classifier registered under ``name``.

    Parameters
    ----------
    name : str
        One of :data:`CLASSIFIERS`.
    sfreq : float | None
        Sampling rate in Hz, required by window-input models ("riemann"):
        ``Dataset.sfreq``. Others ignore it.
    random_state : int
        Seed of randomised models.
    columns : sequence of (int, int) | None
        Channel and item of every feature column, required by "clean_features"
        models (:class:`ChannelBalancedMean`; "lda"): ``Dataset.columns``, or
        :attr:`biofeedback.features.FeatureSet.column_channel` and
        ``column_item``.

    Returns
    -------
    estimator : sklearn estimator
    """
    _check_option("model", name, list(CLASSIFIERS))
    est = CLASSIFIERS[name].factory(random_state)
    if CLASSIFIERS[name].input == "windows":
        if sfreq is None:
            raise ValueError(
                f"The {name!r} classifier filters windows into frequency bands, so it "
                "needs their sampling rate: pass sfreq=dataset.sfreq (a default rate "
                "would put every band elsewhere on data of another rate).")
        est.set_params(filterbanktangentspace__sfreq=float(sfreq))
    if CLASSIFIERS[name].input == "clean_features":
        if columns is None:
            raise ValueError(
                f"The {name!r} classifier pools each band over a window's clean "
                "channels, so it needs each feature column's channel: pass "
                "columns=dataset.columns (without them it would read every channel "
                "apart, left-out ones included, as 'lda-channels' does).")
        est.set_params(channelbalancedmean__columns=None if columns is None
                       else tuple(tuple(int(v) for v in c) for c in columns))
    return est
