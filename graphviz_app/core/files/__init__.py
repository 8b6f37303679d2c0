"""Everything that comes from or goes to a file: what kind a path is (``kinds``), the
loader that opens it (``loader``; Python files through ``user_module``, guarded by a
child process in ``user_code``), module files, programs and checkpoints
(``model_files``), the snapshot format and its schema (``snapshot``), recorder run
directories (``run_dir``), the builder's scenario files (``builder``) and the headless
open-and-train path of ``graphviz-app export`` (``headless``).

The top layer: may import every other layer of ``core``; never Qt.
"""
