"""The ``graphviz-app`` command: the GUI by default, headless subcommands beside it.

    graphviz-app [FILE]                      open the app (optionally with a scenario or snapshot)
    graphviz-app export FILE -o OUT [...]    run FILE headless and write png/svg/dot/json
    graphviz-app --version

Heavy imports (torch, Qt) happen only inside the command that needs them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__

FORMATS = ("png", "svg", "dot", "json")
DESCRIPTION = "A desktop debugger for PyTorch autograd: step backward node by node and watch the gradients."
EPILOG = """commands:
  graphviz-app [FILE]            open the app, optionally with a scenario (.py) or snapshot (.json)
  graphviz-app export FILE -o OUT [--format png|svg|dot|json] [--steps N] [--device D]
                                 run FILE headless (no display needed) and write the graph

examples:
  graphviz-app examples/chain_rule.py
  graphviz-app export examples/chain_rule.py -o chain.png
  graphviz-app export examples/chain_rule.py -o chain.json --format json
"""


def _gui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="graphviz-app", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", nargs="?", help="a scenario (.py) or snapshot (.json) to open")
    p.add_argument("--version", action="version", version=f"graphviz-app {__version__}")
    return p


def _export_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="graphviz-app export",
        description="Run a scenario (or read a snapshot) headless and write its autograd graph. "
        "Backward runs to the end, so the file holds every node's gradients.",
    )
    p.add_argument("file", help="a scenario (.py) or snapshot (.json)")
    p.add_argument("-o", "--output", required=True, help="the file to write")
    p.add_argument("--format", choices=FORMATS, help="output format (default: from the output's suffix)")
    p.add_argument("--steps", type=int, default=0, help="train this many steps first; the file shows the last")
    p.add_argument("--device", default="cpu", help="device to run on (cpu, cuda, cuda:1, mps)")
    p.add_argument("--direction", choices=("TB", "BT"), default="TB",
                   help="TB: output at the top (default); BT: output at the bottom")
    p.add_argument("--debug", action="store_true", help="print full tracebacks")
    return p


def _fail(message: str, details: str = "", debug: bool = False) -> int:
    print(f"graphviz-app: error: {message}", file=sys.stderr)
    if details and debug:
        print(details, file=sys.stderr)
    elif details:
        # The user's own traceback is what they need to fix their file.
        print(details.rstrip(), file=sys.stderr)
    return 1


def build_graph(path: Path, steps: int = 0, device: str = "cpu"):
    """Load ``path`` and return a Graph with every node's gradients (or the snapshot)."""
    from .core.loader import load_path
    from .core.session import Session

    loaded = load_path(path, device=device)
    if loaded.kind == "snapshot":
        return loaded.graph
    session = Session(loaded.scenario, source=str(path))
    for _ in range(max(0, steps - 1)):
        session.scenario.train_step()
    graph = session.forward()
    result = session.backward(timeout=600)
    if not result.ok:
        where = ""
        if result.failed_node and result.failed_node in graph:
            where = f" while {graph.node(result.failed_node).label} was running"
        raise RuntimeError(f"backward {result.status}{where}: {result.error}")
    if steps > 0:
        session.finish_step()
    graph.meta["loss_history"] = list(session.scenario.loss_history)
    return graph


def export_main(argv: list[str]) -> int:
    args = _export_parser().parse_args(argv)
    out = Path(args.output)
    fmt = (args.format or out.suffix.lstrip(".") or "png").lower()
    if fmt not in FORMATS:
        return _fail(f"unknown output format {fmt!r}; use --format with one of {', '.join(FORMATS)}")
    src = Path(args.file)
    if not src.exists():
        return _fail(f"{src} does not exist")
    if fmt == "png":
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # no display needed
    from .core.loader import LoadError

    try:
        graph = build_graph(src, steps=args.steps, device=args.device)
    except LoadError as exc:
        return _fail(str(exc), exc.details, args.debug)
    except Exception as exc:
        import traceback

        return _fail(f"{type(exc).__name__}: {exc}", traceback.format_exc() if args.debug else "", args.debug)

    try:
        if fmt == "json":
            from .core import snapshot

            snapshot.save(graph, out)
        elif fmt == "dot":
            from .core.export_dot import write_dot

            write_dot(graph, out, direction=args.direction)
        else:
            from .core.layout import layout_graph

            if fmt == "svg":
                from .core.export_svg import write_svg

                write_svg(graph, layout_graph(graph, direction=args.direction), out)
            else:
                from .ui.app import get_app
                from .ui.graph_scene import box_size
                from .ui.render import render_png

                get_app()
                sizes = [box_size(n) for n in graph.nodes]
                render_png(graph, layout_graph(graph, direction=args.direction, sizes=sizes), out)
    except OSError as exc:
        return _fail(f"could not write {out}: {exc.strerror or exc}")
    print(f"wrote {out} ({len(graph.nodes)} nodes, {len(graph.edges)} edges)")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "export":
        return export_main(argv[1:])
    args = _gui_parser().parse_args(argv)
    if args.file and not Path(args.file).exists():
        return _fail(f"{args.file} does not exist")
    from .ui.app import run_gui

    return run_gui(args.file)


if __name__ == "__main__":
    sys.exit(main())
