"""A training script that is killed with SIGKILL while it writes its run directory.

argv: run_dir mode [step]
- ``line``: numbers as losses (no torch); SIGKILLs itself halfway through writing
  the loss line of ``step``.
- ``snapshot``: a small model; SIGKILLs itself while the snapshot of ``step`` is
  being written (its temporary file is on disk, not yet renamed).
- ``forever``: trains and snapshots every step until killed from outside; prints
  "ready" once a few snapshots exist.
"""

import os
import signal
import sys

import graphviz_app


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    run_dir, mode = sys.argv[1], sys.argv[2]
    kill_at = int(sys.argv[3]) if len(sys.argv) > 3 else -1

    if mode == "line":
        rec = graphviz_app.Recorder(run_dir, every=0, flush_every=1).open()
        original = rec._write_lines

        def torn(data: bytes) -> None:
            if data.startswith(b'{"step": %d,' % kill_at):
                rec._file.write(data[: len(data) // 2])
                rec._file.flush()
                die()
            original(data)

        rec._write_lines = torn
        for i in range(100):
            rec.step(1.0 / (i + 1))
        return

    import torch

    torch.set_num_threads(1)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(32, 8), torch.randn(32, 1)

    if mode == "snapshot":
        import graphviz_app.core.files.snapshot as snapfmt

        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp") and step_now[0] == kill_at:
                die()
            real_fsync(fd)

        snapfmt.os.fsync = fsync  # the snapshot writer's fsync, just before its rename
    step_now = [0]
    with graphviz_app.Recorder(run_dir, model=model, every=1, flush_every=1) as rec:
        for i in range(10**6):
            step_now[0] = i
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            rec.backward(loss)
            opt.step()
            rec.step(loss)
            if mode == "forever" and i == 3:
                print("ready", flush=True)


if __name__ == "__main__":
    main()
