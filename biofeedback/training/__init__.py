"""Train, validate and ship mental-state classifiers.

From labelled recordings to a validated, saved model, on the live engine's
own windows and features:

- :func:`label_files` names each recording's subject, session and label (from
  the file name, a CSV manifest, or the recording's markers);
- :func:`extract_dataset` runs :class:`biofeedback.engine.Engine` on every
  recording (in parallel, or on a Dask cluster) and stacks the windows;
- :func:`cross_validate` scores a classifier with grouped cross-validation
  (leave one subject, or one session, out), with and without per-user
  calibration; :func:`select_evidence` chooses the state filter's evidence
  weight by leave-one-subject-out on switching streams;
- :func:`fit_model`, :func:`save_model` and :func:`load_model` ship the model
  in a file that loads without executing code;
- :func:`evaluate_model` scores a saved model on recordings it has not seen,
  as a live session runs it;
- :func:`write_report` writes the HTML report.

See ``docs/training.md`` for the protocol and the figures on the Muse data.
"""

from ._dataset import Dataset, extract_dataset
from ._fit import fit_model
from ._labels import LabelledFile, label_files
from ._model import LoadedModel
from ._modelfile import load_model, save_model
from ._scoring import evaluate_model
from ._validation import (
    CVResult,
    cross_validate,
    evidence_grid,
    random_split_score,
    select_evidence,
)

__all__ = [
    "CVResult",
    "Dataset",
    "LabelledFile",
    "LoadedModel",
    "cross_validate",
    "evaluate_model",
    "evidence_grid",
    "extract_dataset",
    "fit_model",
    "label_files",
    "load_model",
    "random_split_score",
    "save_model",
    "select_evidence",
    "write_report",
]


def write_report(*args, **kwargs):
    """Write the HTML training report (see :func:`._report.write_report`)."""
    from ._report import write_report as _write

    return _write(*args, **kwargs)
