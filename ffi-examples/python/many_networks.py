"""Analyze many networks in parallel: one task per network, in a process pool.

python3 many_networks.py [--networks N] [--workers N] [--hidden N] [--bits N]

Each task trains one 3-bit flip-flop network from its own seed (or, in your use, loads
it: `load_checkpoint` or `fpf.from_torch`), finds its fixed points and returns a small,
picklable summary; the parent process only collects. The same function runs unchanged
under Dask or Ray, because a task takes plain arguments and returns plain values:

    # Dask (dask.distributed):  client = Client(); futures = client.map(analyze, seeds)
    #                           results = client.gather(futures)
    # Ray:                      task = ray.remote(analyze)
    #                           results = ray.get([task.remote(s) for s in seeds])

Why processes and one thread per task: each task is a whole find (Adam over 1024 states,
Newton, eigenvectors), so tasks are independent and long enough that a process start costs
nothing; giving each task one library thread (`n_threads=1`) and running as many tasks as
there are cores keeps every core busy without oversubscribing them (libfpf's own threads
parallelize a single find instead, which is the better choice for one big network).
Networks and results cross process boundaries by pickle: `FlipFlopRNN` pickles through
its checkpoint bytes, so a trained network can also be the task's argument.

Prints one line per network and the distribution of stable fixed points; exit status 0
iff every network was analyzed and the counts were collected in seed order.
"""

import argparse
import concurrent.futures as cf
import os
import sys

import numpy as np

from fpf import FixedPointFinder, FlipFlopData, FlipFlopRNN, train_flipflop_rnn


def analyze(seed, n_bits=3, n_hidden=16, max_epochs=300):
    """Train network `seed`, find its fixed points; a summary of plain values."""
    gen = FlipFlopData(n_bits=n_bits, n_time=64, p=0.5, random_seed=seed)
    train, valid = gen.generate_data(512), gen.generate_data(128)
    rnn = FlipFlopRNN(n_bits, n_hidden, n_bits, rnn_type="tanh", seed=seed)
    train_flipflop_rnn(rnn, train, valid, learning_rate=0.08, batch_size=128,
                       max_epochs=max_epochs, min_loss=1e-4, seed=seed, verbose=False,
                       n_threads=1)
    _, hiddens = rnn(gen.generate_data(128)["inputs"])
    finder = FixedPointFinder(rnn, lr_init=0.02, tol_q=1e-4, final_q_threshold=1e-6,
                              tol_unique=1e-2, verbose=False, n_threads=1)
    unique, _ = finder.find_fixed_points(hiddens, np.zeros((1, n_bits)), n_inits=256,
                                         noise_scale=0.4, seed=seed)
    max_eig = [float(np.abs(unique.eigval_J_xstar[i, 0])) for i in range(unique.n)]
    return {"seed": seed, "pid": os.getpid(), "n": int(unique.n),
            "n_stable": int(unique.n_stable()), "max_abs_eig": max_eig}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--networks", type=int, default=4)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--bits", type=int, default=3)
    args = ap.parse_args()
    seeds = list(range(100, 100 + args.networks))
    with cf.ProcessPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(analyze, seeds, [args.bits] * len(seeds),
                                [args.hidden] * len(seeds)))
    for r in results:
        print(f"network seed {r['seed']} (process {r['pid']}): {r['n']} fixed points, "
              f"{r['n_stable']} stable")
    counts = np.bincount([r["n_stable"] for r in results])
    print("networks by number of stable fixed points:",
          {k: int(v) for k, v in enumerate(counts) if v})
    print(f"processes used: {len({r['pid'] for r in results})}")
    ok = [r["seed"] for r in results] == seeds and all(r["n"] > 0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
