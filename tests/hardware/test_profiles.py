import re

import pytest

from biofeedback.errors import HardwareError, PipelineConfigError
from biofeedback.hardware import (
    BrainFlowSource,
    get_profile,
    list_profiles,
    read_profile,
)

REQUIRED = {"synthetic", "cyton", "cyton_daisy", "ganglion", "muse_2", "muse_s", "muse_2016", "lsl"}


def test_every_required_board_has_a_profile():
    assert REQUIRED <= set(list_profiles())


@pytest.mark.parametrize("name", [n for n, p in list_profiles().items() if p.brainflow_board])
def test_profile_rate_channels_and_rows_agree_with_the_installed_brainflow(name):
    """An upgrade of BrainFlow that moves a row fails here, not in a session."""
    from brainflow.board_shim import BoardShim

    p = get_profile(name)
    descr = BoardShim.get_board_descr(p.board_id)
    assert descr["sampling_rate"] == p.sfreq
    assert len(descr["eeg_channels"]) == len(p.ch_names)
    col = p.columns
    assert descr["num_rows"] == col.rows
    assert tuple(descr["eeg_channels"]) == col.eeg
    assert descr["package_num_channel"] == col.packet_counter
    assert descr["timestamp_channel"] == col.timestamp
    assert tuple(descr.get("accel_channels", ())) == col.accel
    assert descr["marker_channel"] == col.marker
    if descr.get("eeg_names"):  # BrainFlow's montage, where it has a fixed one
        fixed = descr["eeg_names"].split(",")
        assert len(fixed) == len(p.ch_names)
        if name.startswith("muse"):
            assert fixed == list(p.ch_names)


def test_each_shipped_profile_is_named_after_its_file():
    """A shipped profile's name is known from its file name, unread."""
    from biofeedback.hardware._profiles import profile_names

    assert profile_names() == list(list_profiles())
    assert all(p.fname.endswith(f"{name}.toml") for name, p in list_profiles().items())


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


def test_a_wifi_shield_board_without_its_port_is_shown_one():
    """A board over OpenBCI's WiFi Shield sends to a local port of the computer."""
    with pytest.raises(HardwareError) as err:
        BrainFlowSource(get_profile("cyton_wifi"), {})
    assert "needs --ip-port to connect (e.g. --ip-port 6789," in str(err.value)


def test_a_headset_without_its_address_is_shown_its_own_option():
    """A Muse connects over Bluetooth: its sentence's example is not a dongle's port."""
    with pytest.raises(HardwareError) as err:
        BrainFlowSource(get_profile("muse_2"), {})
    msg = str(err.value)
    assert "needs --mac-address or --serial-number" in msg
    assert "e.g. --mac-address 00:55:DA:B0:00:00" in msg and "serial-port" not in msg


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


@pytest.mark.parametrize(("board", "params", "message"), [
    ("cyton", {"serial_port": "/dev/null", "ip_port": "abc"},
     "--ip-port must be a port number from 1 to 65535, got 'abc'"),
    ("cyton", {"serial_port": "/dev/null", "ip_port": "70000"}, "--ip-port must be"),
    ("cyton", {"serial_port": "/dev/null", "timeout": "-3"},
     "--timeout must be whole seconds from 0 to 3600, got '-3'"),
    ("cyton", {"serial_port": "/dev/null", "ip_protocol": "tcp2"},
     "--ip-protocol must be udp, tcp or none"),
    ("cyton", {"serial_port": "/dev/null", "ip_address": "1.2.3"},
     "--ip-address must be an IP address"),
    ("muse_2", {"mac_address": "zz"}, "--mac-address must be six hex pairs"),
    ("cyton", {"serial_port": "/dev/no-such-dongle"},
     "The serial port /dev/no-such-dongle does not exist"),
    # the default board with a headset's option: --board was forgotten
    ("synthetic", {"serial_port": "/dev/ttyUSB0"},
     "The synthetic board takes no connection option, but --serial-port was given"),
])
def test_brainflow_options_are_checked_before_brainflow_sees_them(board, params, message):
    with pytest.raises(HardwareError, match=re.escape(message)):
        BrainFlowSource(get_profile(board), params)


def test_good_brainflow_options_are_passed_as_brainflow_types():
    from biofeedback.hardware._brainflow import check_input_params

    out = check_input_params(get_profile("muse_2"), {
        "mac_address": "00:55:da:b0:00:0F", "ip_port": " 6677", "ip_protocol": "TCP",
        "timeout": "15"})
    assert out == {"mac_address": "00:55:da:b0:00:0F", "ip_port": 6677, "ip_protocol": 2,
                   "timeout": 15}
    uuid = "6B2F0A9E-1C3D-4E5F-8A9B-0C1D2E3F4A5B"  # how macOS names a BLE device
    assert check_input_params(get_profile("muse_2"), {"mac_address": uuid})


def test_brainflow_options_with_an_lsl_stream_are_refused(capsys):
    from biofeedback.cli import main

    assert main(["live", "--lsl", "x", "--serial-port", "/dev/null", "--no-record"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == ("biofeedback: error: --serial-port connects a BrainFlow board and "
                           "does nothing with --lsl; leave it out, or use --board NAME.")


def _samples_within(src, seconds, enough=50):
    """Samples ``src`` gives within ``seconds`` (reading stops at ``enough``)."""
    import time

    n, end = 0, time.monotonic() + seconds
    while n < enough and time.monotonic() < end:
        chunk = src.read(0.1)
        n += 0 if chunk is None else chunk.data.shape[1]
    return n


def test_a_board_open_in_another_session_is_refused_and_that_session_goes_on():
    """BrainFlow keys a process's boards by board and parameters: a second source
    of the same board is refused, and the first keeps streaming."""
    import gc

    first = BrainFlowSource(get_profile("synthetic")).start()
    try:
        with pytest.raises(HardwareError, match="'synthetic' board is already open in another "
                                                "session of this process"):
            BrainFlowSource(get_profile("synthetic")).start()
        gc.collect()  # the refused BoardShim is gone (its destructor released boards too)
        assert _samples_within(first, 10.0) >= 50  # still streaming
    finally:
        first.stop()


def test_a_closed_board_kept_alive_does_not_end_a_later_session_of_the_same_board():
    """A shim outliving its session (a traceback holds it until the garbage
    collector comes) released, from its destructor, whichever session had since
    opened the same board with the same parameters."""
    first = BrainFlowSource(get_profile("synthetic")).start()
    shim = first._board  # what a traceback of the first session would hold
    first.stop()
    second = BrainFlowSource(get_profile("synthetic")).start()
    try:
        del shim  # its destructor runs now, the second session's board prepared
        assert _samples_within(second, 10.0) >= 50  # still streaming
    finally:
        second.stop()  # raised BOARD_NOT_CREATED_ERROR when the board had been released


def test_a_board_is_a_profile_path_by_one_rule(tmp_path):
    """A profile file named without .toml in a folder is read as a file, as a
    pipeline's (or a model's) board is judged a path by the same rule."""
    from biofeedback._data import data_dir
    from biofeedback.config import PipelineConfig

    mine = tmp_path / "boards" / "my_muse"
    mine.parent.mkdir()
    mine.write_text((data_dir("hardware") / "muse_2.toml").read_text())
    assert get_profile(str(mine)).ch_names == get_profile("muse_2").ch_names
    config, dropped = PipelineConfig(board=str(mine)).without_outputs()
    assert dropped == ["board"] and config.board == PipelineConfig.board


@pytest.mark.parametrize("stored", [-1, ["cyton"], "cyton"])
def test_a_sidecar_board_profile_that_is_not_a_table_is_one_sentence(stored, tmp_path, capsys):
    import json
    import shutil

    from biofeedback._data import data_dir
    from biofeedback.cli import main

    src = data_dir("recordings") / "sample_synthetic.xdf"
    fname = tmp_path / src.name
    shutil.copy(src, fname)
    side = json.loads(src.with_suffix(".json").read_text())
    side["board_profile"] = stored
    fname.with_suffix(".json").write_text(json.dumps(side))
    assert main(["replay", str(fname)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("biofeedback: error: sidecar [board_profile] must be a table, got ")
    assert "\n" not in err


def test_a_sidecar_board_profile_from_a_later_version_is_read_with_a_warning(
        tmp_path, capsys):
    """A key a later version adds to the profile must not make its recordings
    unreadable here: the key is named and ignored."""
    import json
    import shutil

    from biofeedback._data import data_dir
    from biofeedback.cli import main

    src = data_dir("recordings") / "sample_synthetic.xdf"
    fname = tmp_path / src.name
    shutil.copy(src, fname)
    side = json.loads(src.with_suffix(".json").read_text())
    side["board_profile"]["electrode_gel"] = "wet"
    fname.with_suffix(".json").write_text(json.dumps(side))
    assert main(["replay", str(fname)]) == 0
    err = capsys.readouterr().err
    assert ("warning: The sidecar's board profile holds 'electrode_gel', which this "
            "version does not know; it is ignored.") in err
