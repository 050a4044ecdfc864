"""Opening inputs: plain or .gz, UTF-8, undecodable bytes kept (as surrogates) for the row checks to report."""

import gzip

from service.core.textfile import open_text


def test_plain_and_gzip_give_the_same_text_with_line_ends_untouched(tmp_path):
    raw = "héllo\r\nwörld\n".encode()
    (tmp_path / "a.txt").write_bytes(raw)
    (tmp_path / "a.txt.GZ").write_bytes(gzip.compress(raw))
    with open_text(tmp_path / "a.txt") as f, open_text(tmp_path / "a.txt.GZ") as g:
        assert f.read() == g.read() == "héllo\r\nwörld\n"


def test_undecodable_bytes_survive_as_surrogates(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9\n")
    with open_text(tmp_path / "bad.txt") as f:
        assert f.read() == "caf\udce9\n"
