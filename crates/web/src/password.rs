//! Argon2id password hashing with the crate's default (OWASP-recommended) parameters.
//! Verification runs on the blocking pool: it is deliberately slow.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?
        .to_string())
}

pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

pub async fn hash_async(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash(&password)).await?
}

pub async fn verify_async(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || verify(&password, &stored))
        .await
        .unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so timing does not reveal it.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("not-a-real-password").expect("hashing works"))
}

/// The common passwords compiled into the binary (one a line, lower case): our own picks first
/// (Persian and Iranian ones among them), then the 5,000 most frequent of the password list that
/// zxcvbn (Dropbox, MIT licence) ships, about 5,100 in all.
const COMMON: &str = include_str!("common_passwords.txt");

fn common_set() -> &'static std::collections::HashSet<&'static str> {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    SET.get_or_init(|| {
        COMMON
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// A password anyone would try first: a listed one, a listed word with digits or symbols around
/// it (`Password123!`), one character repeated, or a run of digits or letters in order.
pub fn is_common(password: &str) -> bool {
    let p = password.to_lowercase();
    let set = common_set();
    if set.contains(p.as_str()) {
        return true;
    }
    let core = p.trim_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    if core.is_empty() || set.contains(core) {
        return true;
    }
    let chars: Vec<char> = p.chars().collect();
    if chars.windows(2).all(|w| w[0] == w[1]) {
        return true;
    }
    let step = |d: i32| chars.windows(2).all(|w| w[1] as i32 - w[0] as i32 == d);
    step(1) || step(-1)
}

/// Length rule and common-password check shared by every form, the API and the command line.
pub fn check_strength(password: &str) -> Result<(), &'static str> {
    if password.chars().count() < 8 {
        Err("err.password_short")
    } else if password.len() > 256 {
        Err("err.password_long")
    } else if is_common(password) {
        Err("err.password_common")
    } else {
        Ok(())
    }
}

/// [`check_strength`], and not the login itself.
pub fn check_strength_for(password: &str, login: &str) -> Result<(), &'static str> {
    check_strength(password)?;
    if password.trim().eq_ignore_ascii_case(login.trim()) {
        return Err("err.password_is_login");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn common_passwords_are_refused_with_their_variants() {
        for p in [
            "password",
            "Password123!",
            "12345678",
            "qwerty123",
            "aaaaaaaa",
            "abcdefgh",
            "87654321",
            "persepolis1404",
            // Far down the compiled list (ranks past 3,500 of about 5,000).
            "kakashka",
            "yeahbaby",
            "Carlitos77",
        ] {
            assert_eq!(super::check_strength(p), Err("err.password_common"), "{p}");
        }
        for p in ["correct-horse", "shop-pass-1", "t7#kLq9zWm"] {
            assert_eq!(super::check_strength(p), Ok(()), "{p}");
        }
        assert_eq!(super::check_strength("short"), Err("err.password_short"));
        assert_eq!(
            super::check_strength_for("shopkeeper9x", "ShopKeeper9x"),
            Err("err.password_is_login")
        );
    }

    #[test]
    fn argon2id_hash_verifies_only_the_right_password() {
        let h = super::hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("correct horse", &h));
        assert!(!super::verify("wrong horse", &h));
        assert!(!super::verify("correct horse", "garbage"));
    }
}
