//! Stored codes turned into words for pages: config events, audit actions, reasons and their
//! recorded details, the state a panel reports, and panel errors as a short reason (the raw text
//! stays available to admins behind a "details" toggle). Nothing here shows a code or JSON.

use crate::i18n;
use crate::locale::Locale;
use domain::status::{
    ActorType, AuditAction, AuditTarget, ConfigEventKind, DriftAction, DriftKind, OpKind,
    RemoteState,
};
use serde_json::Value;

/// `prefix.code` when it has a translation, else `fallback` (never the bare code).
fn key_or(loc: &Locale, prefix: &str, code: &str, fallback: &'static str) -> String {
    let key = format!("{prefix}.{code}");
    if i18n::has(loc.lang, &key) {
        key
    } else {
        fallback.to_string()
    }
}

/// A config event (`panel_confirmed`, `auto_disabled`, …) as a short sentence (every kind has
/// one: a test walks `ConfigEventKind::ALL`).
pub fn event(loc: &Locale, kind: ConfigEventKind) -> String {
    loc.t(&key_or(loc, "events", kind.as_str(), "events.other"))
        .to_string()
}

/// An audit action as a sentence (a test walks `AuditAction::ALL`).
pub fn action(loc: &Locale, code: AuditAction) -> String {
    loc.t(&key_or(
        loc,
        "audit.actions",
        code.as_str(),
        "audit.actions.other",
    ))
    .to_string()
}

/// A recorded reason: a system code or phrase is translated; anything else was typed by a
/// person (a rejection reason, an adjustment note) and is shown as written.
pub fn reason(loc: &Locale, reason: &str) -> String {
    let slug: String = reason
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect();
    let key = format!("audit.reasons.{slug}");
    if i18n::has(loc.lang, &key) {
        loc.t(&key).to_string()
    } else {
        reason.to_string()
    }
}

/// Who acted in an audit row: a person's name, or the system or an anonymous visitor in words.
pub fn actor(loc: &Locale, actor_type: ActorType, name: &str) -> String {
    match actor_type {
        ActorType::System => loc.t("role.system").to_string(),
        ActorType::Anonymous => loc.tf1("audit.anonymous", "name", name),
        ActorType::Admin | ActorType::Reseller => name.to_string(),
    }
}

/// Who acted in a config event (a name; the system writes its own as `system`).
pub fn actor_name(loc: &Locale, name: &str) -> String {
    if name == ActorType::System.as_str() {
        loc.t("role.system").to_string()
    } else {
        name.to_string()
    }
}

/// The kind of thing an audit row is about, in words.
pub fn target_type(loc: &Locale, t: AuditTarget) -> String {
    loc.t(&key_or(
        loc,
        "audit.targets",
        t.as_str(),
        "audit.targets.other",
    ))
    .to_string()
}

/// Where the object of an audit row lives, when it has a page.
pub fn target_href(t: AuditTarget, id: i64) -> Option<String> {
    match t {
        AuditTarget::Reseller => Some(format!("/admin/resellers/{id}")),
        AuditTarget::Config => Some(format!("/configs/{id}")),
        AuditTarget::Panel => Some(format!("/admin/panels/{id}")),
        AuditTarget::Operation => Some(format!("/admin/operations/{id}")),
        AuditTarget::Topup => Some("/admin/topups?status=all".to_string()),
        AuditTarget::ApiToken | AuditTarget::User | AuditTarget::Settings => None,
    }
}

/// The state a panel reports for a user, as a word (`limited` → "data used up").
pub fn panel_state_key(state: RemoteState) -> &'static str {
    match state {
        RemoteState::Active => "configs.remote.active",
        RemoteState::Limited => "configs.remote.limited",
        RemoteState::Expired => "configs.remote.expired",
        RemoteState::OnHold => "configs.remote.on_hold",
        RemoteState::Disabled => "configs.remote.disabled",
    }
}

/// A panel error, as stored (the `panels::PanelError` text), reduced to the reason a person can
/// act on. The prefixes are the error type's own wording.
pub fn panel_error_key(raw: &str) -> &'static str {
    let lower = raw.to_ascii_lowercase();
    if lower.starts_with("panel unreachable") {
        if lower.contains("refused") {
            "panel_errors.refused"
        } else if lower.contains("dns") || lower.contains("resolve") {
            "panel_errors.dns"
        } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("ssl") {
            "panel_errors.tls"
        } else {
            "panel_errors.unreachable"
        }
    } else if lower.starts_with("no answer") || lower.contains("timed out") {
        "panel_errors.timeout"
    } else if lower.starts_with("panel refused the credentials") {
        "panel_errors.auth"
    } else if lower.starts_with("not found on panel") {
        "panel_errors.not_found"
    } else if lower.starts_with("panel rejected") {
        if lower.contains("http 429") {
            "panel_errors.rate_limited"
        } else if lower.contains("http 5") {
            "panel_errors.server"
        } else {
            "panel_errors.rejected"
        }
    } else if lower.starts_with("unreadable answer") {
        "panel_errors.bad_response"
    } else if lower.starts_with("panel configuration") {
        "panel_errors.config"
    } else {
        "panel_errors.other"
    }
}

/// `panel_error_key` in the visitor's language.
pub fn panel_error(loc: &Locale, raw: &str) -> String {
    loc.t(panel_error_key(raw)).to_string()
}

/// A limit or expiry as recorded in a drift event (bytes or Unix seconds; null = none).
fn drift_value(loc: &Locale, kind: &str, v: &Value) -> String {
    match (kind, v.as_i64()) {
        (_, None) if kind == DriftKind::ExpiryChanged.as_str() => {
            loc.t("configs.never").to_string()
        }
        (_, None) => loc.t("drift.unlimited").to_string(),
        (k, Some(ts)) if k == DriftKind::ExpiryChanged.as_str() => loc.ts_date(ts),
        (_, Some(bytes)) => loc.gb_unit(bytes),
    }
}

/// A drift event (`drift_corrected`, `panel_drift`, `missing_on_panel`) as a sentence: what
/// the panel showed, and what was done about it. None for other events.
pub fn drift(loc: &Locale, kind: ConfigEventKind, meta: &str) -> Option<String> {
    if !matches!(
        kind,
        ConfigEventKind::DriftCorrected
            | ConfigEventKind::DriftReported
            | ConfigEventKind::MissingOnPanel
    ) {
        return None;
    }
    let m: Value = serde_json::from_str(meta).ok()?;
    let drift: DriftKind = m.get("drift")?.as_str()?.parse().ok()?;
    let action: DriftAction = m.get("action")?.as_str()?.parse().ok()?;
    let after_reset = m.get("cause").and_then(Value::as_str) == Some(OpKind::Reset.as_str());
    let key = format!(
        "drift.{action}_{drift}{}",
        if after_reset { "_reset" } else { "" }
    );
    if !i18n::has(loc.lang, &key) {
        return None;
    }
    let null = Value::Null;
    let panel = drift_value(loc, drift.as_str(), m.get("on_panel").unwrap_or(&null));
    let ours = drift_value(loc, drift.as_str(), m.get("wanted").unwrap_or(&null));
    Some(loc.tf(&key, &[("on_panel", panel), ("wanted", ours)]))
}

/// A config's reported differences (its `panel_drift` JSON) as sentences.
pub fn reported_drift(loc: &Locale, stored: &str) -> Vec<String> {
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(stored) else {
        return Vec::new();
    };
    m.iter()
        .filter_map(|(kind, v)| {
            let kind: DriftKind = kind.parse().ok()?;
            let key = format!("drift.{}_{kind}", DriftAction::Reported);
            let null = Value::Null;
            let panel = drift_value(loc, kind.as_str(), v.get("on_panel").unwrap_or(&null));
            let ours = drift_value(loc, kind.as_str(), v.get("wanted").unwrap_or(&null));
            Some(loc.tf(&key, &[("on_panel", panel), ("wanted", ours)]))
        })
        .collect()
}

const TOMAN_FIELDS: &[&str] = &[
    "amount",
    "balance",
    "balance_after",
    "wallet_balance",
    "price",
    "price_per_gb",
    "wallet_price_per_gb",
    "threshold",
    "topup_min",
    "total_cost",
    "cost",
];

/// A recorded value in words: amounts in toman, bytes in GB, times as dates, states translated.
fn value(loc: &Locale, field: &str, v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => "—".to_string(),
        Value::Bool(b) => loc
            .t(if *b { "common.yes" } else { "common.no" })
            .to_string(),
        Value::Number(n) => {
            let n = n.as_i64()?;
            if TOMAN_FIELDS.contains(&field) {
                loc.toman(n)
            } else if field.ends_with("_bytes") {
                loc.gb_unit(n)
            } else if field.starts_with("window_") || field == "expires_at" {
                // Stored as a Tehran midnight: the day is the information.
                loc.ts_date(n)
            } else if field.ends_with("_at") {
                loc.ts_datetime(n)
            } else if field.starts_with("allow_") {
                loc.t(if n != 0 { "common.yes" } else { "common.no" })
                    .to_string()
            } else {
                loc.signed(n)
            }
        }
        Value::String(s) => {
            let key = format!("audit.values.{s}");
            if i18n::has(loc.lang, &key) {
                loc.t(&key).to_string()
            } else {
                s.clone()
            }
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(|i| value(loc, field, i)).collect();
            if parts.is_empty() {
                "—".to_string()
            } else {
                loc.num(parts.join("، "))
            }
        }
        Value::Object(_) => return None,
    })
}

/// The label of a recorded field, or `None` for bookkeeping fields nobody needs to read.
fn field_label(loc: &Locale, field: &str) -> Option<String> {
    let key = format!("audit.fields.{field}");
    i18n::has(loc.lang, &key).then(|| loc.t(&key).to_string())
}

/// An audit row's details as lines a person reads ("Status: active → suspended"), from the JSON
/// the row stores. Fields without a label are left out; the CSV export keeps everything.
pub fn details(loc: &Locale, meta: &str) -> Vec<String> {
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(meta) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let empty = serde_json::Map::new();
    let before = m.get("before").and_then(Value::as_object).unwrap_or(&empty);
    if let Some(after) = m.get("after").and_then(Value::as_object) {
        for (field, new) in after {
            let old = before.get(field);
            if old == Some(new) {
                continue;
            }
            let (Some(label), Some(new_text)) = (field_label(loc, field), value(loc, field, new))
            else {
                continue;
            };
            match old.and_then(|o| value(loc, field, o)) {
                Some(old_text) => out.push(format!("{label}: {old_text} ← {new_text}")),
                // Something new: an empty value says nothing.
                None if new.is_null() => {}
                None => out.push(format!("{label}: {new_text}")),
            }
        }
    }
    for (field, v) in &m {
        if field == "before" || field == "after" {
            continue;
        }
        if v.is_null() {
            continue;
        }
        if let (Some(label), Some(text)) = (field_label(loc, field), value(loc, field, v)) {
            out.push(format!("{label}: {text}"));
        }
    }
    // In English the arrow points the reading way.
    if !loc.is_fa() {
        for line in &mut out {
            *line = line.replace(" ← ", " → ");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    const FA: Locale = Locale { lang: Lang::Fa };
    const EN: Locale = Locale { lang: Lang::En };

    #[test]
    fn panel_errors_become_a_short_reason() {
        let raw = "panel unreachable: connect failed: client error (Connect): tcp connect error: Connection refused (os error 111)";
        assert_eq!(panel_error_key(raw), "panel_errors.refused");
        assert!(!panel_error(&EN, raw).contains("os error"));
        assert_eq!(
            panel_error_key("no answer from panel: timed out"),
            "panel_errors.timeout"
        );
        assert_eq!(
            panel_error_key("panel refused the credentials: 401"),
            "panel_errors.auth"
        );
        assert_eq!(panel_error_key("something new"), "panel_errors.other");
    }

    #[test]
    fn audit_details_are_sentences_not_json() {
        let meta = r#"{"after":{"status":"suspended","suspended_by":"system"},"before":{"status":"active","suspended_by":null},"quota":{"quota_bytes":3221225472},"operation_id":7}"#;
        let lines = details(&EN, meta);
        assert!(
            lines.iter().any(|l| l == "Status: Active → Suspended"),
            "{lines:?}"
        );
        assert!(lines.iter().all(|l| !l.contains('{')), "{lines:?}");
        let fa = details(&FA, meta);
        assert!(fa.iter().any(|l| l.contains("فعال")), "{fa:?}");
        assert!(details(&EN, "not json").is_empty());
    }

    #[test]
    fn drift_events_say_what_was_found_and_done() {
        let meta = r#"{"drift":"limit_changed","action":"corrected","on_panel":10737418240,"wanted":5368709120}"#;
        let en = drift(&EN, ConfigEventKind::DriftCorrected, meta).unwrap();
        assert!(en.contains("set back to"), "{en}");
        assert!(!en.contains('{'), "{en}");
        let fa = drift(&FA, ConfigEventKind::DriftCorrected, meta).unwrap();
        assert!(fa.contains("برگردانده"), "{fa}");
        let reset = r#"{"drift":"enabled_on_panel","action":"corrected","on_panel":true,"wanted":false,"cause":"reset"}"#;
        assert!(drift(&EN, ConfigEventKind::DriftCorrected, reset)
            .unwrap()
            .contains("reset"));
        for k in DriftKind::ALL {
            for a in DriftAction::ALL {
                let meta =
                    format!(r#"{{"drift":"{k}","action":"{a}","on_panel":null,"wanted":null}}"#);
                let ok = drift(&EN, ConfigEventKind::DriftCorrected, &meta).is_some();
                // Every combination the engine records has words.
                let recorded = match k {
                    DriftKind::MissingOnPanel => *a == DriftAction::Reported,
                    DriftKind::EnabledOnPanel | DriftKind::DisabledOnPanel => {
                        *a == DriftAction::Corrected
                    }
                    DriftKind::LimitChanged | DriftKind::ExpiryChanged => true,
                };
                if recorded {
                    assert!(ok, "{k} {a}");
                    assert!(
                        drift(&FA, ConfigEventKind::DriftCorrected, &meta).is_some(),
                        "{k} {a}"
                    );
                }
            }
        }
        assert!(drift(&EN, ConfigEventKind::Created, meta).is_none());
    }

    #[test]
    fn every_stored_code_has_words_in_both_languages() {
        for loc in [FA, EN] {
            for k in ConfigEventKind::ALL {
                assert!(i18n::has(loc.lang, &format!("events.{k}")), "events.{k}");
            }
            for a in AuditAction::ALL {
                assert!(i18n::has(loc.lang, &format!("audit.actions.{a}")), "{a}");
            }
            for t in AuditTarget::ALL {
                assert!(i18n::has(loc.lang, &format!("audit.targets.{t}")), "{t}");
            }
            for k in domain::status::LedgerKind::ALL {
                assert!(i18n::has(loc.lang, &format!("wallet.kind_{k}")), "{k}");
            }
        }
        // A reason a person typed stays as typed; a system phrase is translated.
        assert_eq!(reason(&EN, "the customer asked"), "the customer asked");
        assert_eq!(
            reason(&EN, "wallet funded"),
            EN.t("audit.reasons.wallet_funded")
        );
    }
}
