"""The README's two commands are the contract; .ci/run must run the test one verbatim."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def readme_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.+?)\n```", text)


def test_readme_has_install_run_and_test_commands():
    cmds = readme_commands()
    assert any("graphviz-app" in c and "pip install" in c for c in cmds)
    assert any("pytest" in c and "pip install" in c for c in cmds)
    for c in cmds:
        assert "torch==2.13.0" in c  # CPU wheel first, never an unpinned CUDA build


def test_ci_runs_the_readme_test_command_verbatim():
    test_cmd = next(c for c in readme_commands() if "pytest" in c)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_cmd in ci


def test_screenshot_in_readme_exists():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for rel in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (ROOT / rel).is_file(), rel
