"""Models that come as files rather than scenarios.

* A plain ``.py`` that defines ``nn.Module`` subclasses: :func:`list_module_classes`
  lists them with their constructor parameters and defaults; the user picks one, may
  override defaults, gives an input shape and a loss (a :class:`ModelChoice`, plain
  data the GUI can remember), and :func:`build_module_scenario` returns a
  :class:`Scenario` with random inputs (and random targets shaped for the loss).
* TorchScript (``.pt`` from ``torch.jit.save``, read with ``torch.jit.load``) and
  ``torch.export`` programs (``.pt2``, read with ``torch.export.load``):
  :func:`inspect_program` says whether example inputs are stored,
  :func:`load_program` builds a scenario from them, or from a given input shape.
  An exported program stores its example inputs itself; for TorchScript the
  convention is an extra file ``example_inputs.pt`` holding ``torch.save((x, ...))``
  (see :func:`save_torchscript`), or a tensor/tuple attribute ``example_inputs``.
* A ``state_dict`` checkpoint applied to the current scenario's model (or, for a
  tensor scenario, to its leaves by name): :func:`apply_checkpoint`. Checkpoints are
  always read with ``torch.load(weights_only=True)``: a pickle that would import or
  call anything beyond tensors and plain containers is refused, because loading it
  would run code from the file.

The ``.py`` functions here run the user's code in this process; callers that must
survive a file that hangs or kills the process use :mod:`graphviz_app.core.files.user_code`
first (it runs the same functions in a child process).
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..errors import LoadError, file_traceback
from ..run.scenario import Scenario
from .kinds import CHECKPOINT, EXPORTED, TORCHSCRIPT, sniff
from .user_module import import_file

# ------------------------------------------------------------------ losses
#: Loss names offered to the user, with a one-line description.
LOSSES: dict[str, str] = {
    "sum": "sum of the outputs (no targets)",
    "mean": "mean of the outputs (no targets)",
    "mse": "mean squared error against random targets",
    "l1": "mean absolute error against random targets",
    "cross_entropy": "cross entropy against random class labels (outputs are logits, classes on dim 1)",
    "bce_with_logits": "binary cross entropy against random 0/1 targets (outputs are logits)",
}

#: Optimizers offered for module files and programs.
OPTIMIZERS = ("sgd", "adam", "none")


def _tensors_of(pred: Any) -> list[torch.Tensor]:
    if isinstance(pred, torch.Tensor):
        return [pred]
    if isinstance(pred, dict):
        pred = list(pred.values())
    if isinstance(pred, (list, tuple)):
        out: list[torch.Tensor] = []
        for p in pred:
            out += _tensors_of(p)
        return out
    return []


def _first_float(pred: Any, loss: str) -> torch.Tensor:
    ts = [t for t in _tensors_of(pred) if t.is_floating_point()]
    if not ts:
        raise LoadError(f"the model returned no floating-point tensor, so the {loss} loss cannot be used")
    return ts[0]


def make_loss(name: str) -> tuple[Callable[[Any, Any], torch.Tensor], Callable[[Any], Any]]:
    """``(loss_fn(pred, targets), make_targets(pred))`` for a loss in :data:`LOSSES`."""
    if name not in LOSSES:
        raise LoadError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    if name in ("sum", "mean"):
        reduce = torch.sum if name == "sum" else torch.mean

        def total(pred: Any, targets: Any = None) -> torch.Tensor:
            ts = [t for t in _tensors_of(pred) if t.is_floating_point() or t.is_complex()]
            if not ts:
                raise RuntimeError("the model returned no floating-point tensor to reduce")
            out = reduce(ts[0])
            for t in ts[1:]:
                out = out + reduce(t)
            return out

        return total, lambda pred: None

    if name == "mse":
        fn: nn.Module = nn.MSELoss()
        targets = lambda pred: torch.randn_like(_first_float(pred, name))  # noqa: E731
    elif name == "l1":
        fn = nn.L1Loss()
        targets = lambda pred: torch.randn_like(_first_float(pred, name))  # noqa: E731
    elif name == "bce_with_logits":
        fn = nn.BCEWithLogitsLoss()
        targets = lambda pred: torch.randint_like(_first_float(pred, name), 0, 2)  # noqa: E731
    else:  # cross_entropy
        fn = nn.CrossEntropyLoss()

        def targets(pred: Any) -> torch.Tensor:
            p = _first_float(pred, name)
            if p.dim() < 2:
                raise LoadError(
                    f"cross_entropy needs outputs shaped (batch, classes, ...); the model returned {tuple(p.shape)}"
                )
            shape = (p.shape[0],) + tuple(p.shape[2:])
            return torch.randint(0, p.shape[1], shape, device=p.device)

    def loss_fn(pred: Any, t: Any) -> torch.Tensor:
        return fn(_first_float(pred, name), t)

    return loss_fn, targets


def make_optimizer(name: str | None, params: Any, lr: float) -> torch.optim.Optimizer | None:
    params = [p for p in params if p.requires_grad]
    if not name or name == "none" or not params:
        return None
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise LoadError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


# ------------------------------------------------------------ shapes, args
Shape = tuple[int, ...]


def parse_shape(text: str | Sequence[int]) -> Shape:
    """``"8, 3"``, ``"8x3"``, ``"(8, 3)"`` or ``[8, 3]`` → ``(8, 3)``."""
    if not isinstance(text, str):
        dims = list(text)
    else:
        t = text.strip().strip("()[]").replace("x", ",").replace("×", ",").replace("*", ",")
        parts = [p.strip() for p in t.split(",") if p.strip()]
        try:
            dims = [int(p) for p in parts]
        except ValueError:
            raise LoadError(f"{text!r} is not a shape; write sizes separated by commas, e.g. 8, 3") from None
    if any(not isinstance(d, int) or isinstance(d, bool) or d < 0 for d in dims):
        raise LoadError(f"{text!r} is not a shape: sizes must be whole numbers ≥ 0")
    return tuple(dims)


def parse_shapes(text: str | Sequence[Any]) -> list[Shape]:
    """One shape per model input: ``"8, 3; 8, 5"`` or ``[(8, 3), (8, 5)]``."""
    if isinstance(text, str):
        return [parse_shape(p) for p in text.split(";") if p.strip()]
    items = list(text)
    if items and all(isinstance(d, int) for d in items):
        return [parse_shape(items)]
    return [parse_shape(s) for s in items]


def parse_kwargs(texts: dict[str, str]) -> dict[str, Any]:
    """Constructor arguments typed as text (Python literals: ``32``, ``0.1``, ``'relu'``,
    ``(3, 3)``, ``True``); a bare word that is not a literal stays a string."""
    out: dict[str, Any] = {}
    for k, v in texts.items():
        if not isinstance(v, str):
            out[k] = v
            continue
        try:
            out[k] = ast.literal_eval(v.strip())
        except (ValueError, SyntaxError):
            if re.fullmatch(r"[A-Za-z_][\w.-]*", v.strip()):
                out[k] = v.strip()
            else:
                raise LoadError(f"argument {k}={v!r} is not a Python literal (a number, string, tuple, …)") from None
    return out


def random_inputs(shapes: Sequence[Shape], device: str = "cpu", dtype: str = "float32") -> tuple[torch.Tensor, ...]:
    """Random inputs: ``randn`` for floats, ``randint(0, 10)`` for ``dtype="long"``."""
    out = []
    for s in shapes:
        if dtype in ("long", "int64"):
            out.append(torch.randint(0, 10, s, device=device))
        else:
            out.append(torch.randn(s, device=device, dtype=getattr(torch, dtype)))
    return tuple(out)


# ------------------------------------------------------------ module files
@dataclass
class Param:
    """One constructor parameter of an ``nn.Module`` subclass."""

    name: str
    has_default: bool
    default: str | None = None  # repr() of the default
    annotation: str | None = None
    kind: str = "positional_or_keyword"


@dataclass
class ModuleClass:
    """An ``nn.Module`` subclass found in a file."""

    name: str
    doc: str = ""
    params: list[Param] = field(default_factory=list)
    line: int | None = None

    @property
    def buildable(self) -> bool:
        """True when every required constructor argument has a default."""
        return all(p.has_default or p.kind in ("var_positional", "var_keyword") for p in self.params)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["buildable"] = self.buildable
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModuleClass":
        return cls(
            name=d["name"], doc=d.get("doc", ""), line=d.get("line"),
            params=[Param(**p) for p in d.get("params", [])],
        )


def describe_module_class(cls: type) -> ModuleClass:
    params: list[Param] = []
    try:
        sig = inspect.signature(cls.__init__)
        items = list(sig.parameters.values())[1:]  # drop self
    except (TypeError, ValueError):
        items = []
    for p in items:
        has_default = p.default is not inspect.Parameter.empty
        ann = None
        if p.annotation is not inspect.Parameter.empty:
            ann = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", repr(p.annotation))
        params.append(
            Param(
                name=p.name,
                has_default=has_default,
                default=repr(p.default) if has_default else None,
                annotation=ann,
                kind=p.kind.name.lower(),
            )
        )
    doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "").split("\n\n")[0]
    return ModuleClass(cls.__name__, doc=doc, params=params)


def _class_lines(module: Any) -> dict[str, int]:
    try:
        tree = ast.parse(Path(module.__file__).read_bytes())
    except (OSError, TypeError, SyntaxError, ValueError):
        return {}
    return {n.name: n.lineno for n in tree.body if isinstance(n, ast.ClassDef)}


def list_module_classes(module: Any) -> list[ModuleClass]:
    """The ``nn.Module`` subclasses defined in ``module`` (not imported into it), in file order."""
    found = []
    lines = _class_lines(module)
    for obj in vars(module).values():
        if (
            isinstance(obj, type)
            and issubclass(obj, nn.Module)
            and obj.__module__ == module.__name__
        ):
            mc = describe_module_class(obj)
            mc.line = lines.get(obj.__name__)
            found.append(mc)
    found.sort(key=lambda c: (c.line is None, c.line or 0))
    return found


def list_modules(path: str | Path) -> list[ModuleClass]:
    """Import ``path`` here and list its ``nn.Module`` subclasses (see ``user_code`` for a safe probe)."""
    return list_module_classes(import_file(path))


@dataclass
class ModelChoice:
    """What the user picked for a module file; plain data, so it can be remembered.

    ``input_shapes`` holds one shape per model input (``[(8, 3)]`` for one input).
    """

    class_name: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    input_shapes: list[Shape] = field(default_factory=lambda: [(8, 4)])
    input_dtype: str = "float32"
    loss: str = "mse"
    optimizer: str = "sgd"
    lr: float = 0.01
    steps: int = 30
    seed: int | None = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_shapes"] = [list(s) for s in self.input_shapes]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelChoice":
        d = dict(d)
        d["input_shapes"] = [tuple(s) for s in d.get("input_shapes", [(8, 4)])]
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


def scenario_for_model(
    model: nn.Module,
    inputs: Sequence[torch.Tensor],
    *,
    name: str,
    loss: str = "mse",
    optimizer: str | None = "sgd",
    lr: float = 0.01,
    steps: int = 30,
    device: str = "cpu",
    description: str = "",
) -> Scenario:
    """A training scenario for ``model`` on fixed ``inputs`` with a loss from :data:`LOSSES`.

    The model runs once under ``no_grad`` to shape the random targets.
    """
    loss_fn, make_targets = make_loss(loss)
    inputs = tuple(inputs)
    with torch.no_grad():
        pred = model(*inputs)
    targets = make_targets(pred)
    opt = make_optimizer(optimizer, model.parameters(), lr)
    if len(inputs) == 1:
        return Scenario(
            name, model=model, inputs=inputs[0], targets=targets, loss_fn=loss_fn,
            optimizer=opt, steps=steps, device=device, description=description,
        )
    return Scenario(
        name, model=model, inputs=inputs, targets=targets, loss_fn=loss_fn,
        forward=lambda: loss_fn(model(*inputs), targets),
        optimizer=opt, steps=steps, device=device, description=description,
    )


def build_module_scenario(path: str | Path, choice: ModelChoice | dict, device: str = "cpu", module: Any = None) -> Scenario:
    """Import ``path`` (unless ``module`` is given), build ``choice.class_name(**kwargs)``
    on ``device``, and return a training scenario with random inputs."""
    if isinstance(choice, dict):
        choice = ModelChoice.from_dict(choice)
    path = Path(path).resolve()
    module = module if module is not None else import_file(path)
    cls = getattr(module, choice.class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        names = ", ".join(c.name for c in list_module_classes(module)) or "none"
        raise LoadError(f"{path.name} has no nn.Module subclass {choice.class_name!r} (found: {names})")
    if choice.seed is not None:
        torch.manual_seed(choice.seed)
    try:
        model = cls(**choice.kwargs).to(device)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise LoadError(
            f"{choice.class_name}({_kwargs_text(choice.kwargs)}) raised {type(exc).__name__}: {exc}",
            file_traceback(exc, path),
        ) from None
    inputs = random_inputs(choice.input_shapes, device, choice.input_dtype)
    try:
        scenario = scenario_for_model(
            model, inputs, name=choice.class_name, loss=choice.loss, optimizer=choice.optimizer,
            lr=choice.lr, steps=choice.steps, device=device,
            description=f"{choice.class_name} from {path.name}, random inputs {_shapes_text(choice.input_shapes)}, "
            f"loss {choice.loss}",
        )
        from ..system.memory import remember_code

        remember_code(scenario, module)
        return scenario
    except LoadError:
        raise
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise LoadError(
            f"{choice.class_name} failed on inputs {_shapes_text(choice.input_shapes)}: {type(exc).__name__}: {exc}",
            file_traceback(exc, path),
        ) from None


def _kwargs_text(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _shapes_text(shapes: Sequence[Shape]) -> str:
    return "; ".join("×".join(str(d) for d in s) or "scalar" for s in shapes)


# ------------------------------------------------------------ programs
EXAMPLE_INPUTS_FILE = "example_inputs.pt"


@dataclass
class ProgramInfo:
    kind: str  # "torchscript" | "exported"
    path: str
    example_shapes: list[Shape] | None = None  # None: no stored example inputs
    parameters: int = 0

    @property
    def needs_input_shape(self) -> bool:
        return self.example_shapes is None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["needs_input_shape"] = self.needs_input_shape
        return d


def _as_tensor_tuple(obj: Any) -> tuple[torch.Tensor, ...] | None:
    if isinstance(obj, torch.Tensor):
        return (obj,)
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(t, torch.Tensor) for t in obj):
        return tuple(obj)
    return None


def save_torchscript(module: torch.jit.ScriptModule, path: str | Path, example_inputs: Any) -> None:
    """``torch.jit.save`` with the example inputs stored the way :func:`load_program` reads them."""
    buf = io.BytesIO()
    torch.save(tuple(_as_tensor_tuple(example_inputs) or ()), buf)
    torch.jit.save(module, str(path), _extra_files={EXAMPLE_INPUTS_FILE: buf.getvalue()})


def _load_torchscript(path: Path, device: str) -> tuple[nn.Module, tuple[torch.Tensor, ...] | None]:
    extra = {EXAMPLE_INPUTS_FILE: b""}
    try:
        with warnings.catch_warnings():  # "torch.jit is deprecated": the user chose the format
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    except Exception as exc:
        raise LoadError(f"{path.name} is not a readable TorchScript program: {exc}") from None
    examples = None
    raw = extra.get(EXAMPLE_INPUTS_FILE)
    if raw:
        try:
            examples = _as_tensor_tuple(torch.load(io.BytesIO(raw), map_location=device, weights_only=True))
        except Exception:
            examples = None
    if examples is None and hasattr(module, "example_inputs"):
        examples = _as_tensor_tuple(getattr(module, "example_inputs"))
        if examples is not None:
            examples = tuple(t.to(device) for t in examples)
    return module, examples


def _load_exported(path: Path, device: str) -> tuple[nn.Module, tuple[torch.Tensor, ...] | None]:
    try:
        ep = torch.export.load(str(path))
    except Exception as exc:
        raise LoadError(f"{path.name} is not a readable torch.export program: {exc}") from None
    examples = None
    ex = getattr(ep, "example_inputs", None)
    if ex is not None:
        args = ex[0] if isinstance(ex, tuple) and len(ex) == 2 and isinstance(ex[1], dict) else ex
        examples = _as_tensor_tuple(args)
    module = ep.module()
    if device != "cpu":
        module = module.to(device)
        if examples is not None:
            examples = tuple(t.to(device) for t in examples)
    return module, examples


def _load_any_program(path: Path, device: str) -> tuple[str, nn.Module, tuple[torch.Tensor, ...] | None]:
    kind = sniff(path)
    if kind == TORCHSCRIPT:
        return kind, *_load_torchscript(path, device)
    if kind == EXPORTED:
        return kind, *_load_exported(path, device)
    if kind == CHECKPOINT:
        raise LoadError(
            f"{path.name} is a checkpoint (a state_dict), not a program: load a scenario or model first, "
            "then apply the checkpoint to it"
        )
    raise LoadError(f"{path.name} is neither a TorchScript (.pt) nor a torch.export (.pt2) program")


def inspect_program(path: str | Path) -> ProgramInfo:
    """Load a ``.pt``/``.pt2`` program (on cpu) and say whether it stores example inputs."""
    path = Path(path)
    kind, module, examples = _load_any_program(path, "cpu")
    return ProgramInfo(
        kind=kind,
        path=str(path),
        example_shapes=[tuple(t.shape) for t in examples] if examples is not None else None,
        parameters=sum(p.numel() for p in module.parameters()),
    )


def load_program(
    path: str | Path,
    *,
    input_shapes: Any = None,
    device: str = "cpu",
    loss: str = "sum",
    optimizer: str | None = "sgd",
    lr: float = 0.01,
    steps: int = 30,
    input_dtype: str = "float32",
) -> Scenario:
    """A scenario running a TorchScript or exported program: on its stored example inputs,
    else on random inputs of ``input_shapes`` (``"8, 3"``, ``[(8, 3)]``, ...)."""
    path = Path(path)
    kind, module, examples = _load_any_program(path, device)
    if examples is None and input_shapes is None:
        raise LoadError(f"{path.name} stores no example inputs: give an input shape (e.g. 8, 3)")
    if examples is not None and input_shapes is None:
        inputs = tuple(examples)
        source = "its stored example inputs"
    else:
        shapes = parse_shapes(input_shapes)
        inputs = random_inputs(shapes, device, input_dtype)
        source = f"random inputs {_shapes_text(shapes)}"
    for p in module.parameters():
        if p.is_floating_point():
            p.requires_grad_(True)
    try:
        return scenario_for_model(
            module, inputs, name=path.stem, loss=loss, optimizer=optimizer, lr=lr, steps=steps, device=device,
            description=f"{'TorchScript' if kind == TORCHSCRIPT else 'torch.export'} program {path.name} on {source}",
        )
    except LoadError:
        raise
    except Exception as exc:
        raise LoadError(f"{path.name} failed on {source}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                        str(exc)) from None


# ------------------------------------------------------------ checkpoints
_CONTAINER_KEYS = ("state_dict", "model_state_dict", "model", "net", "module")


def _refusal(path: Path, exc: BaseException) -> LoadError:
    text = str(exc)
    m = re.search(r"GLOBAL ([\w.]+)", text)
    what = f"would import and call {m.group(1)}" if m else "contains Python objects that would run code"
    return LoadError(
        f"{path.name} was refused: it is a pickle that {what} when loaded. Checkpoints are read "
        "with torch.load(weights_only=True), which accepts only tensors and plain containers, "
        "because unpickling anything else runs code from the file. If you trust the file, "
        "re-save just its weights: torch.save(model.state_dict(), path)",
        text,
    )


def load_state_dict_file(path: str | Path, device: str = "cpu") -> dict[str, torch.Tensor]:
    """Read a checkpoint safely (``weights_only=True``) and return its flat tensor dict."""
    import pickle

    path = Path(path)
    if not path.exists():
        raise LoadError(f"{path} does not exist")
    if sniff(path) in (TORCHSCRIPT, EXPORTED):
        raise LoadError(f"{path.name} is a program, not a state_dict checkpoint: open it with File → Open instead")
    try:
        obj = torch.load(str(path), map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise _refusal(path, exc) from None
    except Exception as exc:
        if "weights_only" in str(exc) or "GLOBAL" in str(exc):
            raise _refusal(path, exc) from None
        raise LoadError(f"{path.name} is not a readable torch checkpoint: {exc}") from None
    # Unwrap {"state_dict": {...}, "epoch": 3}-style containers.
    for _ in range(3):
        if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
            inner = next((obj[k] for k in _CONTAINER_KEYS if isinstance(obj.get(k), dict)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, dict):
        raise LoadError(f"{path.name} holds a {type(obj).__name__}, not a state_dict (a dict of tensors)")
    sd = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not sd:
        raise LoadError(f"{path.name} holds no tensors")
    if all(k.startswith("module.") for k in sd):  # saved from DataParallel
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return sd


@dataclass
class CheckpointReport:
    loaded: list[str]
    missing: list[str]  # in the model, not in the file
    unexpected: list[str]  # in the file, not in the model

    def message(self) -> str:
        parts = [f"loaded {len(self.loaded)} tensor{'s' if len(self.loaded) != 1 else ''}"]
        if self.missing:
            parts.append(f"{len(self.missing)} not in the file kept their values ({', '.join(self.missing[:5])})")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} in the file were ignored ({', '.join(self.unexpected[:5])})")
        return "; ".join(parts)


def apply_checkpoint(scenario: Scenario, path: str | Path, strict: bool = False) -> CheckpointReport:
    """Copy a state_dict checkpoint into the scenario's model (or its leaves, by name).

    Values are copied in place, so an optimizer keeps working on the same parameters.
    Raises :class:`LoadError` when the file is refused, unreadable, matches nothing,
    or a tensor's shape differs.
    """
    path = Path(path)
    sd = load_state_dict_file(path, scenario.device)
    if scenario.model is not None:
        own = scenario.model.state_dict()
        matched = [k for k in sd if k in own]
        if not matched:
            raise LoadError(
                f"none of the {len(sd)} tensors in {path.name} match {type(scenario.model).__name__}'s "
                f"state_dict (file: {', '.join(list(sd)[:4])}; model: {', '.join(list(own)[:4])})"
            )
        for k in matched:
            if tuple(sd[k].shape) != tuple(own[k].shape):
                raise LoadError(
                    f"{path.name}: {k} has shape {tuple(sd[k].shape)} in the file but {tuple(own[k].shape)} in the model"
                )
        try:
            res = scenario.model.load_state_dict(sd, strict=strict)
        except RuntimeError as exc:
            raise LoadError(f"{path.name} does not fit the model: {str(exc).splitlines()[0]}", str(exc)) from None
        return CheckpointReport(loaded=matched, missing=list(res.missing_keys), unexpected=list(res.unexpected_keys))
    matched = [k for k in sd if k in scenario.leaves]
    if not matched:
        raise LoadError(
            f"none of the tensors in {path.name} ({', '.join(list(sd)[:4])}) is named like a leaf of "
            f"{scenario.name!r} ({', '.join(scenario.leaves)})"
        )
    with torch.no_grad():
        for k in matched:
            leaf = scenario.leaves[k]
            if tuple(sd[k].shape) != tuple(leaf.shape):
                raise LoadError(f"{path.name}: {k} has shape {tuple(sd[k].shape)} in the file but {tuple(leaf.shape)} here")
        for k in matched:
            scenario.leaves[k].copy_(sd[k])
    return CheckpointReport(
        loaded=matched,
        missing=[k for k in scenario.leaves if k not in sd],
        unexpected=[k for k in sd if k not in scenario.leaves],
    )
