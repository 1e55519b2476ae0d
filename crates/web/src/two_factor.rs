//! Two-factor sign-in (TOTP, RFC 6238: six digits, 30-second steps, SHA-1, as every
//! authenticator app reads from an `otpauth://` QR code), shared by the account page, the
//! sign-in page, `POST /api/v1/auth/token` and the admin's reseller page.
//!
//! - Enrolment: a new secret (encrypted at rest like panel credentials) is shown as a QR code and
//!   as text; it counts only once a first code from the app confirms it. Then ten one-time
//!   recovery codes are shown once; only their keyed hashes are stored.
//! - At sign-in, a code is accepted for the current step or one either side (clock drift), and
//!   each step only once: `user_totp.last_step` is raised in the same statement that accepts it,
//!   so a code read over a shoulder, or sent twice at once, signs in only once.
//! - An admin can remove a reseller's second factor (a lost phone); every change is audited.

use crate::auth::CurrentUser;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use db::audit::{Actor, NewAudit, Origin};
use domain::status::{AuditAction, AuditTarget, Role};
use rand::RngCore;
use totp_rs::{Algorithm, Secret, TOTP};

/// The name authenticator apps list the account under.
pub const ISSUER: &str = "VpnMarket";
/// Seconds a code is valid for (RFC 6238's default, what every app assumes).
const STEP_SECS: i64 = 30;
pub const RECOVERY_CODES: usize = 10;

/// What let a sign-in through its second step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verified {
    Authenticator,
    RecoveryCode,
}

/// What the enrolment page shows while a secret waits for its first code.
pub struct Enrolment {
    /// Base32 in groups of four, for typing into an app by hand.
    pub secret_text: String,
    pub otpauth_uri: String,
}

fn totp(secret: Vec<u8>, username: &str) -> Result<TOTP, AppError> {
    // An issuer or account name with ':' is refused by the otpauth format.
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECS as u64,
        secret,
        Some(ISSUER.to_string()),
        username.replace(':', "_"),
    )
    .map_err(|e| AppError::Internal(anyhow::anyhow!("TOTP parameters: {e}")))
}

fn secret_bytes(state: &AppState, stored: &db::two_factor::Totp) -> Result<Vec<u8>, AppError> {
    let text = state
        .keys
        .decrypt(&stored.secret_enc)
        .map_err(|e| AppError::Internal(e.into()))?;
    Secret::Encoded(text)
        .to_bytes()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored TOTP secret: {e}")))
}

/// A code as people type it: Persian or Arabic digits, spaces, dashes; lower case.
fn normalize_code(code: &str) -> String {
    domain::units::to_latin_digits(code)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The 30-second steps a code typed at `now` may belong to, the current one first.
fn candidate_steps(now: i64) -> [i64; 3] {
    let step = now / STEP_SECS;
    [step, step - 1, step + 1]
}

/// The step whose code this is, if any (not yet checked against the steps already used).
fn matching_step(totp: &TOTP, code: &str, now: i64) -> Option<i64> {
    if code.len() != 6 {
        return None;
    }
    candidate_steps(now).into_iter().find(|&step| {
        let expected = totp.generate((step * STEP_SECS) as u64);
        // Constant time, so the comparison does not tell how many digits were right.
        expected.len() == code.len()
            && expected
                .bytes()
                .zip(code.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    })
}

/// Whether the user signs in with a second factor.
pub async fn is_enabled(state: &AppState, user_id: i64) -> Result<bool, AppError> {
    let mut conn = state.db.acquire().await?;
    Ok(db::two_factor::is_enabled(&mut conn, user_id).await?)
}

/// Starts an enrolment with a fresh secret (a restarted one replaces the pending secret).
pub async fn begin(state: &AppState, user: &CurrentUser) -> Result<(), AppError> {
    let mut raw = vec![0u8; 20];
    rand::thread_rng().fill_bytes(&mut raw);
    let Secret::Encoded(text) = Secret::Raw(raw).to_encoded() else {
        unreachable!("to_encoded gives the base32 form")
    };
    let mut tx = state.db.begin_write().await?;
    if db::two_factor::is_enabled(&mut tx, user.id).await? {
        return Err(AppError::conflict(
            "two_factor_already_on",
            "two-factor sign-in is already on",
        ));
    }
    db::two_factor::begin_enrolment(
        &mut tx,
        user.id,
        &state.keys.encrypt(&text),
        chrono::Utc::now().timestamp(),
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(())
}

/// The secret waiting for its first code, if an enrolment is under way.
pub async fn pending(state: &AppState, user: &CurrentUser) -> Result<Option<Enrolment>, AppError> {
    let mut conn = state.db.acquire().await?;
    let Some(stored) = db::two_factor::totp_of(&mut conn, user.id).await? else {
        return Ok(None);
    };
    if stored.confirmed_at.is_some() {
        return Ok(None);
    }
    let t = totp(secret_bytes(state, &stored)?, &user.username)?;
    let base32 = t.get_secret_base32();
    let secret_text = base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Some(Enrolment {
        secret_text,
        otpauth_uri: t.get_url(),
    }))
}

/// Ten new recovery codes (`xxxxx-xxxxx`, 50 random bits each) and their keyed hashes.
fn new_recovery_codes(state: &AppState) -> (Vec<String>, Vec<String>) {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let chars: String = (0..10)
                .map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect();
    let hashes = codes
        .iter()
        .map(|c| state.keys.hash_token(&normalize_code(c)))
        .collect();
    (codes, hashes)
}

async fn audit(
    conn: &mut db::Conn,
    actor: &Actor,
    origin: &Origin,
    action: AuditAction,
    user_id: i64,
    meta: serde_json::Value,
) -> Result<(), AppError> {
    db::audit::record(
        conn,
        NewAudit {
            actor,
            origin,
            action,
            target_type: Some(AuditTarget::User),
            target_id: Some(user_id),
            reason: None,
            meta,
        },
    )
    .await?;
    Ok(())
}

fn wrong_code() -> AppError {
    let mut f = FieldErrors::new();
    f.insert("code".into(), "two_factor.err.code".into());
    AppError::Validation(f)
}

/// Confirms the enrolment with a first code from the app: the factor is on, and the recovery
/// codes (returned here, to be shown once) replace any earlier ones.
pub async fn confirm(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    code: &str,
) -> Result<Vec<String>, AppError> {
    let now = chrono::Utc::now().timestamp();
    let mut tx = state.db.begin_write().await?;
    let Some(stored) = db::two_factor::totp_of(&mut tx, user.id).await? else {
        return Err(AppError::conflict(
            "two_factor_not_started",
            "start the set-up first",
        ));
    };
    if stored.confirmed_at.is_some() {
        return Err(AppError::conflict(
            "two_factor_already_on",
            "two-factor sign-in is already on",
        ));
    }
    let t = totp(secret_bytes(state, &stored)?, &user.username)?;
    let step = matching_step(&t, &normalize_code(code), now).ok_or_else(wrong_code)?;
    db::two_factor::confirm(&mut tx, user.id, step, now).await?;
    issue_recovery_codes(state, tx, user, origin, AuditAction::TwoFactorEnabled).await
}

/// Ten new recovery codes in place of any old ones, audited as `action`, committing `tx`; the
/// codes in clear for the page to show once.
async fn issue_recovery_codes(
    state: &AppState,
    mut tx: db::Tx,
    user: &CurrentUser,
    origin: &Origin,
    action: AuditAction,
) -> Result<Vec<String>, AppError> {
    let (codes, hashes) = new_recovery_codes(state);
    db::two_factor::replace_recovery_codes(&mut tx, user.id, &hashes).await?;
    audit(
        &mut tx,
        &user.actor(),
        origin,
        action,
        user.id,
        serde_json::json!({ "recovery_codes": RECOVERY_CODES }),
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(codes)
}

/// Checks a second-step code of a user with a factor, spending it: an authenticator code for a
/// step not used before, or an unused recovery code. `None` when it is neither.
pub async fn spend_code(
    state: &AppState,
    conn: &mut db::Conn,
    user: &db::users::User,
    code: &str,
) -> Result<Option<Verified>, AppError> {
    let now = chrono::Utc::now().timestamp();
    let Some(stored) = db::two_factor::totp_of(conn, user.id).await? else {
        return Ok(None);
    };
    if stored.confirmed_at.is_none() {
        return Ok(None);
    }
    let code = normalize_code(code);
    if code.len() > 64 {
        return Ok(None);
    }
    let t = totp(secret_bytes(state, &stored)?, &user.username)?;
    if let Some(step) = matching_step(&t, &code, now) {
        return Ok(db::two_factor::spend_step(conn, user.id, step)
            .await?
            .then_some(Verified::Authenticator));
    }
    let hash = state.keys.hash_token(&code);
    Ok(
        db::two_factor::spend_recovery_code(conn, user.id, &hash, now)
            .await?
            .then_some(Verified::RecoveryCode),
    )
}

/// How many recovery codes the user has left, when the factor is on.
pub async fn recovery_codes_left(state: &AppState, user_id: i64) -> Result<Option<i64>, AppError> {
    let mut conn = state.db.acquire().await?;
    if !db::two_factor::is_enabled(&mut conn, user_id).await? {
        return Ok(None);
    }
    Ok(Some(
        db::two_factor::recovery_codes_left(&mut conn, user_id).await?,
    ))
}

/// The user's own password and a current code (or recovery code), required to turn the factor
/// off or to renew the recovery codes, so a session left open is not enough.
async fn check_password_and_code(
    state: &AppState,
    conn: &mut db::Conn,
    user: &CurrentUser,
    password: &str,
    code: &str,
) -> Result<(), AppError> {
    let row = db::users::by_id(conn, user.id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let mut f = FieldErrors::new();
    if !crate::password::verify_async(password.to_string(), row.password_hash.clone()).await {
        f.insert("password".into(), "account.err.current".into());
    }
    if f.is_empty() && spend_code(state, conn, &row, code).await?.is_none() {
        f.insert("code".into(), "two_factor.err.code".into());
    }
    if f.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(f))
    }
}

/// The user turns their own second factor off (password and a code required). An admin
/// cannot while the settings require a second factor of admins.
pub async fn disable_own(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    password: &str,
    code: &str,
) -> Result<(), AppError> {
    let mut tx = state.db.begin_write().await?;
    if user.role == Role::Admin && db::two_factor::required_for_admins(&mut tx).await? {
        return Err(AppError::forbidden(
            "two_factor_required",
            "the settings require a second factor for admins",
        ));
    }
    check_password_and_code(state, &mut tx, user, password, code).await?;
    db::two_factor::remove(&mut tx, user.id).await?;
    audit(
        &mut tx,
        &user.actor(),
        origin,
        AuditAction::TwoFactorDisabled,
        user.id,
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(())
}

/// Ten new recovery codes in place of the old ones (password and a code required).
pub async fn renew_recovery_codes(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    password: &str,
    code: &str,
) -> Result<Vec<String>, AppError> {
    let mut tx = state.db.begin_write().await?;
    check_password_and_code(state, &mut tx, user, password, code).await?;
    issue_recovery_codes(state, tx, user, origin, AuditAction::RecoveryCodesRenewed).await
}

/// The admin removes a reseller's second factor (its phone is lost): the reseller signs in with
/// its password alone until it enrols again. 404 for a reseller without a login; false when it
/// had no factor.
pub async fn remove_for_reseller(
    state: &AppState,
    admin: &CurrentUser,
    origin: &Origin,
    reseller_id: i64,
) -> Result<bool, AppError> {
    let mut tx = state.db.begin_write().await?;
    let user = db::users::by_reseller(&mut tx, reseller_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !db::two_factor::remove(&mut tx, user.id).await? {
        return Ok(false);
    }
    audit(
        &mut tx,
        &admin.actor(),
        origin,
        AuditAction::TwoFactorRemoved,
        user.id,
        serde_json::json!({ "reseller_id": reseller_id, "username": user.username }),
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app_totp() -> TOTP {
        totp(b"12345678901234567890".to_vec(), "shop").unwrap()
    }

    #[test]
    fn rfc_6238_sha1_vectors_match() {
        // RFC 6238 appendix B, SHA-1, last six digits of the eight given.
        let t = app_totp();
        assert_eq!(t.generate(59), "287082");
        assert_eq!(t.generate(1111111109), "081804");
        assert_eq!(t.generate(2000000000), "279037");
    }

    #[test]
    fn a_code_matches_its_step_and_its_neighbours_only() {
        let t = app_totp();
        let now = 1111111109;
        let code = t.generate(now as u64);
        assert_eq!(matching_step(&t, &code, now), Some(now / 30));
        assert_eq!(matching_step(&t, &code, now + 30), Some(now / 30));
        assert_eq!(matching_step(&t, &code, now - 30), Some(now / 30));
        assert_eq!(matching_step(&t, &code, now + 90), None, "two steps late");
        assert_eq!(matching_step(&t, "000000", now), None);
        assert_eq!(matching_step(&t, "12345", now), None);
    }

    #[test]
    fn codes_are_read_as_people_type_them() {
        assert_eq!(normalize_code(" ۰۸۱ ۸۰۴ "), "081804");
        assert_eq!(normalize_code("ABCDE-fghjk"), "abcdefghjk");
    }
}
