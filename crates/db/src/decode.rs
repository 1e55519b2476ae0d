//! Decoding at the row edge: TEXT states into the `domain::status` enums and 0/1 flags into
//! `bool`, so an unknown stored value fails the query naming the column, never a silent default.
//!
//! Rows use `#[sqlx(try_from = "String")]` for a required state (the enums implement
//! `TryFrom<String>`), `try_from = "MaybeText"` for a nullable one, and `try_from = "Flag"` /
//! `"MaybeFlag"` for flags. The stored strings are the enums' `as_str()`; writes bind those.

use sqlx::any::{AnyTypeInfo, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Any, Decode, Type};

/// A nullable TEXT column on its way to `Option<SomeEnum>`.
pub struct MaybeText(pub Option<String>);

/// A 0/1 BIGINT column on its way to `bool`.
pub struct Flag(pub i64);

/// A nullable 0/1 BIGINT column on its way to `Option<bool>`.
pub struct MaybeFlag(pub Option<i64>);

/// A flag column holding something other than 0 or 1.
#[derive(Debug, thiserror::Error)]
#[error("flag column holds {0}, expected 0 or 1")]
pub struct BadFlag(i64);

fn flag(v: i64) -> Result<bool, BadFlag> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(BadFlag(other)),
    }
}

impl TryFrom<Flag> for bool {
    type Error = BadFlag;

    fn try_from(f: Flag) -> Result<bool, BadFlag> {
        flag(f.0)
    }
}

impl TryFrom<MaybeFlag> for Option<bool> {
    type Error = BadFlag;

    fn try_from(f: MaybeFlag) -> Result<Option<bool>, BadFlag> {
        f.0.map(flag).transpose()
    }
}

impl<T: TryFrom<String>> TryFrom<MaybeText> for Option<T> {
    type Error = T::Error;

    fn try_from(t: MaybeText) -> Result<Option<T>, T::Error> {
        t.0.map(T::try_from).transpose()
    }
}

// The wrappers are the plain column types underneath; NULL is handled by `Option`'s decode.
macro_rules! same_as {
    ($wrapper:ident, $inner:ty, $column:ty) => {
        impl Type<Any> for $wrapper {
            fn type_info() -> AnyTypeInfo {
                <$column as Type<Any>>::type_info()
            }

            fn compatible(ty: &AnyTypeInfo) -> bool {
                <$column as Type<Any>>::compatible(ty)
            }
        }

        impl<'r> Decode<'r, Any> for $wrapper {
            fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok($wrapper(<$inner as Decode<'r, Any>>::decode(value)?))
            }
        }
    };
}

same_as!(MaybeText, Option<String>, String);
same_as!(Flag, i64, i64);
same_as!(MaybeFlag, Option<i64>, i64);

#[cfg(test)]
mod tests {
    use super::*;
    use domain::status::ConfigStatus;

    #[test]
    fn flags_are_zero_or_one() {
        assert!(!bool::try_from(Flag(0)).unwrap());
        assert!(bool::try_from(Flag(1)).unwrap());
        assert_eq!(
            bool::try_from(Flag(2)).unwrap_err().to_string(),
            "flag column holds 2, expected 0 or 1"
        );
        assert_eq!(Option::<bool>::try_from(MaybeFlag(None)).unwrap(), None);
    }

    #[test]
    fn a_nullable_state_decodes_or_names_the_enum() {
        let none: Option<ConfigStatus> = MaybeText(None).try_into().unwrap();
        assert_eq!(none, None);
        let some: Option<ConfigStatus> = MaybeText(Some("disabled".into())).try_into().unwrap();
        assert_eq!(some, Some(ConfigStatus::Disabled));
        let bad: Result<Option<ConfigStatus>, _> = MaybeText(Some("paused".into())).try_into();
        assert_eq!(
            bad.unwrap_err().to_string(),
            "unknown config status \"paused\""
        );
    }
}
