"""The controller's work, one object per feature (see :class:`~..controller.Controller`,
the facade the window talks to): workers and cancelling (:mod:`.jobs`), layouts and
grouping (:mod:`.layouts`), the graph on screen (:mod:`.current`), loading files
(:mod:`.loading`), the forward pass (:mod:`.forward`), the backward debugger
(:mod:`.backward`), training and kept snapshots (:mod:`.training`), tensor values
(:mod:`.values`) and explanations (:mod:`.explaining`).

Each object holds the controller it works for (``ctl``: its signals and the shared
state: session, graph, layout, debugger, stepper, trainer, breakpoints) and runs its
torch work on workers; what they report goes out through the controller's signals,
which Qt queues to the GUI thread.
"""
