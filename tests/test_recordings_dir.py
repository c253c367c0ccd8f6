"""Where a session records: refused in one sentence before it starts, stopped before a full disk."""

from pathlib import Path

import pytest

from biofeedback.cli import main
from biofeedback.errors import BiofeedbackError
from biofeedback.recorder import check_recordings_dir


def test_a_folder_that_cannot_hold_recordings_is_one_sentence(tmp_path):
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    with pytest.raises(BiofeedbackError, match="is a file; recordings go into a folder"):
        check_recordings_dir(afile, 8, 250.0)
    with pytest.raises(BiofeedbackError, match=r"cannot be written to .*--recordings DIR"):
        check_recordings_dir(afile / "sub", 8, 250.0)
    # more than any disk holds
    with pytest.raises(BiofeedbackError, match=r"free, less than the .* needs; free some space"):
        check_recordings_dir(tmp_path, 8, 250.0, seconds=1e12)
    assert check_recordings_dir(tmp_path / "new", 8, 250.0) == tmp_path / "new"
    assert list((tmp_path / "new").iterdir()) == []  # the probe is gone


def test_live_refuses_an_unwritable_folder_before_the_board_starts(tmp_path, capsys):
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    assert main(["live", "--recordings", str(afile / "sub"), "--duration", "3",
                 "--view", "none"]) == 1
    err = capsys.readouterr().err
    assert "Recordings cannot be written to" in err and "Traceback" not in err


@pytest.mark.slow
@pytest.mark.lsl
def test_a_session_stops_and_closes_its_recording_before_the_disk_is_full(tmp_path, uid):
    from biofeedback.config import load_pipeline
    from biofeedback.hardware import BrainFlowSource, get_profile
    from biofeedback.io import read_recording
    from biofeedback.session import Session

    session = Session(BrainFlowSource(get_profile("synthetic")), load_pipeline(), record=True,
                      recordings_dir=tmp_path, duration=30.0, name=f"disk-{uid}")
    session.min_free = 1 << 62  # every disk is "nearly full"
    summary = session.run()
    assert summary.stopped_by == "disk_full"
    assert any("nearly full" in n for n in summary.notes)
    rec = read_recording(Path(summary.recording))
    assert rec.n_times == summary.n_samples


def test_an_output_under_a_file_is_one_sentence(tmp_path, capsys):
    """`report --out FILE/x.html` was a FileExistsError traceback (so was a full disk).

    The full disk (ENOSPC) takes the same path; it was tried on a 16 kB tmpfs
    (`check --out`), which a test cannot mount.
    """
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    sample = Path(__file__).parents[1] / "recordings" / "sample_synthetic.xdf"
    assert main(["report", str(sample), "--out", str(afile / "r.html")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"biofeedback: error: {afile / 'r.html'} cannot ")
    assert f"{afile} does not take new files (not a folder); choose another place" in err
    assert "Traceback" not in err

