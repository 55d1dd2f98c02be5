//! XDR (RFC 4506) as libvirt's rpcgen output uses it.
//!
//! Everything is big-endian and padded to 4 bytes. [`Encode`] and [`Decode`] are
//! implemented for the primitive items; protocol structs get theirs from the
//! `xdr_struct!` table macro. Rules worth knowing:
//!
//! * `char`, `unsigned char`, `short`, `unsigned short` travel as 4-byte items (`i8`,
//!   `u8`, `i16`, `u16` here); decoding truncates like glibc does.
//! * `Vec<u8>` is `opaque<N>` (packed bytes + padding); every other `Vec<T>` is a
//!   variable array `T<N>` (count + elements). `[u8; N]` is `opaque[N]`; `[i8; N]` is
//!   `char[N]` (N widened items).
//! * `String` is `string<REMOTE_STRING_MAX>` — every string typedef of the libvirt
//!   protocols has that bound. Strings must be UTF-8.
//! * `Option<T>` is the optional `*T`; `bool` and the optional flag decode any non-zero
//!   word as true (glibc does, and old go-libvirt relies on it).
//!
//! Decoding never panics and never allocates more than the input can fill: a count is
//! checked against its maximum and against the bytes that remain before any buffer is
//! reserved.

use oxvirt_util::{ErrorCode, ErrorDomain, VirError};

/// Longest string any libvirt protocol allows (`REMOTE_STRING_MAX`).
pub const STRING_MAX: u32 = 4_194_304;

/// Why an XDR item could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XdrError {
    /// The input ended before the item did.
    #[error("XDR input truncated: {needed} bytes needed, {remaining} left")]
    Truncated {
        /// Bytes the item still needed.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A length or count is above the maximum the protocol declares.
    #[error("XDR length {len} exceeds the maximum {max}")]
    TooLong {
        /// The length or count found (decode) or given (encode).
        len: u64,
        /// The declared maximum.
        max: u32,
    },
    /// A string is not valid UTF-8.
    #[error("XDR string is not valid UTF-8")]
    InvalidUtf8,
    /// An enum value that the protocol does not define.
    #[error("invalid value {value} for XDR enum {name}")]
    InvalidEnum {
        /// The XDR enum name.
        name: &'static str,
        /// The value found.
        value: i32,
    },
    /// A union discriminant without an arm.
    #[error("invalid discriminant {value} for XDR union {name}")]
    InvalidDiscriminant {
        /// The XDR union name.
        name: &'static str,
        /// The discriminant found.
        value: i32,
    },
    /// Bytes were left after an item that had to fill its input exactly.
    #[error("{0} unexpected bytes after the XDR item")]
    TrailingBytes(usize),
}

impl XdrError {
    /// The error as libvirt reports it: `VIR_ERR_RPC` in `VIR_FROM_RPC`.
    pub fn to_vir_error(&self) -> VirError {
        VirError::new(ErrorCode::Rpc, ErrorDomain::Rpc, self.to_string())
    }
}

impl From<XdrError> for VirError {
    fn from(e: XdrError) -> Self {
        e.to_vir_error()
    }
}

/// Bytes of padding after `len` bytes of opaque data.
pub const fn padding(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// A cursor over XDR input. It only ever hands out slices of the input.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Start reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Take the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], XdrError> {
        let remaining = self.remaining();
        if n > remaining {
            return Err(XdrError::Truncated { needed: n, remaining });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Take `n` bytes of opaque data and skip their padding (whose value is ignored,
    /// as glibc does).
    pub fn take_padded(&mut self, n: usize) -> Result<&'a [u8], XdrError> {
        let pad = padding(n);
        let remaining = self.remaining();
        if n.checked_add(pad).is_none_or(|total| total > remaining) {
            return Err(XdrError::Truncated { needed: n.saturating_add(pad), remaining });
        }
        let s = self.take(n)?;
        self.take(pad)?;
        Ok(s)
    }

    /// Read one 4-byte word.
    pub fn read_u32(&mut self) -> Result<u32, XdrError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Read one 8-byte word.
    pub fn read_u64(&mut self) -> Result<u64, XdrError> {
        let b = self.take(8)?;
        Ok(u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    /// Read a length or count word and check it against `max` and against the bytes
    /// left, assuming each counted item takes at least `min_item` bytes on the wire.
    pub fn read_count(&mut self, max: u32, min_item: usize) -> Result<usize, XdrError> {
        let n = self.read_u32()?;
        if n > max {
            return Err(XdrError::TooLong { len: u64::from(n), max });
        }
        let n = n as usize;
        let needed = n.saturating_mul(min_item);
        if needed > self.remaining() {
            return Err(XdrError::Truncated { needed, remaining: self.remaining() });
        }
        Ok(n)
    }

    /// Fail unless every byte was consumed.
    pub fn finish(&self) -> Result<(), XdrError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(XdrError::TrailingBytes(n)),
        }
    }
}

/// An XDR output buffer.
#[derive(Debug, Clone, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Writer::default()
    }

    /// Append to an existing buffer.
    pub fn with_buffer(buf: Vec<u8>) -> Self {
        Writer { buf }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// The encoded bytes, borrowed.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Write one 4-byte word.
    pub fn put_u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Write one 8-byte word.
    pub fn put_u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Write raw bytes followed by zero padding to 4 bytes.
    pub fn put_padded(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.buf.extend_from_slice(&[0u8; 3][..padding(bytes.len())]);
    }

    /// Write a length word after checking it against `max`.
    pub fn put_count(&mut self, len: usize, max: u32) -> Result<(), XdrError> {
        match u32::try_from(len) {
            Ok(n) if n <= max => {
                self.put_u32(n);
                Ok(())
            }
            _ => Err(XdrError::TooLong { len: len as u64, max }),
        }
    }

    /// Overwrite a 4-byte word written earlier (used for the packet length).
    pub fn patch_u32(&mut self, at: usize, v: u32) {
        if let Some(slot) = self.buf.get_mut(at..at + 4) {
            slot.copy_from_slice(&v.to_be_bytes());
        }
    }
}

/// A value with an XDR encoding.
pub trait Encode {
    /// Append the encoding of `self`.
    fn encode(&self, w: &mut Writer) -> Result<(), XdrError>;

    /// Append a variable array `Self<max>` (count, then the items). `u8` overrides this
    /// with `opaque<max>`.
    fn encode_array(items: &[Self], max: u32, w: &mut Writer) -> Result<(), XdrError>
    where
        Self: Sized,
    {
        w.put_count(items.len(), max)?;
        items.iter().try_for_each(|i| i.encode(w))
    }

    /// Encode `self` into a fresh buffer.
    fn to_bytes(&self) -> Result<Vec<u8>, XdrError> {
        let mut w = Writer::new();
        self.encode(&mut w)?;
        Ok(w.into_bytes())
    }
}

/// A value that can be read back from its XDR encoding.
pub trait Decode: Sized {
    /// The fewest bytes one item takes on the wire (bounds preallocation).
    const MIN_WIRE_SIZE: usize = 4;

    /// Read one item.
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError>;

    /// Read a variable array `Self<max>`. `u8` overrides this with `opaque<max>`.
    fn decode_array(r: &mut Reader<'_>, max: u32) -> Result<Vec<Self>, XdrError> {
        let n = r.read_count(max, Self::MIN_WIRE_SIZE.max(1))?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(Self::decode(r)?);
        }
        Ok(v)
    }

    /// Decode an item that fills `bytes` exactly.
    fn from_bytes(bytes: &[u8]) -> Result<Self, XdrError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode(&mut r)?;
        r.finish()?;
        Ok(v)
    }

    /// Decode an item at the start of `bytes`, ignoring what follows (libvirtd ignores
    /// trailing bytes after call arguments). Returns the item and the bytes it used.
    fn from_bytes_prefix(bytes: &[u8]) -> Result<(Self, usize), XdrError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode(&mut r)?;
        Ok((v, r.position()))
    }
}

/// Items whose encoding carries a declared maximum (`T<N>`): variable arrays, opaque,
/// `char<N>`. The table macro uses these for every field declared with `[N]`.
pub trait EncodeBounded {
    /// Append the encoding, failing if the length exceeds `max`.
    fn encode_bounded(&self, w: &mut Writer, max: u32) -> Result<(), XdrError>;
}

/// Decoding counterpart of [`EncodeBounded`].
pub trait DecodeBounded: Sized {
    /// Read the item, failing if its length exceeds `max`.
    fn decode_bounded(r: &mut Reader<'_>, max: u32) -> Result<Self, XdrError>;
}

impl<T: Encode> EncodeBounded for Vec<T> {
    fn encode_bounded(&self, w: &mut Writer, max: u32) -> Result<(), XdrError> {
        T::encode_array(self, max, w)
    }
}

impl<T: Decode> DecodeBounded for Vec<T> {
    fn decode_bounded(r: &mut Reader<'_>, max: u32) -> Result<Self, XdrError> {
        T::decode_array(r, max)
    }
}

impl EncodeBounded for String {
    fn encode_bounded(&self, w: &mut Writer, max: u32) -> Result<(), XdrError> {
        w.put_count(self.len(), max)?;
        w.put_padded(self.as_bytes());
        Ok(())
    }
}

impl DecodeBounded for String {
    fn decode_bounded(r: &mut Reader<'_>, max: u32) -> Result<Self, XdrError> {
        let n = r.read_count(max, 1)?;
        let bytes = r.take_padded(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| XdrError::InvalidUtf8)
    }
}

impl Encode for String {
    fn encode(&self, w: &mut Writer) -> Result<(), XdrError> {
        self.encode_bounded(w, STRING_MAX)
    }
}

impl Decode for String {
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        String::decode_bounded(r, STRING_MAX)
    }
}

impl Encode for str {
    fn encode(&self, w: &mut Writer) -> Result<(), XdrError> {
        w.put_count(self.len(), STRING_MAX)?;
        w.put_padded(self.as_bytes());
        Ok(())
    }
}

macro_rules! word_impls {
    ($($t:ty => $wire:ty, $put:ident, $read:ident;)*) => {$(
        impl Encode for $t {
            fn encode(&self, w: &mut Writer) -> Result<(), XdrError> {
                // Sign-extend (signed) or zero-extend (unsigned) to the wire width.
                w.$put(*self as $wire);
                Ok(())
            }
        }
        impl Decode for $t {
            const MIN_WIRE_SIZE: usize = std::mem::size_of::<$wire>();
            fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
                // Truncating cast, as glibc's xdr_char/xdr_short do.
                Ok(r.$read()? as $t)
            }
        }
    )*};
}

word_impls! {
    i32 => u32, put_u32, read_u32;
    u32 => u32, put_u32, read_u32;
    i64 => u64, put_u64, read_u64;
    u64 => u64, put_u64, read_u64;
    i16 => u32, put_u32, read_u32;
    u16 => u32, put_u32, read_u32;
    i8 => u32, put_u32, read_u32;
}

impl Encode for u8 {
    fn encode(&self, w: &mut Writer) -> Result<(), XdrError> {
        w.put_u32(u32::from(*self));
        Ok(())
    }

    fn encode_array(items: &[Self], max: u32, w: &mut Writer) -> Result<(), XdrError> {
        w.put_count(items.len(), max)?;
        w.put_padded(items);
        Ok(())
    }
}

impl Decode for u8 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        Ok(r.read_u32()? as u8)
    }

    fn decode_array(r: &mut Reader<'_>, max: u32) -> Result<Vec<Self>, XdrError> {
        let n = r.read_count(max, 1)?;
        Ok(r.take_padded(n)?.to_vec())
    }
}

impl Encode for f64 {
    fn encode(&self, w: &mut Writer) -> Result<(), XdrError> {
        w.put_u64(self.to_bits());
        Ok(())
    }
}

impl Decode for f64 {
    const MIN_WIRE_SIZE: usize = 8;
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        Ok(f64::from_bits(r.read_u64()?))
    }
}

impl Encode for bool {
    fn encode(&self, w: &mut Writer) -> Result<(), XdrError> {
        w.put_u32(u32::from(*self));
        Ok(())
    }
}

impl Decode for bool {
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        Ok(r.read_u32()? != 0)
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, w: &mut Writer) -> Result<(), XdrError> {
        match self {
            None => {
                w.put_u32(0);
                Ok(())
            }
            Some(v) => {
                w.put_u32(1);
                v.encode(w)
            }
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        if r.read_u32()? == 0 {
            Ok(None)
        } else {
            T::decode(r).map(Some)
        }
    }
}

impl<T: Encode + ?Sized> Encode for Box<T> {
    fn encode(&self, w: &mut Writer) -> Result<(), XdrError> {
        (**self).encode(w)
    }
}

impl<T: Decode> Decode for Box<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        T::decode(r).map(Box::new)
    }
}

/// `opaque[N]`: exactly N bytes plus padding, no length word.
impl<const N: usize> Encode for [u8; N] {
    fn encode(&self, w: &mut Writer) -> Result<(), XdrError> {
        w.put_padded(self);
        Ok(())
    }
}

impl<const N: usize> Decode for [u8; N] {
    const MIN_WIRE_SIZE: usize = N + padding(N);
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        let mut out = [0u8; N];
        out.copy_from_slice(r.take_padded(N)?);
        Ok(out)
    }
}

/// `char[N]`: N widened 4-byte items, no length word.
impl<const N: usize> Encode for [i8; N] {
    fn encode(&self, w: &mut Writer) -> Result<(), XdrError> {
        self.iter().try_for_each(|c| c.encode(w))
    }
}

impl<const N: usize> Decode for [i8; N] {
    const MIN_WIRE_SIZE: usize = 4 * N;
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        let mut out = [0i8; N];
        for c in out.iter_mut() {
            *c = i8::decode(r)?;
        }
        Ok(out)
    }
}

/// The protocol metadata every table struct carries.
pub trait XdrStruct {
    /// The struct's name in the `.x` file.
    const XDR_NAME: &'static str;
    /// `name:type` of every field, in wire order, in the notation of the reference
    /// tables (`remote_procs.tsv`).
    const FIELDS: &'static [&'static str];
}

/// A decoded payload whose concrete type is only known at run time (from the
/// procedure table).
pub trait DynPayload: std::fmt::Debug + Send + Sync + std::any::Any {
    /// Append the encoding of `self`.
    fn encode_dyn(&self, w: &mut Writer) -> Result<(), XdrError>;
    /// The XDR struct name.
    fn xdr_name(&self) -> &'static str;
    /// Downcasting support.
    fn as_any(&self) -> &dyn std::any::Any;
}

impl<T: Encode + XdrStruct + std::fmt::Debug + Send + Sync + 'static> DynPayload for T {
    fn encode_dyn(&self, w: &mut Writer) -> Result<(), XdrError> {
        self.encode(w)
    }
    fn xdr_name(&self) -> &'static str {
        T::XDR_NAME
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Decoder of one payload type, as stored in the procedure tables.
pub type DynDecodeFn = fn(&mut Reader<'_>) -> Result<Box<dyn DynPayload>, XdrError>;

/// The [`DynDecodeFn`] of `T`.
pub fn dyn_decode<T: Decode + DynPayload>(r: &mut Reader<'_>) -> Result<Box<dyn DynPayload>, XdrError> {
    Ok(Box::new(T::decode(r)?))
}

/// Declare XDR structs: the Rust struct, its [`Encode`]/[`Decode`] impls and its
/// [`XdrStruct`] metadata, from one table entry per struct. A field declared
/// `name: Vec<T> [N]` is a bounded array/opaque with maximum `N`.
macro_rules! xdr_struct {
    ($(
        $(#[$meta:meta])*
        $name:ident = $xdr:literal {
            $( $field:ident : $ty:ty $([$max:expr])? = $fxdr:literal ),* $(,)?
        }
    )*) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name {
            $(
                #[doc = concat!("`", $fxdr, "`")]
                pub $field: $ty,
            )*
        }

        impl $crate::xdr::Encode for $name {
            fn encode(&self, w: &mut $crate::xdr::Writer) -> Result<(), $crate::xdr::XdrError> {
                let _ = &w;
                $( $crate::xdr::xdr_struct!(@enc self.$field, w $(, $max)?); )*
                Ok(())
            }
        }

        impl $crate::xdr::Decode for $name {
            fn decode(r: &mut $crate::xdr::Reader<'_>) -> Result<Self, $crate::xdr::XdrError> {
                let _ = &r;
                Ok($name { $( $field: $crate::xdr::xdr_struct!(@dec $ty, r $(, $max)?), )* })
            }
        }

        impl $crate::xdr::XdrStruct for $name {
            const XDR_NAME: &'static str = $xdr;
            const FIELDS: &'static [&'static str] = &[$($fxdr),*];
        }
    )*};
    (@enc $v:expr, $w:ident) => { $crate::xdr::Encode::encode(&$v, $w)? };
    (@enc $v:expr, $w:ident, $max:expr) => { $crate::xdr::EncodeBounded::encode_bounded(&$v, $w, $max)? };
    (@dec $ty:ty, $r:ident) => { <$ty as $crate::xdr::Decode>::decode($r)? };
    (@dec $ty:ty, $r:ident, $max:expr) => { <$ty as $crate::xdr::DecodeBounded>::decode_bounded($r, $max)? };
}
pub(crate) use xdr_struct;

/// Declare an XDR enum with explicit values. Decoding an undeclared value fails with
/// [`XdrError::InvalidEnum`].
macro_rules! xdr_enum {
    ($(
        $(#[$meta:meta])*
        $name:ident = $xdr:literal {
            $fv:ident = $fval:literal $fc:literal $(, $variant:ident = $value:literal $cname:literal )* $(,)?
        }
    )*) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            #[doc = concat!("`", $fc, "`")]
            #[default]
            $fv = $fval,
            $(
                #[doc = concat!("`", $cname, "`")]
                $variant = $value,
            )*
        }
        impl $crate::xdr::Encode for $name {
            fn encode(&self, w: &mut $crate::xdr::Writer) -> Result<(), $crate::xdr::XdrError> {
                w.put_u32(*self as i32 as u32);
                Ok(())
            }
        }
        impl $crate::xdr::Decode for $name {
            fn decode(r: &mut $crate::xdr::Reader<'_>) -> Result<Self, $crate::xdr::XdrError> {
                let v = r.read_u32()? as i32;
                match v {
                    $fval => Ok($name::$fv),
                    $( $value => Ok($name::$variant), )*
                    _ => Err($crate::xdr::XdrError::InvalidEnum { name: $xdr, value: v }),
                }
            }
        }
        impl $name {
            /// The XDR enum name.
            pub const XDR_NAME: &'static str = $xdr;
            /// `(C name, value)` of every member, in declaration order.
            pub const MEMBERS: &'static [(&'static str, i32)] = &[($fc, $fval) $(, ($cname, $value))*];
        }
    )*};
}
pub(crate) use xdr_enum;
