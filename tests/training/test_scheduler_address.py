"""A --scheduler address where no scheduler can be is said at once, not after
Dask's 30 s of retries."""

import socket
import time

import pytest

from biofeedback.cli import main


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address, why", [
    ("tcp://127.0.0.1:{port}", "nothing listens on port {port} of 127.0.0.1"),
    ("tcp://no-such-host.invalid:8786", "the host 'no-such-host.invalid' has no address"),
])
def test_a_refused_port_or_an_unknown_host_is_said_at_once(address, why, tmp_path,
                                                           capsys):
    pytest.importorskip("distributed")
    port = _free_port()
    address, why = address.format(port=port), why.format(port=port)
    out = tmp_path / "m.bfm"
    start = time.monotonic()
    code = main(["train", str(tmp_path), "--out", str(out), "--scheduler", address, "-q"])
    assert time.monotonic() - start < 10.0  # Dask alone waited 30 s
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"biofeedback: error: Cannot reach the Dask scheduler at {address!r} ({why}); "
        "check that it runs and its address (tcp://HOST:PORT), or leave out "
        "--scheduler to extract features on this computer.")
    assert not out.exists()
