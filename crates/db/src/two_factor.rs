//! Two-factor sign-in rows: a user's TOTP secret (encrypted by the caller), its one-time
//! recovery codes (keyed hashes) and the sign-ins waiting for their second step. The caller
//! decides the transaction; codes are checked in `web::two_factor`.

use crate::{q, Conn, DbResult};
use domain::status::Role;
use sqlx::FromRow;

#[derive(Clone, Debug, FromRow)]
pub struct Totp {
    pub user_id: i64,
    pub secret_enc: String,
    /// None while enrolling: the secret was shown, no code typed yet.
    pub confirmed_at: Option<i64>,
    /// The latest 30-second step a code was accepted for (0: none yet).
    pub last_step: i64,
    pub created_at: i64,
}

pub async fn totp_of(conn: &mut Conn, user_id: i64) -> DbResult<Option<Totp>> {
    q::optional(
        conn,
        "SELECT * FROM user_totp WHERE user_id = $1",
        (user_id,),
    )
    .await
}

/// Whether the user signs in with a second factor.
pub async fn is_enabled(conn: &mut Conn, user_id: i64) -> DbResult<bool> {
    Ok(totp_of(conn, user_id)
        .await?
        .is_some_and(|t| t.confirmed_at.is_some()))
}

/// The settings key of "require a second factor for admins" (`"1"` when on).
pub const SETTING_REQUIRED_FOR_ADMINS: &str = "two_factor_required_for_admins";

/// Whether the admin's settings require a second factor of every admin.
pub async fn required_for_admins(conn: &mut Conn) -> DbResult<bool> {
    Ok(crate::settings::get_i64(conn, SETTING_REQUIRED_FOR_ADMINS)
        .await?
        .is_some_and(|v| v == 1))
}

/// The users of a role whose second factor is on (one query for a list page).
pub async fn enabled_among(conn: &mut Conn, role: Role) -> DbResult<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT t.user_id FROM user_totp t JOIN users u ON u.id = t.user_id \
         WHERE u.role = $1 AND t.confirmed_at IS NOT NULL",
    )
    .bind(role.as_str())
    .fetch_all(&mut *conn)
    .await?)
}

/// Starts (or restarts) an enrolment with a new secret; an enabled factor is never replaced.
pub async fn begin_enrolment(
    conn: &mut Conn,
    user_id: i64,
    secret_enc: &str,
    now: i64,
) -> DbResult<()> {
    q::execute(
        conn,
        "DELETE FROM user_totp WHERE user_id = $1 AND confirmed_at IS NULL",
        (user_id,),
    )
    .await?;
    q::execute(
        conn,
        "INSERT INTO user_totp (user_id, secret_enc, confirmed_at, last_step, created_at) \
         VALUES ($1, $2, NULL, 0, $3) ON CONFLICT (user_id) DO NOTHING",
        (user_id, secret_enc, now),
    )
    .await?;
    Ok(())
}

/// Marks the enrolment confirmed by a code of `step`; false when there was none pending.
pub async fn confirm(conn: &mut Conn, user_id: i64, step: i64, now: i64) -> DbResult<bool> {
    Ok(q::execute(
        conn,
        "UPDATE user_totp SET confirmed_at = $1, last_step = $2 \
         WHERE user_id = $3 AND confirmed_at IS NULL",
        (now, step, user_id),
    )
    .await?
        == 1)
}

/// Records that a code of `step` was used, only if no later or equal step was: false means the
/// code was already spent (a replay, or two sign-ins racing with one code).
pub async fn spend_step(conn: &mut Conn, user_id: i64, step: i64) -> DbResult<bool> {
    Ok(q::execute(
        conn,
        "UPDATE user_totp SET last_step = $1 WHERE user_id = $2 AND last_step < $1 \
         AND confirmed_at IS NOT NULL",
        (step, user_id),
    )
    .await?
        == 1)
}

/// Removes the second factor and the recovery codes; whether there was a factor.
pub async fn remove(conn: &mut Conn, user_id: i64) -> DbResult<bool> {
    q::execute(
        conn,
        "DELETE FROM recovery_codes WHERE user_id = $1",
        (user_id,),
    )
    .await?;
    Ok(q::execute(conn, "DELETE FROM user_totp WHERE user_id = $1", (user_id,)).await? == 1)
}

/// Replaces the user's recovery codes with these hashes.
pub async fn replace_recovery_codes(
    conn: &mut Conn,
    user_id: i64,
    hashes: &[String],
) -> DbResult<()> {
    q::execute(
        conn,
        "DELETE FROM recovery_codes WHERE user_id = $1",
        (user_id,),
    )
    .await?;
    for h in hashes {
        q::execute(
            conn,
            "INSERT INTO recovery_codes (user_id, code_hash, used_at) VALUES ($1, $2, NULL)",
            (user_id, h.as_str()),
        )
        .await?;
    }
    Ok(())
}

/// Uses a recovery code once: false when it is not the user's or was used before.
pub async fn spend_recovery_code(
    conn: &mut Conn,
    user_id: i64,
    code_hash: &str,
    now: i64,
) -> DbResult<bool> {
    Ok(q::execute(
        conn,
        "UPDATE recovery_codes SET used_at = $1 \
         WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        (now, user_id, code_hash),
    )
    .await?
        == 1)
}

/// How many of the user's recovery codes are still unused.
pub async fn recovery_codes_left(conn: &mut Conn, user_id: i64) -> DbResult<i64> {
    q::scalar(
        conn,
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        (user_id,),
    )
    .await
}

#[derive(Clone, Debug, FromRow)]
pub struct Challenge {
    pub id: i64,
    pub token_hash: String,
    pub user_id: i64,
    pub next_path: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub attempts: i64,
}

pub async fn create_challenge(
    conn: &mut Conn,
    token_hash: &str,
    user_id: i64,
    next_path: &str,
    now: i64,
    expires_at: i64,
) -> DbResult<i64> {
    q::execute(
        conn,
        "DELETE FROM signin_challenges WHERE expires_at <= $1",
        (now,),
    )
    .await?;
    q::scalar(
        conn,
        "INSERT INTO signin_challenges (token_hash, user_id, next_path, created_at, expires_at, attempts) \
         VALUES ($1, $2, $3, $4, $5, 0) RETURNING id",
        (token_hash, user_id, next_path, now, expires_at),
    )
    .await
}

/// The sign-in a browser's token stands for, while it has neither expired nor used up its
/// attempts (`max_attempts`).
pub async fn challenge_by_hash(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
    max_attempts: i64,
) -> DbResult<Option<Challenge>> {
    q::optional(
        conn,
        "SELECT * FROM signin_challenges WHERE token_hash = $1 AND expires_at > $2 AND attempts < $3",
        (token_hash, now, max_attempts),
    )
    .await
}

/// Counts a wrong code against the challenge.
pub async fn count_attempt(conn: &mut Conn, id: i64) -> DbResult<()> {
    q::execute(
        conn,
        "UPDATE signin_challenges SET attempts = attempts + 1 WHERE id = $1",
        (id,),
    )
    .await?;
    Ok(())
}

/// Ends a challenge; false when another request ended it first (so only one session is made).
pub async fn finish_challenge(conn: &mut Conn, id: i64) -> DbResult<bool> {
    Ok(q::execute(conn, "DELETE FROM signin_challenges WHERE id = $1", (id,)).await? == 1)
}
