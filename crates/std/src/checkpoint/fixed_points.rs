//! The fixed-point file codec: every field of [`FIELDS`], the optional ones when present.

use super::{
    ArrayData, ArrayName, CheckpointError, Elem, FileKind, Opened, Result, Scalar, Spec,
    encode_raw, open, raw_len, walk,
};
use crate::analysis::{FIELDS, FieldType, FixedPoints, Values};
use crate::find::newton::NewtonOutcome;

/// How a field's elements are stored.
fn elem(ty: FieldType) -> Elem {
    match ty {
        FieldType::F64 => Elem::F64,
        FieldType::Usize => Elem::U64,
        FieldType::Bool | FieldType::Newton => Elem::U8,
        FieldType::I64 => Elem::I64,
    }
}

/// The array records a fixed-point file may hold, in file order.
fn specs() -> Vec<Spec> {
    FIELDS
        .iter()
        .map(|f| Spec {
            name: f.name,
            elem: elem(f.ty),
            required: f.required,
        })
        .collect()
}

/// Each field's length for `n` points of state size `s` and input size `i`.
fn expected_lens(n: u64, s: u64, i: u64) -> Option<Vec<u64>> {
    let (s, i) = (usize::try_from(s).ok()?, usize::try_from(i).ok()?);
    FIELDS
        .iter()
        .map(|f| n.checked_mul(f.width.of(s, i)? as u64))
        .collect()
}

/// Encodes fixed points. Every array's length must agree with `n`, `n_states` and `n_inputs`
/// ([`CheckpointError::ArrayLength`] otherwise); values may be any f64 (NaN included).
pub fn encode_fixed_points(fp: &FixedPoints) -> Result<Vec<u8>> {
    let lens = expected_lens(fp.n as u64, fp.n_states as u64, fp.n_inputs as u64).ok_or(
        CheckpointError::BadHeader("`n × n_states × n_states` overflows"),
    )?;
    let mut arrays: Vec<(&str, ArrayData<'_, f64>)> = Vec::new();
    for (k, (field, want)) in FIELDS.iter().zip(lens).enumerate() {
        if let Some(a) = fp.column(k) {
            if a.len() as u64 != want {
                return Err(CheckpointError::ArrayLength {
                    name: ArrayName::new(field.name),
                    expected: want,
                    got: a.len() as u64,
                });
            }
            arrays.push((field.name, a));
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
    // `n_kink` came with format version 2; without it the file is a version 1 file.
    let version = if fp.n_kink.is_some() {
        super::MODEL_ALPHA_VERSION
    } else {
        1
    };
    encode_raw(
        &mut buf,
        FileKind::FixedPoints,
        version,
        Scalar::F64,
        &specific,
        &arrays,
    )?;
    Ok(buf)
}

fn words(d: &[u8]) -> impl Iterator<Item = [u8; 8]> + '_ {
    d.chunks_exact(8).map(|c| c.try_into().unwrap_or([0; 8]))
}

/// A stored array's values, checked element by element.
fn values(ty: FieldType, d: &[u8], name: &'static str) -> Result<Values> {
    let bad = |index| CheckpointError::BadValue {
        name: ArrayName::new(name),
        index,
    };
    Ok(match ty {
        FieldType::F64 => Values::F64(words(d).map(f64::from_le_bytes).collect()),
        FieldType::I64 => Values::I64(words(d).map(i64::from_le_bytes).collect()),
        FieldType::Usize => Values::Usize(
            words(d)
                .enumerate()
                .map(|(k, w)| usize::try_from(u64::from_le_bytes(w)).map_err(|_| bad(k)))
                .collect::<Result<_>>()?,
        ),
        FieldType::Bool => Values::Bool(
            d.iter()
                .enumerate()
                .map(|(k, &b)| match b {
                    0 => Ok(false),
                    1 => Ok(true),
                    _ => Err(bad(k)),
                })
                .collect::<Result<_>>()?,
        ),
        FieldType::Newton => Values::Newton(
            d.iter()
                .enumerate()
                .map(|(k, &c)| NewtonOutcome::from_code(c).ok_or(bad(k)))
                .collect::<Result<_>>()?,
        ),
    })
}

/// Decodes a fixed-point file, validating it completely first.
pub fn decode_fixed_points(buf: &[u8]) -> Result<FixedPoints> {
    let Opened {
        scalar,
        version: _,
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
    let specs = specs();
    let mut found: Vec<Option<&[u8]>> = vec![None; FIELDS.len()];
    walk(&mut r, n_arrays, &specs, &|k| Ok(lens[k]), &mut found)?;
    let size = |v: u64| usize::try_from(v).map_err(|_| too_large.clone());
    let mut columns = Vec::with_capacity(FIELDS.len());
    for (field, data) in FIELDS.iter().zip(&found) {
        columns.push(data.map(|d| values(field.ty, d, field.name)).transpose()?);
    }
    let shape = FixedPoints {
        n: size(n)?,
        n_states: size(s)?,
        n_inputs: size(i)?,
        period: size(period)?,
        tol_unique,
        ..FixedPoints::default()
    };
    let mut columns = columns.into_iter();
    FixedPoints::from_columns(shape, |_| columns.next().flatten()).ok_or(
        // `walk` has checked that every required array is present, with its type.
        CheckpointError::BadHeader("internal: a field's values do not fit it"),
    )
}
