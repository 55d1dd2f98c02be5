//! Typed parameters (`virTypedParameter`): the field/value lists of the tuning calls
//! (`virDomainGetMemoryParameters`, `virDomainSetSchedulerParametersFlags`, ...), and
//! libvirt's rules for checking them (`virTypedParamsValidate`).

use crate::{Error, Result};
use oxvirt_util::{ErrorCode, ErrorDomain};

/// `VIR_TYPED_PARAM_STRING_OKAY`: the caller accepts string parameters. libvirt's
/// public API adds it to the flags of the "get" calls whose driver supports strings.
pub const TYPED_PARAM_STRING_OKAY: u32 = 1 << 2;

/// `VIR_TYPED_PARAM_FIELD_LENGTH`: a field name's buffer size, NUL included.
pub const TYPED_PARAM_FIELD_LENGTH: usize = 80;

/// `VIR_DOMAIN_MEMORY_PARAM_UNLIMITED`: "no limit" for the memory tunables.
pub const MEMORY_PARAM_UNLIMITED: u64 = 9_007_199_254_740_991;

/// A typed parameter's value (`virTypedParameterType` + union).
#[derive(Debug, Clone, PartialEq)]
pub enum TypedValue {
    /// `VIR_TYPED_PARAM_INT` (1)
    Int(i32),
    /// `VIR_TYPED_PARAM_UINT` (2)
    UInt(u32),
    /// `VIR_TYPED_PARAM_LLONG` (3)
    LLong(i64),
    /// `VIR_TYPED_PARAM_ULLONG` (4)
    ULLong(u64),
    /// `VIR_TYPED_PARAM_DOUBLE` (5)
    Double(f64),
    /// `VIR_TYPED_PARAM_BOOLEAN` (6)
    Boolean(bool),
    /// `VIR_TYPED_PARAM_STRING` (7)
    String(String),
}

/// The type of a [`TypedValue`] (`virTypedParameterType`), for validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypedType {
    /// int
    Int = 1,
    /// uint
    UInt = 2,
    /// llong
    LLong = 3,
    /// ullong
    ULLong = 4,
    /// double
    Double = 5,
    /// boolean
    Boolean = 6,
    /// string
    String = 7,
}

impl TypedType {
    /// libvirt's name of the type (`virTypedParameterTypeToString`).
    pub fn name(self) -> &'static str {
        match self {
            TypedType::Int => "int",
            TypedType::UInt => "uint",
            TypedType::LLong => "llong",
            TypedType::ULLong => "ullong",
            TypedType::Double => "double",
            TypedType::Boolean => "boolean",
            TypedType::String => "string",
        }
    }
}

impl TypedValue {
    /// The value's type.
    pub fn typ(&self) -> TypedType {
        match self {
            TypedValue::Int(_) => TypedType::Int,
            TypedValue::UInt(_) => TypedType::UInt,
            TypedValue::LLong(_) => TypedType::LLong,
            TypedValue::ULLong(_) => TypedType::ULLong,
            TypedValue::Double(_) => TypedType::Double,
            TypedValue::Boolean(_) => TypedType::Boolean,
            TypedValue::String(_) => TypedType::String,
        }
    }
}

/// One typed parameter: a field name and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedParam {
    /// Field name (e.g. `hard_limit`).
    pub field: String,
    /// Value.
    pub value: TypedValue,
}

impl TypedParam {
    /// A parameter.
    pub fn new(field: impl Into<String>, value: TypedValue) -> TypedParam {
        TypedParam { field: field.into(), value }
    }
}

/// libvirt's `VIR_EXCLUSIVE_FLAGS_RET(VIR_DOMAIN_AFFECT_LIVE, VIR_DOMAIN_AFFECT_CONFIG)`
/// of the public API (its message carries no code prefix).
pub fn live_config_exclusive(flags: u32) -> Result<()> {
    if flags & 3 == 3 {
        return Err(Error::raw(
            ErrorCode::InvalidArg,
            ErrorDomain::Domain,
            "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
        ));
    }
    Ok(())
}

/// The value of `field` if present with type ullong (`virTypedParamsGetULLong`).
pub fn get_ullong(params: &[TypedParam], field: &str) -> Option<u64> {
    params.iter().find(|p| p.field == field).and_then(|p| match p.value {
        TypedValue::ULLong(v) => Some(v),
        _ => None,
    })
}

/// The value of `field` if present with type uint (`virTypedParamsGetUInt`).
pub fn get_uint(params: &[TypedParam], field: &str) -> Option<u32> {
    params.iter().find(|p| p.field == field).and_then(|p| match p.value {
        TypedValue::UInt(v) => Some(v),
        _ => None,
    })
}

/// libvirt's `virTypedParamsValidate`: every parameter must be one of `allowed`
/// (name, type), with that type, at most once. Errors come from `VIR_FROM_NONE` with
/// libvirt's wording, and are checked in libvirt's order (parameters sorted by name).
pub fn validate(params: &[TypedParam], allowed: &[(&str, TypedType)]) -> Result<()> {
    let mut sorted: Vec<&TypedParam> = params.iter().collect();
    sorted.sort_by(|a, b| a.field.as_bytes().cmp(b.field.as_bytes()));
    let mut keys: Vec<&(&str, TypedType)> = allowed.iter().collect();
    keys.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let (mut i, mut j) = (0, 0);
    let mut last: Option<&str> = None;
    while i < sorted.len() && j < keys.len() {
        let p = sorted[i];
        let (name, typ) = *keys[j];
        if p.field != name {
            j += 1;
            continue;
        }
        if last == Some(p.field.as_str()) {
            return Err(Error::new(ErrorCode::InvalidArg, ErrorDomain::None, format!("parameter '{}' occurs multiple times", p.field)));
        }
        if p.value.typ() != typ {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                ErrorDomain::None,
                format!("invalid type '{}' for parameter '{}', expected '{}'", p.value.typ().name(), p.field, typ.name()),
            ));
        }
        last = Some(p.field.as_str());
        i += 1;
    }
    if j == keys.len() && i != sorted.len() {
        return Err(Error::new(
            ErrorCode::ArgumentUnsupported,
            ErrorDomain::None,
            format!("parameter '{}' not supported", sorted[i].field),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn validate_like_libvirt() {
        let allowed = [("hard_limit", TypedType::ULLong), ("soft_limit", TypedType::ULLong)];
        assert!(validate(&[TypedParam::new("soft_limit", TypedValue::ULLong(1))], &allowed).is_ok());
        let e = validate(&[TypedParam::new("cap", TypedValue::ULLong(1))], &allowed).unwrap_err();
        assert_eq!(e.code, ErrorCode::ArgumentUnsupported);
        let e = validate(&[TypedParam::new("hard_limit", TypedValue::UInt(1))], &allowed).unwrap_err();
        assert!(e.message.contains("invalid type 'uint' for parameter 'hard_limit', expected 'ullong'"), "{}", e.message);
        let two = [TypedParam::new("hard_limit", TypedValue::ULLong(1)), TypedParam::new("hard_limit", TypedValue::ULLong(2))];
        assert!(validate(&two, &allowed).unwrap_err().message.contains("occurs multiple times"));
    }
}
