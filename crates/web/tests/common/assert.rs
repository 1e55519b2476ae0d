//! Assertions several test files make in the same words: an API error's code, a field named by a
//! 422, a page showing (or not showing) a text. Each asserts exactly what the lines it replaced did.

use serde_json::Value;

/// The error envelope's status and code, compared together so a failure shows both.
#[track_caller]
pub fn assert_error(answer: &(u16, Value), status: u16, code: &str) {
    let (s, v) = answer;
    assert_eq!(
        (*s, v["error"]["code"].as_str()),
        (status, Some(code)),
        "{v}"
    );
}

/// A 422 whose envelope names `field`.
#[track_caller]
pub fn assert_field_error(answer: &(u16, Value), field: &str) {
    let (s, v) = answer;
    assert_eq!(*s, 422, "{v}");
    assert!(v["error"]["fields"][field].is_string(), "{field}: {v}");
}

/// Every one of `texts` is on the page.
#[track_caller]
pub fn assert_shows(html: &str, texts: &[&str]) {
    for t in texts {
        assert!(html.contains(t), "{t:?} should be on the page: {html}");
    }
}

/// None of `texts` is on the page.
#[track_caller]
pub fn assert_hides(html: &str, texts: &[&str]) {
    for t in texts {
        assert!(!html.contains(t), "{t:?} should not be on the page: {html}");
    }
}

/// A 303 to `location`.
#[track_caller]
pub fn assert_redirect(res: &reqwest::Response, location: &str) {
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], location);
}
