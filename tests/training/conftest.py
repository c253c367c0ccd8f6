"""The shared Muse recordings, labelled and run through the engine once per session."""

import pytest


@pytest.fixture(scope="session")
def muse_files(muse_dir):
    from biofeedback.training import label_files

    return label_files([muse_dir])


@pytest.fixture(scope="session")
def muse_all(muse_files):
    """Every window of every shared Muse recording, gated ones included."""
    from biofeedback.training import extract_dataset

    return extract_dataset(muse_files, gated="include", n_jobs=1)
