//! Translations: every user-facing string comes from `i18n/fa.toml` or `i18n/en.toml`, compiled
//! into the binary. A missing key shows the key itself, and a test keeps both files in step.

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Fa,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fa => "fa",
            Lang::En => "en",
        }
    }

    pub fn dir(self) -> &'static str {
        match self {
            Lang::Fa => "rtl",
            Lang::En => "ltr",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fa" | "fa-ir" => Some(Lang::Fa),
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            _ => None,
        }
    }
}

type Table = HashMap<String, String>;

/// One file per area, so each area's strings live beside each other (same list for both).
const FA_FILES: &[&str] = &[
    include_str!("../i18n/fa/core.toml"),
    include_str!("../i18n/fa/panels.toml"),
    include_str!("../i18n/fa/resellers.toml"),
    include_str!("../i18n/fa/configs.toml"),
    include_str!("../i18n/fa/usage.toml"),
    include_str!("../i18n/fa/wallet.toml"),
    include_str!("../i18n/fa/history.toml"),
    include_str!("../i18n/fa/security.toml"),
];
const EN_FILES: &[&str] = &[
    include_str!("../i18n/en/core.toml"),
    include_str!("../i18n/en/panels.toml"),
    include_str!("../i18n/en/resellers.toml"),
    include_str!("../i18n/en/configs.toml"),
    include_str!("../i18n/en/usage.toml"),
    include_str!("../i18n/en/wallet.toml"),
    include_str!("../i18n/en/history.toml"),
    include_str!("../i18n/en/security.toml"),
];

fn parse(src: &str) -> Table {
    let value: toml::Table = toml::from_str(src).expect("translation file is valid TOML");
    let mut out = Table::new();
    flatten("", &value, &mut out);
    out
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut Table) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

fn tables() -> &'static (Table, Table) {
    static TABLES: OnceLock<(Table, Table)> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut fa = Table::new();
        let mut en = Table::new();
        for (lang_files, table) in [(FA_FILES, &mut fa), (EN_FILES, &mut en)] {
            for src in lang_files {
                table.extend(parse(src));
            }
        }
        (fa, en)
    })
}

pub fn translate(lang: Lang, key: &str) -> &str {
    let (fa, en) = tables();
    let table = match lang {
        Lang::Fa => fa,
        Lang::En => en,
    };
    table.get(key).map(String::as_str).unwrap_or(key)
}

/// Whether `key` has a translation (both languages carry the same keys).
pub fn has(lang: Lang, key: &str) -> bool {
    let (fa, en) = tables();
    match lang {
        Lang::Fa => fa.contains_key(key),
        Lang::En => en.contains_key(key),
    }
}

/// The codes under `prefix` that have a translation (`audit.actions.` → `config_created`, …),
/// with their text, sorted by the text.
pub fn entries(lang: Lang, prefix: &str) -> Vec<(String, String)> {
    let (fa, en) = tables();
    let table = match lang {
        Lang::Fa => fa,
        Lang::En => en,
    };
    let mut out: Vec<(String, String)> = table
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v.clone())))
        .filter(|(code, _)| !code.contains('.'))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// Every key (the browser tests look for one leaking into a page as text).
pub fn keys() -> Vec<&'static str> {
    let (fa, _) = tables();
    fa.keys().map(String::as_str).collect()
}

/// English text for API messages (keys pass through unchanged when they are plain text).
pub fn english(key: &str) -> &str {
    translate(Lang::En, key)
}

/// Translation with `{name}` placeholders filled in.
pub fn translate_with(lang: Lang, key: &str, args: &[(&str, String)]) -> String {
    let mut s = translate(lang, key).to_string();
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys() {
        let (fa, en) = tables();
        let mut missing_en: Vec<_> = fa.keys().filter(|k| !en.contains_key(*k)).collect();
        let mut missing_fa: Vec<_> = en.keys().filter(|k| !fa.contains_key(*k)).collect();
        missing_en.sort();
        missing_fa.sort();
        assert!(missing_en.is_empty(), "missing in en.toml: {missing_en:?}");
        assert!(missing_fa.is_empty(), "missing in fa.toml: {missing_fa:?}");
    }

    #[test]
    fn persian_is_persian_and_english_is_english() {
        assert_eq!(translate(Lang::En, "login.title"), "Sign in");
        assert_eq!(translate(Lang::Fa, "login.title"), "ورود");
        assert_eq!(translate(Lang::Fa, "no.such.key"), "no.such.key");
    }
}
