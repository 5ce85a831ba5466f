/* The reference's flip-flop tutorial end to end through libfpf's C API (C99).
 *
 * Generates 3-bit flip-flop data, trains a 16-unit tanh RNN, runs it on test trials, samples
 * 1024 initial states along the trajectories (noise 0.4), finds the fixed points with the
 * tutorial's finder settings, prints the summary, and round-trips a checkpoint.
 *
 * Usage: flipflop [checkpoint-path]   (default: $TMPDIR or /tmp)
 * Exit status 0 iff every call succeeded and 2^3 = 8 stable fixed points were found. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fpf.h"

#define N_BITS 3
#define N_HIDDEN 16
#define N_TIME 64
#define N_TRAIN 512
#define N_VALID 128
#define N_TEST 128
#define N_INITS 1024
#define SEED 42

/* Prints the failed call and the library's message, then jumps to cleanup. */
#define CHECK(call)                                                                   \
    do {                                                                              \
        fpf_status st_ = (call);                                                      \
        if (st_ != FPF_OK) {                                                          \
            char msg_[512];                                                           \
            fpf_last_error_message(msg_, sizeof msg_);                                \
            fprintf(stderr, "error: %s failed with status %d: %s\n", #call, (int)st_, \
                    msg_);                                                            \
            goto cleanup;                                                             \
        }                                                                             \
    } while (0)

/* The library prints nothing itself: its verbose lines come here (`user` is the stream). */
static void print_line(void *user, const char *message) {
    fprintf((FILE *)user, "%s\n", message);
}

static bool print_epoch(const fpf_train_progress *p, void *user) {
    (void)user;
    if (p->epoch % 10 == 0) {
        printf("Epoch %4lu: train_loss = %.6f, valid_loss = %.6f, lr = %.4f\n",
               (unsigned long)p->epoch, p->train_loss, p->valid_loss, p->learning_rate);
    }
    return true;
}

static double *alloc_doubles(size_t n) { return (double *)calloc(n, sizeof(double)); }

int main(int argc, char **argv) {
    int ok = 0;
    const size_t n_data = (size_t)N_TRAIN * N_TIME * N_BITS;
    const size_t n_small = (size_t)N_VALID * N_TIME * N_BITS;
    double *train_x = alloc_doubles(n_data), *train_y = alloc_doubles(n_data);
    double *valid_x = alloc_doubles(n_small), *valid_y = alloc_doubles(n_small);
    double *test_x = alloc_doubles(n_small), *test_y = alloc_doubles(n_small);
    double *outputs = alloc_doubles(n_small);
    double *states = NULL, *inits = NULL, *w_hh = NULL, *w_hh2 = NULL;
    uint8_t *stable = NULL;
    char *summary = NULL;
    fpf_rnn *rnn = NULL, *loaded = NULL;
    fpf_fixed_points *fps = NULL;
    fpf_train_options topts;
    fpf_train_report report;
    fpf_finder_options fopts;
    double zero_input[N_BITS] = {0.0, 0.0, 0.0};
    char path[1024];
    size_t s, n, n_stable = 0, k, len, w_len = 0;
    int saved = 0;

    if (!train_x || !train_y || !valid_x || !valid_y || !test_x || !test_y || !outputs) {
        fprintf(stderr, "error: out of memory\n");
        goto cleanup;
    }
    if (fpf_abi_version() != FPF_ABI_VERSION) {
        fprintf(stderr, "error: libfpf ABI %u, header ABI %u\n", (unsigned)fpf_abi_version(),
                (unsigned)FPF_ABI_VERSION);
        goto cleanup;
    }
    printf("libfpf %s (ABI %u)\n", fpf_version(), (unsigned)fpf_abi_version());
    printf("\n--- Running FlipFlop Task (%d_bit, %d tanh units) ---\nSeed: %d\n", N_BITS,
           N_HIDDEN, SEED);

    /* Data. */
    CHECK(fpf_flipflop_generate(N_BITS, N_TIME, 0.5, N_TRAIN, SEED, train_x, train_y));
    CHECK(fpf_flipflop_generate(N_BITS, N_TIME, 0.5, N_VALID, SEED + 1, valid_x, valid_y));
    CHECK(fpf_flipflop_generate(N_BITS, N_TIME, 0.5, N_TEST, SEED + 2, test_x, test_y));

    /* Model and training (single precision, like the reference). */
    CHECK(fpf_rnn_new_init(FPF_CELL_TANH, N_BITS, N_HIDDEN, N_BITS, SEED, FPF_INIT_SCALED,
                           &rnn));
    fpf_train_options_default(&topts);
    topts.max_epochs = 500;
    topts.seed = SEED;
    topts.dtype = FPF_DTYPE_FLOAT32;
    CHECK(fpf_train(rnn, &topts, train_x, train_y, N_TRAIN, N_TIME, valid_x, valid_y, N_VALID,
                    print_epoch, NULL, &report));
    printf("Training: %lu epochs, final train loss %.6f, valid loss %.6f%s\n",
           (unsigned long)report.epochs, report.final_train_loss, report.final_valid_loss,
           report.reached_target ? " (reached target)" : "");

    /* Test trajectories. */
    s = fpf_rnn_state_dim(rnn);
    states = alloc_doubles((size_t)N_TEST * N_TIME * s);
    inits = alloc_doubles((size_t)N_INITS * s);
    if (!states || !inits) {
        fprintf(stderr, "error: out of memory\n");
        goto cleanup;
    }
    CHECK(fpf_rnn_run(rnn, test_x, N_TEST, N_TIME, outputs, states));

    /* Fixed points with the tutorial's settings, from 1024 noisy states. */
    printf("\n--- Fixed Point Analysis ---\n");
    CHECK(fpf_sample_states(states, N_TEST, N_TIME, s, NULL, N_INITS, 0.4, SEED, inits));
    fpf_finder_options_default(&fopts);
    fopts.max_iters = 5000;
    fopts.lr_init = 0.02;
    fopts.tol_q = 1e-4;
    fopts.final_q_threshold = 1e-6;
    fopts.tol_unique = 1e-2;
    fopts.outlier_distance_scale = 10.0;
    fopts.verbose = true;
    fopts.log = print_line;
    fopts.log_user = stdout;
    CHECK(fpf_find_fixed_points(rnn, &fopts, inits, N_INITS, zero_input, 1, &fps));

    len = fpf_fixed_points_summary(fps, NULL, 0);
    summary = (char *)malloc(len + 1);
    if (!summary) goto cleanup;
    fpf_fixed_points_summary(fps, summary, len + 1);
    printf("\n--- Fixed Point Analysis Results ---\n%s\n", summary);

    n = fpf_fixed_points_len(fps);
    if (n > 0) {
        stable = (uint8_t *)malloc(n);
        if (!stable) goto cleanup;
        CHECK(fpf_fixed_points_is_stable(fps, stable, n));
        for (k = 0; k < n; k++) n_stable += stable[k] != 0;
    }
    printf("Stable fixed points: %lu / %lu (expected 2^%d = %d)\n", (unsigned long)n_stable,
           (unsigned long)n, N_BITS, 1 << N_BITS);

    /* Checkpoint round trip. */
    if (argc > 1) {
        snprintf(path, sizeof path, "%s", argv[1]);
    } else {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/fpf_flipflop_c_%lu_%lu.fpf",
                 dir && *dir ? dir : "/tmp", (unsigned long)time(NULL),
                 (unsigned long)clock());
    }
    CHECK(fpf_checkpoint_save(rnn, path));
    saved = 1;
    CHECK(fpf_checkpoint_load(path, &loaded));
    CHECK(fpf_rnn_param_len(rnn, "w_hh", &w_len));
    w_hh = alloc_doubles(w_len);
    w_hh2 = alloc_doubles(w_len);
    if (!w_hh || !w_hh2) goto cleanup;
    CHECK(fpf_rnn_get_param(rnn, "w_hh", w_hh, w_len));
    CHECK(fpf_rnn_get_param(loaded, "w_hh", w_hh2, w_len));
    if (memcmp(w_hh, w_hh2, w_len * sizeof(double)) != 0) {
        fprintf(stderr, "error: checkpoint round trip changed w_hh\n");
        goto cleanup;
    }
    printf("Checkpoint round trip OK (%s)\n", path);

    ok = n_stable == (1u << N_BITS);
    if (!ok) fprintf(stderr, "error: expected %d stable fixed points\n", 1 << N_BITS);

cleanup:
    if (saved) remove(path);
    fpf_fixed_points_free(fps);
    fpf_rnn_free(loaded);
    fpf_rnn_free(rnn);
    free(summary);
    free(stable);
    free(w_hh);
    free(w_hh2);
    free(states);
    free(inits);
    free(train_x);
    free(train_y);
    free(valid_x);
    free(valid_y);
    free(test_x);
    free(test_y);
    free(outputs);
    return ok ? 0 : 1;
}
