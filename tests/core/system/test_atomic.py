"""Atomic writes leave no partial file and follow the user's umask like any new file."""

import os

import pytest

from graphviz_app.core.system.atomic import atomic_write_bytes, atomic_write_text


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_written_file_follows_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        target = tmp_path / "out.svg"
        atomic_write_text(target, "<svg/>")
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "x.json"
    atomic_write_text(target, "old")

    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
