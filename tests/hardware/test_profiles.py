import pytest

from biofeedback.errors import HardwareError, PipelineConfigError
from biofeedback.hardware import (
    BrainFlowSource,
    get_profile,
    list_profiles,
    read_profile,
)

REQUIRED = {"synthetic", "cyton", "cyton_daisy", "ganglion", "muse_2", "muse_s", "muse_2016", "lsl"}


def test_every_required_board_has_a_profile_that_matches_brainflow():
    from brainflow.board_shim import BoardShim

    profiles = list_profiles()
    assert REQUIRED <= set(profiles)
    for p in profiles.values():
        if p.brainflow_board is None:
            continue
        descr = BoardShim.get_board_descr(p.board_id)
        assert descr["sampling_rate"] == p.sfreq, p.name
        assert len(descr["eeg_channels"]) == len(p.ch_names), p.name
        assert descr["timestamp_channel"] == p.columns.timestamp, p.name


def test_unknown_board_names_the_known_ones():
    with pytest.raises(PipelineConfigError, match="Unknown board 'cytom'.*cyton"):
        get_profile("cytom")


def test_unknown_key_in_a_profile_names_file_and_key(tmp_path):
    f = tmp_path / "b.toml"
    f.write_text('name="b"\ndescription="x"\nsfreq=250.0\nch_names=["Fz"]\nrail=1.0\n')
    with pytest.raises(PipelineConfigError, match=r"b\.toml, line 5: unknown key 'rail'"):
        read_profile(f)


def test_a_serial_board_without_a_port_says_what_to_pass():
    with pytest.raises(HardwareError, match="needs --serial-port"):
        BrainFlowSource(get_profile("cyton"), {})


def test_profile_gate_overrides_are_checked_and_applied(tmp_path):
    from biofeedback.config import load_pipeline
    from biofeedback.engine import Engine

    f = tmp_path / "g.toml"
    f.write_text('name="g"\ndescription="x"\nsfreq=250.0\nch_names=["Fz"]\n[gates]\nmax_ptp=1.0\n')
    with pytest.raises(PipelineConfigError, match="unknown key 'max_ptp'"):
        read_profile(f)
    synth = get_profile("synthetic")
    assert synth.gates["max_ptp_uv"] > load_pipeline().gates.max_ptp_uv
    eng = Engine(load_pipeline(), synth.ch_names, synth.sfreq, synth)
    assert eng.gate.config.max_ptp_uv == synth.gates["max_ptp_uv"]
