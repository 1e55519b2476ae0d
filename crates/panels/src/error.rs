//! The one error type of every adapter, sorted by what the caller must do next.
//! The line that matters most: did the request reach the panel, and may it have been applied?

/// Messages never contain credentials or tokens; they may quote the panel's own error text.
#[derive(Debug, thiserror::Error)]
pub enum PanelError {
    /// Connecting failed (refused, DNS, TLS handshake, connect time-out): the request never
    /// reached the panel, so nothing changed there.
    #[error("panel unreachable: {0}")]
    Unreachable(String),
    /// The request was sent but no complete answer came back (time-out, connection cut): the
    /// panel may or may not have applied it.
    #[error("no answer from panel: {0}")]
    Timeout(String),
    /// The panel refused our credentials, even after logging in again once.
    #[error("panel refused the credentials: {0}")]
    Auth(String),
    #[error("not found on panel: {0}")]
    NotFound(String),
    /// The panel answered and said no: 4xx, `success:false`, or a 5xx (status >= 500).
    #[error("panel rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    /// A 2xx answer we cannot read (an HTML error page from a proxy, a changed JSON shape).
    #[error("unreadable answer from panel: {0}")]
    BadResponse(String),
    /// The panel row is set up wrong (URL, credentials, missing settings): fix it, don't retry.
    #[error("panel configuration: {0}")]
    Config(String),
}

impl PanelError {
    /// For a mutation: the panel may have applied it although we got no clean "yes". The caller
    /// must read the panel's state before repeating the mutation (above all before a second
    /// create). A 5xx is included: Marzban deletes the row and then answers 500 for some users.
    /// On reads the answer is meaningless, since a read changes nothing either way.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            PanelError::Timeout(_) | PanelError::BadResponse(_) => true,
            PanelError::Rejected { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Trying the same request again later, with nothing changed on our side, may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            PanelError::Unreachable(_) | PanelError::Timeout(_) | PanelError::BadResponse(_) => {
                true
            }
            PanelError::Rejected { status, .. } => {
                *status >= 500 || *status == 408 || *status == 429
            }
            PanelError::Auth(_) | PanelError::NotFound(_) | PanelError::Config(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(status: u16) -> PanelError {
        PanelError::Rejected {
            status,
            message: String::new(),
        }
    }

    #[test]
    fn only_unanswered_or_broken_answers_leave_the_outcome_open() {
        assert!(PanelError::Timeout("t".into()).outcome_unknown());
        assert!(PanelError::BadResponse("b".into()).outcome_unknown());
        assert!(rejected(500).outcome_unknown());
        assert!(rejected(502).outcome_unknown());
        assert!(!rejected(409).outcome_unknown());
        assert!(!PanelError::Unreachable("u".into()).outcome_unknown());
        assert!(!PanelError::Auth("a".into()).outcome_unknown());
    }

    #[test]
    fn retry_only_what_can_heal_by_itself() {
        assert!(PanelError::Unreachable("u".into()).is_retryable());
        assert!(rejected(503).is_retryable());
        assert!(rejected(429).is_retryable());
        assert!(!rejected(422).is_retryable());
        assert!(!PanelError::Config("c".into()).is_retryable());
        assert!(!PanelError::Auth("a".into()).is_retryable());
        assert!(!PanelError::NotFound("n".into()).is_retryable());
    }
}
