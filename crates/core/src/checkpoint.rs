//! The checkpoint wire format: documented, versioned, checksummed (`FORMAT.md` in the
//! repository).
//!
//! Two kinds of file share one layout: a model (magic [`MODEL_MAGIC`]) and a set of fixed
//! points (magic [`FIXED_POINTS_MAGIC`]). Each is a fixed header (magic, format version,
//! scalar type, total length, number of arrays, the kind's sizes), then named arrays (16-byte
//! name, element type, element count, the values little-endian), then a CRC-32 (IEEE) of
//! every byte before it.
//!
//! This module works on caller buffers, with no heap: [`encoded_len`], [`encode_into`],
//! [`decode_header`] and [`decode_into`] through [`ModelView`] and [`ModelViewMut`] (e.g. for
//! firmware that keeps a model in flash), and the array-level pieces ([`open`], [`walk`],
//! [`encode_raw`]) that the std layer's fixed-point files and atomic file functions are built
//! on.
//!
//! Decoding validates everything (magic, version, length, checksum, sizes, array names,
//! types, lengths, finiteness, trailing bytes) before it writes anything, and never panics
//! on bad input.

use core::fmt;

use crate::cell::{CellKind, CellShape, ShapeError};
use crate::find::newton::NewtonOutcome;
use crate::model_shape::{ModelShape, SizeError};
use crate::scalar::Real;

/// First 8 bytes of a model checkpoint.
pub const MODEL_MAGIC: [u8; 8] = *b"FPFMODEL";
/// First 8 bytes of a fixed-point file.
pub const FIXED_POINTS_MAGIC: [u8; 8] = *b"FPFFIXPT";
/// The newest format version this library writes and reads. Version 2 adds the leaky cell
/// kinds (codes 4–7, each model with an `alpha` array) and the fixed points' `n_kink` array;
/// version 3 stacked layers (the number of layers in the `cell` field's upper 16 bits). A
/// file is written with the lowest version that can hold it ([`MODEL_ALPHA_VERSION`],
/// [`MODEL_LAYERS_VERSION`]), so everything version 1 describes is still written as
/// version 1.
pub const FORMAT_VERSION: u32 = 3;
/// The version that introduced the leaky cells (and their `alpha` array) and `n_kink`.
pub const MODEL_ALPHA_VERSION: u32 = 2;
/// The version that introduced stacked layers: the model header's `cell` u32 holds the
/// kind code in its low 16 bits and `n_layers − 1` in its high 16 bits (0 in every older
/// file).
pub const MODEL_LAYERS_VERSION: u32 = 3;
/// The name of a leaky cell's `α` array (one f64, after `h0`).
pub const ALPHA_ARRAY: &str = "alpha";
/// Bytes of the header common to both kinds (magic, version, scalar, total length, arrays).
pub const COMMON_HEADER_LEN: usize = 28;
/// Bytes of a model checkpoint's header.
pub const MODEL_HEADER_LEN: usize = COMMON_HEADER_LEN + 28;
/// Bytes of a fixed-point file's header.
pub const FIXED_POINTS_HEADER_LEN: usize = COMMON_HEADER_LEN + 44;
/// Bytes of an array record's header (name, element type, element count).
pub const ARRAY_HEADER_LEN: usize = NAME_LEN + 4 + 8;
/// Bytes of an array name field (ASCII, NUL-padded).
pub const NAME_LEN: usize = 16;
/// Bytes of the trailing checksum.
pub const CHECKSUM_LEN: usize = 4;
pub use crate::model_shape::MODEL_ARRAYS;

// ---------------------------------------------------------------------------------------
// Small types
// ---------------------------------------------------------------------------------------

/// What a checkpoint holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A model (magic [`MODEL_MAGIC`]).
    Model,
    /// A set of fixed points (magic [`FIXED_POINTS_MAGIC`]).
    FixedPoints,
}

impl FileKind {
    /// `"model checkpoint"` or `"fixed-point file"`.
    pub const fn name(self) -> &'static str {
        match self {
            FileKind::Model => "model checkpoint",
            FileKind::FixedPoints => "fixed-point file",
        }
    }
    const fn magic(self) -> [u8; 8] {
        match self {
            FileKind::Model => MODEL_MAGIC,
            FileKind::FixedPoints => FIXED_POINTS_MAGIC,
        }
    }
    const fn header_len(self) -> usize {
        match self {
            FileKind::Model => MODEL_HEADER_LEN,
            FileKind::FixedPoints => FIXED_POINTS_HEADER_LEN,
        }
    }
}

/// The floating-point type of a checkpoint's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scalar {
    /// IEEE-754 binary32 (tag 1).
    F32,
    /// IEEE-754 binary64 (tag 2).
    F64,
}

impl Scalar {
    /// The scalar type of `T`.
    pub fn of<T: Real>() -> Scalar {
        if core::mem::size_of::<T>() == 4 {
            Scalar::F32
        } else {
            Scalar::F64
        }
    }
    /// `"f32"` or `"f64"`.
    pub const fn name(self) -> &'static str {
        match self {
            Scalar::F32 => "f32",
            Scalar::F64 => "f64",
        }
    }
    /// The element type code of this scalar.
    pub const fn elem(self) -> Elem {
        match self {
            Scalar::F32 => Elem::F32,
            Scalar::F64 => Elem::F64,
        }
    }
}

/// Element type codes of array records (the `u32` after the name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    /// `f32`, little-endian.
    F32 = 1,
    /// `f64`, little-endian.
    F64 = 2,
    /// One byte (flags, codes).
    U8 = 3,
    /// `u64`, little-endian.
    U64 = 4,
    /// `i64`, little-endian.
    I64 = 5,
}

impl Elem {
    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            Elem::U8 => 1,
            Elem::F32 => 4,
            Elem::F64 | Elem::U64 | Elem::I64 => 8,
        }
    }
}

/// An array name as stored (up to [`NAME_LEN`] bytes), printable without allocating.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArrayName {
    bytes: [u8; NAME_LEN],
    len: u8,
}

impl ArrayName {
    /// A name from a string (truncated to [`NAME_LEN`] bytes).
    pub fn new(s: &str) -> Self {
        Self::from_bytes(s.as_bytes())
    }
    fn from_bytes(b: &[u8]) -> Self {
        let n = b.len().min(NAME_LEN);
        let mut bytes = [0u8; NAME_LEN];
        bytes[..n].copy_from_slice(&b[..n]);
        ArrayName {
            bytes,
            len: n as u8,
        }
    }
    /// The name's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl PartialEq<&str> for ArrayName {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Display for ArrayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_bytes().escape_ascii())
    }
}

impl fmt::Debug for ArrayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// A value in a [`CheckpointError::Mismatch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// A size.
    Size(u64),
    /// A cell kind.
    Cell(CellKind),
    /// A scalar type.
    Scalar(Scalar),
    /// A leaky cell's `α`, as its bits (so the error stays `Eq`).
    Alpha(u64),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Size(n) => write!(f, "{n}"),
            Value::Cell(k) => f.write_str(k.name()),
            Value::Scalar(s) => f.write_str(s.name()),
            Value::Alpha(bits) => write!(f, "{}", f64::from_bits(*bits)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Why a checkpoint could not be written or read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The data is empty (0 bytes).
    Empty,
    /// The data ends at byte `at`, before the end its header announces.
    Truncated {
        /// Its length.
        at: usize,
    },
    /// The first 8 bytes are not a checkpoint magic.
    BadMagic,
    /// A valid checkpoint of the other kind (a model where fixed points were asked for, or
    /// the reverse).
    WrongKind {
        /// The kind asked for.
        expected: FileKind,
        /// The kind found.
        found: FileKind,
    },
    /// Written by a newer format version than this library reads.
    FutureVersion {
        /// The file's version.
        found: u32,
        /// The newest version this library reads ([`FORMAT_VERSION`]).
        supported: u32,
    },
    /// The CRC-32 does not match the data: the file is corrupt.
    Checksum {
        /// The checksum stored in the file.
        stored: u32,
        /// The checksum of the data.
        computed: u32,
    },
    /// A header field is invalid (the text names it).
    BadHeader(&'static str),
    /// An array name this kind of checkpoint does not have.
    UnknownArray(ArrayName),
    /// A required array is absent.
    MissingArray(&'static str),
    /// An array appears twice or out of the documented order.
    ArrayOrder(ArrayName),
    /// An array's element type code is wrong for it.
    ArrayType {
        /// The array.
        name: ArrayName,
        /// The element type code found.
        found: u32,
    },
    /// An array has the wrong number of elements.
    ArrayLength {
        /// The array.
        name: ArrayName,
        /// The length the sizes imply.
        expected: u64,
        /// The length found.
        got: u64,
    },
    /// Bytes after the end the header announces.
    TrailingBytes {
        /// The announced length.
        expected: u64,
        /// The actual length.
        got: usize,
    },
    /// The checkpoint is valid but does not fit the model it is loaded into.
    Mismatch {
        /// The field that differs (`cell kind`, `alpha`, `n_inputs`, `n_hidden`,
        /// `n_outputs`, `scalar type`).
        what: &'static str,
        /// The model's value.
        expected: Value,
        /// The checkpoint's value.
        found: Value,
    },
    /// An array holds a NaN or an infinity (models only).
    NotFinite {
        /// The array.
        name: ArrayName,
        /// The first offending element.
        index: usize,
    },
    /// An array element is out of its range (a flag other than 0/1, an unknown Newton
    /// outcome, a count too large for this platform).
    BadValue {
        /// The array.
        name: ArrayName,
        /// The first offending element.
        index: usize,
    },
    /// The output buffer of [`encode_into`] is too small.
    BufferTooSmall {
        /// Bytes needed ([`encoded_len`]).
        needed: usize,
        /// Bytes given.
        got: usize,
    },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CheckpointError::*;
        match self {
            Empty => f.write_str("the checkpoint is empty (0 bytes)"),
            Truncated { at } => write!(f, "the checkpoint is truncated: it ends at byte {at}"),
            BadMagic => f.write_str("not an fpf checkpoint (bad magic)"),
            WrongKind { expected, found } => write!(
                f,
                "expected a {}, found a {}",
                expected.name(),
                found.name()
            ),
            FutureVersion { found, supported } => write!(
                f,
                "checkpoint format version {found} is newer than this library reads \
                 (up to {supported})"
            ),
            Checksum { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the \
                 checkpoint is corrupt"
            ),
            BadHeader(what) => write!(f, "bad checkpoint header: {what}"),
            UnknownArray(name) => write!(f, "unknown array `{name}` in the checkpoint"),
            MissingArray(name) => write!(f, "array `{name}` is missing from the checkpoint"),
            ArrayOrder(name) => write!(f, "array `{name}` is duplicated or out of order"),
            ArrayType { name, found } => {
                write!(
                    f,
                    "array `{name}` has element type code {found}, wrong for it"
                )
            }
            ArrayLength {
                name,
                expected,
                got,
            } => write!(f, "array `{name}` has length {got}, expected {expected}"),
            TrailingBytes { expected, got } => write!(
                f,
                "{} trailing bytes after the checkpoint's end (at byte {expected})",
                (*got as u64).saturating_sub(*expected)
            ),
            Mismatch {
                what,
                expected,
                found,
            } => write!(
                f,
                "checkpoint does not match the model: {what} is {found} in the checkpoint, \
                 {expected} in the model"
            ),
            NotFinite { name, index } => write!(f, "array `{name}`[{index}] is NaN or infinite"),
            BadValue { name, index } => write!(f, "array `{name}`[{index}] is out of range"),
            BufferTooSmall { needed, got } => {
                write!(f, "buffer of {got} bytes is too small; {needed} needed")
            }
        }
    }
}

impl core::error::Error for CheckpointError {}

/// The codec's result type.
pub type Result<T, E = CheckpointError> = core::result::Result<T, E>;

// ---------------------------------------------------------------------------------------
// CRC-32
// ---------------------------------------------------------------------------------------

const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// CRC-32 (IEEE 802.3, reflected, polynomial `0xEDB88320`, init and final XOR `0xFFFFFFFF`;
/// the zlib/PNG CRC): `crc32(b"123456789") == 0xCBF43926`.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c = CRC_TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

/// One array to write.
pub enum ArrayData<'a, T> {
    /// Floats of the file's scalar type.
    Real(&'a [T]),
    /// `f64` whatever the file's scalar type.
    F64(&'a [f64]),
    /// Flags, one byte each.
    Bool(&'a [bool]),
    /// Counts, as `u64`.
    Usize(&'a [usize]),
    /// Signed ids.
    I64(&'a [i64]),
    /// Newton outcomes, one code byte each.
    Newton(&'a [Option<NewtonOutcome>]),
}

impl<T: Real> ArrayData<'_, T> {
    /// The element type it is stored as.
    pub fn elem(&self) -> Elem {
        match self {
            ArrayData::Real(_) => Scalar::of::<T>().elem(),
            ArrayData::F64(_) => Elem::F64,
            ArrayData::Bool(_) | ArrayData::Newton(_) => Elem::U8,
            ArrayData::Usize(_) => Elem::U64,
            ArrayData::I64(_) => Elem::I64,
        }
    }
    /// Number of elements.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        match self {
            ArrayData::Real(v) => v.len(),
            ArrayData::F64(v) => v.len(),
            ArrayData::Bool(v) => v.len(),
            ArrayData::Usize(v) => v.len(),
            ArrayData::I64(v) => v.len(),
            ArrayData::Newton(v) => v.len(),
        }
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        match self {
            ArrayData::Real(v) => {
                let f32s = Scalar::of::<T>() == Scalar::F32;
                for &x in *v {
                    if f32s {
                        w.put(&(x.to_f64() as f32).to_le_bytes())?;
                    } else {
                        w.put(&x.to_f64().to_le_bytes())?;
                    }
                }
            }
            ArrayData::F64(v) => v.iter().try_for_each(|x| w.put(&x.to_le_bytes()))?,
            ArrayData::Bool(v) => v.iter().try_for_each(|&x| w.put(&[x as u8]))?,
            ArrayData::Usize(v) => v
                .iter()
                .try_for_each(|&x| w.put(&(x as u64).to_le_bytes()))?,
            ArrayData::I64(v) => v.iter().try_for_each(|x| w.put(&x.to_le_bytes()))?,
            ArrayData::Newton(v) => v
                .iter()
                .try_for_each(|&x| w.put(&[NewtonOutcome::code(x)]))?,
        }
        Ok(())
    }
}

struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, b: &[u8]) -> Result<()> {
        let got = self.buf.len();
        let end = self.pos.saturating_add(b.len());
        let dst = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(CheckpointError::BufferTooSmall { needed: end, got })?;
        dst.copy_from_slice(b);
        self.pos = end;
        Ok(())
    }
}

/// Bytes of a file with a kind header of `specific` bytes and these arrays (`None` on
/// overflow).
pub fn raw_len<T: Real>(kind: FileKind, arrays: &[(&str, ArrayData<'_, T>)]) -> Option<usize> {
    let mut n = kind.header_len().checked_add(CHECKSUM_LEN)?;
    for (_, a) in arrays {
        let bytes = a.len().checked_mul(a.elem().size())?;
        n = n.checked_add(ARRAY_HEADER_LEN)?.checked_add(bytes)?;
    }
    Some(n)
}

/// Writes a whole file: common header (format `version`), `specific` (the kind's header
/// fields), arrays, CRC.
pub fn encode_raw<T: Real>(
    buf: &mut [u8],
    kind: FileKind,
    version: u32,
    scalar: Scalar,
    specific: &[u8],
    arrays: &[(&str, ArrayData<'_, T>)],
) -> Result<usize> {
    let needed = raw_len(kind, arrays).ok_or(CheckpointError::BadHeader(
        "the data is too large to encode (its length overflows)",
    ))?;
    if COMMON_HEADER_LEN + specific.len() != kind.header_len() {
        return Err(CheckpointError::BadHeader("internal: header length"));
    }
    if version == 0 || version > FORMAT_VERSION {
        return Err(CheckpointError::BadHeader("internal: format version"));
    }
    if buf.len() < needed {
        return Err(CheckpointError::BufferTooSmall {
            needed,
            got: buf.len(),
        });
    }
    let mut w = Writer {
        buf: &mut buf[..needed],
        pos: 0,
    };
    w.put(&kind.magic())?;
    w.put(&version.to_le_bytes())?;
    w.put(&(scalar.elem() as u32).to_le_bytes())?;
    w.put(&(needed as u64).to_le_bytes())?;
    w.put(&(arrays.len() as u32).to_le_bytes())?;
    w.put(specific)?;
    for (name, a) in arrays {
        let mut field = [0u8; NAME_LEN];
        let nb = name.as_bytes();
        let n = nb.len().min(NAME_LEN);
        field[..n].copy_from_slice(&nb[..n]);
        w.put(&field)?;
        w.put(&(a.elem() as u32).to_le_bytes())?;
        w.put(&(a.len() as u64).to_le_bytes())?;
        a.write(&mut w)?;
    }
    let crc = crc32(&w.buf[..needed - CHECKSUM_LEN]);
    w.put(&crc.to_le_bytes())?;
    Ok(needed)
}

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

/// A cursor over a checkpoint's bytes that never reads past its end.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.end)
            .ok_or(CheckpointError::Truncated { at: self.end })?;
        let b = self
            .buf
            .get(self.pos..end)
            .ok_or(CheckpointError::Truncated { at: self.end })?;
        self.pos = end;
        Ok(b)
    }
    /// The next little-endian `u32`.
    pub fn u32(&mut self) -> Result<u32> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.bytes(4)?);
        Ok(u32::from_le_bytes(a))
    }
    /// The next little-endian `u64`.
    pub fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.bytes(8)?);
        Ok(u64::from_le_bytes(a))
    }
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// The common header, after every whole-file check.
pub struct Opened<'a> {
    /// The file's format version (1 ..= [`FORMAT_VERSION`]).
    pub version: u32,
    /// The scalar type of the file's `Real` arrays.
    pub scalar: Scalar,
    /// Number of array records.
    pub n_arrays: u32,
    /// Positioned after the common header; ends before the checksum.
    pub r: Reader<'a>,
}

/// The kind a buffer's magic names: [`CheckpointError::Empty`], [`CheckpointError::BadMagic`],
/// or [`CheckpointError::Truncated`] for a buffer shorter than a magic that starts like one.
fn magic_kind(buf: &[u8]) -> Result<FileKind> {
    let len = buf.len();
    if len == 0 {
        return Err(CheckpointError::Empty);
    }
    let head = &buf[..len.min(8)];
    if len < 8 {
        return if MODEL_MAGIC.starts_with(head) || FIXED_POINTS_MAGIC.starts_with(head) {
            Err(CheckpointError::Truncated { at: len })
        } else {
            Err(CheckpointError::BadMagic)
        };
    }
    if head == MODEL_MAGIC {
        Ok(FileKind::Model)
    } else if head == FIXED_POINTS_MAGIC {
        Ok(FileKind::FixedPoints)
    } else {
        Err(CheckpointError::BadMagic)
    }
}

/// Checks the first [`COMMON_HEADER_LEN`] bytes `head` of a checkpoint of `len` bytes:
/// the magic, and that the announced total length is `len`. Lets a reader refuse a file
/// that is not a checkpoint (or is truncated, or has trailing bytes) before reading it all.
pub fn check_prefix(head: &[u8], len: u64) -> Result<FileKind> {
    let kind = magic_kind(head)?;
    if head.len() < COMMON_HEADER_LEN {
        return Err(CheckpointError::Truncated { at: head.len() });
    }
    let total = le_u64(head, 16);
    if len < total {
        return Err(CheckpointError::Truncated {
            at: usize::try_from(len).unwrap_or(usize::MAX),
        });
    }
    if len > total {
        return Err(CheckpointError::TrailingBytes {
            expected: total,
            got: usize::try_from(len).unwrap_or(usize::MAX),
        });
    }
    Ok(kind)
}

/// Checks, in this order: empty, magic, kind, version, announced length (truncated or
/// trailing bytes), checksum; then reads the common header.
pub fn open(buf: &[u8], expect: FileKind) -> Result<Opened<'_>> {
    let len = buf.len();
    let found = magic_kind(buf)?;
    if found != expect {
        return Err(CheckpointError::WrongKind {
            expected: expect,
            found,
        });
    }
    if len < 12 {
        return Err(CheckpointError::Truncated { at: len });
    }
    let version = le_u32(buf, 8);
    if version == 0 {
        return Err(CheckpointError::BadHeader(
            "format version 0 does not exist",
        ));
    }
    if version > FORMAT_VERSION {
        return Err(CheckpointError::FutureVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if len < COMMON_HEADER_LEN {
        return Err(CheckpointError::Truncated { at: len });
    }
    let total = le_u64(buf, 16);
    if total < (expect.header_len() + CHECKSUM_LEN) as u64 {
        return Err(CheckpointError::BadHeader(
            "`total_len` is smaller than the header and checksum",
        ));
    }
    if (len as u64) < total {
        return Err(CheckpointError::Truncated { at: len });
    }
    if (len as u64) > total {
        return Err(CheckpointError::TrailingBytes {
            expected: total,
            got: len,
        });
    }
    // `total == len` from here on.
    let body = len - CHECKSUM_LEN;
    let stored = le_u32(buf, body);
    let computed = crc32(&buf[..body]);
    if stored != computed {
        return Err(CheckpointError::Checksum { stored, computed });
    }
    let scalar = match le_u32(buf, 12) {
        1 => Scalar::F32,
        2 => Scalar::F64,
        _ => return Err(CheckpointError::BadHeader("unknown scalar type code")),
    };
    Ok(Opened {
        version,
        scalar,
        n_arrays: le_u32(buf, 24),
        r: Reader {
            buf,
            pos: COMMON_HEADER_LEN,
            end: body,
        },
    })
}

/// An array a kind of checkpoint may hold.
pub struct Spec {
    /// The array's name.
    pub name: &'static str,
    /// Its element type.
    pub elem: Elem,
    /// Whether a file without it is invalid.
    pub required: bool,
}

/// Reads `n_arrays` records, checking names (known, in order, required ones present), element
/// types and lengths (`expected(i)` for spec `i`), and that the arrays end at the checksum.
/// `found[i]` receives spec `i`'s data bytes.
pub fn walk<'a>(
    r: &mut Reader<'a>,
    n_arrays: u32,
    specs: &[Spec],
    expected: &dyn Fn(usize) -> Result<u64>,
    found: &mut [Option<&'a [u8]>],
) -> Result<()> {
    let mut next = 0usize;
    for _ in 0..n_arrays {
        let field = r.bytes(NAME_LEN)?;
        let n = field.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        let name = ArrayName::from_bytes(&field[..n]);
        if n == 0 || field[n..].iter().any(|&b| b != 0) {
            return Err(CheckpointError::BadHeader(
                "an array name field is empty or not NUL-padded",
            ));
        }
        let elem = r.u32()?;
        let count = r.u64()?;
        let idx = specs
            .iter()
            .position(|s| name == s.name)
            .ok_or(CheckpointError::UnknownArray(name))?;
        if idx < next {
            return Err(CheckpointError::ArrayOrder(name));
        }
        if let Some(m) = specs[next..idx].iter().find(|s| s.required) {
            return Err(CheckpointError::MissingArray(m.name));
        }
        let spec = &specs[idx];
        if elem != spec.elem as u32 {
            return Err(CheckpointError::ArrayType { name, found: elem });
        }
        let want = expected(idx)?;
        if count != want {
            return Err(CheckpointError::ArrayLength {
                name,
                expected: want,
                got: count,
            });
        }
        let nbytes = count
            .checked_mul(spec.elem.size() as u64)
            .and_then(|b| usize::try_from(b).ok())
            .ok_or(CheckpointError::Truncated { at: r.end })?;
        found[idx] = Some(r.bytes(nbytes)?);
        next = idx + 1;
    }
    if let Some(m) = specs[next..].iter().find(|s| s.required) {
        return Err(CheckpointError::MissingArray(m.name));
    }
    if r.pos != r.end {
        return Err(CheckpointError::BadHeader(
            "unused bytes between the last array and the checksum",
        ));
    }
    Ok(())
}

/// Decodes one stored float (of `scalar`) as f64.
pub fn float_at(data: &[u8], scalar: Scalar, i: usize) -> f64 {
    match scalar {
        Scalar::F32 => {
            let mut a = [0u8; 4];
            a.copy_from_slice(&data[4 * i..4 * i + 4]);
            f32::from_le_bytes(a) as f64
        }
        Scalar::F64 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(&data[8 * i..8 * i + 8]);
            f64::from_le_bytes(a)
        }
    }
}

/// Number of stored floats of `scalar` in `data`.
pub fn n_floats(data: &[u8], scalar: Scalar) -> usize {
    data.len() / scalar.elem().size()
}

/// Copies stored floats into `out` (lengths checked by the caller). f32 → f64 is exact; the
/// values keep their bits whenever `T` is the stored type.
pub fn fill<T: Real>(data: &[u8], scalar: Scalar, out: &mut [T]) {
    for (i, o) in out.iter_mut().enumerate() {
        *o = T::from_f64(float_at(data, scalar, i));
    }
}

// ---------------------------------------------------------------------------------------
// Models (core)
// ---------------------------------------------------------------------------------------

/// A model's arrays, borrowed: what [`encode_into`] writes. Lengths follow from `shape` and
/// `n_outputs` (`fpf_std::model::Model` has one and lends it with `Model::view`).
#[derive(Clone, Copy, Debug)]
pub struct ModelView<'a, T> {
    /// Cell kind and sizes.
    pub shape: CellShape,
    /// Number of stacked layers (1 for a single cell; see [`ModelShape`]).
    pub n_layers: usize,
    /// Output size `O`.
    pub n_outputs: usize,
    /// Cell parameters, flat `[w_x | w_h | b]` (see [`crate::cell`]; each block holds every
    /// layer's, layer 0 first).
    pub params: &'a [T],
    /// Readout weights, `H × O` row-major.
    pub w_out: &'a [T],
    /// Readout bias, `O`.
    pub b_out: &'a [T],
    /// Initial state, `S`.
    pub h0: &'a [T],
}

/// A model's arrays, mutably borrowed: what [`decode_into`] fills.
#[derive(Debug)]
pub struct ModelViewMut<'a, T> {
    /// Cell kind and sizes the checkpoint must have.
    pub shape: CellShape,
    /// Number of stacked layers the checkpoint must have.
    pub n_layers: usize,
    /// Output size `O` the checkpoint must have.
    pub n_outputs: usize,
    /// Cell parameters, flat `[w_x | w_h | b]`.
    pub params: &'a mut [T],
    /// Readout weights, `H × O`.
    pub w_out: &'a mut [T],
    /// Readout bias, `O`.
    pub b_out: &'a mut [T],
    /// Initial state, `S`.
    pub h0: &'a mut [T],
}

/// A checkpoint's model description, from [`decode_header`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelHeader {
    /// Cell kind and sizes.
    pub shape: CellShape,
    /// Number of stacked layers (1 in every file older than [`MODEL_LAYERS_VERSION`]).
    pub n_layers: usize,
    /// Output size `O`.
    pub n_outputs: usize,
    /// The stored value type.
    pub scalar: Scalar,
}

impl ModelHeader {
    /// Checks that the checkpoint fits a model of `shape`, `n_layers` and `n_outputs`, naming
    /// the first field that differs (cell kind, `alpha`, `n_inputs`, `n_hidden`,
    /// `n_layers`, `n_outputs`).
    pub fn check_shape(&self, shape: &CellShape, n_layers: usize, n_outputs: usize) -> Result<()> {
        let mismatch = |what, expected, found| {
            Err(CheckpointError::Mismatch {
                what,
                expected,
                found,
            })
        };
        let (m, f) = (shape, &self.shape);
        if m.kind != f.kind {
            return mismatch("cell kind", Value::Cell(m.kind), Value::Cell(f.kind));
        }
        if m.alpha.to_bits() != f.alpha.to_bits() {
            return mismatch(
                "alpha",
                Value::Alpha(m.alpha.to_bits()),
                Value::Alpha(f.alpha.to_bits()),
            );
        }
        for (what, e, g) in [
            ("n_inputs", m.n_inputs, f.n_inputs),
            ("n_hidden", m.n_hidden, f.n_hidden),
            ("n_layers", n_layers, self.n_layers),
            ("n_outputs", n_outputs, self.n_outputs),
        ] {
            if e != g {
                return mismatch(what, Value::Size(e as u64), Value::Size(g as u64));
            }
        }
        Ok(())
    }

    /// [`ModelHeader::check_shape`], then that the checkpoint stores `T`'s scalar type.
    pub fn check<T: Real>(
        &self,
        shape: &CellShape,
        n_layers: usize,
        n_outputs: usize,
    ) -> Result<()> {
        self.check_shape(shape, n_layers, n_outputs)?;
        let want = Scalar::of::<T>();
        if self.scalar != want {
            return Err(CheckpointError::Mismatch {
                what: "scalar type",
                expected: Value::Scalar(want),
                found: Value::Scalar(self.scalar),
            });
        }
        Ok(())
    }
}

/// Lengths of the six model arrays (in [`MODEL_ARRAYS`] order), or why the sizes are invalid.
fn model_lens(shape: &CellShape, n_layers: usize, n_outputs: usize) -> Result<[usize; 6]> {
    ModelShape {
        cell: *shape,
        n_layers,
        n_outputs,
    }
    .array_lens()
    .map_err(|e| {
        CheckpointError::BadHeader(match e {
            SizeError::Shape(ShapeError {
                what: "n_inputs", ..
            }) => "`n_inputs` is out of range",
            SizeError::Shape(_) => "`n_hidden` is out of range",
            SizeError::Outputs(_) => "`n_outputs` is out of range",
            SizeError::Layers(_) => "`n_layers` is out of range",
            SizeError::TooLarge => "the model holds more values than a model may",
        })
    })
}

fn model_specific(shape: &CellShape, n_layers: usize, n_outputs: usize) -> [u8; 28] {
    let mut s = [0u8; 28];
    // `n_layers` ≤ MAX_LAYERS (checked by `model_lens` first) fits the upper 16 bits.
    let cell = shape.kind.code() | ((n_layers.saturating_sub(1) as u32 & 0xFFFF) << 16);
    s[0..4].copy_from_slice(&cell.to_le_bytes());
    s[4..12].copy_from_slice(&(shape.n_inputs as u64).to_le_bytes());
    s[12..20].copy_from_slice(&(shape.n_hidden as u64).to_le_bytes());
    s[20..28].copy_from_slice(&(n_outputs as u64).to_le_bytes());
    s
}

impl<'a, T: Real> ModelView<'a, T> {
    /// The six arrays, checked against the shape (lengths, finiteness).
    fn arrays(&self) -> Result<[(&'static str, ArrayData<'a, T>); 6]> {
        let lens = model_lens(&self.shape, self.n_layers, self.n_outputs)?;
        let np = lens[0] + lens[1] + lens[2];
        let given = [
            self.params.len(),
            self.w_out.len(),
            self.b_out.len(),
            self.h0.len(),
        ];
        for (name, (&want, got)) in ["params", "w_out", "b_out", "h0"]
            .into_iter()
            .zip([np, lens[3], lens[4], lens[5]].iter().zip(given))
        {
            if want != got {
                return Err(CheckpointError::ArrayLength {
                    name: ArrayName::new(name),
                    expected: want as u64,
                    got: got as u64,
                });
            }
        }
        let (w_x, rest) = self.params.split_at(lens[0]);
        let (w_h, b) = rest.split_at(lens[1]);
        let parts: [&'a [T]; 6] = [w_x, w_h, b, self.w_out, self.b_out, self.h0];
        for (name, part) in MODEL_ARRAYS.iter().zip(parts) {
            if let Some(index) = part.iter().position(|x| !x.is_finite()) {
                return Err(CheckpointError::NotFinite {
                    name: ArrayName::new(name),
                    index,
                });
            }
        }
        Ok([
            (MODEL_ARRAYS[0], ArrayData::Real(w_x)),
            (MODEL_ARRAYS[1], ArrayData::Real(w_h)),
            (MODEL_ARRAYS[2], ArrayData::Real(b)),
            (MODEL_ARRAYS[3], ArrayData::Real(self.w_out)),
            (MODEL_ARRAYS[4], ArrayData::Real(self.b_out)),
            (MODEL_ARRAYS[5], ArrayData::Real(self.h0)),
        ])
    }
}

/// Bytes [`encode_into`] writes for `m` (saturating at `usize::MAX` for absurd sizes).
pub fn encoded_len<T: Real>(m: &ModelView<'_, T>) -> usize {
    let values =
        m.params.len() as u64 + m.w_out.len() as u64 + m.b_out.len() as u64 + m.h0.len() as u64;
    let alpha = if m.shape.kind.is_leaky() {
        (ARRAY_HEADER_LEN + 8) as u64
    } else {
        0
    };
    let bytes = (MODEL_HEADER_LEN + 6 * ARRAY_HEADER_LEN + CHECKSUM_LEN) as u64
        + values * core::mem::size_of::<T>() as u64
        + alpha;
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

/// Encodes a model into `buf` (at least [`encoded_len`] bytes) and returns the number of
/// bytes written. Checks the sizes, the array lengths and that every value is finite; on
/// error the contents of `buf` are unspecified.
pub fn encode_into<T: Real>(m: &ModelView<'_, T>, buf: &mut [u8]) -> Result<usize> {
    let [a0, a1, a2, a3, a4, a5] = m.arrays()?;
    let specific = model_specific(&m.shape, m.n_layers, m.n_outputs);
    let scalar = Scalar::of::<T>();
    let version = if m.n_layers > 1 {
        MODEL_LAYERS_VERSION
    } else if m.shape.kind.is_leaky() {
        MODEL_ALPHA_VERSION
    } else {
        1
    };
    if m.shape.kind.is_leaky() {
        let alpha = core::slice::from_ref(&m.shape.alpha);
        let arrays = [a0, a1, a2, a3, a4, a5, (ALPHA_ARRAY, ArrayData::F64(alpha))];
        encode_raw(buf, FileKind::Model, version, scalar, &specific, &arrays)
    } else {
        let arrays = [a0, a1, a2, a3, a4, a5];
        encode_raw(buf, FileKind::Model, version, scalar, &specific, &arrays)
    }
}

/// Validates a whole model checkpoint and returns its header and the six arrays' bytes.
/// Checks a whole model checkpoint and returns its header and the data of its six arrays.
pub fn validate_model(buf: &[u8]) -> Result<(ModelHeader, [&[u8]; 6])> {
    let Opened {
        version,
        scalar,
        n_arrays,
        mut r,
    } = open(buf, FileKind::Model)?;
    let cell = r.u32()?;
    let n_layers = (cell >> 16) as usize + 1;
    if n_layers > 1 && version < MODEL_LAYERS_VERSION {
        return Err(CheckpointError::BadHeader("unknown cell kind code"));
    }
    let kind = CellKind::from_code(cell & 0xFFFF)
        .ok_or(CheckpointError::BadHeader("unknown cell kind code"))?;
    if kind.is_leaky() && version < MODEL_ALPHA_VERSION {
        return Err(CheckpointError::BadHeader(
            "a leaky cell kind code in a format version 1 file",
        ));
    }
    let mut sizes = [0usize; 3];
    for (s, what) in sizes.iter_mut().zip([
        "`n_inputs` is out of range",
        "`n_hidden` is out of range",
        "`n_outputs` is out of range",
    ]) {
        *s = usize::try_from(r.u64()?).map_err(|_| CheckpointError::BadHeader(what))?;
    }
    let shape = CellShape::new(kind, sizes[0], sizes[1]);
    let n_outputs = sizes[2];
    let lens = model_lens(&shape, n_layers, n_outputs)?;
    let elem = scalar.elem();
    let [s0, s1, s2, s3, s4, s5] = MODEL_ARRAYS.map(|name| Spec {
        name,
        elem,
        required: true,
    });
    // A leaky cell's α follows `h0`; no other kind has the array.
    let specs = [
        s0,
        s1,
        s2,
        s3,
        s4,
        s5,
        Spec {
            name: ALPHA_ARRAY,
            elem: Elem::F64,
            required: true,
        },
    ];
    let n_specs = if kind.is_leaky() { 7 } else { 6 };
    let mut found: [Option<&[u8]>; 7] = [None; 7];
    walk(
        &mut r,
        n_arrays,
        &specs[..n_specs],
        &|i| Ok(lens.get(i).map_or(1, |&l| l as u64)),
        &mut found,
    )?;
    let mut shape = shape;
    if let Some(a) = found[6] {
        shape.alpha = float_at(a, Scalar::F64, 0);
        if !shape.alpha_ok() {
            return Err(CheckpointError::BadValue {
                name: ArrayName::new(ALPHA_ARRAY),
                index: 0,
            });
        }
    }
    let mut data: [&[u8]; 6] = [&[]; 6];
    for (i, (d, f)) in data.iter_mut().zip(found).enumerate() {
        *d = f.ok_or(CheckpointError::MissingArray(MODEL_ARRAYS[i]))?;
        if let Some(index) =
            (0..n_floats(d, scalar)).position(|k| !float_at(d, scalar, k).is_finite())
        {
            return Err(CheckpointError::NotFinite {
                name: ArrayName::new(MODEL_ARRAYS[i]),
                index,
            });
        }
    }
    Ok((
        ModelHeader {
            shape,
            n_layers,
            n_outputs,
            scalar,
        },
        data,
    ))
}

/// Validates a whole model checkpoint (magic, version, length, checksum, sizes, arrays,
/// finiteness) and returns what it describes, so a caller can size its buffers.
pub fn decode_header(buf: &[u8]) -> Result<ModelHeader> {
    validate_model(buf).map(|(h, _)| h)
}

/// Validates `buf` and copies its arrays into `out`, whose shape, output count and scalar
/// type must match the checkpoint's ([`CheckpointError::Mismatch`] names the first that
/// differs). Nothing is written unless everything is valid.
pub fn decode_into<T: Real>(buf: &[u8], out: ModelViewMut<'_, T>) -> Result<ModelHeader> {
    let (header, data) = validate_model(buf)?;
    header.check::<T>(&out.shape, out.n_layers, out.n_outputs)?;
    let lens = model_lens(&header.shape, header.n_layers, header.n_outputs)?;
    let np = lens[0] + lens[1] + lens[2];
    for (name, want, got) in [
        ("params", np, out.params.len()),
        ("w_out", lens[3], out.w_out.len()),
        ("b_out", lens[4], out.b_out.len()),
        ("h0", lens[5], out.h0.len()),
    ] {
        if want != got {
            return Err(CheckpointError::ArrayLength {
                name: ArrayName::new(name),
                expected: want as u64,
                got: got as u64,
            });
        }
    }
    let (w_x, rest) = out.params.split_at_mut(lens[0]);
    let (w_h, b) = rest.split_at_mut(lens[1]);
    let s = header.scalar;
    fill(data[0], s, w_x);
    fill(data[1], s, w_h);
    fill(data[2], s, b);
    fill(data[3], s, out.w_out);
    fill(data[4], s, out.b_out);
    fill(data[5], s, out.h0);
    Ok(header)
}
