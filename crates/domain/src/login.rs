//! Sign-in logins (admins and resellers): one normal form used by the rate limit, the lookup
//! and the audit row, and the character set a new login may use, so that look-alikes
//! (case, width, zero-width and bidi characters, NUL) cannot pass for an existing login.

use unicode_normalization::UnicodeNormalization;

/// Longest login accepted anywhere (also the longest input the sign-in reads).
pub const MAX_LEN: usize = 64;
pub const MIN_LEN: usize = 3;

/// The one form a typed login is compared and stored in: trimmed, Unicode NFKC, lower case.
/// `None` when the input is longer than [`MAX_LEN`] characters (before or after folding), so a
/// caller can refuse it before storing or counting anything.
pub fn normalize(raw: &str) -> Option<String> {
    // Bound the work first: a 5 MB "login" is refused without being folded.
    if raw.len() > MAX_LEN * 4 + 64 {
        return None;
    }
    let folded: String = raw.trim().nfkc().collect::<String>().to_lowercase();
    let folded = folded.trim().to_string();
    (folded.chars().count() <= MAX_LEN).then_some(folded)
}

/// A login a new account may take: [`MIN_LEN`]..=[`MAX_LEN`] characters of `a-z 0-9 . _ - @`
/// after [`normalize`], starting with a letter or digit. Returns the normal form.
pub fn validate_new(raw: &str) -> Result<String, &'static str> {
    let login = normalize(raw).ok_or("login.err.too_long")?;
    let n = login.chars().count();
    if n < MIN_LEN {
        return Err("login.err.too_short");
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-@".contains(c);
    if !login.chars().all(allowed)
        || !login
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return Err("login.err.chars");
    }
    Ok(login)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_of_one_login_share_one_normal_form() {
        for v in [
            "admin",
            " admin",
            "admin ",
            "Admin",
            "ADMIN",
            "\u{a0}admin\u{a0}",
            "ａｄｍｉｎ",
        ] {
            assert_eq!(normalize(v).as_deref(), Some("admin"), "{v:?}");
        }
    }

    #[test]
    fn over_long_input_is_refused() {
        assert!(normalize(&"a".repeat(65)).is_none());
        assert!(normalize(&"a".repeat(5_000_000)).is_none());
        assert_eq!(normalize(&"a".repeat(64)).unwrap().len(), 64);
    }

    #[test]
    fn look_alikes_are_not_valid_new_logins() {
        assert_eq!(validate_new("Shop_1").unwrap(), "shop_1");
        for bad in [
            "sh\u{200b}op",
            "shop\u{202e}",
            "shop\0",
            "sh op",
            "شاپ",
            "ab",
            "-shop",
        ] {
            assert!(validate_new(bad).is_err(), "{bad:?}");
        }
    }
}
