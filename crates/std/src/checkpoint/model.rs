//! Models as byte vectors: the kernel's codec with the buffer allocated here.

use super::{
    CheckpointError, Result, Scalar, Value, decode_header, encode_into, encoded_len, fill,
    n_floats, validate_model,
};
use crate::model::{Model, ModelError};
use crate::scalar::Real;

/// Encodes a model as a checkpoint (values in `T`'s precision).
pub fn encode_model<T: Real>(m: &Model<T>) -> Result<Vec<u8>> {
    let view = m.view();
    let mut buf = vec![0u8; encoded_len(&view)];
    let n = encode_into(&view, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

fn decode_model_impl<T: Real>(buf: &[u8], widen: bool) -> Result<Model<T>> {
    let (h, data) = validate_model(buf)?;
    let want = Scalar::of::<T>();
    let widening = widen && h.scalar == Scalar::F32;
    if h.scalar != want && !widening {
        return Err(CheckpointError::Mismatch {
            what: "scalar type",
            expected: Value::Scalar(want),
            found: Value::Scalar(h.scalar),
        });
    }
    let s = h.scalar;
    let get = |d: &[u8]| {
        let mut v = vec![T::ZERO; n_floats(d, s)];
        fill(d, s, &mut v);
        v
    };
    let mut params = get(data[0]);
    params.extend(get(data[1]));
    params.extend(get(data[2]));
    Model::from_parts_stacked(
        h.shape,
        h.n_layers,
        h.n_outputs,
        params,
        get(data[3]),
        get(data[4]),
        get(data[5]),
    )
    .map_err(|e| match e {
        ModelError::NotFinite { .. } => CheckpointError::BadHeader("non-finite value"),
        _ => CheckpointError::BadHeader("the model's sizes are out of range"),
    })
}

/// Decodes a model checkpoint stored in `T`'s precision (another precision is a
/// [`CheckpointError::Mismatch`] on `scalar type`).
pub fn decode_model<T: Real>(buf: &[u8]) -> Result<Model<T>> {
    decode_model_impl(buf, false)
}

/// Decodes a checkpoint of either precision as `f64` (an `f32` checkpoint widens
/// exactly).
pub fn decode_model_f64(buf: &[u8]) -> Result<Model<f64>> {
    decode_model_impl(buf, true)
}

/// Replaces `model` by the checkpoint in `buf`, which must have the same cell kind,
/// sizes (the number of layers included) and scalar type ([`CheckpointError::Mismatch`] otherwise). On any error the
/// model is unchanged.
pub fn decode_model_into<T: Real>(model: &mut Model<T>, buf: &[u8]) -> Result<()> {
    let h = decode_header(buf)?;
    h.check::<T>(model.shape(), model.n_layers(), model.n_outputs())?;
    *model = decode_model(buf)?;
    Ok(())
}
