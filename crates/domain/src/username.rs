//! Panel usernames: the default `{prefix}_{resellerId}_cfg_{configId}` and the rules every panel accepts.
//! We enforce the strictest panel's rule (Marzneshin: 3–32 of `a-z 0-9 _`) so a name works on all of them.

use thiserror::Error;

pub const USERNAME_MIN_LEN: usize = 3;
pub const USERNAME_MAX_LEN: usize = 32;
/// The default name adds 6 fixed characters (`_` and `_cfg_`) to the prefix; a 12-character prefix
/// leaves 14 digits for the two ids (e.g. 7 + 7), so default names stay within 32 characters.
pub const PREFIX_MAX_LEN: usize = 12;
/// The `username_prefix` setting's default.
pub const DEFAULT_PREFIX: &str = "resell";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UsernameError {
    #[error("must be at least {min} characters long")]
    TooShort { min: usize },
    #[error("must be at most {max} characters long")]
    TooLong { max: usize },
    #[error("may contain only lowercase letters a-z, digits 0-9 and '_', not {0:?}")]
    InvalidChar(char),
    #[error("must start with a lowercase letter a-z")]
    MustStartWithLetter,
}

/// `{prefix}_{resellerId}_cfg_{configId}`. Not validated here: callers check the result with
/// [`validate_username`] because huge ids can push it past 32 characters.
pub fn default_username(prefix: &str, reseller_id: i64, config_id: i64) -> String {
    format!("{prefix}_{reseller_id}_cfg_{config_id}")
}

fn check_chars(s: &str) -> Result<(), UsernameError> {
    match s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        Some(c) => Err(UsernameError::InvalidChar(c)),
        None => Ok(()),
    }
}

fn check_len(s: &str, min: usize, max: usize) -> Result<(), UsernameError> {
    let len = s.chars().count();
    if len < min {
        Err(UsernameError::TooShort { min })
    } else if len > max {
        Err(UsernameError::TooLong { max })
    } else {
        Ok(())
    }
}

/// 3–32 characters of `a-z 0-9 _`. Upper case is refused rather than lowered, because some panels
/// keep case and others fold it, and the same config must have one name everywhere.
pub fn validate_username(name: &str) -> Result<(), UsernameError> {
    check_len(name, USERNAME_MIN_LEN, USERNAME_MAX_LEN)?;
    check_chars(name)
}

/// 1–12 characters of `a-z 0-9 _` starting with a letter: short enough that default names fit in
/// 32 characters, and never all digits, so a name cannot be mistaken for a panel's numeric user id.
pub fn validate_prefix(prefix: &str) -> Result<(), UsernameError> {
    check_len(prefix, 1, PREFIX_MAX_LEN)?;
    check_chars(prefix)?;
    if !prefix.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(UsernameError::MustStartWithLetter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn default_name_shape() {
        assert_eq!(default_username("resell", 7, 123), "resell_7_cfg_123");
        assert_eq!(
            validate_username(&default_username("resell", 7, 123)),
            Ok(())
        );
    }

    #[test]
    fn usernames() {
        assert_eq!(validate_username("abc"), Ok(()));
        assert_eq!(validate_username("a_1"), Ok(()));
        assert_eq!(validate_username(&"a".repeat(32)), Ok(()));
        assert_eq!(validate_username("123"), Ok(()));
        assert_eq!(
            validate_username("ab"),
            Err(UsernameError::TooShort { min: 3 })
        );
        assert_eq!(
            validate_username(""),
            Err(UsernameError::TooShort { min: 3 })
        );
        assert_eq!(
            validate_username(&"a".repeat(33)),
            Err(UsernameError::TooLong { max: 32 })
        );
        assert_eq!(
            validate_username("Abc"),
            Err(UsernameError::InvalidChar('A'))
        );
        assert_eq!(
            validate_username("ab-c"),
            Err(UsernameError::InvalidChar('-'))
        );
        assert_eq!(
            validate_username("ab.c"),
            Err(UsernameError::InvalidChar('.'))
        );
        assert_eq!(
            validate_username("a@bc"),
            Err(UsernameError::InvalidChar('@'))
        );
        assert_eq!(
            validate_username("ab c"),
            Err(UsernameError::InvalidChar(' '))
        );
        assert_eq!(
            validate_username("علی۱۲"),
            Err(UsernameError::InvalidChar('ع'))
        );
        // Length counts characters, not bytes: three Persian letters are the right length but
        // the wrong characters.
        assert_eq!(
            validate_username("علی"),
            Err(UsernameError::InvalidChar('ع'))
        );
    }

    #[test]
    fn prefixes() {
        assert_eq!(validate_prefix(DEFAULT_PREFIX), Ok(()));
        assert_eq!(validate_prefix("a"), Ok(()));
        assert_eq!(validate_prefix("shop_2"), Ok(()));
        assert_eq!(validate_prefix(&"a".repeat(12)), Ok(()));
        assert_eq!(validate_prefix(""), Err(UsernameError::TooShort { min: 1 }));
        assert_eq!(
            validate_prefix(&"a".repeat(13)),
            Err(UsernameError::TooLong { max: 12 })
        );
        assert_eq!(
            validate_prefix("1shop"),
            Err(UsernameError::MustStartWithLetter)
        );
        assert_eq!(
            validate_prefix("_shop"),
            Err(UsernameError::MustStartWithLetter)
        );
        assert_eq!(
            validate_prefix("Shop"),
            Err(UsernameError::InvalidChar('S'))
        );
    }

    #[test]
    fn longest_prefix_with_seven_digit_ids_is_exactly_32() {
        let name = default_username(&"p".repeat(PREFIX_MAX_LEN), 9_999_999, 9_999_999);
        assert_eq!(name.len(), USERNAME_MAX_LEN);
        assert_eq!(validate_username(&name), Ok(()));
    }

    proptest! {
        #[test]
        fn default_names_from_valid_prefixes_are_valid(
            prefix in "[a-z][a-z0-9_]{0,11}", reseller in 1i64..10_000_000, config in 1i64..10_000_000,
        ) {
            prop_assert_eq!(validate_prefix(&prefix), Ok(()));
            prop_assert_eq!(validate_username(&default_username(&prefix, reseller, config)), Ok(()));
        }

        #[test]
        fn every_name_of_the_pattern_is_accepted(name in "[a-z0-9_]{3,32}") {
            prop_assert_eq!(validate_username(&name), Ok(()));
        }

        #[test]
        fn one_foreign_character_is_refused(
            name in "[a-z0-9_]{3,31}", at in any::<prop::sample::Index>(),
            bad in "[A-Z.@ -]|[\\u{0600}-\\u{06FF}]",
        ) {
            let mut chars: Vec<char> = name.chars().collect();
            let bad = bad.chars().next().unwrap();
            chars.insert(at.index(chars.len() + 1), bad);
            let name: String = chars.into_iter().collect();
            prop_assert_eq!(validate_username(&name), Err(UsernameError::InvalidChar(bad)));
        }
    }
}
