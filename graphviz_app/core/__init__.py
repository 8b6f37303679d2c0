"""The Qt-free core, in layers that follow the data's way through the app.

A file is opened (``files``), its scenario is run and its backward stepped (``run``), the
autograd graph it built is captured and described (``graph``), laid out and written out
(``draw``); ``system`` holds what all of them lean on (memory, stacks, devices, atomic
writes) and ``errors`` the error types they share. Each layer imports only from itself
and the layers below it: errors < system < graph < draw < run < files. Nothing here
imports Qt; tests/architecture/test_layering.py checks all of this from the source.
"""
