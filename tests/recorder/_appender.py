"""Another process appending to a run directory, one command per stdin line.

``steps N``: record N more steps (numbers, no torch); ``snap STEP SRC``: publish the
snapshot file SRC as that step's snapshot (temporary name, then rename); ``quit``.
Prints "ok" after each command.
"""

import shutil
import sys
from pathlib import Path

import graphviz_app
from graphviz_app.core.files.run_dir import (
    SNAPSHOT_DIR,
    rank_dirname,
    snapshot_filename,
)


def main() -> None:
    run = Path(sys.argv[1])
    with graphviz_app.Recorder(run, every=0, flush_every=1) as rec:
        for line in sys.stdin:
            cmd, *args = line.split()
            if cmd == "steps":
                for _ in range(int(args[0])):
                    rec.step(1.0 / (rec._next + 1))
            elif cmd == "snap":
                target = run / rank_dirname(0) / SNAPSHOT_DIR / snapshot_filename(int(args[0]))
                tmp = target.with_name("." + target.name + ".part.tmp")
                shutil.copyfile(args[1], tmp)
                tmp.replace(target)
            elif cmd == "quit":
                break
            print("ok", flush=True)


if __name__ == "__main__":
    main()
