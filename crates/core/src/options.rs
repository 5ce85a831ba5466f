//! Option structs written once: [`options_struct!`](crate::options_struct) declares the
//! struct, its `Default` and a table of its fields ([`OptionField`]) from one list, and the C
//! library's build script generates the struct's C mirror and both conversions from that
//! table. [`crate::find::FinderOptions`] is declared this way, as are the std layer's
//! continuation and training options.

/// One field of an options struct, as [`options_struct!`](crate::options_struct) records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionField {
    /// The field's name.
    pub name: &'static str,
    /// Its Rust type as written (`f64`, `usize`, `Method`).
    pub ty: &'static str,
    /// Its default as written (`5000`, `1e-12`, `Method::Joint`, `usize::MAX`).
    pub default: &'static str,
    /// Its doc comment: the text of each `///` line followed by a newline.
    pub doc: &'static str,
}

/// Declares an options struct from one list of `/// doc  name: Type = default,` entries: the
/// struct (each field's doc ends with its default), `impl Default`, and `FIELDS`, the
/// fields in declaration order as [`OptionField`]s (what a C mirror is generated from, so
/// its members come in this order: append new fields at the end).
///
/// ```
/// fpf_core::options_struct! {
///     /// Options of something.
///     #[derive(Clone, Copy, Debug, PartialEq)]
///     pub struct Opts {
///         /// Iteration cap.
///         max_iters: usize = 10,
///     }
/// }
/// assert_eq!(Opts::default().max_iters, 10);
/// assert_eq!(Opts::FIELDS[0].default, "10");
/// ```
#[macro_export]
macro_rules! options_struct {
    (
        $(#[doc = $sdoc:literal])*
        #[derive($($derive:ident),* $(,)?)]
        pub struct $name:ident {
            $($(#[doc = $doc:literal])+ $field:ident: $ty:ty = $default:expr,)*
        }
    ) => {
        $(#[doc = $sdoc])*
        #[derive($($derive),*)]
        pub struct $name {
            $(
                $(#[doc = $doc])+
                #[doc = concat!(" Default: `", stringify!($default), "`.")]
                pub $field: $ty,
            )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $($field: $default,)* }
            }
        }

        impl $name {
            /// Every field (name, type, default, doc) in declaration order.
            pub const FIELDS: &'static [$crate::options::OptionField] = &[$(
                $crate::options::OptionField {
                    name: stringify!($field),
                    ty: stringify!($ty),
                    default: stringify!($default),
                    doc: concat!($($doc, "\n"),+),
                },
            )*];
        }
    };
}
