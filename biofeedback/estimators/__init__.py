"""scikit-learn estimators: EEG windows to features to mental-state classes.

Feature extraction is a scikit-learn transformer, so it works inside
:class:`~sklearn.pipeline.Pipeline` and :class:`~sklearn.model_selection.GridSearchCV`:

- :class:`BandPowerTransformer` turns filtered windows ``(n_windows,
  n_channels, n_times)`` in volts into the features the live engine computes
  (it calls the same :class:`biofeedback.features.FeatureSet`).
- :class:`FilterBankTangentSpace` turns the same windows into Riemannian
  tangent-space vectors of per-band covariance matrices (pyRiemann).
- :class:`ChannelBalancedMean` pools per-channel features over a window's
  clean channels, each centred on its channel's level, so that a classifier
  after it cannot read which electrodes the quality gates left out.

Classifiers are named by short names in :data:`CLASSIFIERS` (``"lda"``, the
default, reads only clean channels through :class:`ChannelBalancedMean`;
``"lda-channels"``, ``"logreg"``, ``"rf"``, ``"hgb"`` read every channel's
features; ``"riemann"`` reads windows); :func:`make_classifier` builds one.
Trained models are saved and loaded without executing code by
:func:`biofeedback.training.save_model` and
:func:`biofeedback.training.load_model` (training builds on this package, never
the other way round).

The package's modules, one job each: ``_windows`` (the checks every window
transformer runs), ``_bandpower`` (:class:`BandPowerTransformer`),
``_riemann`` (:class:`FilterBankTangentSpace`), ``_balanced``
(:class:`ChannelBalancedMean`) and ``_registry`` (:data:`CLASSIFIERS`,
:func:`make_classifier`). Every public name lives at
``biofeedback.estimators.<name>``: model files name the transformers they hold
by that path (``TRUSTED_TYPES`` in ``biofeedback.training._modelfile``, ``KNOWN_TYPES``
in ``biofeedback.training._arrays``), so files saved before the split load, and
files saved after it are the same.
"""

from ._balanced import ChannelBalancedMean
from ._bandpower import BandPowerTransformer
from ._registry import CLASSIFIERS, ClassifierSpec, make_classifier
from ._riemann import FilterBankTangentSpace

__all__ = [
    "BandPowerTransformer",
    "ChannelBalancedMean",
    "FilterBankTangentSpace",
    "CLASSIFIERS",
    "ClassifierSpec",
    "make_classifier",
]

# the public path, under which model files (skops) and pickles name these types
for _obj in (BandPowerTransformer, ChannelBalancedMean, FilterBankTangentSpace,
             ClassifierSpec, make_classifier):
    _obj.__module__ = __name__
del _obj
