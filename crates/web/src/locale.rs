//! The request's locale: `?lang=`, then the `lang` cookie, else Persian (the browser's
//! `Accept-Language` is ignored: many Iranian users run English-locale phones and still want
//! Persian). Also the formatting helpers pages use (Jalali dates, Persian digits and separators).

use crate::i18n::{translate, translate_with, Lang};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use std::convert::Infallible;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Locale {
    pub lang: Lang,
}

pub const LANG_COOKIE: &str = "lang";

impl Locale {
    pub fn from_parts(parts: &Parts) -> Locale {
        let from_query = parts.uri.query().and_then(|q| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .ok()?
                .into_iter()
                .find(|(k, _)| k == "lang")
                .and_then(|(_, v)| Lang::parse(&v))
        });
        let from_cookie = || {
            let jar = axum_extra::extract::CookieJar::from_headers(&parts.headers);
            jar.get(LANG_COOKIE).and_then(|c| Lang::parse(c.value()))
        };
        Locale {
            lang: from_query.or_else(from_cookie).unwrap_or(Lang::Fa),
        }
    }

    pub fn lang(&self) -> &'static str {
        self.lang.code()
    }

    pub fn dir(&self) -> &'static str {
        self.lang.dir()
    }

    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        translate(self.lang, key)
    }

    pub fn tf(&self, key: &str, args: &[(&str, String)]) -> String {
        translate_with(self.lang, key, args)
    }

    /// `tf` with one placeholder (templates cannot build a slice).
    pub fn tf1(&self, key: &str, name: &str, value: impl ToString) -> String {
        self.tf(key, &[(name, value.to_string())])
    }

    /// `tf` with two placeholders.
    pub fn tf2(
        &self,
        key: &str,
        n1: &str,
        v1: impl ToString,
        n2: &str,
        v2: impl ToString,
    ) -> String {
        self.tf(key, &[(n1, v1.to_string()), (n2, v2.to_string())])
    }

    /// Digits in the reader's script; for `fa` also the Persian decimal (٫) and thousands (٬)
    /// separators, so `1.5` reads `۱٫۵` and `15,000` reads `۱۵٬۰۰۰`.
    pub fn num(&self, s: impl ToString) -> String {
        let s = s.to_string();
        match self.lang {
            Lang::Fa => domain::units::to_persian_digits(&s)
                .replace('.', "\u{066B}")
                .replace(',', "\u{066C}"),
            Lang::En => s,
        }
    }

    /// A number that may carry a sign, kept left-to-right inside Persian text (an isolate), so
    /// `-10` never shows as `10-`.
    pub fn signed(&self, s: impl ToString) -> String {
        let s = self.num(s);
        match self.lang {
            Lang::Fa if s.starts_with('-') => format!("\u{2066}{s}\u{2069}"),
            _ => s,
        }
    }

    /// A calendar date: Jalali for `fa`, ISO Gregorian (Tehran date) for `en`.
    pub fn date(&self, at: DateTime<Utc>) -> String {
        match self.lang {
            Lang::Fa => self.num(domain::jalali::format_jalali_date(at)),
            Lang::En => domain::tehran::tehran_date(at)
                .format("%Y-%m-%d")
                .to_string(),
        }
    }

    pub fn datetime(&self, at: DateTime<Utc>) -> String {
        match self.lang {
            Lang::Fa => self.num(domain::jalali::format_jalali_datetime(at)),
            Lang::En => (at + chrono::Duration::seconds(domain::tehran::TEHRAN_OFFSET_SECS as i64))
                .format("%Y-%m-%d %H:%M")
                .to_string(),
        }
    }

    pub fn ts_date<T: IntArg>(&self, ts: T) -> String {
        self.date(db::time::from_ts(ts.int()))
    }

    pub fn ts_datetime<T: IntArg>(&self, ts: T) -> String {
        self.datetime(db::time::from_ts(ts.int()))
    }

    pub fn gb<T: IntArg>(&self, bytes: T) -> String {
        self.signed(domain::units::format_gb(bytes.int(), 2))
    }

    /// An amount then the currency word, in the reader's order: `۲۰٬۰۰۰ تومان` reads number
    /// first in Persian as `20,000 toman` does in English (never with a `dir="ltr"` around it).
    pub fn toman<T: IntArg>(&self, amount: T) -> String {
        format!(
            "{} {}",
            self.signed(domain::units::format_toman(amount.int())),
            self.t("common.toman")
        )
    }

    /// Bytes as GB with the unit, as every usage figure is shown.
    pub fn gb_unit<T: IntArg>(&self, bytes: T) -> String {
        format!("{} {}", self.gb(bytes), self.t("common.gb"))
    }

    /// A usage bar for `used` of `limit` (see [`crate::charts::meter`]).
    pub fn meter<T: IntArg, U: IntArg>(&self, used: T, limit: U) -> String {
        crate::charts::meter(used.int(), limit.int(), self.dir() == "rtl")
    }

    /// A bar for a ranking: as long as `value` is of `max`, in one calm colour.
    pub fn rank_meter<T: IntArg, U: IntArg>(&self, value: T, max: U) -> String {
        crate::charts::meter_with(value.int(), max.int(), self.dir() == "rtl", "rank")
    }

    /// `true` on Persian pages (templates pick Jalali hints with it).
    pub fn is_fa(&self) -> bool {
        self.lang == Lang::Fa
    }

    /// A date as a Persian form expects it typed (`۱۴۰۴/۰۹/۰۱`), or ISO for English.
    pub fn input_date<T: IntArg>(&self, ts: T) -> String {
        let at = db::time::from_ts(ts.int());
        match self.lang {
            Lang::Fa => domain::units::to_persian_digits(&domain::jalali::format_jalali_date(at)),
            Lang::En => domain::tehran::tehran_date(at)
                .format("%Y-%m-%d")
                .to_string(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Locale {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Locale::from_parts(parts))
    }
}

/// Templates pass integers by value or through one or two references; this accepts them all.
pub trait IntArg {
    fn int(&self) -> i64;
}

impl IntArg for i64 {
    fn int(&self) -> i64 {
        *self
    }
}

impl<T: IntArg + ?Sized> IntArg for &T {
    fn int(&self) -> i64 {
        (**self).int()
    }
}
