/* Calls every libfpf function with NULL pointers, bad sizes, NaN and out-of-range enum
 * values, and checks the returned status, that outputs are untouched on failure, and that
 * nothing crashes or leaks (run it under valgrind). Exit status 0 iff every check passed. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "fpf.h"

static int failures = 0, checks = 0;

#define EXPECT(call, want)                                                                \
    do {                                                                                  \
        fpf_status got_ = (call);                                                         \
        checks++;                                                                         \
        if (got_ != (want)) {                                                             \
            char msg_[256];                                                               \
            fpf_last_error_message(msg_, sizeof msg_);                                    \
            fprintf(stderr, "FAIL line %d: %s returned %d, expected %d (%s)\n", __LINE__, \
                    #call, (int)got_, (int)(want), msg_);                                 \
            failures++;                                                                   \
        } else if (got_ != FPF_OK && fpf_last_error_message(NULL, 0) == 0) {             \
            fprintf(stderr, "FAIL line %d: %s left no error message\n", __LINE__, #call); \
            failures++;                                                                   \
        }                                                                                 \
    } while (0)

#define TRUE_(cond)                                                               \
    do {                                                                          \
        checks++;                                                                 \
        if (!(cond)) {                                                            \
            fprintf(stderr, "FAIL line %d: %s\n", __LINE__, #cond);               \
            failures++;                                                           \
        }                                                                         \
    } while (0)

#define SENTINEL 12345.0

static bool stop_now(const fpf_train_progress *p, void *user) {
    (void)p;
    ++*(int *)user;
    return false;
}

int main(void) {
    double a[4] = {0.5, 0.1, -0.2, 0.3}, re[2], im[2], vr[4], vi[4];
    double x[64], h[64], y[64], buf[64];
    double data[3 * 4 * 2], tgt[3 * 4 * 2];
    uint8_t u8[64];
    size_t sz[64], len = 0;
    char msg[64];
    fpf_rnn *rnn = NULL, *r2 = (fpf_rnn *)&a; /* r2: a non-NULL sentinel never dereferenced */
    fpf_fixed_points *fps = NULL, *sel = NULL;
    fpf_pca *pca = NULL;
    fpf_finder_options fo;
    fpf_train_options to;
    fpf_train_report rep;
    int i, calls = 0;
    const double nan = NAN;

    for (i = 0; i < 64; i++) x[i] = h[i] = buf[i] = 0.1 * (i % 7) - 0.3;

    /* Version, errors. */
    TRUE_(fpf_version() != NULL && fpf_abi_version() == FPF_ABI_VERSION);
    TRUE_(fpf_last_error_message(NULL, 0) == 0);
    TRUE_(fpf_last_error_message(msg, 0) == 0);

    /* fpf_eig. */
    EXPECT(fpf_eig(2, NULL, re, im, NULL, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_eig(2, a, NULL, im, NULL, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_eig(2, a, re, NULL, NULL, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_eig(2, a, re, im, vr, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_eig(0, a, re, im, NULL, NULL), FPF_BAD_SIZE);
    EXPECT(fpf_eig((size_t)-1, a, re, im, NULL, NULL), FPF_BAD_SIZE);
    re[0] = SENTINEL;
    a[1] = nan;
    EXPECT(fpf_eig(2, a, re, im, NULL, NULL), FPF_NOT_FINITE);
    TRUE_(re[0] == SENTINEL);
    a[1] = 0.1;
    EXPECT(fpf_eig(2, a, re, im, vr, vi), FPF_OK);
    TRUE_(fpf_last_error_message(NULL, 0) == 0);

    /* Models. */
    EXPECT(fpf_rnn_new(FPF_CELL_TANH, 2, 4, 2, 0, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_new(8, 2, 4, 2, 0, &rnn), FPF_BAD_OPTION);
    /* Leaky cells: alpha in (0, 1], a known activation. */
    EXPECT(fpf_rnn_new_leaky(FPF_ACTIVATION_RELU, 0.0, 2, 4, 2, 0, FPF_INIT_SCALED, &rnn),
           FPF_BAD_OPTION);
    EXPECT(fpf_rnn_new_leaky(FPF_ACTIVATION_RELU, 1.5, 2, 4, 2, 0, FPF_INIT_SCALED, &rnn),
           FPF_BAD_OPTION);
    EXPECT(fpf_rnn_new_leaky(FPF_ACTIVATION_RELU, NAN, 2, 4, 2, 0, FPF_INIT_SCALED, &rnn),
           FPF_BAD_OPTION);
    EXPECT(fpf_rnn_new_leaky(4, 0.5, 2, 4, 2, 0, FPF_INIT_SCALED, &rnn), FPF_BAD_OPTION);
    TRUE_(rnn == NULL);
    EXPECT(fpf_rnn_new_leaky(FPF_ACTIVATION_SOFTPLUS, 0.5, 2, 4, 2, 0, FPF_INIT_SCALED, &rnn),
           FPF_OK);
    TRUE_(fpf_rnn_cell(rnn) == FPF_CELL_LEAKY_SOFTPLUS && fpf_rnn_alpha(rnn) == 0.5);
    fpf_rnn_free(rnn);
    rnn = NULL;
    TRUE_(isnan(fpf_rnn_alpha(NULL)));
    EXPECT(fpf_rnn_new(FPF_CELL_INVALID, 2, 4, 2, 0, &rnn), FPF_BAD_OPTION);
    EXPECT(fpf_rnn_new(FPF_CELL_TANH, 2, 0, 2, 0, &rnn), FPF_BAD_SIZE);
    EXPECT(fpf_rnn_new(FPF_CELL_TANH, 2, (size_t)-1, 2, 0, &rnn), FPF_BAD_SIZE);
    EXPECT(fpf_rnn_new_init(FPF_CELL_TANH, 2, 4, 2, 0, FPF_INIT_SCALED, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_new_init(FPF_CELL_TANH, 2, 4, 2, 0, 2, &rnn), FPF_BAD_OPTION);
    EXPECT(fpf_rnn_new_init(9, 2, 4, 2, 0, FPF_INIT_SCALED, &rnn), FPF_BAD_OPTION);
    EXPECT(fpf_rnn_new_init(FPF_CELL_GRU, 2, 0, 2, 0, FPF_INIT_TUTORIAL, &rnn), FPF_BAD_SIZE);
    TRUE_(rnn == NULL);
    EXPECT(fpf_rnn_new_init(FPF_CELL_TANH, 2, 4, 2, 3, FPF_INIT_SCALED, &rnn), FPF_OK);
    fpf_rnn_free(NULL);
    TRUE_(fpf_rnn_state_dim(NULL) == 0 && fpf_rnn_n_inputs(NULL) == 0 &&
          fpf_rnn_n_hidden(NULL) == 0 && fpf_rnn_n_outputs(NULL) == 0 &&
          fpf_rnn_cell(NULL) == FPF_CELL_INVALID);
    TRUE_(fpf_rnn_state_dim(rnn) == 4 && fpf_rnn_cell(rnn) == FPF_CELL_TANH);
    EXPECT(fpf_rnn_param_len(NULL, "w_hh", &len), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_param_len(rnn, NULL, &len), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_param_len(rnn, "w_hh", NULL), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_param_len(rnn, "nope", &len), FPF_UNKNOWN_NAME);
    EXPECT(fpf_rnn_param_len(rnn, "\xff\xfe", &len), FPF_UNKNOWN_NAME);
    EXPECT(fpf_rnn_param_len(rnn, "w_hh", &len), FPF_OK);
    TRUE_(len == 16);
    EXPECT(fpf_rnn_set_param(NULL, "w_hh", buf, 16), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_set_param(rnn, NULL, buf, 16), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_set_param(rnn, "w_hh", NULL, 16), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_set_param(rnn, "w_hh", buf, 15), FPF_LENGTH_MISMATCH);
    EXPECT(fpf_rnn_set_param(rnn, "w_zz", buf, 16), FPF_UNKNOWN_NAME);
    buf[3] = nan;
    EXPECT(fpf_rnn_set_param(rnn, "w_hh", buf, 16), FPF_NOT_FINITE);
    buf[3] = 0.0;
    EXPECT(fpf_rnn_set_param(rnn, "w_hh", buf, 16), FPF_OK);
    EXPECT(fpf_rnn_get_param(NULL, "w_hh", y, 16), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_get_param(rnn, NULL, y, 16), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_get_param(rnn, "w_hh", NULL, 16), FPF_NULL_POINTER);
    y[0] = SENTINEL;
    EXPECT(fpf_rnn_get_param(rnn, "w_hh", y, 17), FPF_LENGTH_MISMATCH);
    TRUE_(y[0] == SENTINEL);
    EXPECT(fpf_rnn_step(NULL, x, h, 1, y), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_step(rnn, NULL, h, 1, y), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_step(rnn, x, NULL, 1, y), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_step(rnn, x, h, 1, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_step(rnn, x, h, (size_t)-1, y), FPF_BAD_SIZE);
    h[1] = nan;
    EXPECT(fpf_rnn_step(rnn, x, h, 2, y), FPF_NOT_FINITE);
    TRUE_(y[0] == SENTINEL);
    h[1] = 0.0;
    EXPECT(fpf_rnn_step(rnn, x, h, 2, y), FPF_OK);
    EXPECT(fpf_rnn_run(NULL, x, 2, 3, y, h), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_run(rnn, NULL, 2, 3, y, h), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_run(rnn, x, 2, 3, NULL, h), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_run(rnn, x, 2, 3, y, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_rnn_run(rnn, x, (size_t)-1, 3, y, h), FPF_BAD_SIZE);
    x[5] = nan;
    EXPECT(fpf_rnn_run(rnn, x, 2, 3, y, h), FPF_NOT_FINITE);
    x[5] = 0.0;
    EXPECT(fpf_rnn_run(rnn, x, 2, 3, y, h), FPF_OK);

    /* Flip-flop data. */
    EXPECT(fpf_flipflop_generate(2, 4, 0.5, 3, 0, NULL, tgt), FPF_NULL_POINTER);
    EXPECT(fpf_flipflop_generate(2, 4, 0.5, 3, 0, data, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_flipflop_generate(0, 4, 0.5, 3, 0, data, tgt), FPF_BAD_SIZE);
    EXPECT(fpf_flipflop_generate(2, 0, 0.5, 3, 0, data, tgt), FPF_BAD_SIZE);
    EXPECT(fpf_flipflop_generate(2, 4, 0.5, 0, 0, data, tgt), FPF_BAD_SIZE);
    EXPECT(fpf_flipflop_generate(2, (size_t)-1, 0.5, 3, 0, data, tgt), FPF_BAD_SIZE);
    EXPECT(fpf_flipflop_generate(1024, 1024, 0.5, 1025, 0, data, tgt), FPF_BAD_SIZE);
    data[0] = SENTINEL;
    EXPECT(fpf_flipflop_generate(2, 4, nan, 3, 0, data, tgt), FPF_NOT_FINITE);
    EXPECT(fpf_flipflop_generate(2, 4, 1.5, 3, 0, data, tgt), FPF_BAD_OPTION);
    EXPECT(fpf_flipflop_generate(2, 4, -0.1, 3, 0, data, tgt), FPF_BAD_OPTION);
    EXPECT(fpf_flipflop_generate(2, 4, INFINITY, 3, 0, data, tgt), FPF_BAD_OPTION);
    TRUE_(data[0] == SENTINEL);
    EXPECT(fpf_flipflop_generate(2, 4, 0.5, 3, 0, data, tgt), FPF_OK);
    TRUE_(data[0] == 1.0 || data[0] == -1.0);

    /* Training. */
    fpf_train_options_default(NULL);
    fpf_train_options_default(&to);
    TRUE_(to.learning_rate == 0.08 && to.batch_size == 128 && to.max_epochs == 1000 &&
          to.dtype == FPF_DTYPE_FLOAT32);
    to.batch_size = 2;
    to.max_epochs = 3;
    EXPECT(fpf_train(NULL, &to, data, tgt, 3, 4, NULL, NULL, 0, NULL, NULL, &rep),
           FPF_NULL_POINTER);
    EXPECT(fpf_train(rnn, NULL, data, tgt, 3, 4, NULL, NULL, 0, NULL, NULL, &rep),
           FPF_NULL_POINTER);
    EXPECT(fpf_train(rnn, &to, NULL, tgt, 3, 4, NULL, NULL, 0, NULL, NULL, &rep),
           FPF_NULL_POINTER);
    EXPECT(fpf_train(rnn, &to, data, NULL, 3, 4, NULL, NULL, 0, NULL, NULL, &rep),
           FPF_NULL_POINTER);
    EXPECT(fpf_train(rnn, &to, data, tgt, 3, 4, data, NULL, 3, NULL, NULL, &rep),
           FPF_NULL_POINTER);
    EXPECT(fpf_train(rnn, &to, data, tgt, 3, 4, NULL, NULL, 3, NULL, NULL, &rep),
           FPF_BAD_SIZE);
    EXPECT(fpf_train(rnn, &to, data, tgt, 0, 4, NULL, NULL, 0, NULL, NULL, &rep), FPF_BAD_SIZE);
    EXPECT(fpf_train(rnn, &to, data, tgt, 3, 0, NULL, NULL, 0, NULL, NULL, &rep), FPF_BAD_SIZE);
    EXPECT(fpf_train(rnn, &to, data, tgt, (size_t)-1, 4, NULL, NULL, 0, NULL, NULL, &rep),
           FPF_BAD_SIZE);
    EXPECT(fpf_train(rnn, &to, data, tgt, 3, 4, data, tgt, 0, NULL, NULL, &rep), FPF_BAD_SIZE);
    to.batch_size = 4;
    EXPECT(fpf_train(rnn, &to, data, tgt, 3, 4, NULL, NULL, 0, NULL, NULL, &rep), FPF_BAD_SIZE);
    to.batch_size = 2;
    to.dtype = 2;
    EXPECT(fpf_train(rnn, &to, data, tgt, 3, 4, NULL, NULL, 0, NULL, NULL, &rep),
           FPF_BAD_OPTION);
    to.dtype = FPF_DTYPE_FLOAT64;
    to.learning_rate = nan;
    EXPECT(fpf_train(rnn, &to, data, tgt, 3, 4, NULL, NULL, 0, NULL, NULL, &rep),
           FPF_BAD_OPTION);
    to.learning_rate = 0.01;
    to.lr_factor = 0.0;
    EXPECT(fpf_train(rnn, &to, data, tgt, 3, 4, NULL, NULL, 0, NULL, NULL, &rep),
           FPF_BAD_OPTION);
    to.lr_factor = 1.0;
    to.batch_size = 0;
    EXPECT(fpf_train(rnn, &to, data, tgt, 3, 4, NULL, NULL, 0, NULL, NULL, &rep),
           FPF_BAD_OPTION);
    to.batch_size = 2;
    rep.epochs = 777;
    tgt[2] = nan;
    EXPECT(fpf_train(rnn, &to, data, tgt, 3, 4, NULL, NULL, 0, NULL, NULL, &rep),
           FPF_NOT_FINITE);
    TRUE_(rep.epochs == 777);
    tgt[2] = 1.0;
    EXPECT(fpf_train(rnn, &to, data, tgt, 3, 4, data, tgt, 3, NULL, NULL, NULL), FPF_OK);
    EXPECT(fpf_train(rnn, &to, data, tgt, 3, 4, NULL, NULL, 0, stop_now, &calls, &rep), FPF_OK);
    TRUE_(calls == 1 && rep.cancelled && rep.epochs == 1 && isnan(rep.final_valid_loss));
    to.dtype = FPF_DTYPE_FLOAT32;
    EXPECT(fpf_train(rnn, &to, data, tgt, 3, 4, data, tgt, 3, NULL, NULL, &rep), FPF_OK);
    TRUE_(rep.epochs == 3 && !rep.cancelled && !isnan(rep.final_valid_loss));

    /* Finder. */
    fpf_finder_options_default(NULL);
    fpf_finder_options_default(&fo);
    fo.tol_unique = 1e-2;
    EXPECT(fpf_find_fixed_points(NULL, &fo, h, 2, x, 1, &fps), FPF_NULL_POINTER);
    EXPECT(fpf_find_fixed_points(rnn, NULL, h, 2, x, 1, &fps), FPF_NULL_POINTER);
    EXPECT(fpf_find_fixed_points(rnn, &fo, NULL, 2, x, 1, &fps), FPF_NULL_POINTER);
    EXPECT(fpf_find_fixed_points(rnn, &fo, h, 2, NULL, 1, &fps), FPF_NULL_POINTER);
    EXPECT(fpf_find_fixed_points(rnn, &fo, h, 2, x, 1, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_find_fixed_points(rnn, &fo, h, 0, x, 1, &fps), FPF_BAD_SIZE);
    EXPECT(fpf_find_fixed_points(rnn, &fo, h, 2, x, 3, &fps), FPF_BAD_SIZE);
    EXPECT(fpf_find_fixed_points(rnn, &fo, h, (size_t)-1, x, 1, &fps), FPF_BAD_SIZE);
    h[0] = nan;
    EXPECT(fpf_find_fixed_points(rnn, &fo, h, 2, x, 1, &fps), FPF_NOT_FINITE);
    h[0] = 0.0;
    fo.method = 3;
    EXPECT(fpf_find_fixed_points(rnn, &fo, h, 2, x, 1, &fps), FPF_BAD_OPTION);
    fo.method = FPF_METHOD_JOINT;
    fo.dtype = 5;
    EXPECT(fpf_find_fixed_points(rnn, &fo, h, 2, x, 1, &fps), FPF_BAD_OPTION);
    fo.dtype = FPF_DTYPE_FLOAT64;
    /* Versioned options: struct_size, a shorter (older) and a longer (newer) caller. */
    TRUE_(fo.struct_size == sizeof fo);
    fo.struct_size = 0;
    EXPECT(fpf_find_fixed_points(rnn, &fo, h, 2, x, 1, &fps), FPF_BAD_SIZE);
    {
        struct { fpf_finder_options o; uint64_t future; } big;
        EXPECT(fpf_finder_options_init(&big.o, sizeof big), FPF_OK);
        TRUE_(big.o.struct_size == sizeof big && big.future == 0 && big.o.max_iters == 5000);
        big.o.tol_unique = 1e-2;
        big.future = 1;
        EXPECT(fpf_find_fixed_points(rnn, &big.o, h, 2, x, 1, &fps), FPF_BAD_OPTION);
        EXPECT(fpf_finder_options_init(NULL, sizeof big), FPF_NULL_POINTER);
        EXPECT(fpf_finder_options_init(&big.o, 1), FPF_BAD_SIZE);
    }
    fpf_finder_options_default(&fo);
    fo.tol_unique = 1e-2;
    fo.dtype = FPF_DTYPE_FLOAT64;
    /* The struct layout table. */
    TRUE_(fpf_struct_size("fpf_finder_options") == sizeof(fpf_finder_options));
    TRUE_(fpf_struct_size("fpf_train_report") == sizeof(fpf_train_report));
    TRUE_(fpf_struct_size("no_such_struct") == 0 && fpf_struct_size(NULL) == 0);
    {
        const char *member = NULL;
        size_t offset = 99;
        fpf_member_type type = 99;
        size_t last = fpf_struct_n_members("fpf_finder_options") - 1;
        EXPECT(fpf_struct_member("fpf_finder_options", 1, &member, &offset, &type), FPF_OK);
        TRUE_(strcmp(member, "method") == 0 && offset == offsetof(fpf_finder_options, method)
              && type == FPF_MEMBER_U32);
        EXPECT(fpf_struct_member("fpf_finder_options", last, &member, &offset, &type), FPF_OK);
        TRUE_(strcmp(member, "newton_handoff_iters") == 0 && type == FPF_MEMBER_SIZE
              && offset == offsetof(fpf_finder_options, newton_handoff_iters));
        EXPECT(fpf_struct_member("fpf_finder_options", last + 1, &member, &offset, &type),
               FPF_BAD_SIZE);
        EXPECT(fpf_struct_member("nope", 0, &member, &offset, &type), FPF_UNKNOWN_NAME);
        EXPECT(fpf_struct_member("fpf_progress", 0, NULL, &offset, &type), FPF_NULL_POINTER);
    }
    fo.lr_init = nan;
    EXPECT(fpf_find_fixed_points(rnn, &fo, h, 2, x, 1, &fps), FPF_BAD_OPTION);
    fo.lr_init = 1.0;
    TRUE_(fps == NULL);
    EXPECT(fpf_find_fixed_points_progress(rnn, &fo, h, 2, x, 1, NULL, NULL, &fps), FPF_OK);
    TRUE_(fps != NULL);
    EXPECT(fpf_sample_states(NULL, 2, 3, 4, NULL, 5, 0.1, 0, buf), FPF_NULL_POINTER);
    EXPECT(fpf_sample_states(h, 2, 3, 4, NULL, 5, 0.1, 0, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_sample_states(h, 0, 3, 4, NULL, 5, 0.1, 0, buf), FPF_BAD_SIZE);
    EXPECT(fpf_sample_states(h, 2, 3, 4, NULL, 0, 0.1, 0, buf), FPF_BAD_SIZE);
    EXPECT(fpf_sample_states(h, (size_t)-1, 3, 4, NULL, 5, 0.1, 0, buf), FPF_BAD_SIZE);
    TRUE_(fpf_sample_states(h, 2, 3, 4, NULL, 5, nan, 0, buf) != FPF_OK);
    memset(u8, 0, sizeof u8);
    TRUE_(fpf_sample_states(h, 2, 3, 4, u8, 5, 0.1, 0, buf) != FPF_OK); /* nothing valid */
    EXPECT(fpf_sample_states(h, 2, 3, 4, NULL, 5, 0.1, 0, buf), FPF_OK);

    /* Results. */
    fpf_fixed_points_free(NULL);
    TRUE_(fpf_fixed_points_len(NULL) == 0 && fpf_fixed_points_n_slow(NULL) == 0);
    TRUE_(fpf_fixed_points_summary(NULL, msg, sizeof msg) == 0);
    TRUE_(fpf_fixed_points_summary(fps, NULL, 0) > 0);
    TRUE_(fpf_fixed_points_summary(fps, msg, sizeof msg) > 0 && strlen(msg) == sizeof msg - 1);
    len = fpf_fixed_points_len(fps);
    TRUE_(len >= 1);
    EXPECT(fpf_fixed_points_xstar(NULL, buf, 4 * len), FPF_NULL_POINTER);
    EXPECT(fpf_fixed_points_xstar(fps, NULL, 4 * len), FPF_NULL_POINTER);
    EXPECT(fpf_fixed_points_xstar(fps, buf, 4 * len + 1), FPF_LENGTH_MISMATCH);
    EXPECT(fpf_fixed_points_xstar(fps, buf, 4 * len), FPF_OK);
    EXPECT(fpf_fixed_points_field_f64(fps, "f_xstar", buf, 4 * len), FPF_OK);
    EXPECT(fpf_fixed_points_field_f64(fps, "x_init", buf, 4 * len), FPF_OK);
    EXPECT(fpf_fixed_points_field_f64(fps, "inputs", buf, 2 * len), FPF_OK);
    EXPECT(fpf_fixed_points_qstar(fps, buf, len), FPF_OK);
    EXPECT(fpf_fixed_points_field_f64(fps, "dq", buf, len), FPF_OK);
    EXPECT(fpf_fixed_points_field_size(fps, "n_iters", sz, len), FPF_OK);
    EXPECT(fpf_fixed_points_is_stable(fps, u8, len), FPF_OK);
    EXPECT(fpf_fixed_points_is_stable(fps, NULL, len), FPF_NULL_POINTER);
    EXPECT(fpf_fixed_points_field_size(fps, "n_unstable", sz, len), FPF_OK);
    EXPECT(fpf_fixed_points_field_f64(fps, "j_xstar", buf, 16 * len), FPF_OK);
    EXPECT(fpf_fixed_points_field_f64(fps, "dfdu", buf, 8 * len), FPF_OK);
    /* min_period exists for period-k searches only (at period 1 every point has period 1). */
    EXPECT(fpf_fixed_points_field_size(fps, "min_period", sz, len), FPF_BAD_OPTION);
    TRUE_(fpf_fixed_points_field_width(fps, 18) == 0);
    /* n_kink exists for cells with a kink (leaky ReLU) only. */
    EXPECT(fpf_fixed_points_field_size(fps, "n_kink", sz, len), FPF_BAD_OPTION);
    TRUE_(fpf_fixed_points_field_width(fps, 17) == 0);
    EXPECT(fpf_fixed_points_field_u8(fps, "newton", u8, len), FPF_OK);
    EXPECT(fpf_fixed_points_field_u8(fps, "is_slow", u8, len), FPF_OK);
    /* The field table: names, types, widths; misuse of the typed readers. */
    TRUE_(fpf_fixed_points_n_fields() == 20);
    TRUE_(strcmp(fpf_fixed_points_field_name(0), "xstar") == 0);
    TRUE_(strcmp(fpf_fixed_points_field_name(17), "n_kink") == 0);
    TRUE_(fpf_fixed_points_field_name(20) == NULL);
    TRUE_(fpf_fixed_points_field_type(0) == FPF_FIELD_F64);
    TRUE_(fpf_fixed_points_field_type(20) == UINT32_MAX);
    TRUE_(fpf_fixed_points_field_width(fps, 0) == 4);
    TRUE_(fpf_fixed_points_field_width(NULL, 0) == 0);
    EXPECT(fpf_fixed_points_field_f64(fps, "no_such_field", buf, len), FPF_UNKNOWN_NAME);
    EXPECT(fpf_fixed_points_field_f64(fps, NULL, buf, len), FPF_NULL_POINTER);
    EXPECT(fpf_fixed_points_field_f64(fps, "n_iters", buf, len), FPF_BAD_OPTION);
    EXPECT(fpf_fixed_points_field_i64(fps, "cond_id", (int64_t *)sz, len), FPF_BAD_OPTION);
    EXPECT(fpf_fixed_points_eigvals(NULL, re, im, 4 * len), FPF_NULL_POINTER);
    EXPECT(fpf_fixed_points_eigvals(fps, NULL, im, 4 * len), FPF_NULL_POINTER);
    EXPECT(fpf_fixed_points_eigvals(fps, re, NULL, 4 * len), FPF_NULL_POINTER);
    EXPECT(fpf_fixed_points_eigvals(fps, buf, buf + 32, 4 * len + 1), FPF_LENGTH_MISMATCH);
    EXPECT(fpf_fixed_points_eigvecs(fps, NULL, buf, 16 * len), FPF_NULL_POINTER);
    EXPECT(fpf_fixed_points_eigvecs(fps, buf, y, 16 * len + 1), FPF_LENGTH_MISMATCH);
    EXPECT(fpf_fixed_points_select(NULL, FPF_SET_ALL, &sel), FPF_NULL_POINTER);
    EXPECT(fpf_fixed_points_select(fps, FPF_SET_ALL, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_fixed_points_select(fps, 3, &sel), FPF_BAD_OPTION);
    TRUE_(sel == NULL);
    EXPECT(fpf_fixed_points_select(fps, FPF_SET_ALL, &sel), FPF_OK);
    TRUE_(fpf_fixed_points_len(sel) == 2);
    fpf_fixed_points_free(sel);

    /* Files. */
    EXPECT(fpf_checkpoint_save(NULL, "/tmp/x.fpf"), FPF_NULL_POINTER);
    EXPECT(fpf_checkpoint_save(rnn, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_checkpoint_save(rnn, "/nonexistent-dir/x/y.fpf"), FPF_IO);
    EXPECT(fpf_checkpoint_load(NULL, &r2), FPF_NULL_POINTER);
    EXPECT(fpf_checkpoint_load("/tmp/x.fpf", NULL), FPF_NULL_POINTER);
    EXPECT(fpf_checkpoint_load("/nonexistent-dir/x.fpf", &r2), FPF_IO);
    EXPECT(fpf_checkpoint_load("/", &r2), FPF_IO);
    TRUE_(r2 == (fpf_rnn *)&a);
    EXPECT(fpf_checkpoint_load_into(NULL, "/tmp/x.fpf"), FPF_NULL_POINTER);
    EXPECT(fpf_checkpoint_load_into(rnn, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_checkpoint_load_into(rnn, "/nonexistent-dir/x.fpf"), FPF_IO);
    EXPECT(fpf_fixed_points_save(NULL, "/tmp/x.fpf"), FPF_NULL_POINTER);
    EXPECT(fpf_fixed_points_save(fps, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_fixed_points_load(NULL, &sel), FPF_NULL_POINTER);
    EXPECT(fpf_fixed_points_load("/tmp/x.fpf", NULL), FPF_NULL_POINTER);
    EXPECT(fpf_fixed_points_load("/nonexistent-dir/x.fpf", &sel), FPF_IO);

    /* PCA. */
    TRUE_(fpf_pca_k(NULL) == 0 && fpf_pca_dim(NULL) == 0);
    fpf_pca_free(NULL);
    EXPECT(fpf_pca_fit(NULL, 6, 4, 2, &pca), FPF_NULL_POINTER);
    EXPECT(fpf_pca_fit(h, 6, 4, 2, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_pca_fit(h, 1, 4, 2, &pca), FPF_BAD_SIZE);
    EXPECT(fpf_pca_fit(h, 6, 0, 1, &pca), FPF_BAD_SIZE);
    EXPECT(fpf_pca_fit(h, 6, 4, 0, &pca), FPF_BAD_SIZE);
    EXPECT(fpf_pca_fit(h, 6, 4, 5, &pca), FPF_BAD_SIZE);
    EXPECT(fpf_pca_fit(h, (size_t)-1, 4, 2, &pca), FPF_BAD_SIZE);
    h[7] = nan;
    EXPECT(fpf_pca_fit(h, 6, 4, 2, &pca), FPF_NOT_FINITE);
    h[7] = 0.25;
    TRUE_(pca == NULL);
    EXPECT(fpf_pca_fit(h, 6, 4, 2, &pca), FPF_OK);
    TRUE_(fpf_pca_k(pca) == 2 && fpf_pca_dim(pca) == 4);
    EXPECT(fpf_pca_transform(NULL, h, 6, y), FPF_NULL_POINTER);
    EXPECT(fpf_pca_transform(pca, NULL, 6, y), FPF_NULL_POINTER);
    EXPECT(fpf_pca_transform(pca, h, 6, NULL), FPF_NULL_POINTER);
    EXPECT(fpf_pca_transform(pca, h, (size_t)-1, y), FPF_BAD_SIZE);
    y[0] = SENTINEL;
    h[2] = nan;
    EXPECT(fpf_pca_transform(pca, h, 6, y), FPF_NOT_FINITE);
    TRUE_(y[0] == SENTINEL);
    h[2] = 0.0;
    EXPECT(fpf_pca_transform(pca, h, 6, y), FPF_OK);
    EXPECT(fpf_pca_transform(pca, h, 0, y), FPF_OK);
    EXPECT(fpf_pca_explained_variance_ratio(NULL, buf, 2), FPF_NULL_POINTER);
    EXPECT(fpf_pca_explained_variance_ratio(pca, NULL, 2), FPF_NULL_POINTER);
    EXPECT(fpf_pca_explained_variance_ratio(pca, buf, 3), FPF_LENGTH_MISMATCH);
    EXPECT(fpf_pca_explained_variance_ratio(pca, buf, 2), FPF_OK);
    TRUE_(buf[0] >= buf[1] && buf[0] <= 1.0 && buf[1] >= 0.0);
    EXPECT(fpf_pca_components(pca, buf, 7), FPF_LENGTH_MISMATCH);
    EXPECT(fpf_pca_components(pca, buf, 8), FPF_OK);
    EXPECT(fpf_pca_mean(pca, NULL, 4), FPF_NULL_POINTER);
    EXPECT(fpf_pca_mean(pca, buf, 4), FPF_OK);

    /* Messages are truncated safely. */
    EXPECT(fpf_pca_mean(pca, buf, 99), FPF_LENGTH_MISMATCH);
    TRUE_(fpf_last_error_message(msg, 4) > 4 && strlen(msg) == 3);

    fpf_pca_free(pca);
    fpf_fixed_points_free(fps);
    fpf_rnn_free(rnn);
    printf("bad_input: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
