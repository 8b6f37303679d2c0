"""Running a scenario: the public ``Scenario`` API, a ``Session`` (forward, capture,
backward, update), the stepping ``debugger`` and the threads it runs on (``workers``), the
``forward_stepper``, the ``training`` loop, thread-safe ``events`` and plain-language
messages for backward errors (``diagnose``).

May import ``draw``, ``graph``, ``system`` and ``errors``; never ``files`` or Qt.
"""
