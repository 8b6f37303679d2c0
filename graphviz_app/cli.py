"""The ``graphviz-app`` command: the GUI by default, headless subcommands beside it.

    graphviz-app [FILE]                      open the app (optionally with a scenario or snapshot)
    graphviz-app export FILE -o OUT [...]    run FILE headless and write png/svg/pdf/dot/json
    graphviz-app --version

Heavy imports (torch, Qt) happen only inside the command that needs them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from . import __version__

FORMATS = ("png", "svg", "pdf", "dot", "json")
QT_FORMATS = ("png", "pdf")  # drawn through an offscreen Qt scene
DESCRIPTION = "A desktop debugger for PyTorch autograd: step backward node by node and watch the gradients."
EPILOG = """commands:
  graphviz-app [FILE]            open the app, optionally with a scenario (.py) or snapshot (.json)
  graphviz-app export FILE -o OUT [--format png|svg|pdf|dot|json] [--steps N] [--device D]
                         [--collapse DEPTH|auto] [--scale S] [--model CLASS] [--input-shape 8x4[,...]]
                         [--weights CKPT] [--timeout SECONDS] [--trust]
                                 run FILE headless (no display needed) and write the graph

examples:
  graphviz-app examples/chain_rule.py
  graphviz-app export examples/chain_rule.py -o chain.png
  graphviz-app export examples/chain_rule.py -o chain.json --format json
  graphviz-app export examples/linear_regression_sgd.py --steps 30 -o run.json
  graphviz-app export nets.py --model Net --input-shape 8x4 --weights net.pth -o net.svg
  graphviz-app export traced.pt --input-shape 8x4 --steps 5 -o traced.json
"""


def _gui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="graphviz-app", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", nargs="?", help="a scenario (.py) or snapshot (.json) to open")
    p.add_argument("--version", action="version", version=f"graphviz-app {__version__}")
    return p


def _collapse_arg(text: str):
    if text.strip().lower() == "auto":
        return "auto"
    try:
        depth = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a module depth (0, 1, 2, ...) or 'auto', not {text!r}") from None
    if depth < 0:
        raise argparse.ArgumentTypeError(f"the depth must be 0 or more, not {depth}")
    return depth


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not (value > 0 and value < 1e4):
        raise argparse.ArgumentTypeError(f"the scale must be above 0, not {text}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"the number of steps must be 0 or more, not {value}")
    return value


_SHAPE = re.compile(r"\d+(?:\s*[x×]\s*\d+)*")


def _shapes_arg(text: str) -> list[tuple[int, ...]]:
    """``8x4`` (one input) or ``8x4,8x5`` (two inputs; ``;`` separates too) → ``[(8, 4), (8, 5)]``."""
    parts = [p.strip() for p in re.split(r"[,;]", text)]
    if not parts or not all(_SHAPE.fullmatch(p) for p in parts):
        raise argparse.ArgumentTypeError(
            f"expected one shape per model input, sizes joined by x, e.g. 8x4 or 8x4,8x5, not {text!r}"
        )
    return [tuple(int(d) for d in re.split(r"\s*[x×]\s*", p)) for p in parts]


def _timeout_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not (value > 0 and value < 1e6):
        raise argparse.ArgumentTypeError(f"the time limit must be above 0 seconds, not {text}")
    return value


def _export_parser() -> argparse.ArgumentParser:
    from .core.files.user_code import (
        DEFAULT_TIMEOUT,  # no torch: the module only starts processes
    )

    p = argparse.ArgumentParser(
        prog="graphviz-app export",
        description="Run a scenario, a module file or a .pt/.pt2 program (or read a snapshot) headless "
        "and write its autograd graph. Backward runs to the end, so the file holds every node's gradients. "
        "Python files and programs are exported in a process of their own, checked there first "
        "with a time limit.",
    )
    p.add_argument("file", help="a scenario or module file (.py), a TorchScript (.pt) or torch.export (.pt2) "
                   "program, or a snapshot (.json)")
    p.add_argument("-o", "--output", required=True, action="append",
                   help="the file to write; give -o several times to write several files from one run")
    p.add_argument("--format", choices=FORMATS,
                   help="output format (default: from each output's suffix)")
    p.add_argument("--steps", type=_non_negative_int, default=0,
                   help="train this many steps first; the file shows the last step's graph and "
                   "meta.loss_history holds one loss per step")
    p.add_argument("--device", default="cpu", help="device to run on (cpu, cuda, cuda:1, mps)")
    p.add_argument("--collapse", type=_collapse_arg, default=None, metavar="DEPTH|auto",
                   help="draw every nn.Module at depth DEPTH (1 = the model's direct children) as one box "
                   "holding everything inside it; 'auto' picks the depth the app opens with "
                   "(at most about 300 boxes); 0 or left out: every node")
    p.add_argument("--scale", type=_positive_float, default=2.0,
                   help="PNG pixels per layout unit (default 2; reduced for graphs too big for one image)")
    p.add_argument("--direction", choices=("TB", "BT"), default="TB",
                   help="TB: output at the top (default); BT: output at the bottom")
    p.add_argument("--model", metavar="CLASS",
                   help="for a .py that defines nn.Module classes: the class to build with its constructor "
                   "defaults (may be left out when the file defines only one)")
    p.add_argument("--input-shape", dest="input_shapes", type=_shapes_arg, metavar="8x4[,...]",
                   help="random inputs of these shapes, one per model input: needed for module files and "
                   "for programs that store no example inputs")
    p.add_argument("--weights", metavar="CKPT",
                   help="a state_dict checkpoint to load into the model first (read with "
                   "torch.load(weights_only=True))")
    p.add_argument("--timeout", type=_timeout_arg, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help="time limit for checking the file (import, build, one forward) before it is exported "
                   f"(default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--trust", action="store_true",
                   help="open a .pt2 program even though its pickles would run code when read (only for "
                   "files you trust: the code runs with your permissions)")
    p.add_argument("--debug", action="store_true", help="print full tracebacks")
    return p


_STUCK = "Where it was when the time ran out"  # how user_code reports where a timed-out file was


def _fail(message: str, details: str = "", debug: bool = False, code: int = 1) -> int:
    print(f"graphviz-app: error: {message}", file=sys.stderr)
    if details and debug:
        print(details, file=sys.stderr)
    elif details:
        # The user's own traceback is what they need to fix their file.
        print(details.rstrip(), file=sys.stderr)
    return code


def build_graph(path: Path, steps: int = 0, device: str = "cpu", *, model: str | None = None,
                input_shapes=None, weights=None, safe: bool = False, timeout: float | None = None,
                trust: bool = False):
    """Load ``path`` and return a Graph with every node's gradients (or the snapshot).

    ``steps`` ≥ 1 trains that many steps (the scenario's own update) and returns the
    last step's graph, with ``meta.loss_history`` holding one loss per step. ``model``,
    ``input_shapes`` and ``weights`` are the ``--model``, ``--input-shape`` and
    ``--weights`` options (see ``core.training.load_headless``); ``safe=True`` runs the
    file in a child process with a ``timeout`` first.
    """
    options = dict(model=model, input_shapes=input_shapes, weights=weights, safe=safe, timeout=timeout,
                   trust=trust)
    if steps >= 1:
        if Path(path).suffix.lower() == ".json":
            raise ValueError(f"{path} is a snapshot; --steps needs a scenario, module file or program to train")
        from .core.files.headless import train_and_snapshot

        return train_and_snapshot(path, steps, device, **options)
    from .core.files.headless import load_headless

    loaded = load_headless(path, device, **options)  # imports torch beside the file's check
    from .core.files.supervised import settle_loaded

    settle_loaded()
    if loaded.graph is not None:
        return loaded.graph
    from .core.run.session import Session

    session = Session(loaded.scenario, source=str(path))
    graph = session.forward()
    result = session.backward()  # on this thread; the export's time limit watches it
    if not result.ok:
        where = ""
        if result.failed_node and result.failed_node in graph:
            where = f" while {graph.node(result.failed_node).label} was running"
        raise RuntimeError(f"backward {result.status}{where}: {result.error}")
    graph.meta["loss_history"] = list(session.scenario.loss_history)
    if loaded.weights:
        graph.meta["weights"] = loaded.weights
    return graph


def _build_detached(*args, **kwargs):
    """:func:`build_graph`, with the model, its tensors and the live graph freed before
    returning (on the calling thread: see ``core.stacks``)."""
    graph = build_graph(*args, **kwargs)
    graph.detach()
    return graph


def collapsed_modules(graph, depth) -> set[str]:
    """The module paths to draw as one box each: every module at ``depth`` ("auto": the app's first view)."""
    from .core.graph.grouping import initial_collapse, module_of

    if depth is None or depth == 0:
        return set()
    if depth == "auto":
        return initial_collapse(graph)
    out: set[str] = set()
    for n in graph.nodes:
        p = module_of(n)
        if p and p.count(".") + 1 >= depth:
            out.add(".".join(p.split(".")[:depth]))
    return out


def group_for_export(graph, depth):
    """``graph`` with the modules ``--collapse`` names folded into boxes (the graph itself when none)."""
    collapsed = collapsed_modules(graph, depth)
    if not collapsed:
        return graph
    from .core.graph.grouping import group_graph

    grouped, _ = group_graph(graph, collapsed)
    grouped.meta["collapsed"] = sorted(collapsed)
    return grouped


def write_export(graph, out: Path, fmt: str, direction: str = "TB", scale: float = 2.0) -> None:
    """Lay out (when the format draws) and write ``graph``; Qt starts only for png/pdf."""
    from .core.graph.summary import remembered_texts

    with remembered_texts():  # the layout and the drawing format each line of numbers once
        _write_export(graph, out, fmt, direction, scale)


def _write_export(graph, out: Path, fmt: str, direction: str, scale: float) -> None:
    if fmt == "json":
        from .core.files import snapshot

        snapshot.save(graph, out)
    elif fmt == "dot":
        from .core.draw.export_dot import write_dot

        write_dot(graph, out, direction=direction)
    elif fmt == "svg":
        from .core.draw.export_svg import write_svg
        from .core.draw.layout import layout_graph

        write_svg(graph, layout_graph(graph, direction=direction), out)
    else:
        from .core.draw.layout import layout_graph
        from .ui.app import get_app
        from .ui.graph_scene import box_size
        from .ui.render import render_pdf, render_png

        get_app()
        layout = layout_graph(graph, direction=direction, sizes=[box_size(n) for n in graph.nodes])
        if fmt == "pdf":
            render_pdf(graph, layout, out)
        else:
            render_png(graph, layout, out, scale=scale)


def export_main(argv: list[str], supervise: bool = False) -> int:
    """``graphviz-app export``. ``supervise``: run a Python file or program in a process
    of its own, watched from here (the command does; see ``core.files.supervised``)."""
    args = _export_parser().parse_args(argv)
    outputs = []
    for name in args.output:
        out = Path(name)
        fmt = (args.format or out.suffix.lstrip(".") or "png").lower()
        if fmt not in FORMATS:
            return _fail(f"unknown output format {fmt!r}; use --format with one of {', '.join(FORMATS)}")
        if out.parent and not out.parent.exists():
            return _fail(f"could not write {out}: the folder {out.parent} does not exist")
        outputs.append((out, fmt))
    src = Path(args.file)
    if not src.exists():
        return _fail(f"{src} does not exist")
    if any(fmt in QT_FORMATS for _, fmt in outputs):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # no display needed
    from .core.errors import InputShapeError, UntrustedCodeError
    from .core.files.loader import LoadError
    from .core.files.snapshot import SnapshotError
    from .core.system.stacks import on_big_stack

    if args.weights is not None and not Path(args.weights).exists():
        return _fail(f"the weights file {args.weights} does not exist")
    if supervise and src.suffix.lower() != ".json":
        from .core.files.supervised import run_export

        code, message, details = run_export(argv, src.name)
        return _load_failure(message, details, args.debug) if message else code

    try:
        graph = on_big_stack(_build_detached, src, steps=args.steps, device=args.device, model=args.model,
                            input_shapes=args.input_shapes, weights=args.weights, safe=True,
                            timeout=args.timeout, trust=args.trust)
    except InputShapeError as exc:
        return _fail(str(exc), "", args.debug, code=2)
    except UntrustedCodeError as exc:
        return _fail(str(exc), exc.details if args.debug else "", args.debug, code=2)
    except SnapshotError as exc:  # a malformed snapshot: one sentence naming the field, bad input
        return _fail(str(exc), "", args.debug, code=2)
    except LoadError as exc:
        return _load_failure(str(exc), exc.details, args.debug)
    except Exception as exc:
        import traceback

        message = str(exc).strip()
        if not args.debug:  # the first line says what went wrong; --debug shows the rest
            message = message.splitlines()[0] if message else ""
        text = f"{type(exc).__name__}: {message}" if not isinstance(exc, (RuntimeError, ValueError)) else message
        return _fail(text or type(exc).__name__, traceback.format_exc() if args.debug else "", args.debug)

    try:
        graph = group_for_export(graph, args.collapse)
    except Exception as exc:
        return _fail(f"could not collapse modules: {type(exc).__name__}: {exc}")
    if graph.meta.get("weights"):
        print(f"weights {graph.meta['weights']}")
    extra = f", {len(graph.meta['collapsed'])} modules collapsed" if graph.meta.get("collapsed") else ""
    failed = write_all(graph, outputs, args)
    if failed:
        return failed
    for out, _ in outputs:
        print(f"wrote {out} ({len(graph.nodes)} nodes, {len(graph.edges)} edges{extra})")
    return 0


def _load_failure(message: str, details: str, debug: bool) -> int:
    if details.startswith(_STUCK) and not debug:
        # A timeout: one line, with the line it was stuck on; --debug shows the stack.
        m = re.search(r"\(last line of (.+?): .*?line (\d+)", details)
        message += f" (it was at line {m.group(2)} of {m.group(1)})" if m else ""
        details = ""
    return _fail(message, details, debug)


def _partial_name(out: Path) -> Path:
    """Where ``out`` is written before the rename: beside it, same suffix (Qt picks formats by it)."""
    return out.with_name(f".{out.stem}.partial-{os.getpid()}{out.suffix}")


class _WriteFailed(Exception):
    """An output could not be written; ``code`` is the exit code (the message is out)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _write_each(graph, outputs, args, written: list) -> None:
    for out, fmt in outputs:
        tmp = _partial_name(out)
        written.append((tmp, out))
        try:
            write_export(graph, tmp, fmt, direction=args.direction, scale=args.scale)
        except OSError as exc:
            raise _WriteFailed(_fail(f"could not write {out}: {exc.strerror or exc}")) from None
        except Exception as exc:
            import traceback

            raise _WriteFailed(_fail(f"could not export {out}: {type(exc).__name__}: {exc}",
                                     traceback.format_exc() if args.debug else "", args.debug)) from None


def write_all(graph, outputs: list[tuple[Path, str]], args) -> int:
    """Write every output under a temporary name, then rename them all; on any failure
    remove the temporaries, so no output of a failed export is left behind. 0 or the exit code."""
    from .core.graph.summary import remembered_texts

    written: list[tuple[Path, Path]] = []
    try:
        with remembered_texts():  # svg, dot and png of one graph: each line formatted once
            _write_each(graph, outputs, args, written)
        for tmp, out in written:
            os.replace(tmp, out)
        written = []
        return 0
    except _WriteFailed as failed:
        return failed.code
    finally:
        for tmp, _ in written:
            try:
                tmp.unlink()
            except OSError:
                pass


def main(argv: list[str] | None = None, *, supervise: bool = False) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "export":
        return export_main(argv[1:], supervise=supervise)
    args = _gui_parser().parse_args(argv)
    if args.file and not Path(args.file).exists():
        return _fail(f"{args.file} does not exist")
    from .ui.app import run_gui

    return run_gui(args.file)


def entry() -> None:
    """The ``graphviz-app`` command. A headless export ends without tearing torch and
    its graph down object by object (about a second after a 15,000-node export): by
    then every output is written, closed and renamed into place."""
    argv = sys.argv[1:]
    export = bool(argv) and argv[0] == "export"
    if export:
        import gc

        # A one-shot process: reference counting frees the model and its graphs; full
        # collections over torch's objects and a large graph's summaries would only
        # cost time (a fifth of a 15,000-node export), as in the app's jobs.
        gc.disable()
        from .core.files.supervised import child_done, enter_child

        child = enter_child()  # the exporting process of a supervised export
        code = main(argv, supervise=not child)
        if child:
            child_done(code)
    else:
        code = main(argv)
    if export:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(code or 0))
    sys.exit(code)


if __name__ == "__main__":
    entry()
