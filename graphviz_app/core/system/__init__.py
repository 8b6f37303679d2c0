"""What every other layer leans on: the cyclic-GC policy (``memory``), glibc's heap
(``allocator``), big thread stacks for deep graphs (``stacks``), which devices exist and
whether a scenario sits on one (``devices``), and atomic file writes (``atomic``).

May import only ``graphviz_app.core.errors`` and the standard library / torch.
"""
