"""User code runs with its file's folder as the working directory and on sys.path, so a
scenario that reads data.csv beside it works wherever the app was started; the working
directory and sys.path are restored afterwards, even when the code fails."""

from __future__ import annotations

import os
import sys
import textwrap
import threading

import pytest

from graphviz_app.core.errors import LoadError
from graphviz_app.core.files.loader import load_path, load_scenario

SCENARIO = textwrap.dedent('''
    from graphviz_app import Scenario, leaves_from
    import helper_beside  # a module next to the file

    AT_IMPORT = open("data.csv").read().split(",")


    def build(device="cpu"):
        values = [float(v) for v in open("data.csv").read().split(",")]
        assert [float(v) for v in AT_IMPORT] == values and helper_beside.OK
        return Scenario("csv " + str(values[0]), leaves=leaves_from({"x": values[0]}, device=device),
                        forward=lambda x: x * values[1])
''')


def make_scenario(folder, first: float, second: float = 3.0):
    folder.mkdir(parents=True)
    (folder / "data.csv").write_text(f"{first},{second}", encoding="utf-8")
    (folder / "helper_beside.py").write_text("OK = True\n", encoding="utf-8")
    path = folder / "scenario.py"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    return other


def test_a_scenario_reads_data_beside_it_from_another_working_directory(tmp_path, elsewhere):
    path = make_scenario(tmp_path / "project", 2.0)
    sys_path = list(sys.path)
    sc = load_scenario(path)
    assert sc.name == "csv 2.0"
    assert os.getcwd() == str(elsewhere) and sys.path == sys_path


def test_the_guarded_load_reads_it_too(tmp_path, elsewhere):
    path = make_scenario(tmp_path / "project", 5.0)
    loaded = load_path(path, safe=True, timeout=120)  # the child process first, then this one
    assert loaded.scenario.name == "csv 5.0" and os.getcwd() == str(elsewhere)


def test_the_working_directory_is_restored_when_the_code_fails(tmp_path, elsewhere):
    folder = tmp_path / "broken"
    folder.mkdir()
    path = folder / "scenario.py"
    path.write_text("def build(device='cpu'):\n    open('missing.csv')\n", encoding="utf-8")
    sys_path = list(sys.path)
    with pytest.raises(LoadError, match="FileNotFoundError"):
        load_scenario(path)
    path.write_text("open('missing.csv')\n", encoding="utf-8")
    with pytest.raises(LoadError, match="FileNotFoundError"):
        load_scenario(path)
    assert os.getcwd() == str(elsewhere) and sys.path == sys_path


def test_two_loads_at_once_each_read_their_own_folder(tmp_path, elsewhere):
    paths = [make_scenario(tmp_path / f"p{i}", float(i)) for i in range(4)]
    names: dict[int, str] = {}
    errors: list[BaseException] = []

    def load(i):
        try:
            for _ in range(3):
                names[i] = load_scenario(paths[i]).name
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and names == {i: f"csv {float(i)}" for i in range(4)}
    assert os.getcwd() == str(elsewhere)
