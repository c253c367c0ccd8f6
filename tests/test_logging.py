"""Progress bars: on a terminal's stderr only, and nothing in a pipe or a log."""

import io
import sys

from biofeedback._logging import progress_bar


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bars_show_on_a_terminal_only(monkeypatch):
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    with progress_bar(total=3, desc="hidden") as bar:
        bar.update(3)
    assert list(progress_bar(range(3), desc="hidden")) == [0, 1, 2]
    assert piped.getvalue() == ""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar(total=3, desc="shown") as bar:
        bar.update(3)
    assert "shown" in terminal.getvalue() and "3/3" in terminal.getvalue()
