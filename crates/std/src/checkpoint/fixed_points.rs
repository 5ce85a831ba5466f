//! The fixed-point file codec (std): every field of [`FixedPoints`], optional ones when present.

use super::{
    ArrayData, ArrayName, CheckpointError, Elem, FileKind, Opened, Result, Scalar, Spec,
    encode_raw, open, raw_len, walk,
};
use crate::analysis::FixedPoints;
use crate::find::newton::NewtonOutcome;

/// Arrays of a fixed-point file, in file order. The first nine are required.
const SPECS: [Spec; 19] = {
    const fn s(name: &'static str, elem: Elem, required: bool) -> Spec {
        Spec {
            name,
            elem,
            required,
        }
    }
    [
        s("xstar", Elem::F64, true),
        s("f_xstar", Elem::F64, true),
        s("x_init", Elem::F64, true),
        s("inputs", Elem::F64, true),
        s("qstar", Elem::F64, true),
        s("dq", Elem::F64, true),
        s("n_iters", Elem::U64, true),
        s("newton", Elem::U8, true),
        s("is_slow", Elem::U8, true),
        s("j_xstar", Elem::F64, false),
        s("dfdu", Elem::F64, false),
        s("eigval_re", Elem::F64, false),
        s("eigval_im", Elem::F64, false),
        s("eigvec_re", Elem::F64, false),
        s("eigvec_im", Elem::F64, false),
        s("is_stable", Elem::U8, false),
        s("n_unstable", Elem::U64, false),
        s("min_period", Elem::U64, false),
        s("cond_id", Elem::I64, false),
    ]
};

/// Row widths (elements per point) of each array of [`SPECS`].
fn widths(s: u64, i: u64) -> Option<[u64; 19]> {
    let ss = s.checked_mul(s)?;
    let si = s.checked_mul(i)?;
    Some([s, s, s, i, 1, 1, 1, 1, 1, ss, si, s, s, ss, ss, 1, 1, 1, 1])
}

fn expected_lens(n: u64, s: u64, i: u64) -> Option<[u64; 19]> {
    let w = widths(s, i)?;
    let mut out = [0u64; 19];
    for (o, w) in out.iter_mut().zip(w) {
        *o = n.checked_mul(w)?;
    }
    Some(out)
}

/// Encodes fixed points. Every array's length must agree with `n`, `n_states` and `n_inputs`
/// ([`CheckpointError::ArrayLength`] otherwise); values may be any f64 (NaN included).
pub fn encode_fixed_points(fp: &FixedPoints) -> Result<Vec<u8>> {
    type A<'a> = ArrayData<'a, f64>;
    fn opt_f(v: &Option<Vec<f64>>) -> Option<ArrayData<'_, f64>> {
        v.as_deref().map(ArrayData::F64)
    }
    let all: [Option<A<'_>>; 19] = [
        Some(A::F64(&fp.xstar)),
        Some(A::F64(&fp.f_xstar)),
        Some(A::F64(&fp.x_init)),
        Some(A::F64(&fp.inputs)),
        Some(A::F64(&fp.qstar)),
        Some(A::F64(&fp.dq)),
        Some(A::Usize(&fp.n_iters)),
        Some(A::Newton(&fp.newton)),
        Some(A::Bool(&fp.is_slow)),
        opt_f(&fp.j_xstar),
        opt_f(&fp.dfdu),
        opt_f(&fp.eigval_re),
        opt_f(&fp.eigval_im),
        opt_f(&fp.eigvec_re),
        opt_f(&fp.eigvec_im),
        fp.is_stable.as_deref().map(A::Bool),
        fp.n_unstable.as_deref().map(A::Usize),
        fp.min_period.as_deref().map(A::Usize),
        fp.cond_id.as_deref().map(A::I64),
    ];
    let lens = expected_lens(fp.n as u64, fp.n_states as u64, fp.n_inputs as u64).ok_or(
        CheckpointError::BadHeader("`n × n_states × n_states` overflows"),
    )?;
    let mut arrays = Vec::new();
    for ((spec, a), want) in SPECS.iter().zip(all).zip(lens) {
        if let Some(a) = a {
            if a.len() as u64 != want {
                return Err(CheckpointError::ArrayLength {
                    name: ArrayName::new(spec.name),
                    expected: want,
                    got: a.len() as u64,
                });
            }
            arrays.push((spec.name, a));
        }
    }
    let mut specific = [0u8; 44];
    // Bytes 0..4: reserved, zero.
    for (k, v) in [fp.n, fp.n_states, fp.n_inputs, fp.period]
        .into_iter()
        .enumerate()
    {
        specific[4 + 8 * k..12 + 8 * k].copy_from_slice(&(v as u64).to_le_bytes());
    }
    specific[36..44].copy_from_slice(&fp.tol_unique.to_le_bytes());
    let len = raw_len(FileKind::FixedPoints, &arrays).ok_or(CheckpointError::BadHeader(
        "the data is too large to encode (its length overflows)",
    ))?;
    let mut buf = vec![0u8; len];
    encode_raw(
        &mut buf,
        FileKind::FixedPoints,
        Scalar::F64,
        &specific,
        &arrays,
    )?;
    Ok(buf)
}

fn f64s(d: &[u8]) -> Vec<f64> {
    d.chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect()
}

fn usizes(d: &[u8], name: &str) -> Result<Vec<usize>> {
    d.chunks_exact(8)
        .enumerate()
        .map(|(index, c)| {
            usize::try_from(u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).map_err(|_| {
                CheckpointError::BadValue {
                    name: ArrayName::new(name),
                    index,
                }
            })
        })
        .collect()
}

fn bools(d: &[u8], name: &str) -> Result<Vec<bool>> {
    d.iter()
        .enumerate()
        .map(|(index, &b)| match b {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(CheckpointError::BadValue {
                name: ArrayName::new(name),
                index,
            }),
        })
        .collect()
}

/// Decodes a fixed-point file, validating it completely first.
pub fn decode_fixed_points(buf: &[u8]) -> Result<FixedPoints> {
    let Opened {
        scalar,
        n_arrays,
        mut r,
    } = open(buf, FileKind::FixedPoints)?;
    if scalar != Scalar::F64 {
        return Err(CheckpointError::BadHeader(
            "fixed points must be stored as f64 (scalar type code 2)",
        ));
    }
    if r.u32()? != 0 {
        return Err(CheckpointError::BadHeader(
            "the reserved field after the array count is not zero",
        ));
    }
    let mut raw = [0u64; 4];
    for v in raw.iter_mut() {
        *v = r.u64()?;
    }
    let tol_unique = f64::from_bits(r.u64()?);
    let [n, s, i, period] = raw;
    let too_large = CheckpointError::BadHeader("the sizes are too large for this platform");
    let lens = expected_lens(n, s, i).ok_or(too_large.clone())?;
    let mut found: [Option<&[u8]>; 19] = [None; 19];
    walk(&mut r, n_arrays, &SPECS, &|k| Ok(lens[k]), &mut found)?;
    let size = |v: u64| usize::try_from(v).map_err(|_| too_large.clone());
    let req = |k: usize| found[k].ok_or(CheckpointError::MissingArray(SPECS[k].name));
    let newton = req(7)?
        .iter()
        .enumerate()
        .map(|(index, &c)| {
            NewtonOutcome::from_code(c).ok_or(CheckpointError::BadValue {
                name: ArrayName::new("newton"),
                index,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let cond_id = found[18].map(|d| {
        d.chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect()
    });
    Ok(FixedPoints {
        n: size(n)?,
        n_states: size(s)?,
        n_inputs: size(i)?,
        period: size(period)?,
        xstar: f64s(req(0)?),
        f_xstar: f64s(req(1)?),
        x_init: f64s(req(2)?),
        inputs: f64s(req(3)?),
        qstar: f64s(req(4)?),
        dq: f64s(req(5)?),
        n_iters: usizes(req(6)?, "n_iters")?,
        newton,
        is_slow: bools(req(8)?, "is_slow")?,
        j_xstar: found[9].map(f64s),
        dfdu: found[10].map(f64s),
        eigval_re: found[11].map(f64s),
        eigval_im: found[12].map(f64s),
        eigvec_re: found[13].map(f64s),
        eigvec_im: found[14].map(f64s),
        is_stable: found[15].map(|d| bools(d, "is_stable")).transpose()?,
        n_unstable: found[16].map(|d| usizes(d, "n_unstable")).transpose()?,
        min_period: found[17].map(|d| usizes(d, "min_period")).transpose()?,
        cond_id,
        tol_unique,
    })
}
