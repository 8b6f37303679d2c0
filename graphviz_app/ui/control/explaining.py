"""Explanations on a worker: why named tensors get no ``.grad`` (``explanations``), and
the model's parameters for the inspector."""

from __future__ import annotations


class Explainer:
    """Answers "why is .grad None?" about ``ctl.session`` and ``ctl.graph``."""

    def __init__(self, ctl) -> None:
        self.ctl = ctl

    def explain_missing(self, names: list[str] | None = None) -> bool:
        """Why named tensors get no .grad (runs the forward once more, traced)."""
        ctl = self.ctl
        session, graph = ctl.session, ctl.graph
        if session is None:
            return False

        def job() -> None:
            from ...core.graph.explain import explain_missing_grads

            ctl.explanations.emit(explain_missing_grads(session.scenario, graph, names))

        return ctl.jobs.spawn("explaining", job, "Looking for why .grad is None…")

    def module_params(self) -> list[tuple[str, list[int], int, float | None]]:
        """(name, shape, numel, grad norm) of the model's parameters (reads no device data
        except the norms of existing grads; call off the GUI thread for big models)."""
        session = self.ctl.session
        sc = session.scenario if session is not None else None
        out = []
        if sc is None:
            return out
        for name, p in sc.trainable():
            out.append((name, list(p.shape), p.numel(), None))
        return out
