/* A model given by C functions (fpf_callback_model): the whole finder pipeline on a map
 * that libfpf does not know, h' = tanh(W h + B u + b) with two units that are each
 * bistable (self-excitation 3, a weak coupling), written here with its batched step and
 * vector-Jacobian product. Its nine fixed points (four stable, four saddles, one source)
 * are found from a grid of initial states; the Jacobians are formed from VJPs.
 *
 *   cargo build --release --lib && make callback && ./callback
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fpf.h"

#define S 2 /* state size */
#define I 1 /* input size */

typedef struct {
    double w[S][S]; /* h' = tanh(W h + B u + b) */
    double bu[S];
    double b[S];
    size_t calls;
} net;

/* F of one state. */
static void step(const net *m, const double *x, const double *u, double *f) {
    for (int i = 0; i < S; i++) {
        double a = m->b[i] + m->bu[i] * u[0];
        for (int j = 0; j < S; j++) a += m->w[i][j] * x[j];
        f[i] = tanh(a);
    }
}

/* F for n states: x (n × S), u (n × I) → fx (n × S). */
static int32_t forward(void *user, size_t n, const double *x, const double *u, double *fx) {
    net *m = user;
    m->calls++;
    for (size_t k = 0; k < n; k++) step(m, x + k * S, u + k * I, fx + k * S);
    return 0;
}

/* vᵀ ∂F/∂x (and vᵀ ∂F/∂u when vjp_u is not NULL) for n states. */
static int32_t vjp(void *user, size_t n, const double *x, const double *u, const double *v,
                   double *vjp_x, double *vjp_u) {
    net *m = user;
    double f[S];
    m->calls++;
    for (size_t k = 0; k < n; k++) {
        step(m, x + k * S, u + k * I, f);
        for (int j = 0; j < S; j++) vjp_x[k * S + j] = 0.0;
        if (vjp_u) vjp_u[k * I] = 0.0;
        for (int i = 0; i < S; i++) {
            double g = v[k * S + i] * (1.0 - f[i] * f[i]); /* through tanh */
            for (int j = 0; j < S; j++) vjp_x[k * S + j] += g * m->w[i][j];
            if (vjp_u) vjp_u[k * I] += g * m->bu[i];
        }
    }
    return 0;
}

#define CHECK(call)                                                                   \
    do {                                                                              \
        fpf_status st_ = (call);                                                      \
        if (st_ != FPF_OK) {                                                          \
            char msg_[512];                                                           \
            fpf_last_error_message(msg_, sizeof msg_);                                \
            fprintf(stderr, "%s failed: status %d: %s\n", #call, (int)st_, msg_);     \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

int main(void) {
    net m = {{{3.0, 0.2}, {0.2, 3.0}}, {0.1, -0.1}, {0.0, 0.0}, 0};
    fpf_callback_model *model = NULL;
    fpf_fixed_points *fps = NULL;
    fpf_finder_options o;
    double inits[121 * S], zero[I] = {0.0}, xstar[9 * S];
    uint8_t stable[9];
    char summary[4096];
    size_t n = 0;

    /* No Jacobian function: libfpf forms each Jacobian from S VJPs. */
    CHECK(fpf_callback_model_new(S, I, forward, vjp, NULL, true, &m, &model));
    for (int a = 0; a < 11; a++) {
        for (int c = 0; c < 11; c++) {
            inits[(a * 11 + c) * S] = -1.2 + 0.24 * a;
            inits[(a * 11 + c) * S + 1] = -1.2 + 0.24 * c;
        }
    }
    fpf_finder_options_default(&o);
    o.lr_init = 0.05;
    o.tol_q = 1e-14;
    o.tol_unique = 1e-4;
    o.final_q_threshold = 1e-16;
    CHECK(fpf_callback_find_fixed_points(model, &o, inits, 121, zero, 1, &fps));
    fpf_fixed_points_summary(fps, summary, sizeof summary);
    printf("%s", summary);
    n = fpf_fixed_points_len(fps);
    if (n != 9) {
        fprintf(stderr, "expected 9 fixed points, found %zu\n", n);
        return 1;
    }
    CHECK(fpf_fixed_points_field_f64(fps, "xstar", xstar, n * S));
    CHECK(fpf_fixed_points_field_u8(fps, "is_stable", stable, n));
    for (size_t k = 0; k < n; k++)
        printf("x* = (% .6f, % .6f)  %s\n", xstar[k * S], xstar[k * S + 1],
               stable[k] ? "stable" : "unstable");
    printf("%zu calls of the model's functions\n", m.calls);
    fpf_fixed_points_free(fps);
    fpf_callback_model_free(model);
    return 0;
}
