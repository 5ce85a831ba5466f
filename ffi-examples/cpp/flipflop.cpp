// The seeds' flip-flop tutorial end to end through the C++17 wrapper fpf.hpp.
// Exit status 0 iff every call succeeded and 2^3 = 8 stable fixed points were found.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "fpf.hpp"

int main(int argc, char **argv) {
    constexpr std::size_t bits = 3, hidden = 16, n_time = 64, n_test = 128, n_inits = 1024;
    constexpr std::uint64_t seed = 42;
    try {
        std::cout << "libfpf " << fpf::version() << " (ABI " << fpf_abi_version() << ")\n";
        auto train = fpf::flipflop_generate(bits, n_time, 0.5, 512, seed);
        auto valid = fpf::flipflop_generate(bits, n_time, 0.5, 128, seed + 1);
        auto test = fpf::flipflop_generate(bits, n_time, 0.5, n_test, seed + 2);

        fpf::Rnn rnn(FPF_CELL_TANH, bits, hidden, bits, seed, FPF_INIT_SCALED);
        auto topts = fpf::train_options();
        topts.max_epochs = 500;
        topts.seed = seed;
        auto report = rnn.train(topts, train, &valid, [](const fpf_train_progress &p) {
            if (p.epoch % 10 == 0)
                std::printf("Epoch %4zu: train_loss = %.6f, valid_loss = %.6f\n", p.epoch,
                            p.train_loss, p.valid_loss);
            return true;
        });
        std::printf("Training: %zu epochs, final loss %.6f\n", report.epochs,
                    report.final_train_loss);
        // An exception thrown by a callback comes back out of the wrapper, not lost.
        try {
            fpf::Rnn scratch(FPF_CELL_TANH, bits, 4, bits, seed, FPF_INIT_SCALED);
            scratch.train(topts, train, nullptr, [](const fpf_train_progress &) -> bool {
                throw std::runtime_error("stop from the callback");
            });
            std::fprintf(stderr, "error: the callback's exception was swallowed\n");
            return 1;
        } catch (const std::runtime_error &e) {
            std::printf("Callback exception rethrown: %s\n", e.what());
        }

        auto [outputs, states] = rnn.run(test.inputs, n_test, n_time);
        (void)outputs;
        const std::size_t s = rnn.state_dim();
        auto inits = fpf::sample_states(states, n_test, n_time, s, n_inits, 0.4, seed);
        auto fopts = fpf::finder_options();
        fopts.lr_init = 0.02;
        fopts.tol_q = 1e-4;
        fopts.final_q_threshold = 1e-6;
        fopts.tol_unique = 1e-2;
        fopts.outlier_distance_scale = 10.0;
        auto fps = rnn.find_fixed_points(fopts, inits, std::vector<double>(bits, 0.0));
        std::cout << "\n--- Fixed Point Analysis Results ---\n" << fps.summary() << "\n";

        fpf::Pca pca(states, s, 3);
        auto ratio = pca.explained_variance_ratio();
        std::printf("PCA explained variance: [%.4f %.4f %.4f]\n", ratio[0], ratio[1], ratio[2]);
        auto xy = pca.transform(fps.xstar());
        (void)xy;

        std::string path = argc > 1 ? argv[1]
                                    : std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR")
                                                                        : "/tmp") +
                                          "/fpf_flipflop_cpp.fpf";
        rnn.save(path);
        fpf::Rnn loaded = fpf::Rnn::load(path);
        std::remove(path.c_str());
        if (loaded.param("w_hh") != rnn.param("w_hh")) {
            std::cerr << "error: checkpoint round trip changed w_hh\n";
            return 1;
        }
        std::cout << "Checkpoint round trip OK\n";

        // Errors are exceptions carrying the status.
        try {
            rnn.param("no_such_parameter");
            return 1;
        } catch (const fpf::Error &e) {
            std::cout << "Expected error (status " << e.status() << "): " << e.what() << "\n";
        }

        // A leaky rate cell: its alpha travels with it, through a checkpoint too; a bad
        // alpha is an exception.
        fpf::Rnn leaky = fpf::Rnn::leaky(FPF_ACTIVATION_RELU, 0.2, bits, 8, bits, seed);
        leaky.save(path);
        fpf::Rnn leaky_back = fpf::Rnn::load(path);
        std::remove(path.c_str());
        if (leaky_back.cell() != FPF_CELL_LEAKY_RELU || leaky_back.alpha() != 0.2) {
            std::cerr << "error: the leaky cell's kind or alpha was lost\n";
            return 1;
        }
        try {
            fpf::Rnn::leaky(FPF_ACTIVATION_RELU, 1.5, bits, 8, bits);
            return 1;
        } catch (const fpf::Error &e) {
            std::cout << "Expected error (status " << e.status() << "): " << e.what() << "\n";
        }

        // A two-layer GRU (PyTorch's num_layers = 2): the finder runs on it, training throws.
        fpf::Rnn two = fpf::Rnn::stacked(FPF_CELL_GRU_TORCH, 2, bits, 8, bits, seed);
        const std::size_t s2 = two.state_dim();
        std::vector<double> two_inits(64 * s2);
        for (std::size_t k = 0; k < two_inits.size(); ++k) two_inits[k] = 0.5 * std::sin(k);
        auto two_fps = two.find_fixed_points(fopts, two_inits, std::vector<double>(bits, 0.0));
        if (two.n_layers() != 2 || s2 != 16 || two_fps.size() == 0) {
            std::cerr << "error: the stacked GRU's layers, state or fixed points are wrong\n";
            return 1;
        }
        try {
            two.train(topts, train, nullptr, [](const fpf_train_progress &) { return true; });
            return 1;
        } catch (const fpf::Error &e) {
            if (e.status() != FPF_UNSUPPORTED) return 1;
            std::cout << "Expected error (status " << e.status() << "): " << e.what() << "\n";
        }

        const std::size_t n_stable = fps.n_stable();
        std::printf("Stable fixed points: %zu / %zu (expected 2^%zu = %d)\n", n_stable,
                    fps.size(), bits, 1 << bits);
        return n_stable == (1u << bits) ? 0 : 1;
    } catch (const fpf::Error &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
