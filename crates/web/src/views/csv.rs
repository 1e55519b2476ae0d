//! CSV files a user downloads and opens in a spreadsheet (the audit log, the wallet statement,
//! the configs list).
//! Their cells hold values others chose (a failed sign-in's login, a browser's User-Agent, a note),
//! so every field is quoted and a cell a spreadsheet would read as a formula is defused (CSV
//! injection, OWASP): a leading `=`, `+`, `-`, `@`, tab or carriage return gets a `'` in front.
//! A plain number (a negative amount) is data, not a formula, and stays as it is.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// One field, quoted (RFC 4180) and defused.
pub fn field(s: &str) -> String {
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<i64>().is_err();
    let quoted = s.replace('"', "\"\"");
    if formula {
        format!("\"'{quoted}\"")
    } else {
        format!("\"{quoted}\"")
    }
}

/// A CSV document: the header line as given, then one line per row of fields.
pub struct Csv(String);

impl Csv {
    /// Starts with a byte-order mark: without it Excel reads UTF-8 as the local code page and
    /// Persian text comes out as noise.
    pub fn new(header_line: &str) -> Csv {
        Csv(format!("\u{feff}{header_line}\n"))
    }

    pub fn row<S: AsRef<str>>(&mut self, fields: &[S]) {
        let line: Vec<String> = fields.iter().map(|f| field(f.as_ref())).collect();
        self.0.push_str(&line.join(","));
        self.0.push('\n');
    }

    /// The download, named `filename` (a fixed ASCII name chosen by the handler).
    pub fn download(self, filename: &str) -> Response {
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                ),
            ],
            self.0,
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn every_field_is_quoted_and_formulas_are_defused() {
        assert_eq!(field("plain"), "\"plain\"");
        assert_eq!(field("a,b;c"), "\"a,b;c\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        for formula in [
            "=HYPERLINK(1)",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\tcalc",
            "\r=1",
        ] {
            let f = field(formula);
            assert!(f.starts_with("\"'"), "{formula:?} gave {f:?}");
        }
        assert_eq!(
            field("-500"),
            "\"-500\"",
            "a negative amount stays a number"
        );
    }
}
