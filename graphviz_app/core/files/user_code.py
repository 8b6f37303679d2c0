"""Running the user's Python (and torch programs) without risking the app.

Design: probe in a child process first, then load in this process.

1. **Probe.** :func:`probe` compiles a ``.py`` file here (a syntax error needs no
   process), then starts ``python -m graphviz_app.core.files.user_code SPEC`` in its own
   process group, working directory = the file's folder, output to temporary files.
   The child arms ``faulthandler.dump_traceback_later(timeout, exit=True)`` before it
   imports anything heavy, caps its address space (``RLIMIT_AS``, CPU runs on Linux
   and macOS only: CUDA reserves huge virtual ranges), then does what the app will
   do: imports the file, calls ``build(device)`` (or lists the ``nn.Module``
   subclasses, or builds the chosen one, or loads a ``.pt``/``.pt2`` program) and
   runs one forward pass. It writes a JSON report and leaves with ``os._exit(0)``
   (user threads and ``atexit`` handlers cannot keep it alive).
   The parent waits on the process with a deadline (the time limit plus a start-up
   grace) and kills the whole process group when it passes. Whatever the user's
   code does there (raise, ``sys.exit``, ``os._exit``, loop forever, exhaust memory,
   crash in native code) ends in a :class:`ProbeResult` with ``ok=False``, a plain
   sentence and the user's own traceback (for a timeout: the stack where it was
   stuck, from faulthandler). The app's own state is never touched.

2. **Load.** Only after a clean probe does the app import the file itself (the
   ``*_safely`` helpers below; in-process errors still become
   :class:`~graphviz_app.core.files.loader.LoadError`). The file therefore runs twice: its
   import-time side effects happen twice, and code that behaves differently the
   second time (randomness, files it reads) is only as safe as the in-process
   guards. A child process is not a sandbox: the code runs with the user's rights,
   which is why the GUI asks for trust before loading a file.

A headless export runs in a process of its own that the command watches
(``core.files.supervised``); there :func:`probe_in_this_process` makes the check run
in that process, with the same steps, limits and reports, and the watching process
reads the same files a probe's parent reads when the user's code ends it.

Everything here blocks the calling thread for up to the time limit; the GUI calls it
from a worker and may pass a ``threading.Event`` to cancel.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT = 60.0  # seconds for import + build + one forward, in the child
STARTUP_GRACE = 15.0  # extra seconds before the parent kills a child whose own timer failed
_TAIL = 20_000
_PKG_ROOT = Path(__file__).resolve().parents[3]  # the folder holding graphviz_app/


@dataclass
class ProbeResult:
    """What the child process found, or why it failed.

    ``kind``: ``scenario`` (a file with ``build``), ``models`` (``nn.Module`` classes,
    listed in ``info["classes"]``), ``model`` (a chosen class built), ``program``
    (a ``.pt``/``.pt2``; ``info`` is a :class:`ProgramInfo` dict), or ``error``.
    """

    ok: bool
    kind: str = "error"
    message: str = ""
    details: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    timed_out: bool = False
    exit_code: int | None = None
    duration_s: float = 0.0
    output: str = ""  # the tail of what the child printed
    untrusted: bool = False  # the file holds code and was refused before unpickling

    def raise_for_error(self) -> None:
        if not self.ok:
            from ..errors import LoadError

            if self.untrusted:
                from ..errors import UntrustedCodeError

                raise UntrustedCodeError(self.message, self.details)
            raise LoadError(self.message, self.details)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_memory_limit() -> int:
    """Bytes of address space the child may use on CPU: the machine's memory (≥ 4 GiB)."""
    try:
        phys = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0
    return max(phys, 4 * 2**30)


# ------------------------------------------------------------------ parent
def _syntax_check(path: Path) -> ProbeResult | None:
    try:
        source = path.read_bytes()
    except OSError as exc:
        return ProbeResult(False, message=f"cannot read {path}: {exc.strerror or exc}")
    try:
        compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        details = "".join(traceback.format_exception_only(type(exc), exc))
        return ProbeResult(
            False, message=f"{path.name} has a syntax error on line {exc.lineno}: {exc.msg}", details=details
        )
    except ValueError as exc:  # e.g. NUL bytes
        return ProbeResult(False, message=f"{path.name} is not Python source: {exc}")
    return None


def _tail(p: Path) -> str:
    try:
        with open(p, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - _TAIL))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _stuck_at(stderr: str, path: Path) -> str:
    """faulthandler's dump, reduced to the frames worth reading (most recent last)."""
    i = stderr.find("Timeout (")
    if i < 0:
        return ""
    lines = stderr[i:].splitlines()
    frames = [ln.strip() for ln in lines if ln.strip().startswith("File ")]
    mine = str(Path(__file__).resolve().parents[1])  # graphviz_app/core
    keep = [f for f in frames if "<frozen importlib" not in f and mine not in f]
    keep.reverse()
    user = [f for f in keep if str(path) in f]
    body = "\n".join(f"  {f}" for f in (keep or frames[::-1]))
    head = "Where it was when the time ran out (most recent call last):\n"
    if user:
        return head + body + f"\n(last line of {path.name}: {user[-1]})"
    return head + body


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except (ValueError, AttributeError):
        return f"signal {-code}"


def probe(
    path: str | os.PathLike,
    device: str = "cpu",
    *,
    timeout: float = DEFAULT_TIMEOUT,
    choice: Any = None,
    input_shapes: Any = None,
    run_forward: bool = True,
    memory_limit: int | None = None,
    cancel: threading.Event | None = None,
    python: str | None = None,
    trust: bool = False,
) -> ProbeResult:
    """Run ``path`` in a child process with a time limit and report what it holds.

    ``choice`` (a :class:`~graphviz_app.core.files.model_files.ModelChoice` or its dict)
    builds that ``nn.Module`` class; ``input_shapes`` feeds a ``.pt``/``.pt2``
    program that stores no example inputs. ``memory_limit`` in bytes (``0``: none;
    default: the machine's memory, CPU only). ``trust``: the user trusts a program
    whose pickles would run code (else the child refuses it before unpickling).
    Never raises for the user's errors.
    """
    t0 = time.monotonic()
    path = Path(path).resolve()
    if not path.exists():
        return ProbeResult(False, message=f"{path} does not exist")
    if path.suffix.lower() == ".py":
        bad = _syntax_check(path)
        if bad is not None:
            bad.duration_s = time.monotonic() - t0
            return bad
    if choice is not None and hasattr(choice, "to_dict"):
        choice = choice.to_dict()
    if memory_limit is None:
        memory_limit = default_memory_limit() if str(device).startswith("cpu") else 0

    spec = {
        "path": str(path),
        "device": str(device),
        "timeout": float(timeout),
        "choice": choice,
        "input_shapes": [list(s) for s in input_shapes] if isinstance(input_shapes, (list, tuple)) else input_shapes,
        "run_forward": run_forward,
        "memory_limit": int(memory_limit or 0),
        "trust": bool(trust),
    }
    if probes_here() and python is None:
        return _probe_in_process(spec, path, t0)
    with tempfile.TemporaryDirectory(prefix="graphviz_app_probe_") as tmp:
        tmpd = Path(tmp)
        spec["result"] = str(tmpd / "result.json")
        spec_path = tmpd / "spec.json"
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        out_path, err_path = tmpd / "stdout.txt", tmpd / "stderr.txt"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            try:
                proc = _start_child(python, spec_path, path, out, err)
            except OSError as exc:
                return ProbeResult(False, message=f"could not start a Python process to check {path.name}: {exc}")
            cancelled, killed = _wait_child(proc, t0 + timeout + STARTUP_GRACE, cancel)
        return _child_result(proc.returncode, path, tmpd, timeout, time.monotonic() - t0, cancelled, killed)


def child_env() -> dict[str, str]:
    """The environment of a process that runs this package on the user's file."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(_PKG_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["PYTHONFAULTHANDLER"] = "1"  # a native crash prints the Python stack
    env.pop("PYTHONSTARTUP", None)
    return env


def killed_by(code: int) -> str:
    """"SIGSEGV (a crash in native code)" and the like, for a negative exit code."""
    name = _signal_name(code)
    why = " (usually the system running out of memory)" if name == "SIGKILL" else (
        " (a crash in native code)" if name in ("SIGSEGV", "SIGBUS", "SIGILL", "SIGABRT", "SIGFPE") else "")
    return name + why


def _start_child(python: str | None, spec_path: Path, path: Path, out: Any, err: Any) -> subprocess.Popen:
    """The child process, in its own session, in the file's folder (relative paths work)."""
    env = child_env()
    kwargs: dict[str, Any] = {}
    if os.name == "posix":
        kwargs["start_new_session"] = True
    else:  # pragma: no cover - Windows
        kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
    return subprocess.Popen(
        [python or sys.executable, "-m", "graphviz_app.core.files.user_code", str(spec_path)],
        cwd=str(path.parent), stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, **kwargs,
    )


def _wait_child(proc: subprocess.Popen, deadline: float, cancel: threading.Event | None) -> tuple[bool, bool]:
    """Wait until the child ends, the deadline passes or ``cancel`` is set: ``(cancelled, killed)``."""
    cancelled = killed = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                killed = True
                break
            try:
                proc.wait(timeout=min(0.1, remaining) if cancel is not None else remaining)
                break
            except subprocess.TimeoutExpired:
                if cancel is not None and cancel.is_set():
                    cancelled = True
                    break
    finally:
        if proc.poll() is None:
            _kill(proc)
    return cancelled, killed


def _child_result(code: int | None, path: Path, tmpd: Path, timeout: float, duration: float,
                  cancelled: bool, killed: bool) -> ProbeResult:
    """What the child reported, or why it reported nothing (timeout, signal, exit)."""
    stdout, stderr = _tail(tmpd / "stdout.txt"), _tail(tmpd / "stderr.txt")
    output = (stdout + ("\n" if stdout and stderr else "") + stderr)[-_TAIL:]
    result_path = tmpd / "result.json"
    if result_path.exists() and not cancelled:
        try:
            data = json.loads(result_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict):
            known = {f for f in ProbeResult.__dataclass_fields__}
            res = ProbeResult(**{k: v for k, v in data.items() if k in known})
            res.exit_code, res.duration_s, res.output = code, duration, output
            return res
    common = dict(exit_code=code, duration_s=duration, output=output)
    if cancelled:
        return ProbeResult(False, message=f"loading {path.name} was cancelled", **common)
    if killed or "Timeout (" in stderr:
        return ProbeResult(
            False,
            message=f"{path.name} did not finish within {timeout:g} s (an endless loop, or waiting for "
            "something?); it was stopped and nothing was loaded",
            details=_stuck_at(stderr, path), timed_out=True, **common,
        )
    if code is not None and code < 0:
        return ProbeResult(False, message=f"the process loading {path.name} was killed by {killed_by(code)}",
                           details=stderr[-4000:], **common)
    return ProbeResult(
        False,
        message=f"{path.name} ended the process with exit code {code} before it finished loading "
        "(os._exit(), or a crash in native code)",
        details=stderr[-4000:], **common,
    )


def _kill(proc: subprocess.Popen) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover
            proc.kill()
    except (ProcessLookupError, PermissionError, OSError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass


# -------------------------------------------------------- load after probing
def load_scenario_safely(path: str | os.PathLike, device: str = "cpu", *, timeout: float = DEFAULT_TIMEOUT,
                         cancel: threading.Event | None = None):
    """Probe a scenario file in a child, then ``build(device)`` it here. Raises ``LoadError``."""
    from ..errors import LoadError
    from .user_module import load_scenario

    res = probe(path, device, timeout=timeout, cancel=cancel)
    res.raise_for_error()
    if res.kind != "scenario":
        names = ", ".join(c["name"] for c in res.info.get("classes", []))
        raise LoadError(
            f"{Path(path).name} has no build(device) function"
            + (f"; it defines nn.Module classes ({names}): pick one to build" if names else "")
        )
    return load_scenario(path, device)


def build_model_safely(path: str | os.PathLike, choice: Any, device: str = "cpu", *,
                       timeout: float = DEFAULT_TIMEOUT, cancel: threading.Event | None = None):
    """Probe building ``choice`` from a module file in a child, then build it here."""
    from .model_files import ModelChoice, build_module_scenario

    if isinstance(choice, dict):
        choice = ModelChoice.from_dict(choice)
    res = probe(path, device, timeout=timeout, choice=choice, cancel=cancel)
    res.raise_for_error()
    return build_module_scenario(path, choice, device)


def load_program_safely(path: str | os.PathLike, device: str = "cpu", *, input_shapes: Any = None,
                        timeout: float = DEFAULT_TIMEOUT, cancel: threading.Event | None = None, **options: Any):
    """Probe a ``.pt``/``.pt2`` program in a child, then load it here (see ``model_files.load_program``)."""
    from .model_files import load_program

    res = probe(path, device, timeout=timeout, input_shapes=input_shapes, cancel=cancel,
                trust=bool(options.get("trust")))
    res.raise_for_error()
    return load_program(path, input_shapes=input_shapes, device=device, **options)


# ------------------------------------------------------------------ child
def _limit_memory(nbytes: int) -> None:
    if nbytes <= 0:
        return
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    for which in ("RLIMIT_AS", "RLIMIT_DATA"):
        lim = getattr(resource, which, None)
        if lim is None:
            continue
        try:
            soft, hard = resource.getrlimit(lim)
            cap = nbytes if hard == resource.RLIM_INFINITY else min(nbytes, hard)
            resource.setrlimit(lim, (cap, hard))
            return
        except (ValueError, OSError):
            continue


def _forward_info(scenario: Any) -> dict[str, Any]:
    import torch

    out = scenario.output()
    ts = [out] if isinstance(out, torch.Tensor) else [t for t in (out if isinstance(out, (list, tuple)) else []) if isinstance(t, torch.Tensor)]
    return {
        "output_shapes": [list(t.shape) for t in ts],
        "requires_grad": any(t.requires_grad for t in ts),
    }


def _probe_here(spec: dict[str, Any]) -> dict[str, Any]:
    """The child's work: load what the app will load, describe it as JSON."""
    from ..errors import LoadError, file_traceback
    from .user_module import import_file, scenario_from_module

    path = Path(spec["path"])
    device = spec["device"]
    if path.suffix.lower() != ".py":
        from .model_files import inspect_program, load_program

        trust = bool(spec.get("trust"))
        info = inspect_program(path, trust=trust).to_dict()
        if spec.get("run_forward") and (spec.get("input_shapes") or not info["needs_input_shape"]):
            sc = load_program(path, input_shapes=spec.get("input_shapes"), device=device, trust=trust)
            info["forward"] = _forward_info(sc)
        return {"ok": True, "kind": "program", "info": info}

    module = import_file(path)
    if spec.get("choice"):
        from .model_files import build_module_scenario

        sc = build_module_scenario(path, spec["choice"], device, module=module)
        info = sc.describe()
        kind = "model"
    elif callable(getattr(module, "build", None)):
        sc = scenario_from_module(module, path, device)
        info = sc.describe()
        kind = "scenario"
    else:
        classes = []
        if "torch" in sys.modules:
            from .model_files import list_module_classes

            classes = [c.to_dict() for c in list_module_classes(module)]
        if not classes:
            raise LoadError(
                f"{path.name} defines neither build(device) (a scenario) nor any nn.Module subclass, "
                "so there is nothing to load"
            )
        return {"ok": True, "kind": "models", "info": {"classes": classes}}
    if spec.get("run_forward"):
        from ..system.devices import check_scenario_device

        check_scenario_device(sc)  # names tensors on another device before torch's own error
        try:
            info["forward"] = _forward_info(sc)
        except BaseException as exc:
            if isinstance(exc, SystemExit):
                raise LoadError(f"{path.name}: the forward pass called sys.exit({exc.code!r})") from None
            hint = ""
            if isinstance(exc, MemoryError) or "can't allocate memory" in str(exc) or "out of memory" in str(exc):
                hint = " (it ran out of memory: use a smaller batch, model or tensor; nothing was loaded)"
            raise LoadError(
                f"{path.name}: the forward pass raised {type(exc).__name__}: {exc}{hint}", file_traceback(exc, path)
            ) from None
    return {"ok": True, "kind": kind, "info": info}


def _failure_result(exc: BaseException, spec: dict[str, Any]) -> dict[str, Any]:
    """The report of a probe the user's code made fail (raise, ``sys.exit``, no memory)."""
    from ..errors import LoadError, file_traceback

    name = Path(spec["path"]).name
    if isinstance(exc, LoadError):
        from ..errors import UntrustedCodeError

        return {"ok": False, "message": str(exc), "details": exc.details,
                "untrusted": isinstance(exc, UntrustedCodeError)}
    if isinstance(exc, SystemExit):
        return {"ok": False, "message": f"{name} called sys.exit({exc.code!r})"}
    if isinstance(exc, MemoryError):
        return {"ok": False, "message": f"{name} ran out of memory while loading",
                "details": file_traceback(exc, Path(spec["path"]))}
    return {"ok": False, "message": f"{name}: {type(exc).__name__}: {exc}",
            "details": file_traceback(exc, Path(spec["path"]))}


# ------------------------------------------------- a supervised export's process
_HERE: dict[str, Path] = {}  # {"dir": folder} when probes run in this process


def probe_in_this_process(folder: str | os.PathLike) -> None:
    """Make :func:`probe` check files in this process: a supervised export's own
    process (``core.files.supervised``), which its parent watches as :func:`probe`
    watches a child. The check writes ``folder/probe/spec.json`` while it runs and
    sends this process's output to files there, so when the user's code ends the
    process, the parent reads the same files a probe's parent reads."""
    _HERE["dir"] = Path(folder)


def probes_here() -> bool:
    """Whether :func:`probe` runs its checks in this process (see :func:`probe_in_this_process`)."""
    return "dir" in _HERE


def _probe_in_process(spec: dict[str, Any], path: Path, t0: float) -> ProbeResult:
    """:func:`probe`'s check, here: the same steps, limits and reports as in a child."""
    tmpd = _HERE["dir"] / "probe"
    tmpd.mkdir(exist_ok=True)
    spec = dict(spec, result=str(tmpd / "result.json"))
    (tmpd / "spec.json").write_text(json.dumps(spec), encoding="utf-8")  # "a check is running"
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    cwd = os.getcwd()
    try:
        with open(tmpd / "stdout.txt", "wb") as out, open(tmpd / "stderr.txt", "wb") as err:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            os.chdir(path.parent)
            _limit_memory(int(spec.get("memory_limit") or 0))
            faulthandler.dump_traceback_later(spec["timeout"], exit=True)
            try:
                data = _probe_here(spec)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - as in the child
                data = _failure_result(exc, spec)
            finally:
                faulthandler.cancel_dump_traceback_later()
                sys.stdout.flush()
                sys.stderr.flush()
    finally:
        os.chdir(cwd)
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)
    (tmpd / "spec.json").unlink()
    data = json.loads(json.dumps(data, default=repr))  # what a child would have reported
    known = set(ProbeResult.__dataclass_fields__)
    res = ProbeResult(**{k: v for k, v in data.items() if k in known})
    stdout, stderr = _tail(tmpd / "stdout.txt"), _tail(tmpd / "stderr.txt")
    res.duration_s = time.monotonic() - t0
    res.output = (stdout + ("\n" if stdout and stderr else "") + stderr)[-_TAIL:]
    return res


def child_report(folder: str | os.PathLike, code: int | None, duration: float) -> ProbeResult | None:
    """Why a supervised export's process ended in the middle of a check (the user's
    code exited, crashed or ran out of time there), or ``None`` if no check was running."""
    tmpd = Path(folder) / "probe"
    try:
        spec = json.loads((tmpd / "spec.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return _child_result(code, Path(spec["path"]), tmpd, float(spec["timeout"]), duration, False, False)


def _child_main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    faulthandler.dump_traceback_later(spec["timeout"], exit=True)
    _limit_memory(int(spec.get("memory_limit") or 0))
    try:
        result = _probe_here(spec)
    except BaseException as exc:  # noqa: BLE001 - report everything, including SystemExit
        result = _failure_result(exc, spec)
    faulthandler.cancel_dump_traceback_later()
    tmp = spec["result"] + ".tmp"
    try:
        text = json.dumps(result, default=repr)
    except (TypeError, ValueError) as exc:
        text = json.dumps({"ok": False, "message": f"could not report the result: {exc}"})
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, spec["result"])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    _child_main(sys.argv[1])
