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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import LoadError, file_traceback
from ..run.scenario import Scenario
from .checkpoints import CheckpointReport, apply_checkpoint, load_state_dict_file  # noqa: F401 (re-exported)
from .kinds import sniff  # noqa: F401 (re-exported)
from .model_common import (  # noqa: F401 (re-exported)
    LOSSES,
    OPTIMIZERS,
    Shape,
    _shapes_text,
    make_loss,
    make_optimizer,
    parse_kwargs,
    parse_shape,
    parse_shapes,
    random_inputs,
    scenario_for_model,
)
from .programs import (  # noqa: F401 (re-exported)
    EXAMPLE_INPUTS_FILE,
    ProgramInfo,
    inspect_program,
    load_program,
    save_torchscript,
)
from .user_module import import_file, in_folder_of


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
        with in_folder_of(path):  # the constructor is the user's code: relative paths from its folder
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
