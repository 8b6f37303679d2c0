"""The backward debugger: run, step, continue, breakpoints, abort, failures, threads."""

import gc
import subprocess
import sys
import textwrap
import threading

import pytest
import torch
from torch import nn

from graphviz_app.core.graph.anomaly import record_sources
from graphviz_app.core.graph.capture import capture
from graphviz_app.core.graph.modules import track_modules
from graphviz_app.core.run import debugger as dbg_mod
from graphviz_app.core.run.debugger import (
    BP_MODULE,
    BP_NODE,
    BP_NONFINITE,
    BP_NORM_ABOVE,
    BP_TYPE,
    BackwardDebugger,
    Breakpoint,
    call_on_backward_worker,
    leaf_grad_values,
)

T = 20  # seconds: generous timeouts for a loaded 2-core machine; never reached when all is well


def chain_rule():
    x = torch.tensor(1.0, requires_grad=True)
    w = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(3.0, requires_grad=True)
    z = (w * x + b) ** 2
    leaves = {"x": x, "w": w, "b": b}
    return z, leaves, capture(z, names=leaves)


def node_named(g, name):
    (n,) = [n for n in g.nodes if n.name == name]
    return n


def run(dbg, mode="run"):
    dbg.start(mode)
    result = dbg.wait(T)
    assert result is not None, "backward did not end"
    return result


def step_all(dbg):
    dbg.start("step")
    paused = []
    while True:
        nid = dbg.wait_paused(T)
        if nid is None:
            break
        paused.append(nid)
        dbg.step()
    result = dbg.wait(T)
    assert result is not None
    return result, paused


def plain_order(graph, outputs):
    """Execution order of a plain backward on this thread, by node id (reference)."""
    order, handles = [], []
    for node, fn in zip(graph.nodes, graph.fns):
        handles.append(fn.register_hook(lambda gi, go, nid=node.id: order.append(nid)))
    try:
        torch.autograd.backward(outputs)
    finally:
        for h in handles:
            h.remove()
    return order


def small_transformer(seed=0):
    torch.manual_seed(seed)
    layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0)
    model = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False).train()
    x = torch.randn(5, 2, 16)
    return model, x


# ------------------------------------------------------------------ running
def test_chain_rule_run_gives_20_10_10_and_summaries():
    z, leaves, g = chain_rule()
    dbg = BackwardDebugger(g, z)
    result = run(dbg)
    assert result.status == "finished" and result.ok
    assert (leaves["x"].grad.item(), leaves["w"].grad.item(), leaves["b"].grad.item()) == (20.0, 10.0, 10.0)
    assert leaf_grad_values(g) == {"x": 20.0, "w": 10.0, "b": 10.0}
    assert sorted(result.grads_written) == sorted(n.id for n in g.leaves())
    assert [g.node(i).exec_order for i in result.order] == list(range(len(g)))
    pow_ = node_named(g, "PowBackward0")
    assert pow_.grad_outputs[0]["values"] == 1.0 and pow_.grad_inputs[0]["values"] == 10.0
    mul = node_named(g, "MulBackward0")
    assert [s["values"] for s in mul.grad_inputs] == [10.0, 20.0]  # to w, to x
    s = g.leaf("x").grad
    assert s["shape"] == [] and s["dtype"] == "float32" and s["norm"] == 20.0 and s["nonfinite"] == 0
    assert g.meta["first_nonfinite"] is None
    dbg.release()


def test_summaries_can_be_deferred_and_batched():
    z, leaves, g = chain_rule()
    dbg = BackwardDebugger(g, z, summarize_after=False)
    run(dbg)
    assert all(n.grad_inputs is None for n in g.nodes)
    mul = node_named(g, "MulBackward0")
    dbg.summarize([mul.id])  # what is on screen
    assert [s["values"] for s in mul.grad_inputs] == [10.0, 20.0]
    assert node_named(g, "PowBackward0").grad_inputs is None
    dbg.summarize()
    assert g.leaf("x").grad["values"] == 20.0
    # The tensor a node sends is the one its consumer receives: one shared summary.
    add = node_named(g, "AddBackward0")
    assert add.grad_inputs[0] is mul.grad_outputs[0]


def _mlp_loss(seed=0):
    torch.manual_seed(seed)
    mlp = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    x = torch.randn(4, 6)
    return mlp, mlp(x).pow(2).sum()


def test_run_mode_lets_leaves_take_their_gradient_and_records_it_all():
    """A run does not hold the gradient a leaf is about to take (so AccumulateGrad
    moves it into ``.grad`` instead of copying it), yet every node's recorded
    gradients equal those of a stepped run, where each node's are held as it runs."""
    mlp, loss = _mlp_loss()
    g = capture(loss, model=mlp)
    dbg = BackwardDebugger(g, loss)
    assert run(dbg).status == "finished"
    by_name = {g.node(i).variable["name"]: i for i in (n.id for n in g.leaves())}
    senders = {e.dst: (e.src, e.slot) for e in g.edges if e.dst in by_name.values()}
    for name, p in mlp.named_parameters():
        src, slot = senders[by_name[name]]
        sent = dbg.grads_in[src][slot]
        assert sent is not None, name
        assert sent.data_ptr() == p.grad.data_ptr(), f"{name}: .grad is a copy of what was sent"
    ran = {n.id: (n.grad_inputs, n.grad_outputs, n.grad) for n in g.nodes}

    mlp2, loss2 = _mlp_loss()
    g2 = capture(loss2, model=mlp2)
    result, _ = step_all(BackwardDebugger(g2, loss2))
    assert result.status == "finished"
    stepped = {n.id: (n.grad_inputs, n.grad_outputs, n.grad) for n in g2.nodes}
    assert [n.name for n in g2.nodes] == [n.name for n in g.nodes]
    assert list(ran.values()) == list(stepped.values())
    for name, p in mlp2.named_parameters():
        assert torch.equal(p.grad, dict(mlp.named_parameters())[name].grad), name


def test_shared_leaves_and_custom_runs_keep_every_gradient():
    """A leaf fed by several edges, or a backward run by the scenario, holds every
    gradient from the sending node's hook."""
    w = torch.tensor([2.0, 3.0], requires_grad=True)
    x = torch.tensor([1.0, 4.0])
    out = (w * x).sum() + (w * w).sum()
    g = capture(out, names={"w": w})
    dbg = BackwardDebugger(g, out)
    assert run(dbg).status == "finished"
    leaf = g.leaf("w")
    sent = [dbg.grads_in[e.src][e.slot] for e in g.edges if e.dst == leaf.id]
    assert len(sent) == 3 and all(t is not None for t in sent)
    assert torch.equal(sum(sent), w.grad)

    mlp, loss = _mlp_loss()
    g = capture(loss, model=mlp)
    dbg = BackwardDebugger(g, run=lambda: torch.autograd.backward([loss]))
    assert run(dbg).status == "finished"
    assert dbg._lean == {}
    leaves = {n.id for n in g.leaves()}
    assert all(dbg.grads_in[e.src][e.slot] is not None for e in g.edges if e.dst in leaves)


def test_stepped_order_equals_an_unstepped_run():
    model, x = small_transformer()
    loss = model(x).pow(2).mean()
    g = capture(loss, model=model)
    reference = plain_order(g, loss)

    model, x = small_transformer()
    loss = model(x).pow(2).mean()
    g2 = capture(loss, model=model)
    assert [n.name for n in g2.nodes] == [n.name for n in g.nodes]
    result, paused = step_all(BackwardDebugger(g2, loss))
    assert result.status == "finished"
    assert result.order == reference
    assert paused == reference  # one pause per node, after it ran


def test_stepped_transformer_leaf_grads_equal_a_plain_run():
    model, x = small_transformer()
    model(x).pow(2).mean().backward()
    expected = {n: p.grad.clone() for n, p in model.named_parameters()}

    model, x = small_transformer()
    loss = model(x).pow(2).mean()
    g = capture(loss, model=model)
    result, _ = step_all(BackwardDebugger(g, loss))
    assert result.status == "finished"
    for name, p in model.named_parameters():
        assert torch.equal(p.grad, expected[name]), name
    assert {g.node(i).variable["name"] for i in result.grads_written} == set(expected)


def test_pause_is_after_the_node_with_its_gradients_summarised():
    z, leaves, g = chain_rule()
    dbg = BackwardDebugger(g, z)
    dbg.breakpoints.append(Breakpoint(BP_TYPE, "MulBackward0"))
    dbg.start("continue")
    nid = dbg.wait_paused(T)
    mul = node_named(g, "MulBackward0")
    assert nid == mul.id == dbg.paused_at
    assert mul.grad_outputs[0]["values"] == 10.0  # received
    assert [s["values"] for s in mul.grad_inputs] == [10.0, 20.0]  # sent on
    assert mul.exec_order == dbg.order.index(mul.id)
    dbg.continue_()
    assert dbg.wait(T).status == "finished"


# -------------------------------------------------------------- breakpoints
def test_breakpoint_node_type_disabled_and_run_to():
    z, leaves, g = chain_rule()
    add = node_named(g, "AddBackward0")
    x = g.leaf("x")
    dbg = BackwardDebugger(g, z)
    dbg.breakpoints += [Breakpoint(BP_TYPE, "PowBackward0", enabled=False), Breakpoint(BP_NODE, add.id)]
    dbg.start("continue")
    assert dbg.wait_paused(T) == add.id
    dbg.run_to(x.id)
    assert dbg.wait_paused(T) == x.id
    assert leaves["x"].grad.item() == 20.0
    dbg.run_to_end()
    result = dbg.wait(T)
    assert result.status == "finished" and len(result.order) == len(g)


def test_breakpoint_module():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    with track_modules(net) as mods:
        loss = net(torch.randn(2, 3)).sum()
    g = capture(loss, model=net, modules=mods)
    dbg = BackwardDebugger(g, loss)
    dbg.breakpoints.append(Breakpoint(BP_MODULE, "1"))
    dbg.start("continue")
    nid = dbg.wait_paused(T)
    assert g.node(nid).module == "1" and g.node(nid).name == "TanhBackward0"
    dbg.continue_()
    assert dbg.wait_paused(T) is None  # nothing else in module "1"
    assert dbg.wait(T).status == "finished"


def test_breakpoint_nonfinite_and_first_nonfinite_flag_with_sources():
    x = torch.tensor([0.0, 1.0, 4.0], requires_grad=True)
    with record_sources() as sources:
        r = x.sqrt()  # d/dx sqrt at 0 is inf
        loss = (r * 2).sum()
    g = capture(loss, names={"x": x}, sources=sources)
    sqrt = node_named(g, "SqrtBackward0")
    assert sqrt.source.startswith(__file__ + ":")
    dbg = BackwardDebugger(g, loss)
    dbg.breakpoints.append(Breakpoint(BP_NONFINITE))
    dbg.start("continue")
    assert dbg.wait_paused(T) == sqrt.id
    assert sqrt.grad_inputs[0]["nonfinite"] == 1 and sqrt.grad_inputs[0]["values"][0] == float("inf")
    dbg.continue_()  # the leaf receives inf too: it stops again there
    assert dbg.wait_paused(T) == g.leaf("x").id
    dbg.continue_()
    result = dbg.wait(T)
    assert result.first_nonfinite == sqrt.id == g.meta["first_nonfinite"]


def test_breakpoint_norm_above():
    z, leaves, g = chain_rule()
    dbg = BackwardDebugger(g, z)
    dbg.breakpoints.append(Breakpoint(BP_NORM_ABOVE, 15.0))
    dbg.start("continue")
    assert dbg.wait_paused(T) == node_named(g, "MulBackward0").id  # sends 20 to x
    dbg.continue_()
    assert dbg.wait_paused(T) == g.leaf("x").id  # receives 20
    dbg.continue_()
    assert dbg.wait(T).status == "finished"


def test_breakpoint_added_while_paused_and_unknown_run_to_target():
    z, leaves, g = chain_rule()
    dbg = BackwardDebugger(g, z)
    with pytest.raises(KeyError):
        dbg.start("run_to", "no-such-node")
    dbg = BackwardDebugger(g, z)
    dbg.start("step")
    assert dbg.wait_paused(T) == node_named(g, "PowBackward0").id
    dbg.breakpoints.append(Breakpoint(BP_NODE, g.leaf("w").id))
    dbg.continue_()
    assert dbg.wait_paused(T) == g.leaf("w").id
    dbg.abort()
    assert dbg.wait(T).status == "aborted"


# -------------------------------------------------------------------- events
def test_signals_fire_on_the_worker_thread():
    z, leaves, g = chain_rule()
    dbg = BackwardDebugger(g, z)
    seen = {"reached": [], "done": [], "paused": [], "finished": [], "threads": set()}
    dbg.node_reached.connect(lambda nid: (seen["reached"].append(nid), seen["threads"].add(threading.get_ident())))
    dbg.node_done.connect(lambda nid, i: seen["done"].append((nid, i)))
    dbg.paused.connect(lambda nid: seen["paused"].append(nid))
    dbg.finished.connect(lambda r: seen["finished"].append(r.status))
    result, paused = step_all(dbg)
    assert seen["reached"] == result.order
    assert seen["done"] == [(nid, i) for i, nid in enumerate(result.order)]
    assert seen["paused"] == paused == result.order
    assert seen["finished"] == ["finished"]
    assert seen["threads"] == {dbg._ident} and threading.get_ident() not in seen["threads"]


# ----------------------------------------------------------- abort / failure
def test_abort_while_paused_reports_partial_results():
    z, leaves, g = chain_rule()
    dbg = BackwardDebugger(g, z)
    finished = []
    dbg.finished.connect(finished.append)
    dbg.start("step")
    while True:  # step until the first leaf has been written
        nid = dbg.wait_paused(T)
        assert nid is not None
        if g.node(nid).kind == "leaf":
            break
        dbg.step()
    dbg.abort()
    result = dbg.wait(T)
    assert result.status == "aborted" and finished == [result]
    assert result.grads_written == [nid]
    name = g.node(nid).variable["name"]
    assert leaves[name].grad.item() == {"x": 20.0, "w": 10.0, "b": 10.0}[name]
    assert [k for k, t in leaves.items() if t.grad is None] == sorted(set(leaves) - {name}, key=list(leaves).index)
    assert result.order == dbg.order and len(result.order) < len(g)
    assert g.node(nid).grad["values"] == leaves[name].grad.item()  # partial results summarised
    assert all(g.node(i).grad_outputs is not None for i in result.order)


def test_abort_while_running_stops_at_the_next_node():
    z, leaves, g = chain_rule()
    dbg = BackwardDebugger(g, z)
    dbg.node_reached.connect(lambda nid: dbg.abort())
    result = run(dbg)
    # The node that was reached when abort came still runs; nothing after it does.
    assert result.status == "aborted" and result.order == [node_named(g, "PowBackward0").id]
    assert all(t.grad is None for t in leaves.values())


def test_failed_backward_reports_the_running_node_and_keeps_gradients():
    x = torch.randn(3, requires_grad=True)
    y = x.exp()  # saves its result
    y.add_(1)  # ... which is then modified in place
    loss = (y * 2).sum()
    g = capture(loss, names={"x": x})
    dbg = BackwardDebugger(g, loss)
    failed = []
    dbg.failed.connect(failed.append)
    result = run(dbg)
    assert result.status == "failed" and failed == [result]
    assert "inplace" in result.error or "in-place" in result.error
    assert g.node(result.failed_node).name == "ExpBackward0"
    assert "Traceback" in result.traceback and "modified by an inplace operation" in result.traceback
    ran = [g.node(i).name for i in result.order]
    assert ran[:2] == ["SumBackward0", "MulBackward0"] and "ExpBackward0" not in ran
    assert node_named(g, "MulBackward0").grad_inputs[0]["values"] == [2.0, 2.0, 2.0]
    assert result.grads_written == [] and x.grad is None


def test_error_in_a_custom_backward_is_reported():
    class Bad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            raise ValueError("user bug in backward")

    x = torch.randn(2, requires_grad=True)
    loss = Bad.apply(x).sum()
    g = capture(loss, names={"x": x})
    result = run(BackwardDebugger(g, loss))
    assert result.status == "failed" and g.node(result.failed_node).name == "BadBackward"
    assert "user bug in backward" in result.traceback


# ------------------------------------------------------------- higher order
def test_create_graph_gradient_graph_is_captured_and_stepped():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x**3).sum()
    g1 = capture(y, names={"x": x})
    d1 = BackwardDebugger(g1, run=lambda: torch.autograd.grad(y, x, create_graph=True))
    r1, paused = step_all(d1)
    assert r1.status == "finished" and paused and r1.grads_written == []  # grad(), not .grad
    (gx,) = d1.returned
    assert torch.equal(gx.detach(), 3 * x.detach() ** 2) and gx.requires_grad
    d1.release()

    s = gx.sum()  # second backward, through the gradient graph
    g2 = capture(s, names={"x": x})
    shared = {id(f) for f in g1.fns} & {id(f) for f in g2.fns}
    assert shared  # the gradient graph reuses forward nodes
    d2 = BackwardDebugger(g2, s, retain_graph=True)
    r2, paused2 = step_all(d2)
    assert r2.status == "finished" and paused2 == r2.order
    assert torch.equal(x.grad, 6 * x.detach())
    assert g2.leaf("x").grad["values"] == [6.0, 12.0]
    x.grad = None
    reference = plain_order(g2, s)
    assert reference == r2.order


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_backward_with_create_graph_option():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x**2).sum()
    g = capture(y, names={"x": x})
    result = run(BackwardDebugger(g, y, create_graph=True))
    assert result.status == "finished" and x.grad.requires_grad
    assert g.leaf("x").grad["values"] == [2.0, 4.0]


# ---------------------------------------------------- threads, hooks, memory
def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.mark.slow
def test_twenty_abort_rerun_cycles_leave_nothing_behind(monkeypatch):
    calls = [0]
    real = dbg_mod._get_ident

    def counting():
        calls[0] += 1
        return real()

    monkeypatch.setattr(dbg_mod, "_get_ident", counting)
    model, x = small_transformer()
    dbg_mod.shutdown_idle_workers()
    baseline_threads = threading.active_count()
    rss = []
    for i in range(20):
        loss = model(x).pow(2).mean()
        g = capture(loss, model=model)
        dbg = BackwardDebugger(g, loss)
        dbg.start("step")
        for _ in range(3 + i % 5):
            assert dbg.wait_paused(T) is not None
            dbg.step()
        assert dbg.wait_paused(T) is not None
        dbg.abort()
        result = dbg.wait(T)
        assert result.status == "aborted" and not dbg.running
        dbg.release()
        g.detach()
        model.zero_grad(set_to_none=True)
        del loss, g, dbg, result
        gc.collect()
        if i in (4, 19):
            rss.append(_rss_mb())
        # One idle worker waits for the next run (reused, never one per run).
        assert threading.active_count() <= baseline_threads + 1
    # Hooks are gone: a plain forward/backward through the same parameters calls none of them.
    calls[0] = 0
    model(x).pow(2).mean().backward()
    assert calls[0] == 0
    assert all(p.grad is not None for p in model.parameters())
    assert rss[1] - rss[0] < 40, rss  # roughly flat
    assert dbg_mod.shutdown_idle_workers() == 1
    assert threading.active_count() == baseline_threads


def test_a_paused_run_never_blocks_another_debugger():
    z1, _, g1 = chain_rule()
    z2, leaves2, g2 = chain_rule()
    d1 = BackwardDebugger(g1, z1)
    d1.start("step")
    assert d1.wait_paused(T) is not None
    d2 = BackwardDebugger(g2, z2)  # needs a second worker: the first one is paused
    assert run(d2).status == "finished" and leaves2["x"].grad.item() == 20.0
    assert d1._thread is not d2._thread
    d1.abort()
    assert d1.wait(T).status == "aborted"


def test_second_backward_through_shared_leaves_on_another_thread_does_not_deadlock():
    torch.manual_seed(0)
    net = nn.Linear(3, 1)
    loss = net(torch.randn(4, 3)).sum()
    g = capture(loss, model=net)
    dbg = BackwardDebugger(g, loss)
    dbg.breakpoints.append(Breakpoint(BP_TYPE, "AccumulateGrad"))
    dbg.start("continue")
    paused = dbg.wait_paused(T)
    assert paused is not None and g.node(paused).kind == "leaf"

    done = threading.Event()

    def other():  # the same AccumulateGrad nodes, hooked and one of them paused
        net(torch.randn(4, 3)).sum().backward()
        done.set()

    t = threading.Thread(target=other, daemon=True)
    t.start()
    assert done.wait(T), "a hook blocked a backward that is not its own"
    assert dbg.paused_at == paused  # still paused
    dbg.run_to_end()
    assert dbg.wait(T).status == "finished"
    t.join(T)


def test_interpreter_exit_while_paused_does_not_hang(tmp_path):
    script = tmp_path / "exit_paused.py"
    script.write_text(
        textwrap.dedent(
            """
            import torch
            from graphviz_app.core.graph.capture import capture
            from graphviz_app.core.run.debugger import BackwardDebugger

            x = torch.randn(3, requires_grad=True)
            loss = (x.exp() * 2).sum()
            dbg = BackwardDebugger(capture(loss), loss)
            dbg.start("step")
            assert dbg.wait_paused(20) is not None
            assert dbg._thread.daemon
            print("paused", flush=True)
            """
        )
    )
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[3]
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=root, capture_output=True, text=True, timeout=60,
        env={**__import__("os").environ, "PYTHONPATH": str(root)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "paused"


def test_release_drops_references_and_a_debugger_runs_once():
    z, leaves, g = chain_rule()
    dbg = BackwardDebugger(g, z)
    run(dbg)
    with pytest.raises(RuntimeError):
        dbg.start("run")
    dbg.release()
    assert dbg.grads_in == {} and dbg.grads_out == {} and dbg.outputs is None
    g.detach()
    with pytest.raises(ValueError):
        BackwardDebugger(g, z)


def test_worker_sets_its_own_thread_count():
    # A new thread starts with OpenMP's default, not this thread's setting: ask for a
    # count that differs from both, so the test fails unless the worker sets it itself.
    want = 2 if torch.get_num_threads() != 2 else 3
    for n in (want, 1):
        z, leaves, g = chain_rule()
        seen = []
        dbg = BackwardDebugger(g, run=lambda: (seen.append(torch.get_num_threads()), z.backward()), num_threads=n)
        assert run(dbg).status == "finished"
        assert seen == [n]


def test_worker_leaves_an_equal_thread_count_alone(monkeypatch):
    """Setting torch's thread count clears oneDNN's compiled kernels: only when it differs."""
    z, leaves, g = chain_rule()
    n = call_on_backward_worker(torch.get_num_threads)
    calls = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda k: (calls.append(k), real(k)))
    assert run(BackwardDebugger(g, z, num_threads=n)).status == "finished"
    assert calls == []


def test_call_on_backward_worker_runs_where_the_next_backward_runs():
    ident = call_on_backward_worker(threading.get_ident)
    assert ident != threading.get_ident()
    z, leaves, g = chain_rule()
    dbg = BackwardDebugger(g, z)
    assert run(dbg).status == "finished" and dbg._ident == ident
    with pytest.raises(ZeroDivisionError):
        call_on_backward_worker(lambda: 1 / 0)


def test_collections_are_held_while_backward_runs_and_not_while_paused():
    base = gc.get_threshold()[0]
    seen = {}
    z, leaves, g = chain_rule()
    dbg = BackwardDebugger(g, run=lambda: (seen.setdefault("running", gc.get_threshold()[0]), z.backward()))
    dbg.start("step")
    assert dbg.wait_paused(T) is not None
    assert gc.get_threshold()[0] == base  # paused: the rest of the process collects as usual
    dbg.run_to_end()
    assert dbg.wait(T).status == "finished"
    assert seen["running"] > base and gc.get_threshold()[0] == base


def test_a_leaf_with_a_tensor_hook_keeps_what_was_sent_to_it():
    """A hook on a parameter changes what its AccumulateGrad receives: the sender's
    record must still show the gradient it sent, not the hook's result."""
    mlp, loss = _mlp_loss()
    w = mlp[2].weight
    w.register_hook(lambda g: g * 0)
    g = capture(loss, model=mlp)
    dbg = BackwardDebugger(g, loss)
    assert run(dbg).status == "finished"
    leaf = next(n for n in g.leaves() if n.variable["name"] == "2.weight")
    (edge,) = [e for e in g.edges if e.dst == leaf.id]
    sent = dbg.grads_in[edge.src][edge.slot]
    assert sent is not None and sent.abs().sum() > 0
    assert torch.count_nonzero(w.grad) == 0
