"""The autograd graph as data: the model (``model``: Graph, Node, Edge), its capture from
``grad_fn.next_functions`` (``capture``), which module made each node (``modules``), forward
source lines (``anomaly``), module boxes (``grouping``), tensor summaries (``summary``) and
what the numbers mean (``gradflow``, ``explain``).

May import ``system`` and ``errors``; never ``draw``, ``run``, ``files`` or Qt.
"""
