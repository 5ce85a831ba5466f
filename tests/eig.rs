//! Integration tests of the non-symmetric eigenvalue solver `fpf_core::linalg::eig`.
//!
//! Norms: `‖A‖` is the Frobenius norm throughout; eigenvector residuals use the 2-norm.
//! Backward error of an eigenpair: `‖A v − λ v‖₂ / ‖A‖_F` with `‖v‖₂ = 1`.

// Index loops read best in this numeric test code.
#![allow(clippy::needless_range_loop)]

use fpf_core::linalg::eig::{
    EigError, eig, eig_with_cap, eigvals_fixed, is_stable, n_unstable, spectral_radius, work_len,
};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------
// Helpers

/// splitmix64 with a Box–Muller Gaussian.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f64 {
        let u1 = self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

fn fro(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn matmul(n: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut c = vec![0.0; n * n];
    for i in 0..n {
        for k in 0..n {
            let aik = a[i * n + k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..n {
                c[i * n + j] += aik * b[k * n + j];
            }
        }
    }
    c
}

/// Inverse by Gauss–Jordan with partial pivoting.
fn inverse(n: usize, a: &[f64]) -> Vec<f64> {
    let mut m = a.to_vec();
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        inv[i * n + i] = 1.0;
    }
    for c in 0..n {
        let p = (c..n)
            .max_by(|&x, &y| m[x * n + c].abs().total_cmp(&m[y * n + c].abs()))
            .unwrap();
        for j in 0..n {
            m.swap(c * n + j, p * n + j);
            inv.swap(c * n + j, p * n + j);
        }
        let d = 1.0 / m[c * n + c];
        for j in 0..n {
            m[c * n + j] *= d;
            inv[c * n + j] *= d;
        }
        for r in 0..n {
            if r != c {
                let f = m[r * n + c];
                if f != 0.0 {
                    for j in 0..n {
                        m[r * n + j] -= f * m[c * n + j];
                        inv[r * n + j] -= f * inv[c * n + j];
                    }
                }
            }
        }
    }
    inv
}

/// Random orthogonal matrix (modified Gram–Schmidt, twice, on a Gaussian matrix).
fn random_orthogonal(n: usize, rng: &mut Rng) -> Vec<f64> {
    let mut q: Vec<f64> = (0..n * n).map(|_| rng.gauss()).collect();
    // Orthonormalize columns.
    for _pass in 0..2 {
        for j in 0..n {
            for k in 0..j {
                let d: f64 = (0..n).map(|i| q[i * n + j] * q[i * n + k]).sum();
                for i in 0..n {
                    q[i * n + j] -= d * q[i * n + k];
                }
            }
            let nr: f64 = (0..n)
                .map(|i| q[i * n + j] * q[i * n + j])
                .sum::<f64>()
                .sqrt();
            for i in 0..n {
                q[i * n + j] /= nr;
            }
        }
    }
    q
}

fn transpose(n: usize, a: &[f64]) -> Vec<f64> {
    let mut t = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            t[j * n + i] = a[i * n + j];
        }
    }
    t
}

struct Decomp {
    re: Vec<f64>,
    im: Vec<f64>,
    vr: Vec<f64>,
    vi: Vec<f64>,
}

fn eigvals(n: usize, a: &[f64]) -> Result<(Vec<f64>, Vec<f64>), EigError> {
    let mut work = vec![0.0; work_len(n, false)];
    let mut re = vec![0.0; n];
    let mut im = vec![0.0; n];
    eig(n, a, &mut work, &mut re, &mut im, None)?;
    Ok((re, im))
}

fn eigvecs(n: usize, a: &[f64]) -> Result<Decomp, EigError> {
    let mut work = vec![0.0; work_len(n, true)];
    let mut re = vec![0.0; n];
    let mut im = vec![0.0; n];
    let mut vr = vec![0.0; n * n];
    let mut vi = vec![0.0; n * n];
    eig(n, a, &mut work, &mut re, &mut im, Some((&mut vr, &mut vi)))?;
    Ok(Decomp { re, im, vr, vi })
}

/// Checks the structural promises of the output (sorted, conjugate pairs consistent, unit
/// vectors, conjugate vectors for conjugate eigenvalues, phase) and returns the worst
/// backward error `‖A v − λ v‖₂ / ‖A‖_F`.
fn check_decomp(n: usize, a: &[f64], d: &Decomp, label: &str) -> f64 {
    check_sorted_and_paired(&d.re, &d.im, label);
    let anorm = fro(a).max(f64::MIN_POSITIVE);
    let mut worst = 0.0f64;
    for k in 0..n {
        let (lr, li) = (d.re[k], d.im[k]);
        let vr: Vec<f64> = (0..n).map(|i| d.vr[i * n + k]).collect();
        let vi: Vec<f64> = (0..n).map(|i| d.vi[i * n + k]).collect();
        let nv = (fro(&vr).powi(2) + fro(&vi).powi(2)).sqrt();
        assert!((nv - 1.0).abs() < 1e-12, "{label}: ‖v_{k}‖ = {nv}");
        if li == 0.0 {
            assert!(
                vi.iter().all(|&x| x == 0.0),
                "{label}: real eigenvalue {k} with complex vector"
            );
        }
        // Phase: the first (near-)largest component is real and positive.
        let m2: Vec<f64> = (0..n).map(|i| vr[i] * vr[i] + vi[i] * vi[i]).collect();
        let mx = m2.iter().cloned().fold(0.0, f64::max);
        let p = m2
            .iter()
            .position(|&x| x >= (1.0 - 1e-6) * (1.0 - 1e-6) * mx)
            .unwrap();
        assert!(
            vr[p] > 0.0 && vi[p] == 0.0,
            "{label}: phase of v_{k} (component {p})"
        );
        let mut r2 = 0.0;
        for i in 0..n {
            let mut sr = -(lr * vr[i] - li * vi[i]);
            let mut si = -(lr * vi[i] + li * vr[i]);
            for j in 0..n {
                sr += a[i * n + j] * vr[j];
                si += a[i * n + j] * vi[j];
            }
            r2 += sr * sr + si * si;
        }
        let be = r2.sqrt() / anorm;
        worst = worst.max(be);
    }
    // Conjugate eigenvalues have conjugate eigenvectors.
    for k in 0..n {
        if d.im[k] > 0.0 {
            let j = partner(&d.re, &d.im, k).unwrap();
            for i in 0..n {
                assert_eq!(d.vr[i * n + j], d.vr[i * n + k], "{label}: conj vector re");
                assert_eq!(d.vi[i * n + j], -d.vi[i * n + k], "{label}: conj vector im");
            }
        }
    }
    worst
}

/// Index of the conjugate of eigenvalue `k` (the first exact match after `k`).
fn partner(re: &[f64], im: &[f64], k: usize) -> Option<usize> {
    (k + 1..re.len()).find(|&j| re[j] == re[k] && im[j] == -im[k] && !used_before(re, im, k, j))
}

/// True if some earlier `+im` copy of eigenvalue `k` already claimed `j` (exact duplicates).
fn used_before(re: &[f64], im: &[f64], k: usize, j: usize) -> bool {
    let dup_before = (0..k).filter(|&p| re[p] == re[k] && im[p] == im[k]).count();
    let conj_before = (k + 1..j)
        .filter(|&p| re[p] == re[k] && im[p] == -im[k])
        .count();
    conj_before < dup_before
}

fn check_sorted_and_paired(re: &[f64], im: &[f64], label: &str) {
    let n = re.len();
    for k in 0..n {
        assert!(
            re[k].is_finite() && im[k].is_finite(),
            "{label}: non-finite eigenvalue"
        );
    }
    for k in 1..n {
        // The documented key: |λ|² as re·re + im·im in f64.
        let a = (
            re[k - 1] * re[k - 1] + im[k - 1] * im[k - 1],
            re[k - 1],
            im[k - 1],
        );
        let b = (re[k] * re[k] + im[k] * im[k], re[k], im[k]);
        let ok = a.0 > b.0 || (a.0 == b.0 && (a.1 > b.1 || (a.1 == b.1 && a.2 >= b.2)));
        assert!(ok, "{label}: not sorted at {k}: {a:?} then {b:?}");
    }
    let npos = im.iter().filter(|&&x| x > 0.0).count();
    let nneg = im.iter().filter(|&&x| x < 0.0).count();
    assert_eq!(npos, nneg, "{label}: unbalanced conjugate pairs");
    for k in 0..n {
        if im[k] > 0.0 {
            assert!(
                partner(re, im, k).is_some(),
                "{label}: eigenvalue {k} has no exact conjugate"
            );
        }
    }
    // The conjugate comes right after, unless eigenvalues with the same sort key (|λ|², re)
    // lie in between (e.g. a real eigenvalue next to a pair with a negligible imaginary part).
    for k in 0..n {
        if im[k] > 0.0 {
            let j = partner(re, im, k).unwrap();
            let key = |p: usize| (re[p] * re[p] + im[p] * im[p], re[p]);
            assert!(
                (k + 1..j).all(|p| key(p) == key(k)),
                "{label}: pair at {k} not adjacent"
            );
        }
    }
}

/// Greedy nearest matching of two eigenvalue multisets; returns the largest distance.
fn multiset_distance(re: &[f64], im: &[f64], rre: &[f64], rim: &[f64]) -> f64 {
    let n = re.len();
    let mut used = vec![false; n];
    let mut worst = 0.0f64;
    // Match the reference values in order, each with its nearest unused computed value.
    for k in 0..n {
        let mut best = usize::MAX;
        let mut bd = f64::INFINITY;
        for j in 0..n {
            if !used[j] {
                let d = (re[j] - rre[k]).hypot(im[j] - rim[k]);
                if d < bd {
                    bd = d;
                    best = j;
                }
            }
        }
        used[best] = true;
        worst = worst.max(bd);
    }
    worst
}

fn check_trace(n: usize, a: &[f64], re: &[f64], im: &[f64], label: &str) {
    let tr: f64 = (0..n).map(|i| a[i * n + i]).sum();
    let s: f64 = re.iter().sum();
    let si: f64 = im.iter().sum();
    let anorm = fro(a).max(f64::MIN_POSITIVE);
    assert!(
        (s - tr).abs() <= 1e-12 * anorm * (n as f64).sqrt() + f64::MIN_POSITIVE,
        "{label}: Σλ = {s}, trace = {tr}"
    );
    assert!(si.abs() <= 1e-14 * anorm, "{label}: Σ im = {si}");
}

// ---------------------------------------------------------------------------------------
// Fixtures

struct Fixture {
    name: String,
    n: usize,
    a: Vec<f64>,
    re: Vec<f64>,
    im: Vec<f64>,
}

fn read_table(path: &Path) -> (Vec<usize>, Vec<f64>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let head = lines.next().unwrap();
    let shape: Vec<usize> = head
        .trim_start_matches("# shape")
        .split_whitespace()
        .map(|t| t.parse().unwrap())
        .collect();
    let vals: Vec<f64> = lines
        .flat_map(|l| l.split_whitespace().map(|t| t.parse::<f64>().unwrap()))
        .collect();
    assert_eq!(
        vals.len(),
        shape.iter().product::<usize>(),
        "{}",
        path.display()
    );
    (shape, vals)
}

fn fixtures() -> Vec<Fixture> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/eig");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".matrix.txt").map(str::to_owned))
        .collect();
    names.sort();
    assert!(
        names.len() >= 39,
        "expected the 39 eig fixtures, found {}",
        names.len()
    );
    names
        .into_iter()
        .map(|name| {
            let (shape, a) = read_table(&dir.join(format!("{name}.matrix.txt")));
            let (eshape, e) = read_table(&dir.join(format!("{name}.eig.txt")));
            assert_eq!(shape[0], shape[1]);
            assert_eq!(eshape, vec![shape[0], 2]);
            let re = e.iter().step_by(2).cloned().collect();
            let im = e.iter().skip(1).step_by(2).cloned().collect();
            Fixture {
                name,
                n: shape[0],
                a,
                re,
                im,
            }
        })
        .collect()
}

fn ill_conditioned(name: &str) -> bool {
    name.contains("near_defective")
        || name.contains("repeated_eigenvalues")
        || name.contains("badly_scaled")
}

/// True if the reference order is fragile: two adjacent eigenvalues (not a conjugate pair)
/// whose moduli agree to within `tol`.
fn order_ambiguous(re: &[f64], im: &[f64], tol: f64) -> bool {
    (1..re.len()).any(|k| {
        let m0 = re[k - 1].hypot(im[k - 1]);
        let m1 = re[k].hypot(im[k]);
        let conj =
            (re[k - 1] - re[k]).abs() <= tol && (im[k - 1] + im[k]).abs() <= tol && im[k - 1] > tol;
        (m0 - m1).abs() <= tol && !conj
    })
}

#[test]
fn fixtures_eigenvalues_match_lapack() {
    let mut report = String::new();
    for f in fixtures() {
        let (re, im) = eigvals(f.n, &f.a).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        check_sorted_and_paired(&re, &im, &f.name);
        check_trace(f.n, &f.a, &re, &im, &f.name);
        let anorm = fro(&f.a).max(1.0e-300);
        let dist = multiset_distance(&re, &im, &f.re, &f.im);
        let rel = dist / anorm;
        let tol = 1e-10;
        let mut pos = None;
        if !ill_conditioned(&f.name) {
            assert!(
                rel <= tol,
                "{}: eigenvalues off by {rel:e}·‖A‖_F (multiset)",
                f.name
            );
            if !order_ambiguous(&f.re, &f.im, 1e-9 * anorm) {
                let worst = (0..f.n)
                    .map(|k| (re[k] - f.re[k]).hypot(im[k] - f.im[k]))
                    .fold(0.0, f64::max)
                    / anorm;
                assert!(
                    worst <= tol,
                    "{}: eigenvalues off by {worst:e}·‖A‖_F (by position)",
                    f.name
                );
                pos = Some(worst);
            }
        }
        report += &format!(
            "{:40} multiset {:9.2e}  position {:?}\n",
            f.name,
            rel,
            pos.map(|p| format!("{p:.2e}"))
        );
    }
    println!("{report}");
}

#[test]
fn fixtures_eigenvectors_backward_error() {
    let mut report = String::new();
    for f in fixtures() {
        let d = eigvecs(f.n, &f.a).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let be = check_decomp(f.n, &f.a, &d, &f.name);
        assert!(be < 1e-12, "{}: backward error {be:e}", f.name);
        check_trace(f.n, &f.a, &d.re, &d.im, &f.name);
        // Same eigenvalues as the eigenvalues-only path (which skips the Schur form).
        let (re, im) = eigvals(f.n, &f.a).unwrap();
        let anorm = fro(&f.a).max(1.0e-300);
        let dist = multiset_distance(&re, &im, &d.re, &d.im) / anorm;
        let tol = if ill_conditioned(&f.name) {
            1e-5
        } else {
            1e-11
        };
        assert!(
            dist <= tol,
            "{}: the two paths disagree by {dist:e}",
            f.name
        );
        report += &format!("{:40} backward error {:9.2e}\n", f.name, be);
    }
    println!("{report}");
}

// ---------------------------------------------------------------------------------------
// Randomized classes

#[derive(Clone, Copy, Debug)]
enum Class {
    Gaussian,
    CyclicPermutation,
    RandomPermutation,
    Repeated,
    RepeatedComplex,
    ClusteredNearOne,
    BadlyScaled,
    Companion,
    RotationBlocks,
    RotatedRotationBlocks,
}

const CLASSES: [Class; 10] = [
    Class::Gaussian,
    Class::CyclicPermutation,
    Class::RandomPermutation,
    Class::Repeated,
    Class::RepeatedComplex,
    Class::ClusteredNearOne,
    Class::BadlyScaled,
    Class::Companion,
    Class::RotationBlocks,
    Class::RotatedRotationBlocks,
];

fn generate(class: Class, n: usize, rng: &mut Rng) -> Vec<f64> {
    match class {
        Class::Gaussian => (0..n * n).map(|_| rng.gauss()).collect(),
        Class::CyclicPermutation => {
            let mut a = vec![0.0; n * n];
            for i in 0..n {
                a[i * n + (i + 1) % n] = 1.0;
            }
            a
        }
        Class::RandomPermutation => {
            let mut p: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                p.swap(i, rng.below(i + 1));
            }
            let mut a = vec![0.0; n * n];
            for i in 0..n {
                a[i * n + p[i]] = 1.0;
            }
            a
        }
        Class::Repeated | Class::RepeatedComplex => {
            // Q D Q⁻¹ with each eigenvalue (or 2×2 rotation-scaling block) repeated 4 times.
            let mut d = vec![0.0; n * n];
            let mut i = 0;
            while i < n {
                let complex = matches!(class, Class::RepeatedComplex) && i + 1 < n;
                let (x, y) = (rng.gauss(), rng.gauss().abs() + 0.1);
                let reps = 4;
                for _ in 0..reps {
                    if i >= n {
                        break;
                    }
                    if complex && i + 1 < n {
                        d[i * n + i] = x;
                        d[i * n + i + 1] = y;
                        d[(i + 1) * n + i] = -y;
                        d[(i + 1) * n + i + 1] = x;
                        i += 2;
                    } else {
                        d[i * n + i] = x;
                        i += 1;
                    }
                }
            }
            // Well-conditioned Q: I + small Gaussian.
            let q: Vec<f64> = (0..n * n)
                .map(|k| if k / n == k % n { 1.0 } else { 0.0 } + 0.3 * rng.gauss() / (n as f64).sqrt())
                .collect();
            matmul(n, &matmul(n, &q, &d), &inverse(n, &q))
        }
        Class::ClusteredNearOne => {
            // GRU-like Jacobian: diag(z) + diag(1 − z) · small dense part, z close to 1.
            let z: Vec<f64> = (0..n)
                .map(|_| 1.0 - 10f64.powf(-1.0 - 3.0 * rng.uniform()))
                .collect();
            let mut a = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] = (1.0 - z[i]) * 0.5 * rng.gauss() / (n as f64).sqrt();
                }
                a[i * n + i] += z[i];
            }
            a
        }
        Class::BadlyScaled => {
            let d: Vec<f64> = (0..n)
                .map(|_| 10f64.powf(-6.0 + 12.0 * rng.uniform()))
                .collect();
            let mut a: Vec<f64> = (0..n * n).map(|_| rng.gauss()).collect();
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] *= d[i] / d[j];
                }
            }
            a
        }
        Class::Companion => {
            let mut a = vec![0.0; n * n];
            for j in 0..n {
                a[j] = -rng.gauss();
            }
            for i in 1..n {
                a[i * n + i - 1] = 1.0;
            }
            a
        }
        Class::RotationBlocks | Class::RotatedRotationBlocks => {
            let mut a = vec![0.0; n * n];
            let mut i = 0;
            while i + 1 < n {
                let th = 2.0 * std::f64::consts::PI * rng.uniform();
                let r = 0.5 + rng.uniform();
                a[i * n + i] = r * th.cos();
                a[i * n + i + 1] = -r * th.sin();
                a[(i + 1) * n + i] = r * th.sin();
                a[(i + 1) * n + i + 1] = r * th.cos();
                i += 2;
            }
            if i < n {
                a[i * n + i] = rng.gauss();
            }
            if matches!(class, Class::RotatedRotationBlocks) {
                let q = random_orthogonal(n, rng);
                a = matmul(n, &matmul(n, &q, &a), &transpose(n, &q));
            }
            a
        }
    }
}

fn class_ill_conditioned(class: Class) -> bool {
    matches!(
        class,
        Class::Repeated | Class::RepeatedComplex | Class::BadlyScaled | Class::Companion
    )
}

#[test]
fn randomized_classes() {
    // (sizes, seeds) per pass; larger sizes with fewer seeds to keep debug builds quick.
    let plan: &[(&[usize], u64)] = &[
        (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17], 6),
        (&[20, 24, 31, 32, 33], 2),
        (&[48, 64], 1),
    ];
    let mut worst = vec![0.0f64; CLASSES.len()];
    let mut count = 0;
    for (ci, &class) in CLASSES.iter().enumerate() {
        for &(sizes, seeds) in plan {
            for &n in sizes {
                for seed in 0..seeds {
                    let mut rng =
                        Rng::new(seed * 1_000_003 + n as u64 * 7919 + ci as u64 * 104_729);
                    let a = generate(class, n, &mut rng);
                    let label = format!("{class:?} n={n} seed={seed}");
                    let d = eigvecs(n, &a).unwrap_or_else(|e| panic!("{label}: {e}"));
                    let be = check_decomp(n, &a, &d, &label);
                    assert!(be < 1e-12, "{label}: backward error {be:e}");
                    check_trace(n, &a, &d.re, &d.im, &label);
                    let (re, im) = eigvals(n, &a).unwrap_or_else(|e| panic!("{label}: {e}"));
                    check_sorted_and_paired(&re, &im, &label);
                    check_trace(n, &a, &re, &im, &label);
                    if !class_ill_conditioned(class) {
                        let dist = multiset_distance(&re, &im, &d.re, &d.im) / fro(&a).max(1e-300);
                        assert!(dist < 1e-11, "{label}: paths disagree by {dist:e}");
                    }
                    worst[ci] = worst[ci].max(be);
                    count += 1;
                }
            }
        }
    }
    for (ci, class) in CLASSES.iter().enumerate() {
        println!("{class:?}: worst backward error {:.2e}", worst[ci]);
    }
    println!("{count} random matrices");
}

#[test]
fn randomized_n128() {
    for (ci, class) in CLASSES.into_iter().enumerate() {
        let n = 128;
        let mut rng = Rng::new(42 + ci as u64);
        let a = generate(class, n, &mut rng);
        let d = eigvecs(n, &a).unwrap();
        let be = check_decomp(n, &a, &d, "n128");
        assert!(be < 1e-12, "{class:?} n=128: backward error {be:e}");
        check_trace(n, &a, &d.re, &d.im, "n128");
        println!("{class:?} n=128: backward error {be:.2e}");
    }
}

/// Badly scaled `A = D G D⁻¹` (D spanning 1e-6..1e6): balancing must recover the accuracy
/// of the well-scaled `G`. Checks eigenvalues against those of `G` and the backward error
/// measured in the scaling of `G`: `‖D⁻¹(A v − λ v)‖ / (‖G‖_F ‖D⁻¹ v‖)`.
#[test]
fn badly_scaled_recovers_accuracy() {
    let mut worst_val = 0.0f64;
    let mut worst_be = 0.0f64;
    for n in [2usize, 3, 5, 8, 16, 33, 64] {
        for seed in 0..4u64 {
            let mut rng = Rng::new(seed + 1000 * n as u64);
            let g: Vec<f64> = (0..n * n).map(|_| rng.gauss()).collect();
            let d: Vec<f64> = (0..n)
                .map(|_| 10f64.powf(-6.0 + 12.0 * rng.uniform()))
                .collect();
            let a: Vec<f64> = (0..n * n).map(|k| g[k] * d[k / n] / d[k % n]).collect();
            let gn = fro(&g);
            let (rg, ig) = eigvals(n, &g).unwrap();
            let (ra, ia) = eigvals(n, &a).unwrap();
            let dist = multiset_distance(&ra, &ia, &rg, &ig) / gn;
            assert!(
                dist < 1e-10,
                "n={n} seed={seed}: eigenvalues off by {dist:e}·‖G‖"
            );
            worst_val = worst_val.max(dist);
            let dv = eigvecs(n, &a).unwrap();
            for k in 0..n {
                let (lr, li) = (dv.re[k], dv.im[k]);
                let (mut r2, mut w2) = (0.0, 0.0);
                for i in 0..n {
                    let (mut sr, mut si) = (0.0, 0.0);
                    for j in 0..n {
                        sr += a[i * n + j] * dv.vr[j * n + k];
                        si += a[i * n + j] * dv.vi[j * n + k];
                    }
                    sr -= lr * dv.vr[i * n + k] - li * dv.vi[i * n + k];
                    si -= lr * dv.vi[i * n + k] + li * dv.vr[i * n + k];
                    r2 += (sr / d[i]).powi(2) + (si / d[i]).powi(2);
                    w2 += (dv.vr[i * n + k] / d[i]).powi(2) + (dv.vi[i * n + k] / d[i]).powi(2);
                }
                let be = r2.sqrt() / (gn * w2.sqrt());
                assert!(
                    be < 1e-12,
                    "n={n} seed={seed} k={k}: scaled backward error {be:e}"
                );
                worst_be = worst_be.max(be);
            }
        }
    }
    println!(
        "badly scaled: worst eigenvalue error {worst_val:.2e}·‖G‖, worst scaled backward error {worst_be:.2e}"
    );
}

/// Exact eigenvalues of known matrices: a cyclic permutation has the n-th roots of unity.
#[test]
fn cyclic_permutation_roots_of_unity() {
    for n in [2usize, 3, 5, 8, 13, 32, 100] {
        let a = generate(Class::CyclicPermutation, n, &mut Rng::new(0));
        let (re, im) = eigvals(n, &a).unwrap();
        let rre: Vec<f64> = (0..n)
            .map(|k| (2.0 * std::f64::consts::PI * k as f64 / n as f64).cos())
            .collect();
        let rim: Vec<f64> = (0..n)
            .map(|k| (2.0 * std::f64::consts::PI * k as f64 / n as f64).sin())
            .collect();
        let dist = multiset_distance(&re, &im, &rre, &rim);
        assert!(dist < 1e-12 * n as f64, "n={n}: {dist:e}");
    }
}

/// n = 512, Gaussian, eigenvalues only (≈1.3 Gflop): about 4 s in debug builds, 0.3 s in
/// release.
#[test]
fn large_512_eigenvalues() {
    let n = 512;
    let mut rng = Rng::new(512);
    let a: Vec<f64> = (0..n * n).map(|_| rng.gauss()).collect();
    let t = std::time::Instant::now();
    let (re, im) = eigvals(n, &a).unwrap();
    println!("n=512 eigenvalues: {:?}", t.elapsed());
    check_sorted_and_paired(&re, &im, "n512");
    check_trace(n, &a, &re, &im, "n512");
    // Circular law: spectral radius ≈ √n.
    let rho = spectral_radius(&re, &im);
    assert!(
        rho > 0.8 * (n as f64).sqrt() && rho < 1.2 * (n as f64).sqrt(),
        "ρ = {rho}"
    );
}

/// n = 512 with eigenvectors (≈3.5 Gflop plus an O(n³) check): 1 s in release but ~12 s
/// in debug builds, hence ignored by default. Run with
/// `cargo test --release --test eig -- --ignored`.
#[test]
#[ignore = "slow in debug builds; run with --release -- --ignored"]
fn large_512_eigenvectors() {
    let n = 512;
    let mut rng = Rng::new(512);
    let a: Vec<f64> = (0..n * n).map(|_| rng.gauss()).collect();
    let t = std::time::Instant::now();
    let d = eigvecs(n, &a).unwrap();
    println!("n=512 eigenvalues and eigenvectors: {:?}", t.elapsed());
    let be = check_decomp(n, &a, &d, "n512");
    assert!(be < 1e-12, "backward error {be:e}");
    check_trace(n, &a, &d.re, &d.im, "n512");
    let (re, im) = eigvals(n, &a).unwrap();
    let dist = multiset_distance(&re, &im, &d.re, &d.im) / fro(&a);
    assert!(dist < 1e-11, "paths disagree by {dist:e}");
    println!("n=512: backward error {be:.2e}");
}

// ---------------------------------------------------------------------------------------
// Edge cases

#[test]
fn one_by_one() {
    let (re, im) = eigvals(1, &[-3.5]).unwrap();
    assert_eq!((re[0], im[0]), (-3.5, 0.0));
    let d = eigvecs(1, &[-3.5]).unwrap();
    assert_eq!((d.re[0], d.im[0], d.vr[0], d.vi[0]), (-3.5, 0.0, 1.0, 0.0));
    let (re, im) = eigvals_fixed(&[[2.0f32]]).unwrap();
    assert_eq!((re[0], im[0]), (2.0, 0.0));
}

#[test]
fn two_by_two_complex_pair() {
    // [[1, -2], [2, 1]]: 1 ± 2i.
    let a = [1.0, -2.0, 2.0, 1.0];
    let d = eigvecs(2, &a).unwrap();
    assert!((d.re[0] - 1.0).abs() < 1e-15 && (d.im[0] - 2.0).abs() < 1e-15);
    assert_eq!(d.re[1], d.re[0]);
    assert_eq!(d.im[1], -d.im[0]);
    assert!(check_decomp(2, &a, &d, "2x2") < 1e-15);
    // A rotation-like pair with unequal off-diagonals.
    let a = [0.5, -3.0, 0.25, 0.5];
    let d = eigvecs(2, &a).unwrap();
    let w = (3.0f64 * 0.25).sqrt();
    assert!((d.re[0] - 0.5).abs() < 1e-15 && (d.im[0] - w).abs() < 1e-15);
    assert!(check_decomp(2, &a, &d, "2x2b") < 1e-15);
    // Real 2×2 with distinct eigenvalues 3 and −1.
    let a = [1.0, 2.0, 2.0, 1.0];
    let (re, im) = eigvals(2, &a).unwrap();
    assert!((re[0] - 3.0).abs() < 1e-15 && (re[1] + 1.0).abs() < 1e-15);
    assert_eq!(im, vec![0.0, 0.0]);
}

#[test]
fn zero_and_identity() {
    for n in [1usize, 2, 3, 7, 16, 40] {
        let z = vec![0.0; n * n];
        let d = eigvecs(n, &z).unwrap();
        assert!(d.re.iter().chain(&d.im).all(|&x| x == 0.0));
        check_decomp(n, &z, &d, "zero");
        let mut id = vec![0.0; n * n];
        for i in 0..n {
            id[i * n + i] = 1.0;
        }
        let d = eigvecs(n, &id).unwrap();
        assert!(d.re.iter().all(|&x| x == 1.0) && d.im.iter().all(|&x| x == 0.0));
        assert!(check_decomp(n, &id, &d, "identity") == 0.0);
        // The eigenvectors of the identity are the unit vectors.
        for k in 0..n {
            let ones = (0..n).filter(|&i| d.vr[i * n + k] == 1.0).count();
            assert_eq!(ones, 1);
        }
    }
}

#[test]
fn upper_triangular_and_hessenberg() {
    let mut rng = Rng::new(7);
    for n in [2usize, 3, 5, 10, 25] {
        // Upper triangular: eigenvalues are the diagonal, exactly.
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in i..n {
                a[i * n + j] = rng.gauss();
            }
        }
        let mut diag: Vec<f64> = (0..n).map(|i| a[i * n + i]).collect();
        let d = eigvecs(n, &a).unwrap();
        diag.sort_by(|x, y| y.abs().total_cmp(&x.abs()).then(y.total_cmp(x)));
        assert_eq!(d.re, diag, "n={n}");
        assert!(d.im.iter().all(|&x| x == 0.0));
        assert!(check_decomp(n, &a, &d, "triangular") < 1e-14);
        // Lower triangular too (isolated by the column permutation).
        let at = transpose(n, &a);
        let (re, _) = eigvals(n, &at).unwrap();
        assert_eq!(re, diag);
        // Already Hessenberg.
        let mut h = vec![0.0; n * n];
        for i in 0..n {
            for j in i.saturating_sub(1)..n {
                h[i * n + j] = rng.gauss();
            }
        }
        let d = eigvecs(n, &h).unwrap();
        assert!(check_decomp(n, &h, &d, "hessenberg") < 1e-13);
        check_trace(n, &h, &d.re, &d.im, "hessenberg");
    }
}

#[test]
fn jordan_block_and_defective() {
    // A Jordan block: one eigenvalue of multiplicity n; the eigenvectors are all ≈ e₁.
    for n in [2usize, 3, 6, 12] {
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            a[i * n + i] = 2.0;
            if i + 1 < n {
                a[i * n + i + 1] = 1.0;
            }
        }
        let d = eigvecs(n, &a).unwrap();
        assert!(d.re.iter().all(|&x| x == 2.0));
        assert!(check_decomp(n, &a, &d, "jordan") < 1e-14);
    }
}

#[test]
fn extreme_magnitudes() {
    // A·2^k for huge and tiny k (down to subnormal entries): eigenvalues scale by 2^k and the
    // eigenvectors are those of A.
    let n = 12;
    let mut rng = Rng::new(5);
    let g: Vec<f64> = (0..n * n).map(|_| rng.gauss()).collect();
    // Subnormal entries: the eigenvalues themselves are subnormal (a few bits of precision),
    // so only ask for a clean, sorted result.
    {
        let s = 0.5f64.powi(1070);
        let a: Vec<f64> = g.iter().map(|&x| x * s).collect();
        let d = eigvecs(n, &a).unwrap();
        // Scaled back up (exact) so that the test's own |λ|² does not underflow.
        let up = |v: &[f64]| v.iter().map(|&x| x / s).collect::<Vec<f64>>();
        check_sorted_and_paired(&up(&d.re), &up(&d.im), "2^-1070");
        assert!(d.re.iter().any(|&x| x != 0.0));
        assert!(d.vr.iter().chain(&d.vi).all(|x| x.is_finite()));
    }
    for k in [-1000i32, -600, -300, 300, 600, 1000] {
        let s = if k < 0 { 0.5f64.powi(-k) } else { 2f64.powi(k) };
        assert!(s > 0.0 && s.is_finite());
        let a: Vec<f64> = g.iter().map(|&x| x * s).collect();
        // The matrix actually represented (subnormals lose bits), scaled back exactly.
        let b: Vec<f64> = a.iter().map(|&x| x / s).collect();
        let d = eigvecs(n, &a).unwrap_or_else(|e| panic!("2^{k}: {e}"));
        let back = Decomp {
            re: d.re.iter().map(|&x| x / s).collect(),
            im: d.im.iter().map(|&x| x / s).collect(),
            vr: d.vr.clone(),
            vi: d.vi.clone(),
        };
        let be = check_decomp(n, &b, &back, &format!("2^{k}"));
        assert!(be < 1e-12, "2^{k}: backward error {be:e}");
        let (re, im) = eigvals(n, &a).unwrap();
        let (rb, ib) = eigvals(n, &b).unwrap();
        let re: Vec<f64> = re.iter().map(|&x| x / s).collect();
        let im: Vec<f64> = im.iter().map(|&x| x / s).collect();
        assert!(
            multiset_distance(&re, &im, &rb, &ib) < 1e-12 * fro(&b),
            "2^{k}"
        );
    }
    // Entries near the overflow threshold: no overflow inside, finite results.
    let a: Vec<f64> = g.iter().map(|&x| x * 1e306).collect();
    let (re, im) = eigvals(n, &a).unwrap();
    assert!(re.iter().chain(&im).all(|x| x.is_finite()));
}

#[test]
fn f32_input_matches_f64() {
    let mut rng = Rng::new(11);
    for n in [1usize, 3, 8, 21] {
        let a32: Vec<f32> = (0..n * n).map(|_| rng.gauss() as f32).collect();
        let a64: Vec<f64> = a32.iter().map(|&x| x as f64).collect();
        let mut work = vec![0.0; work_len(n, true)];
        let (mut re, mut im) = (vec![0.0; n], vec![0.0; n]);
        let (mut vr, mut vi) = (vec![0.0; n * n], vec![0.0; n * n]);
        eig(
            n,
            &a32,
            &mut work,
            &mut re,
            &mut im,
            Some((&mut vr, &mut vi)),
        )
        .unwrap();
        let d = eigvecs(n, &a64).unwrap();
        assert_eq!((re, im, vr, vi), (d.re, d.im, d.vr, d.vi));
    }
    // Const-generic convenience, f32 and f64.
    let a = [[0.0f32, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.5]];
    let (re, im) = eigvals_fixed(&a).unwrap();
    assert!((re[0]).abs() < 1e-15 && (im[0] - 1.0).abs() < 1e-15 && (im[1] + 1.0).abs() < 1e-15);
    assert_eq!((re[2], im[2]), (0.5, 0.0));
    let b: [[f64; 3]; 3] = core::array::from_fn(|i| core::array::from_fn(|j| a[i][j] as f64));
    assert_eq!(eigvals_fixed(&b).unwrap(), (re, im));
}

#[test]
fn eigvals_fixed_matches_eig() {
    let mut rng = Rng::new(99);
    let a: [[f64; 16]; 16] = core::array::from_fn(|_| core::array::from_fn(|_| rng.gauss()));
    let flat: Vec<f64> = a.iter().flatten().cloned().collect();
    let (re, im) = eigvals_fixed(&a).unwrap();
    let (r2, i2) = eigvals(16, &flat).unwrap();
    assert_eq!((re.to_vec(), im.to_vec()), (r2, i2));
    assert_eq!(
        eigvals_fixed::<f64, 0>(&[]),
        Err(EigError::BadLength { what: "n", need: 1 })
    );
}

#[test]
fn non_finite_input() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut a = vec![1.0; 9];
        a[4] = bad;
        let mut work = vec![0.0; work_len(3, true)];
        let (mut re, mut im) = (vec![7.0; 3], vec![7.0; 3]);
        let (mut vr, mut vi) = (vec![7.0; 9], vec![7.0; 9]);
        let r = eig(3, &a, &mut work, &mut re, &mut im, Some((&mut vr, &mut vi)));
        assert_eq!(r, Err(EigError::NotFinite));
        assert!(
            re.iter()
                .chain(&im)
                .chain(&vr)
                .chain(&vi)
                .all(|&x| x == 7.0),
            "outputs touched"
        );
        assert_eq!(eigvals(3, &a), Err(EigError::NotFinite));
    }
    let a = [[1.0f32, f32::NAN], [0.0, 1.0]];
    assert_eq!(eigvals_fixed(&a), Err(EigError::NotFinite));
}

#[test]
fn bad_lengths() {
    let a = [1.0f64; 9];
    let mut work = vec![0.0; work_len(3, true)];
    let (mut re, mut im) = (vec![0.0; 3], vec![0.0; 3]);
    let (mut vr, mut vi) = (vec![0.0; 9], vec![0.0; 9]);
    let bad = |what, need| Err(EigError::BadLength { what, need });
    assert_eq!(eig(0, &a, &mut work, &mut re, &mut im, None), bad("n", 1));
    assert_eq!(
        eig(3, &a[..8], &mut work, &mut re, &mut im, None),
        bad("a", 9)
    );
    assert_eq!(
        eig(
            3,
            &a,
            &mut work[..work_len(3, false) - 1],
            &mut re,
            &mut im,
            None
        ),
        bad("work", work_len(3, false))
    );
    assert_eq!(
        eig(
            3,
            &a,
            &mut work[..work_len(3, false)],
            &mut re,
            &mut im,
            Some((&mut vr, &mut vi))
        ),
        bad("work", work_len(3, true))
    );
    assert_eq!(
        eig(3, &a, &mut work, &mut re[..2], &mut im, None),
        bad("re", 3)
    );
    assert_eq!(
        eig(3, &a, &mut work, &mut re, &mut im[..2], None),
        bad("im", 3)
    );
    assert_eq!(
        eig(
            3,
            &a,
            &mut work,
            &mut re,
            &mut im,
            Some((&mut vr[..8], &mut vi))
        ),
        bad("vr", 9)
    );
    assert_eq!(
        eig(
            3,
            &a,
            &mut work,
            &mut re,
            &mut im,
            Some((&mut vr, &mut vi[..8]))
        ),
        bad("vi", 9)
    );
    // Huge n: no overflow, no panic.
    assert!(matches!(
        eig(usize::MAX, &a, &mut work, &mut re, &mut im, None),
        Err(EigError::BadLength { .. })
    ));
    assert!(matches!(
        eig(1 << 40, &a, &mut work, &mut re, &mut im, None),
        Err(EigError::BadLength { .. })
    ));
    // The exact lengths are enough, and longer slices are fine.
    assert_eq!(
        eig(
            3,
            &a,
            &mut work[..work_len(3, false)],
            &mut re,
            &mut im,
            None
        ),
        Ok(())
    );
    let mut longer = vec![0.0; 100];
    assert_eq!(eig(3, &a, &mut longer, &mut re, &mut im, None), Ok(()));
    assert_eq!(work_len(3, false), 9 + 18);
    assert_eq!(work_len(3, true), 18 + 18);
    assert_eq!(work_len(usize::MAX, true), usize::MAX);
}

#[test]
fn iteration_cap_reports_no_convergence() {
    // A cyclic permutation needs exceptional shifts (after 10 sweeps) to make progress.
    let n = 8;
    let a = generate(Class::CyclicPermutation, n, &mut Rng::new(0));
    let mut work = vec![0.0; work_len(n, true)];
    let (mut re, mut im) = (vec![7.0; n], vec![7.0; n]);
    let r = eig_with_cap(n, &a, &mut work, &mut re, &mut im, None, 1);
    assert_eq!(r, Err(EigError::NoConvergence { iterations: 1 }));
    assert!(re.iter().chain(&im).all(|&x| x == 7.0), "outputs touched");
    let (mut vr, mut vi) = (vec![7.0; n * n], vec![7.0; n * n]);
    let r = eig_with_cap(
        n,
        &a,
        &mut work,
        &mut re,
        &mut im,
        Some((&mut vr, &mut vi)),
        5,
    );
    assert!(matches!(r, Err(EigError::NoConvergence { iterations }) if iterations >= 5));
    // Cap 0 on a matrix that is not triangular: no sweep allowed.
    let g: Vec<f64> = {
        let mut rng = Rng::new(3);
        (0..25).map(|_| rng.gauss()).collect()
    };
    let mut work = vec![0.0; work_len(5, false)];
    assert_eq!(
        eig_with_cap(5, &g, &mut work, &mut re, &mut im, None, 0),
        Err(EigError::NoConvergence { iterations: 0 })
    );
    // With the default cap both converge.
    assert!(eigvals(n, &a).is_ok() && eigvals(5, &g).is_ok());
    // A generous explicit cap behaves like the default.
    let mut work = vec![0.0; work_len(n, false)];
    assert_eq!(
        eig_with_cap(n, &a, &mut work, &mut re, &mut im, None, 1000),
        Ok(())
    );
    assert_eq!((re.clone(), im.clone()), eigvals(n, &a).unwrap());
}

#[test]
fn error_messages() {
    let msgs = [
        EigError::NotFinite.to_string(),
        EigError::NoConvergence { iterations: 42 }.to_string(),
        EigError::BadLength { what: "n", need: 1 }.to_string(),
        EigError::BadLength {
            what: "work",
            need: 27,
        }
        .to_string(),
    ];
    assert!(msgs[0].contains("NaN"));
    assert!(msgs[1].contains("42") && msgs[1].contains("converge"));
    assert!(msgs[2].contains("at least 1"));
    assert!(msgs[3].contains("work") && msgs[3].contains("27"));
    let e: &dyn std::error::Error = &EigError::NotFinite;
    assert!(!e.to_string().is_empty());
}

// ---------------------------------------------------------------------------------------
// Stability helpers

#[test]
fn stability_helpers() {
    let re = [0.5, 0.0, 0.0, -0.9];
    let im = [0.0, 0.6, -0.6, 0.0];
    assert_eq!(spectral_radius(&re, &im), 0.9);
    assert!(is_stable(&re, &im));
    assert_eq!(n_unstable(&re, &im), 0);

    let re = [1.5, 0.6, 0.6, 1.0, -0.2];
    let im = [0.0, 0.9, -0.9, 0.0, 0.0];
    assert!((spectral_radius(&re, &im) - 1.5).abs() < 1e-15);
    assert!(!is_stable(&re, &im));
    // 1.5 and the pair |0.6 ± 0.9i| ≈ 1.08 are unstable; exactly 1 is not counted.
    assert_eq!(n_unstable(&re, &im), 3);

    // |λ| = 1 exactly: not stable, not unstable (marginal).
    assert!(!is_stable(&[1.0], &[0.0]));
    assert!(!is_stable(&[0.6], &[0.8]));
    assert_eq!(n_unstable(&[1.0, -1.0], &[0.0, 0.0]), 0);

    assert_eq!(spectral_radius(&[], &[]), 0.0);
    assert!(is_stable(&[], &[]));
    assert!(spectral_radius(&[f64::NAN], &[0.0]).is_nan());
    assert!(!is_stable(&[0.1, f64::NAN], &[0.0, 0.0]));

    // From a decomposition: a flip-flop-like saddle with 2 unstable modes.
    let a = [1.2, 0.0, 0.0, 0.0, -1.1, 0.0, 0.0, 0.0, 0.3];
    let (re, im) = eigvals(3, &a).unwrap();
    assert_eq!(n_unstable(&re, &im), 2);
    assert!((spectral_radius(&re, &im) - 1.2).abs() < 1e-15);
}

/// Entries 600 orders of magnitude apart: balancing (exact powers of 2) must bring them
/// together before anything can round them away. LAPACK's dgeev returns 0, 0 for the first
/// and loses the small eigenvalue of the second.
#[test]
fn extreme_scales_keep_their_eigenvalues() {
    type Case = (&'static str, [f64; 4], [(f64, f64); 2]);
    let cases: [Case; 3] = [
        (
            "[[0, 1e300], [1e-300, 0]]",
            [0.0, 1e300, 1e-300, 0.0],
            [(1.0, 0.0), (-1.0, 0.0)],
        ),
        (
            "diag(1e300, 1e-300)",
            [1e300, 0.0, 0.0, 1e-300],
            [(1e300, 0.0), (1e-300, 0.0)],
        ),
        (
            "[[0, -1e300], [1e-300, 0]]",
            [0.0, -1e300, 1e-300, 0.0],
            [(0.0, 1.0), (0.0, -1.0)],
        ),
    ];
    for (name, a, want) in cases {
        let mut work = vec![0.0; work_len(2, true)];
        let (mut re, mut im) = ([0.0; 2], [0.0; 2]);
        let (mut vr, mut vi) = ([0.0f64; 4], [0.0f64; 4]);
        eig(2, &a, &mut work, &mut re, &mut im, Some((&mut vr, &mut vi))).unwrap();
        for (k, &(wr, wi)) in want.iter().enumerate() {
            let scale = wr.abs().max(wi.abs());
            assert!(
                (re[k] - wr).abs() <= 1e-15 * scale && (im[k] - wi).abs() <= 1e-15 * scale,
                "{name}: eigenvalue {k} = {} + {}i, want {wr} + {wi}i",
                re[k],
                im[k]
            );
            // Unit eigenvector with A v = λ v (relative to the entries it meets).
            let v = [(vr[k], vi[k]), (vr[2 + k], vi[2 + k])];
            let norm = (v[0].0.powi(2) + v[0].1.powi(2) + v[1].0.powi(2) + v[1].1.powi(2)).sqrt();
            assert!((norm - 1.0).abs() < 1e-12, "{name}: |v{k}| = {norm}");
        }
        // Eigenvalues only: the same answer.
        let mut w2 = vec![0.0; work_len(2, false)];
        let (mut re2, mut im2) = ([0.0; 2], [0.0; 2]);
        eig(2, &a, &mut w2, &mut re2, &mut im2, None).unwrap();
        assert_eq!((re, im), (re2, im2), "{name}");
    }
}
