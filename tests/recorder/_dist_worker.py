"""One rank of the 2-process gloo test: a DDP model trained under two recorders.

argv: rank world_size init_file run_default run_all
"""

import sys

import torch
import torch.distributed as dist

import graphviz_app


def main() -> None:
    rank, world, init_file, run_default, run_all = sys.argv[1:6]
    rank, world = int(rank), int(world)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(3, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    torch.manual_seed(1 + rank)  # each rank its own data, so the losses differ
    x, y = torch.randn(4, 3), torch.randn(4, 1)
    for run_dir, all_ranks in ((run_default, False), (run_all, True)):
        with graphviz_app.Recorder(run_dir, model=model, every=2, all_ranks=all_ranks, grad_norms_every=1) as rec:
            for _ in range(3):
                loss = torch.nn.functional.mse_loss(model(x), y)
                opt.zero_grad()
                rec.backward(loss)  # DDP all-reduces the gradients during this backward
                opt.step()
                rec.step(loss)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
