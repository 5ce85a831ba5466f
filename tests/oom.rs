//! Out of memory is a status, not an abort: each case runs in a child process (this test
//! binary again) under an address-space limit (`ulimit -v`) that the caller's own buffers fit
//! in and the library's do not, and must print `FPF_OUT_OF_MEMORY` and exit normally.

use std::process::Command;
use std::ptr::null_mut;

use fpf::*;

/// (case, address-space limit in MiB).
const CASES: &[(&str, u64)] = &[
    ("rnn_new_16000_hidden", 1024),
    ("pca_fit_8192_dims", 1024),
    ("eig_4096_with_vectors", 640),
    ("flipflop_generate_2_25_values", 1024),
    ("find_2_21_states", 512),
    ("train_large_lstm_batch", 1024),
];

fn big(n: usize) -> Vec<f64> {
    vec![0.1; n]
}

fn last_error() -> String {
    let n = unsafe { fpf_last_error_message(null_mut(), 0) };
    let mut buf = vec![0u8; n + 1];
    unsafe { fpf_last_error_message(buf.as_mut_ptr().cast(), buf.len()) };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Runs one case in this (limited) process; returns the status.
fn run_case(case: &str) -> fpf_status {
    unsafe {
        match case {
            "rnn_new_16000_hidden" => {
                let mut rnn = null_mut();
                let st = fpf_rnn_new(FPF_CELL_TANH, 3, 16000, 3, 1, &mut rnn);
                fpf_rnn_free(rnn);
                st
            }
            "pca_fit_8192_dims" => {
                let data = big(3 * 8192);
                let mut pca = null_mut();
                let st = fpf_pca_fit(data.as_ptr(), 3, 8192, 2, &mut pca);
                fpf_pca_free(pca);
                st
            }
            "eig_4096_with_vectors" => {
                let n = 4096;
                let a = big(n * n); // 128 MiB, the caller's
                let (mut re, mut im) = (big(n), big(n));
                let (mut vr, mut vi) = (big(n * n), big(n * n));
                fpf_eig(
                    n,
                    a.as_ptr(),
                    re.as_mut_ptr(),
                    im.as_mut_ptr(),
                    vr.as_mut_ptr(),
                    vi.as_mut_ptr(),
                )
            }
            "flipflop_generate_2_25_values" => {
                let (mut x, mut y) = (big(1 << 25), big(1 << 25)); // 512 MiB, the caller's
                fpf_flipflop_generate(
                    1 << 5,
                    1 << 10,
                    0.5,
                    1 << 10,
                    1,
                    x.as_mut_ptr(),
                    y.as_mut_ptr(),
                )
            }
            "find_2_21_states" => {
                let mut rnn = null_mut();
                assert_eq!(
                    fpf_rnn_new(FPF_CELL_TANH, 3, 16, 3, 1, &mut rnn),
                    fpf_status::FPF_OK
                );
                let inits = big((1 << 21) * 16); // 256 MiB, the caller's
                let mut o = std::mem::MaybeUninit::<fpf_finder_options>::uninit();
                fpf_finder_options_default(o.as_mut_ptr());
                let o = o.assume_init();
                let mut fps = null_mut();
                let st = fpf_find_fixed_points(
                    rnn,
                    &o,
                    inits.as_ptr(),
                    1 << 21,
                    [0.0; 3].as_ptr(),
                    1,
                    &mut fps,
                );
                fpf_fixed_points_free(fps);
                fpf_rnn_free(rnn);
                st
            }
            "train_large_lstm_batch" => {
                let mut rnn = null_mut();
                assert_eq!(
                    fpf_rnn_new(FPF_CELL_LSTM, 3, 256, 3, 1, &mut rnn),
                    fpf_status::FPF_OK
                );
                let (n, t) = (1 << 11, 1 << 8);
                let (x, y) = (big(n * t * 3), big(n * t * 3)); // 2 × 12 MiB
                let mut o = std::mem::MaybeUninit::<fpf_train_options>::uninit();
                fpf_train_options_default(o.as_mut_ptr());
                let mut o = o.assume_init();
                o.batch_size = n; // the BPTT workspace: n × t × (2H + cache) values, ~ 6 GiB
                o.max_epochs = 1;
                let st = fpf_train(
                    rnn,
                    &o,
                    x.as_ptr(),
                    y.as_ptr(),
                    n,
                    t,
                    std::ptr::null(),
                    std::ptr::null(),
                    0,
                    None,
                    null_mut(),
                    null_mut(),
                );
                fpf_rnn_free(rnn);
                st
            }
            _ => panic!("unknown case {case}"),
        }
    }
}

#[test]
fn out_of_memory_is_a_status_under_an_address_space_limit() {
    if let Ok(case) = std::env::var("FPF_OOM_CASE") {
        let st = run_case(&case);
        println!("case {case}: status {st:?}: {}", last_error());
        return;
    }
    let exe = std::env::current_exe().unwrap();
    for &(case, mib) in CASES {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "ulimit -v {}; exec \"$0\" --exact out_of_memory_is_a_status_under_an_address_space_limit --nocapture --test-threads 1",
                mib * 1024
            ))
            .arg(&exe)
            .env("FPF_OOM_CASE", case)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{case}: the process did not exit normally ({:?}):\n{stdout}\n{stderr}",
            out.status
        );
        assert!(
            stdout.contains(&format!(
                "case {case}: status FPF_OUT_OF_MEMORY: out of memory"
            )),
            "{case}:\n{stdout}\n{stderr}"
        );
    }
}
