"""The reference's flip-flop tutorial end to end with libfpf from Python.

python3 flipflop.py [--out-dir DIR] [--bits N] [--hidden N] [--seed N] [--init scaled|tutorial]

Prints the training progress, the fixed-point summary and the top-10 table, and saves the 2-D
and 3-D PCA figures as PNG into the output directory when matplotlib is installed. Exit
status 0 iff 2^bits stable fixed points were found.
"""

import argparse
import os
import sys
import tempfile

import numpy as np

from fpf import (FixedPointFinder, FlipFlopData, FlipFlopRNN, load_checkpoint, Pca,
                 PlotConfig, plot_fixed_points_2d, plot_fixed_points_3d, save_checkpoint,
                 train_flipflop_rnn)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out-dir", default=os.path.join(tempfile.gettempdir(), "fpf_flipflop_py"))
    ap.add_argument("--bits", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--init", default="scaled", choices=["scaled", "tutorial"])
    ap.add_argument("--max-epochs", type=int, default=500)
    args = ap.parse_args()
    n_bits, seed, n_time = args.bits, args.seed, 64
    os.makedirs(args.out_dir, exist_ok=True)
    config_name = f"{n_bits}_bit"
    print(f"\n--- Running FlipFlop Task ({config_name}) ---\nSeed: {seed}")

    data_gen = FlipFlopData(n_bits=n_bits, n_time=n_time, p=0.5, random_seed=seed)
    train_data = data_gen.generate_data(512)
    valid_data = data_gen.generate_data(128)
    test_data = data_gen.generate_data(128)

    rnn = FlipFlopRNN(n_inputs=n_bits, n_hidden=args.hidden, n_outputs=n_bits,
                      rnn_type="tanh", seed=seed, init=args.init)
    checkpoint_path = os.path.join(args.out_dir, f"flipflop_rnn_{config_name}_checkpoint.fpf")
    if os.path.exists(checkpoint_path):
        os.remove(checkpoint_path)  # always train here; the round trip is checked below
    if load_checkpoint(rnn, checkpoint_path):
        print(f"Loaded model from checkpoint: {checkpoint_path}")
    else:
        print(f"No checkpoint found ({checkpoint_path}). Training...")
        train_flipflop_rnn(rnn, train_data, valid_data, learning_rate=0.08, batch_size=128,
                           max_epochs=args.max_epochs, min_loss=1e-4, print_every=10,
                           seed=seed)
        save_checkpoint(rnn, checkpoint_path)
    other = FlipFlopRNN(n_bits, args.hidden, n_bits, seed=seed + 1)
    assert load_checkpoint(other, checkpoint_path)
    assert np.array_equal(other.get_param("w_hh"), rnn.get_param("w_hh"))

    print("\n--- Fixed Point Analysis ---")
    outputs, hiddens = rnn(test_data["inputs"])
    finder = FixedPointFinder(
        rnn, method="joint", max_iters=5000, lr_init=0.02, tol_q=1e-4,
        final_q_threshold=1e-6, tol_unique=1e-2, do_compute_jacobians=True,
        do_decompose_jacobians=True, outlier_distance_scale=10.0, verbose=False,
        super_verbose=False)
    constant_input = np.zeros((1, n_bits))
    unique_fps, all_fps = finder.find_fixed_points(
        state_traj=hiddens, inputs=constant_input, n_inits=1024, noise_scale=0.4, seed=seed)

    print("\n--- Fixed Point Analysis Results ---")
    unique_fps.print_summary()
    if unique_fps.n > 0:
        print("\nDetailed Fixed Point Information (Top 10):")
        print(f"{'#':<4} {'q-value':<12} {'Stability':<12} {'Max |eig|':<12}")
        print("-" * 45)
        for i in range(min(10, unique_fps.n)):
            stability = "Stable" if unique_fps.is_stable[i] else "Unstable"
            max_eig = np.abs(unique_fps.eigval_J_xstar[i, 0])
            print(f"{i + 1:<4} {unique_fps.qstar[i]:<12.2e} {stability:<12} {max_eig:<12.4f}")
    pca = Pca(hiddens, 3)
    print(f"PCA explained variance: {pca.explained_variance_ratio_}")
    print(f"Total variance explained: {100 * pca.explained_variance_ratio_.sum():.2f}%")

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not installed: no figures")
    else:
        config_2d = PlotConfig(title=f"FlipFlop Fixed Points ({config_name} - 2D PCA)",
                               figsize=(10, 8),
                               save_path=os.path.join(args.out_dir, "fixed_points_2d.png"))
        plot_fixed_points_2d(unique_fps, hiddens, config=config_2d)
        config_3d = PlotConfig(title=f"FlipFlop Fixed Points ({config_name} - 3D PCA)",
                               figsize=(12, 10),
                               save_path=os.path.join(args.out_dir, "fixed_points_3d.png"))
        plot_fixed_points_3d(unique_fps, hiddens, config=config_3d,
                             plot_batch_idx=list(range(30)), plot_start_time=10)
        print(f"Figures saved in {args.out_dir}")

    n_stable = unique_fps.n_stable()
    print("\n--- Analysis complete ---")
    print(f"Stable fixed points: {n_stable} / {unique_fps.n} (expected 2^{n_bits} = "
          f"{2 ** n_bits}); all_fps holds {all_fps.n} optimized states")
    return 0 if n_stable == 2 ** n_bits else 1


if __name__ == "__main__":
    sys.exit(main())
