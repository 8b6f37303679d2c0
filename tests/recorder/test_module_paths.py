"""Module paths in script snapshots: graphviz_app.track and the Recorder's own tracking."""

from __future__ import annotations

import json

import pytest
import torch

import graphviz_app
from graphviz_app.core.files import snapshot as snapfmt
from graphviz_app.core.files.loader import load_scenario
from graphviz_app.core.files.run_dir import RunDirectory

from .test_record_snapshot import RUN_META, app_snapshot
from .test_recorder import assert_close, make

SCENARIO = "two_layer_single_sample.py"


def op_modules(doc: dict) -> dict[str, set]:
    """{op name: the module paths its nodes carry} (leaves left out)."""
    out: dict[str, set] = {}
    for n in doc["nodes"]:
        if n["kind"] != "leaf":
            out.setdefault(n["name"], set()).add(n["module"])
    return out


def hooks_installed() -> int:
    from torch.nn.modules import module as m

    return len(m._global_forward_pre_hooks) + len(m._global_forward_hooks)


def test_script_snapshot_of_a_model_scenario_equals_the_apps(examples_dir, tmp_path):
    expected = app_snapshot(examples_dir / SCENARIO)
    # The app names each op's module; the script has to match that, not just None == None.
    mods = op_modules(expected)
    assert mods["ReluBackward0"] == {"relu"} and mods["AddmmBackward0"] == {"hidden", "out"}
    assert mods["MseLossBackward0"] == {"MSELoss"}

    # The same model and data, run the way a training script would.
    sc = load_scenario(examples_dir / SCENARIO)
    net, x, target, loss_fn = sc.model, sc.inputs, sc.targets, sc.loss_fn
    with graphviz_app.track(net) as modules:
        loss = loss_fn(net(x), target)
    out = graphviz_app.snapshot(loss, tmp_path / "two.json", model=net, modules=modules, backward=True)

    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["nodes"] == expected["nodes"]
    assert doc["edges"] == expected["edges"]
    for key in set(expected["meta"]) - RUN_META:
        assert doc["meta"].get(key) == expected["meta"][key], key
    assert net.hidden.weight.grad.shape == (20, 10)  # the backward ran for the user
    assert hooks_installed() == 0  # the hooks went with the block

    # Without track() the graph is the same, only the op nodes have no module.
    plain = graphviz_app.snapshot(loss_fn(net(x), target), tmp_path / "plain.json", model=net)
    pdoc = json.loads(plain.read_text(encoding="utf-8"))
    assert [n["name"] for n in pdoc["nodes"]] == [n["name"] for n in doc["nodes"]]
    assert all(n["module"] is None for n in pdoc["nodes"] if n["kind"] != "leaf")


def test_recorder_snapshot_of_a_model_scenario_equals_the_apps(examples_dir, tmp_path):
    expected = app_snapshot(examples_dir / SCENARIO)
    sc = load_scenario(examples_dir / SCENARIO)
    net, x, target, loss_fn = sc.model, sc.inputs, sc.targets, sc.loss_fn
    with graphviz_app.Recorder(tmp_path / "run", model=net, every=1) as rec:
        loss = loss_fn(net(x), target)  # no track() here: the recorder installs it
        rec.backward(loss)
        rec.step(loss)
    (snap,) = RunDirectory(tmp_path / "run").snapshots()
    got = json.loads(snap.path.read_text(encoding="utf-8"))
    assert got["edges"] == expected["edges"]
    assert_close(got["nodes"], expected["nodes"])
    assert op_modules(got) == op_modules(expected)


@pytest.mark.parametrize("use_rec_backward", [True, False])
def test_recorder_tracks_modules_only_for_snapshot_steps(tmp_path, use_rec_backward):
    model, x, y = make()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    hooked = []
    with graphviz_app.Recorder(tmp_path / "run", model=model, every=3) as rec:
        for _ in range(7):
            hooked.append(hooks_installed() > 0)  # what the coming forward runs under
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            rec.backward(loss) if use_rec_backward else loss.backward()
            opt.step()
            rec.step(loss)
    assert hooked == [s % 3 == 0 for s in range(7)]
    assert hooks_installed() == 0

    snaps = RunDirectory(tmp_path / "run").snapshots()
    assert [s.step for s in snaps] == [0, 3, 6]
    for s in snaps:
        mods = op_modules(json.loads(s.path.read_text(encoding="utf-8")))
        assert mods["AddmmBackward0"] == {"0", "2"}, s.step
        assert mods["TanhBackward0"] == {"1"}, s.step
        assert mods["MseLossBackward0"] == {None}, s.step  # functional, outside any module
        g = snapfmt.load(s.path)
        assert g.meta["backward_recorded"] is use_rec_backward


def test_snapshot_now_before_the_forward_tracks_it_and_off_means_off(tmp_path):
    model, x, y = make()
    with graphviz_app.Recorder(tmp_path / "now", model=model, every=0) as rec:
        assert hooks_installed() == 0  # every=0: step 0 is no snapshot step
        rec.step(torch.nn.functional.mse_loss(model(x), y).detach())
        rec.snapshot_now()
        assert hooks_installed() > 0
        loss = torch.nn.functional.mse_loss(model(x), y)
        rec.backward(loss)
        assert hooks_installed() == 0  # removed once the graph was captured
        rec.step(loss)
    (snap,) = RunDirectory(tmp_path / "now").snapshots()
    assert snap.step == 1
    assert op_modules(json.loads(snap.path.read_text()))["TanhBackward0"] == {"1"}

    with graphviz_app.Recorder(tmp_path / "off", model=model, every=1, track_modules=False) as rec:
        for _ in range(2):
            assert hooks_installed() == 0
            loss = torch.nn.functional.mse_loss(model(x), y)
            rec.backward(loss)
            rec.step(loss)
    for s in RunDirectory(tmp_path / "off").snapshots():
        doc = json.loads(s.path.read_text())
        assert all(n["module"] is None for n in doc["nodes"] if n["kind"] != "leaf")


def test_hooks_do_not_outlive_a_skipped_step_or_a_failure(tmp_path):
    model, x, y = make()
    rec = graphviz_app.Recorder(tmp_path / "skip", model=model, every=10).open()
    assert hooks_installed() > 0  # armed for step 0
    rec.step(torch.nn.functional.mse_loss(model(x), y), step=5)  # step 0 never came
    assert hooks_installed() == 0
    rec.close()

    with pytest.raises(RuntimeError, match="diverged"):
        with graphviz_app.Recorder(tmp_path / "fail", model=model, every=1):
            assert hooks_installed() > 0
            raise RuntimeError("diverged")
    assert hooks_installed() == 0
