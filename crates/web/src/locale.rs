//! The request's locale: `?lang=`, then the `lang` cookie, then `Accept-Language`, else Persian.
//! Also the formatting helpers pages use (Jalali dates and Persian digits for `fa`).

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
        let from_header = || {
            let header = parts
                .headers
                .get(axum::http::header::ACCEPT_LANGUAGE)?
                .to_str()
                .ok()?;
            header
                .split(',')
                .filter_map(|part| part.split(';').next())
                .find_map(|tag| Lang::parse(tag).or_else(|| Lang::parse(tag.split('-').next()?)))
        };
        Locale {
            lang: from_query
                .or_else(from_cookie)
                .or_else(from_header)
                .unwrap_or(Lang::Fa),
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

    /// Digits in the reader's script.
    pub fn num(&self, s: impl ToString) -> String {
        let s = s.to_string();
        match self.lang {
            Lang::Fa => domain::units::to_persian_digits(&s),
            Lang::En => s,
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
        self.num(domain::units::format_gb(bytes.int(), 2))
    }

    pub fn toman<T: IntArg>(&self, amount: T) -> String {
        format!(
            "{} {}",
            self.num(domain::units::format_toman(amount.int())),
            self.t("common.toman")
        )
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
