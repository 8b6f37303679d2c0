"""core.memory: frozen garbage is reclaimed, a replaced scenario's code is emptied."""

import gc
import types
import weakref

from graphviz_app.core.system import memory


class Blob:
    pass


def test_reclaim_collects_frozen_cycles():
    a = Blob()
    a.self = a  # a cycle: only the cyclic GC frees it
    ref = weakref.ref(a)
    del a
    gc.freeze()
    try:
        gc.collect()
        assert ref() is not None  # frozen garbage survives a collection
        assert memory.reclaim() >= 1
        assert ref() is None
    finally:
        gc.unfreeze()


def test_maybe_reclaim_waits_for_growth():
    memory.reclaim()
    try:
        assert not memory.maybe_reclaim(growth=10.0)
        junk = [[i] for i in range(2000)]
        memory.keep()
        assert memory.maybe_reclaim(growth=0.0)
        del junk
    finally:
        gc.unfreeze()


def test_forget_code_breaks_the_module_cycle():
    module = types.ModuleType("user_scenario")
    exec("MODEL = None\n"
         "def build():\n"
         "    global MODEL\n"
         "    MODEL = Big()\n"
         "    return MODEL\n", module.__dict__)
    module.Big = Blob
    holder = types.SimpleNamespace(_code=[])
    model = module.build()
    memory.remember_code(holder, module)
    memory.remember_code(holder, module)  # once only
    assert holder._code == [module]
    ref = weakref.ref(model)
    del model
    gc.disable()  # freed by reference counting, not by a collection
    try:
        assert ref() is not None  # the module global keeps it
        memory.forget_code(holder)
        assert ref() is None and holder._code == [] and "build" not in module.__dict__
    finally:
        gc.enable()


def test_loaded_scenarios_remember_their_module(tmp_path):
    from graphviz_app.core.files.loader import load_scenario

    path = tmp_path / "s.py"
    path.write_text("import torch\nfrom graphviz_app import Scenario\n"
                    "def build(device='cpu'):\n"
                    "    x = torch.tensor(2.0, requires_grad=True)\n"
                    "    return Scenario('s', forward=lambda x: x * x, leaves={'x': x})\n")
    sc = load_scenario(path)
    assert len(sc._code) == 1 and callable(sc._code[0].build)
    memory.forget_code(sc)
    assert sc._code == []


def test_collections_are_held_across_nested_holds_and_restored():
    import gc

    from graphviz_app.core.system import memory

    before = gc.get_threshold()
    a = memory.hold_collections()
    b = memory.hold_collections()
    assert gc.get_threshold()[0] >= memory.HOLD_THRESHOLD and gc.isenabled()
    memory.release_collections(a)
    assert gc.get_threshold()[0] >= memory.HOLD_THRESHOLD  # b still holds
    memory.release_collections(a)  # twice: no effect
    assert gc.get_threshold()[0] >= memory.HOLD_THRESHOLD
    memory.release_collections(b)
    assert gc.get_threshold() == before
