// Header-only C++17 RAII wrapper of libfpf's C API.
//
// Rnn, FixedPoints and Pca own their handles uniquely (move-only; the destructor calls the
// matching _free). Every failing call throws fpf::Error, a std::runtime_error carrying the
// fpf_status and the library's message. Arrays are std::vector<double>, row-major.
#pragma once

#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "fpf.h"

namespace fpf {

/// A failed libfpf call: the status and the library's message.
class Error : public std::runtime_error {
public:
    Error(fpf_status status, const std::string &what)
        : std::runtime_error(what), status_(status) {}
    fpf_status status() const noexcept { return status_; }

private:
    fpf_status status_;
};

/// The calling thread's last error message.
inline std::string last_error() {
    std::string s(fpf_last_error_message(nullptr, 0), '\0');
    if (!s.empty()) fpf_last_error_message(s.data(), s.size() + 1);
    return s;
}

/// Throws fpf::Error unless `st` is FPF_OK.
inline void check(fpf_status st, const char *call) {
    if (st != FPF_OK)
        throw Error(st, std::string(call) + " failed (status " +
                            std::to_string(static_cast<int>(st)) + "): " + last_error());
}

namespace detail {
template <class T, void (*Free)(T *)> class Handle {
public:
    Handle() = default;
    explicit Handle(T *p) noexcept : p_(p) {}
    Handle(const Handle &) = delete;
    Handle &operator=(const Handle &) = delete;
    Handle(Handle &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    Handle &operator=(Handle &&o) noexcept {
        if (this != &o) {
            Free(p_);
            p_ = std::exchange(o.p_, nullptr);
        }
        return *this;
    }
    ~Handle() { Free(p_); }
    T *get() const noexcept { return p_; }

private:
    T *p_ = nullptr;
};
}  // namespace detail

/// Library version string.
inline std::string version() { return fpf_version(); }

/// Eigenvalues of an n×n row-major matrix: {real parts, imaginary parts}.
inline std::pair<std::vector<double>, std::vector<double>> eig(std::size_t n,
                                                               const std::vector<double> &a) {
    if (a.size() != n * n) throw Error(FPF_LENGTH_MISMATCH, "eig: a must hold n*n values");
    std::vector<double> re(n), im(n);
    check(fpf_eig(n, a.data(), re.data(), im.data(), nullptr, nullptr), "fpf_eig");
    return {re, im};
}

/// Flip-flop data: inputs and targets, n_trials × n_time × n_bits each.
struct FlipFlopData {
    std::vector<double> inputs, targets;
    std::size_t n_trials = 0, n_time = 0, n_bits = 0;
};

inline FlipFlopData flipflop_generate(std::size_t n_bits, std::size_t n_time, double p,
                                      std::size_t n_trials, std::uint64_t seed) {
    FlipFlopData d{std::vector<double>(n_trials * n_time * n_bits),
                   std::vector<double>(n_trials * n_time * n_bits), n_trials, n_time, n_bits};
    check(fpf_flipflop_generate(n_bits, n_time, p, n_trials, seed, d.inputs.data(),
                                d.targets.data()),
          "fpf_flipflop_generate");
    return d;
}

inline fpf_train_options train_options() {
    fpf_train_options o;
    fpf_train_options_default(&o);
    return o;
}

inline fpf_finder_options finder_options() {
    fpf_finder_options o;
    fpf_finder_options_default(&o);
    return o;
}

/// The result of a fixed-point search.
class FixedPoints {
public:
    explicit FixedPoints(fpf_fixed_points *p, std::size_t state_dim, std::size_t n_inputs)
        : h_(p), s_(state_dim), ni_(n_inputs) {}
    fpf_fixed_points *get() const noexcept { return h_.get(); }
    std::size_t size() const noexcept { return fpf_fixed_points_len(h_.get()); }
    std::size_t state_dim() const noexcept { return s_; }
    std::vector<double> xstar() const { return doubles(fpf_fixed_points_xstar, size() * s_); }
    std::vector<double> qstar() const { return doubles(fpf_fixed_points_qstar, size()); }
    std::vector<double> inputs() const { return field<double>("inputs"); }
    std::vector<double> jacobians() const { return field<double>("j_xstar"); }
    /// Any per-point field by name (`fpf_fixed_points_field_name` lists them), as its C
    /// element type: double (FPF_FIELD_F64), std::size_t, std::uint8_t or std::int64_t.
    /// n × width elements; empty if the field was not computed.
    template <class T> std::vector<T> field(const char *name) const {
        std::size_t k = 0, n = fpf_n_fields();
        while (k < n && std::string(fpf_fixed_points_field_name(k)) != name) ++k;
        if (k == n) throw Error(FPF_UNKNOWN_NAME, std::string("no fixed-point field ") + name);
        std::size_t width = fpf_fixed_points_field_width(h_.get(), k);
        std::vector<T> v(size() * width);
        if (width > 0) check(read(name, v.data(), v.size()), name);
        return v;
    }
    std::vector<bool> is_stable() const {
        std::vector<std::uint8_t> b(size());
        check(fpf_fixed_points_is_stable(h_.get(), b.data(), b.size()),
              "fpf_fixed_points_is_stable");
        return std::vector<bool>(b.begin(), b.end());
    }
    std::size_t n_stable() const {
        std::size_t n = 0;
        for (bool b : is_stable()) n += b;
        return n;
    }
    /// Eigenvalues of each Jacobian, n × state_dim, sorted by modulus: {re, im}.
    std::pair<std::vector<double>, std::vector<double>> eigvals() const {
        std::vector<double> re(size() * s_), im(size() * s_);
        check(fpf_fixed_points_eigvals(h_.get(), re.data(), im.data(), re.size()),
              "fpf_fixed_points_eigvals");
        return {re, im};
    }
    std::string summary() const {
        std::string s(fpf_fixed_points_summary(h_.get(), nullptr, 0), '\0');
        fpf_fixed_points_summary(h_.get(), s.data(), s.size() + 1);
        return s;
    }

private:
    static std::size_t fpf_n_fields() { return fpf_fixed_points_n_fields(); }
    fpf_status read(const char *name, double *v, std::size_t n) const {
        return fpf_fixed_points_field_f64(h_.get(), name, v, n);
    }
    fpf_status read(const char *name, std::size_t *v, std::size_t n) const {
        return fpf_fixed_points_field_size(h_.get(), name, v, n);
    }
    fpf_status read(const char *name, std::uint8_t *v, std::size_t n) const {
        return fpf_fixed_points_field_u8(h_.get(), name, v, n);
    }
    fpf_status read(const char *name, std::int64_t *v, std::size_t n) const {
        return fpf_fixed_points_field_i64(h_.get(), name, v, n);
    }
    using Getter = fpf_status (*)(const fpf_fixed_points *, double *, std::size_t);
    std::vector<double> doubles(Getter f, std::size_t n) const {
        std::vector<double> v(n);
        check(f(h_.get(), v.data(), n), "fpf_fixed_points accessor");
        return v;
    }
    detail::Handle<fpf_fixed_points, fpf_fixed_points_free> h_;
    std::size_t s_, ni_;
};

/// A recurrent network (double precision).
class Rnn {
public:
    Rnn(fpf_cell cell, std::size_t n_inputs, std::size_t n_hidden, std::size_t n_outputs,
        std::uint64_t seed = 0, fpf_init init = FPF_INIT_SCALED) {
        fpf_rnn *p = nullptr;
        check(fpf_rnn_new_init(cell, n_inputs, n_hidden, n_outputs, seed, init, &p),
              "fpf_rnn_new_init");
        h_ = Handle(p);
    }
    /// A leaky rate cell `h' = (1 − alpha) h + alpha φ(x W_ih + h W_hh + b_h)`, φ one of
    /// `FPF_ACTIVATION_*`, alpha in (0, 1] (anything else throws, FPF_BAD_OPTION).
    static Rnn leaky(fpf_activation activation, double alpha, std::size_t n_inputs,
                     std::size_t n_hidden, std::size_t n_outputs, std::uint64_t seed = 0,
                     fpf_init init = FPF_INIT_SCALED) {
        fpf_rnn *p = nullptr;
        check(fpf_rnn_new_leaky(activation, alpha, n_inputs, n_hidden, n_outputs, seed, init,
                                &p),
              "fpf_rnn_new_leaky");
        return Rnn(p);
    }
    /// `n_layers` stacked layers of one cell kind (PyTorch's `num_layers`): layer 0 reads
    /// the input, each layer above the new h of the one below; the state is the layers'
    /// states back to back. `alpha` for a leaky kind (1 for the others). The finder runs on
    /// it; training throws (FPF_UNSUPPORTED).
    static Rnn stacked(fpf_cell cell, std::size_t n_layers, std::size_t n_inputs,
                       std::size_t n_hidden, std::size_t n_outputs, std::uint64_t seed = 0,
                       fpf_init init = FPF_INIT_SCALED, double alpha = 1.0) {
        fpf_rnn *p = nullptr;
        check(fpf_rnn_new_stacked(cell, alpha, n_layers, n_inputs, n_hidden, n_outputs, seed,
                                  init, &p),
              "fpf_rnn_new_stacked");
        return Rnn(p);
    }
    /// Loads a checkpoint file into a new network.
    static Rnn load(const std::string &path) {
        fpf_rnn *p = nullptr;
        check(fpf_checkpoint_load(path.c_str(), &p), "fpf_checkpoint_load");
        return Rnn(p);
    }
    void save(const std::string &path) const {
        check(fpf_checkpoint_save(h_.get(), path.c_str()), "fpf_checkpoint_save");
    }
    fpf_rnn *get() const noexcept { return h_.get(); }
    std::size_t state_dim() const noexcept { return fpf_rnn_state_dim(h_.get()); }
    std::size_t n_inputs() const noexcept { return fpf_rnn_n_inputs(h_.get()); }
    std::size_t n_hidden() const noexcept { return fpf_rnn_n_hidden(h_.get()); }
    std::size_t n_outputs() const noexcept { return fpf_rnn_n_outputs(h_.get()); }
    /// The cell kind (`FPF_CELL_*`).
    fpf_cell cell() const noexcept { return fpf_rnn_cell(h_.get()); }
    /// A leaky cell's alpha (1 for the other cells).
    double alpha() const noexcept { return fpf_rnn_alpha(h_.get()); }
    /// Number of stacked layers (1 for a single cell).
    std::size_t n_layers() const noexcept { return fpf_rnn_n_layers(h_.get()); }

    std::vector<double> param(const std::string &name) const {
        std::size_t n = 0;
        check(fpf_rnn_param_len(h_.get(), name.c_str(), &n), "fpf_rnn_param_len");
        std::vector<double> v(n);
        check(fpf_rnn_get_param(h_.get(), name.c_str(), v.data(), n), "fpf_rnn_get_param");
        return v;
    }
    void set_param(const std::string &name, const std::vector<double> &v) {
        check(fpf_rnn_set_param(h_.get(), name.c_str(), v.data(), v.size()),
              "fpf_rnn_set_param");
    }

    /// Trains on n_trials × n_time sequences; `on_epoch(const fpf_train_progress&) -> bool`
    /// is called after every epoch (return false to stop). An exception thrown by `on_epoch`
    /// stops training and is rethrown here once the C call has returned (it never unwinds
    /// through the C library).
    template <class F>
    fpf_train_report train(const fpf_train_options &o, const FlipFlopData &train_set,
                           const FlipFlopData *valid, F on_epoch) {
        struct Call {
            F *f;
            std::exception_ptr error;
        } call{&on_epoch, nullptr};
        fpf_train_report r{};
        auto tramp = [](const fpf_train_progress *p, void *user) -> bool {
            auto *c = static_cast<Call *>(user);
            try {
                return (*c->f)(*p);
            } catch (...) {
                c->error = std::current_exception();
                return false;
            }
        };
        fpf_status st = fpf_train(h_.get(), &o, train_set.inputs.data(),
                                  train_set.targets.data(), train_set.n_trials,
                                  train_set.n_time, valid ? valid->inputs.data() : nullptr,
                                  valid ? valid->targets.data() : nullptr,
                                  valid ? valid->n_trials : 0, tramp, &call, &r);
        if (call.error) std::rethrow_exception(call.error);
        check(st, "fpf_train");
        return r;
    }

    /// Runs trials from h0: {outputs, states}.
    std::pair<std::vector<double>, std::vector<double>> run(const std::vector<double> &inputs,
                                                            std::size_t n_trials,
                                                            std::size_t n_time) const {
        std::vector<double> y(n_trials * n_time * n_outputs()),
            s(n_trials * n_time * state_dim());
        if (inputs.size() != n_trials * n_time * n_inputs())
            throw Error(FPF_LENGTH_MISMATCH, "Rnn::run: inputs has the wrong length");
        check(fpf_rnn_run(h_.get(), inputs.data(), n_trials, n_time, y.data(), s.data()),
              "fpf_rnn_run");
        return {y, s};
    }

    /// Fixed points from `inits` (n × state_dim) at constant `inputs` (1 or n rows).
    FixedPoints find_fixed_points(const fpf_finder_options &o, const std::vector<double> &inits,
                                  const std::vector<double> &inputs) const {
        const std::size_t s = state_dim(), ni = n_inputs();
        if (s == 0 || inits.size() % s != 0)
            throw Error(FPF_LENGTH_MISMATCH, "find_fixed_points: inits has the wrong length");
        const std::size_t n = inits.size() / s;
        const std::size_t rows = ni == 0 ? 1 : inputs.size() / ni;
        if (ni != 0 && inputs.size() % ni != 0)
            throw Error(FPF_LENGTH_MISMATCH, "find_fixed_points: inputs has the wrong length");
        fpf_fixed_points *p = nullptr;
        check(fpf_find_fixed_points(h_.get(), &o, inits.data(), n, inputs.data(), rows, &p),
              "fpf_find_fixed_points");
        return FixedPoints(p, s, ni);
    }

private:
    using Handle = detail::Handle<fpf_rnn, fpf_rnn_free>;
    explicit Rnn(fpf_rnn *p) : h_(p) {}
    Handle h_;
};

/// Samples n_inits states from a trajectory (n_batch × n_time × state_dim) plus noise.
inline std::vector<double> sample_states(const std::vector<double> &states,
                                         std::size_t n_batch, std::size_t n_time,
                                         std::size_t state_dim, std::size_t n_inits,
                                         double noise_scale, std::uint64_t seed) {
    if (states.size() != n_batch * n_time * state_dim)
        throw Error(FPF_LENGTH_MISMATCH, "sample_states: states has the wrong length");
    std::vector<double> out(n_inits * state_dim);
    check(fpf_sample_states(states.data(), n_batch, n_time, state_dim, nullptr, n_inits,
                            noise_scale, seed, out.data()),
          "fpf_sample_states");
    return out;
}

/// Principal component analysis.
class Pca {
public:
    Pca(const std::vector<double> &data, std::size_t dim, std::size_t k) {
        if (dim == 0 || data.size() % dim != 0)
            throw Error(FPF_LENGTH_MISMATCH, "Pca: data must hold rows of dim values");
        fpf_pca *p = nullptr;
        check(fpf_pca_fit(data.data(), data.size() / dim, dim, k, &p), "fpf_pca_fit");
        h_ = Handle(p);
    }
    std::size_t k() const noexcept { return fpf_pca_k(h_.get()); }
    std::size_t dim() const noexcept { return fpf_pca_dim(h_.get()); }
    std::vector<double> transform(const std::vector<double> &data) const {
        if (data.size() % dim() != 0)
            throw Error(FPF_LENGTH_MISMATCH, "Pca::transform: rows of dim values expected");
        const std::size_t n = data.size() / dim();
        std::vector<double> out(n * k());
        check(fpf_pca_transform(h_.get(), data.data(), n, out.data()), "fpf_pca_transform");
        return out;
    }
    std::vector<double> explained_variance_ratio() const {
        std::vector<double> v(k());
        check(fpf_pca_explained_variance_ratio(h_.get(), v.data(), v.size()),
              "fpf_pca_explained_variance_ratio");
        return v;
    }

private:
    using Handle = detail::Handle<fpf_pca, fpf_pca_free>;
    Handle h_;
};

}  // namespace fpf
