"""Open any file the way ``graphviz-app export`` does, with no questions asked, and
optionally train it a few steps first.

It sits above ``run`` (it drives a :class:`~graphviz_app.core.run.training.Trainer`) and
beside the loader, so the CLI needs one import for a ready scenario or graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import LoadError
from ..graph.model import Graph

if TYPE_CHECKING:  # torch is imported beside the file's child-process check (see loader)
    from ..run.scenario import Scenario


@dataclass
class HeadlessLoad:
    """A file loaded the way ``graphviz-app export`` loads it: a ready ``scenario``, or
    the ``graph`` of a snapshot. ``weights`` is the report of an applied checkpoint."""

    scenario: Scenario | None = None
    graph: Graph | None = None
    weights: str = ""


def _pick_module_class(path: Path, classes: list[Any], model: str | None) -> Any:

    names = ", ".join(c.name for c in classes)
    if model is not None:
        cls = next((c for c in classes if c.name == model), None)
        if cls is None:
            raise LoadError(f"{path.name} has no nn.Module class {model!r}; it defines {names}: choose one with --model")
    elif len(classes) == 1:
        cls = classes[0]
    else:
        raise LoadError(
            f"{path.name} defines {len(classes)} nn.Module classes ({names}): choose one with --model CLASS"
        )
    required = [p.name for p in cls.params if not p.has_default and p.kind not in ("var_positional", "var_keyword")]
    if required:
        raise LoadError(
            f"{cls.name} cannot be built with its defaults: its constructor needs {', '.join(required)}; "
            "give those arguments defaults, or write a scenario file with build(device)"
        )
    return cls


def _check_weights(weights: Path | None) -> None:
    if weights is None:
        return
    if not weights.exists():
        raise LoadError(f"the weights file {weights} does not exist")
    from .loader import file_kind

    wkind = file_kind(weights)
    if wkind != "checkpoint":
        what = {"torchscript": "a TorchScript program", "exported": "a torch.export program",
                "scenario": "a Python file", "snapshot": "a snapshot"}.get(wkind, "not a torch file")
        raise LoadError(
            f"{weights.name} is {what}, not a state_dict checkpoint: --weights takes a file saved "
            "with torch.save(model.state_dict(), path)"
        )


def _check_options(path: Path, kind: str, model: str | None, shapes: Any, weights: Path | None) -> None:
    if kind == "checkpoint":
        raise LoadError(
            f"{path.name} is a state_dict checkpoint (weights only, nothing to run): pass it as --weights "
            f"{path.name} after the scenario, model file or program it belongs to"
        )
    if kind == "snapshot" and (model or shapes or weights):
        raise LoadError(f"{path.name} is a snapshot (view only): --model, --input-shape and --weights do not apply")
    if model is not None and kind != "scenario":
        raise LoadError(f"--model picks a class from a Python module file; {path.name} is not one")


def _scenario_of(path: Path, loaded: Any, device: str, model: str | None, shapes: Any,
                 safe: bool, timeout: float | None) -> Scenario:
    from .model_files import ModelChoice, build_module_scenario

    if loaded.kind == "scenario":
        if model is not None or shapes is not None:
            raise LoadError(
                f"{path.name} is a scenario (its build(device) makes the model and inputs): "
                "--model and --input-shape are for module files and programs"
            )
        return loaded.scenario
    if loaded.kind == "models":
        cls = _pick_module_class(path, loaded.classes, model)
        if shapes is None:
            raise LoadError(
                f"{path.name} defines nn.Module classes, not a scenario: give the input shape for "
                f"{cls.name} with --input-shape (e.g. --input-shape 8x4 for a batch of 8 rows of 4 features)"
            )
        choice = ModelChoice(cls.name, input_shapes=shapes)
        if safe:
            from .user_code import DEFAULT_TIMEOUT, build_model_safely

            return build_model_safely(path, choice, device, timeout=timeout or DEFAULT_TIMEOUT)
        return build_module_scenario(path, choice, device)
    if loaded.kind == "program":
        if loaded.scenario is None:
            raise LoadError(
                f"{path.name} stores no example inputs: give its input shape with --input-shape "
                "(e.g. --input-shape 8x3, or 8x3,8x5 for two inputs)"
            )
        return loaded.scenario
    raise LoadError(f"{path.name}: cannot run a {loaded.kind} file")  # pragma: no cover


def load_headless(
    path: str | Path,
    device: str = "cpu",
    *,
    model: str | None = None,
    input_shapes: Any = None,
    weights: str | Path | None = None,
    safe: bool = False,
    timeout: float | None = None,
    trust: bool = False,
) -> HeadlessLoad:
    """Load any file :func:`~graphviz_app.core.files.loader.load_path` reads, with no questions asked.

    * a scenario file: its ``build(device)``;
    * a module file (``nn.Module`` classes): the class ``model`` (or the only one)
      built with its constructor defaults, on random inputs of ``input_shapes``;
    * a ``.pt``/``.pt2`` program: its stored example inputs, or random inputs of
      ``input_shapes`` (which win when both are there);
    * a snapshot: its graph.

    ``weights``: a state_dict checkpoint copied into the scenario's model (read with
    ``torch.load(weights_only=True)``). ``safe=True`` runs the file in a child process
    with a time limit first (``timeout`` seconds, see ``user_code``). ``trust=True``
    opens a program whose pickles would run code (else ``UntrustedCodeError``). Raises
    :class:`~graphviz_app.core.files.loader.LoadError` with a sentence that names the
    option to pass when something is missing.
    """
    from .loader import file_kind, load_path

    path = Path(path)
    if not path.exists():
        raise LoadError(f"{path} does not exist")
    shapes = None
    if input_shapes is not None:  # (these modules import torch)
        from .model_common import check_shapes
        from .model_files import parse_shapes

        shapes = parse_shapes(input_shapes)
        if not shapes:
            raise LoadError("the input shape is empty: give one shape per input, e.g. 8x3")
        check_shapes(shapes)
    weights = Path(weights) if weights is not None else None
    _check_weights(weights)
    kind = file_kind(path)
    _check_options(path, kind, model, shapes, weights)
    program = kind in ("torchscript", "exported")
    loaded = load_path(path, device=device, safe=safe, timeout=timeout, input_shapes=shapes if program else None,
                       trust=trust)
    if loaded.kind == "snapshot":
        return HeadlessLoad(graph=loaded.graph)
    sc = _scenario_of(path, loaded, device, model, shapes, safe, timeout)
    note = ""
    if weights is not None:
        from .model_files import apply_checkpoint

        note = f"{weights.name}: {apply_checkpoint(sc, weights).message()}"
    return HeadlessLoad(scenario=sc, weights=note)


def train_and_snapshot(path: str | Path, steps: int, device: str = "cpu", *, safe: bool = False,
                       timeout: float | None = None, model: str | None = None, input_shapes: Any = None,
                       weights: str | Path | None = None, trust: bool = False) -> Graph:
    """Load a file as ``export`` does (:func:`load_headless`: a scenario, a module file
    with ``model``/``input_shapes``, a ``.pt``/``.pt2`` program, optional ``weights``),
    train ``steps`` steps, observe the last step's backward, and return its graph
    (detached) with ``meta.loss_history`` of ``steps`` entries.

    ``safe=True`` probes the file in a child process first (see ``user_code``).
    Raises :class:`~graphviz_app.core.files.loader.LoadError` (``DeviceError`` included)
    for files that cannot be loaded and ``RuntimeError`` when training fails.
    """
    from ..system.devices import check_device, check_scenario_device

    steps = int(steps)
    if steps < 1:
        raise ValueError("steps must be at least 1")
    device = check_device(device)
    loaded = load_headless(path, device, model=model, input_shapes=input_shapes, weights=weights,
                           safe=safe, timeout=timeout, trust=trust)
    if loaded.scenario is None:
        raise LoadError(f"{Path(path).name} is a snapshot (view only): there is no model to train")
    sc = loaded.scenario
    check_scenario_device(sc, device)
    from ..run.training import FAILED, Trainer

    trainer = Trainer(sc, steps, keep=1, snapshot_every=0, emit_interval=3600.0, saved=True)
    result = trainer.run_sync(steps, observe_last=True)
    if result.status == FAILED:
        raise RuntimeError(f"training {sc.name!r} failed: {result.error}\n{result.traceback or ''}")
    snaps = trainer.snapshots
    if not snaps:
        raise RuntimeError(f"scenario {sc.name!r}: the last step produced no autograd graph to capture")
    graph = snaps[-1]
    graph.meta["loss_history"] = list(trainer.loss_history)
    graph.meta["step"] = sc.step_count
    graph.meta["steps"] = steps
    if loaded.weights:
        graph.meta["weights"] = loaded.weights
    return graph
