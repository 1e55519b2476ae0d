//! Keys derived from `VPNMARKET_SECRET_KEY`: one encrypts panel credentials at rest, one keys
//! the hashes of session and API tokens. Separate derivations so one use never weakens another.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct Keys {
    cipher: ChaCha20Poly1305,
    token_key: [u8; 32],
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret key must be at least 32 characters")]
    TooShort,
    #[error("a stored secret could not be decrypted (was VPNMARKET_SECRET_KEY changed?)")]
    Undecryptable,
}

fn derive(secret: &[u8], purpose: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"vpnmarket/");
    mac.update(purpose);
    mac.finalize().into_bytes().into()
}

impl Keys {
    pub fn from_secret(secret: &str) -> Result<Keys, SecretError> {
        if secret.chars().count() < 32 {
            return Err(SecretError::TooShort);
        }
        let enc = derive(secret.as_bytes(), b"credentials");
        Ok(Keys {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&enc)),
            token_key: derive(secret.as_bytes(), b"tokens"),
        })
    }

    /// Keyed hash of a session or API token: what the database stores instead of the token.
    pub fn hash_token(&self, token: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.token_key).expect("32-byte key");
        mac.update(token.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// `base64(nonce ‖ ciphertext)`; a fresh random nonce per value.
    pub fn encrypt(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        STANDARD.encode(out)
    }

    pub fn decrypt(&self, stored: &str) -> Result<String, SecretError> {
        let raw = STANDARD
            .decode(stored)
            .map_err(|_| SecretError::Undecryptable)?;
        if raw.len() < 12 {
            return Err(SecretError::Undecryptable);
        }
        let (nonce, ct) = raw.split_at(12);
        let pt = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| SecretError::Undecryptable)?;
        String::from_utf8(pt).map_err(|_| SecretError::Undecryptable)
    }
}

/// A random URL-safe token with 256 bits of entropy.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn encrypted_secret_round_trips_and_does_not_contain_the_plaintext() {
        let k = Keys::from_secret(SECRET).unwrap();
        let stored = k.encrypt("panel-password");
        assert!(!stored.contains("panel-password"));
        assert_ne!(stored, k.encrypt("panel-password"), "nonces must differ");
        assert_eq!(k.decrypt(&stored).unwrap(), "panel-password");
    }

    #[test]
    fn another_key_cannot_decrypt_and_tampering_is_detected() {
        let k = Keys::from_secret(SECRET).unwrap();
        let other = Keys::from_secret("another-secret-that-is-long-enough-32").unwrap();
        let stored = k.encrypt("x");
        assert!(other.decrypt(&stored).is_err());
        let mut raw = STANDARD.decode(&stored).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert!(k.decrypt(&STANDARD.encode(raw)).is_err());
    }

    #[test]
    fn short_secrets_are_refused_and_token_hashes_depend_on_the_key() {
        assert!(Keys::from_secret("short").is_err());
        let a = Keys::from_secret(SECRET).unwrap();
        let b = Keys::from_secret("another-secret-that-is-long-enough-32").unwrap();
        assert_eq!(a.hash_token("t"), a.hash_token("t"));
        assert_ne!(a.hash_token("t"), b.hash_token("t"));
        assert_ne!(random_token(), random_token());
    }
}
