//! Traffic (bytes, shown as GiB) and money (whole toman): parsing user input and formatting for display.
//! Everything is integer or decimal-string arithmetic, so no float rounding can ever reach storage.

use thiserror::Error;

/// One "GB" as the product means it everywhere: a GiB.
pub const GIB: i64 = 1 << 30;

/// The largest amount one money input may carry (a top-up, an adjustment, an opening balance):
/// one trillion toman. Far above any real payment, and so far below `i64::MAX` that no sum of
/// them a wallet will ever see can overflow.
pub const MAX_TOMAN: i64 = 1_000_000_000_000;

/// The largest price per GB (the same bound the settings page has always had).
pub const MAX_PRICE_PER_GB: i64 = 1_000_000_000;

/// Why a typed amount was refused; the messages are shown to the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UnitError {
    #[error("an amount is required")]
    Empty,
    #[error("the amount cannot be negative")]
    Negative,
    #[error("unexpected character {0:?}: use digits and at most one decimal point")]
    InvalidChar(char),
    #[error("use at most one decimal point")]
    MultipleSeparators,
    #[error("the amount has no digits")]
    NoDigits,
    #[error("{0:?} is ambiguous: use '.' for a decimal point and no thousands separators")]
    AmbiguousComma(String),
    #[error("a whole number is required here")]
    FractionNotAllowed,
    #[error("the amount is too large")]
    Overflow,
}

/// Value of a decimal digit in Latin, Persian (U+06F0..) or Arabic-Indic (U+0660..) script,
/// because Iranian keyboards produce either of the latter two.
fn digit_value(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '\u{06F0}'..='\u{06F9}' => Some((c as u32 - 0x06F0) as u8),
        '\u{0660}'..='\u{0669}' => Some((c as u32 - 0x0660) as u8),
        _ => None,
    }
}

fn is_minus(c: char) -> bool {
    // U+2212 is what some Persian keyboards and copy-pastes give for a minus sign.
    c == '-' || c == '\u{2212}'
}

/// Parses a decimal GB (GiB) amount such as `2.5`, `۲٫۵` or `0,1` into bytes, rounding half up to the
/// nearest byte. Any number of decimals is accepted and rounded exactly.
///
/// A comma is a decimal separator, except in the shape `1,000` (one to three digits, a comma, exactly
/// three digits): Iranian users write thousands that way, and reading it as 1 GB would silently sell a
/// thousandth of what was meant, so it is refused as ambiguous instead.
pub fn parse_gb(input: &str) -> Result<i64, UnitError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(UnitError::Empty);
    }
    if s.starts_with(is_minus) {
        return Err(UnitError::Negative);
    }

    let mut int_digits: Vec<u8> = Vec::new();
    let mut frac_digits: Vec<u8> = Vec::new();
    let mut separator: Option<char> = None;
    for c in s.chars() {
        if let Some(d) = digit_value(c) {
            if separator.is_some() {
                frac_digits.push(d);
            } else {
                int_digits.push(d);
            }
        } else if matches!(c, '.' | ',' | '\u{066B}') {
            if separator.is_some() {
                return Err(UnitError::MultipleSeparators);
            }
            separator = Some(c);
        } else {
            return Err(UnitError::InvalidChar(c));
        }
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(UnitError::NoDigits);
    }
    if separator == Some(',')
        && (1..=3).contains(&int_digits.len())
        && int_digits[0] != 0
        && frac_digits.len() == 3
    {
        return Err(UnitError::AmbiguousComma(s.to_string()));
    }

    // Multiply the whole decimal numeral by 2^30 digit by digit; the product keeps the same number of
    // fraction digits, so the integer part and the rounding digit can be read off exactly.
    let scale = frac_digits.len();
    let mut digits = int_digits;
    digits.extend_from_slice(&frac_digits);
    let mut product_rev: Vec<u8> = Vec::with_capacity(digits.len() + 10);
    let mut carry: u64 = 0;
    for &d in digits.iter().rev() {
        let v = u64::from(d) * (GIB as u64) + carry;
        product_rev.push((v % 10) as u8);
        carry = v / 10;
    }
    while carry > 0 {
        product_rev.push((carry % 10) as u8);
        carry /= 10;
    }

    let mut bytes: i64 = 0;
    for &d in product_rev[scale..].iter().rev() {
        bytes = bytes
            .checked_mul(10)
            .and_then(|b| b.checked_add(i64::from(d)))
            .ok_or(UnitError::Overflow)?;
    }
    if scale > 0 && product_rev[scale - 1] >= 5 {
        bytes = bytes.checked_add(1).ok_or(UnitError::Overflow)?;
    }
    Ok(bytes)
}

/// Formats bytes as GiB with exactly `decimals` places, rounding half away from zero
/// (`format_gb(GIB * 3 / 2, 2)` is `"1.50"`). More than 18 places are not computed.
pub fn format_gb(bytes: i64, decimals: u32) -> String {
    let decimals = decimals.min(18);
    let scale = 10i128.pow(decimals);
    let magnitude = i128::from(bytes).abs();
    let gib = i128::from(GIB);
    let scaled = (magnitude * scale + gib / 2) / gib;
    let int_part = scaled / scale;
    let frac_part = scaled % scale;
    // A value that rounds to zero is shown without a sign: "-0.00" would only confuse.
    let sign = if bytes < 0 && scaled != 0 { "-" } else { "" };
    if decimals == 0 {
        format!("{sign}{int_part}")
    } else {
        format!(
            "{sign}{int_part}.{frac_part:0width$}",
            width = decimals as usize
        )
    }
}

/// Formats a toman amount with comma thousands separators: `15,000`, `-1,500`. The currency word is
/// left to the caller because it depends on the locale.
pub fn format_toman(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if amount < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Parses a whole, non-negative toman amount as typed in a form (`20000`, `20,000`, `۲۰٬۰۰۰`).
/// Commas and the Arabic thousands sign are accepted anywhere between digits and ignored.
pub fn parse_toman(input: &str) -> Result<i64, UnitError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(UnitError::Empty);
    }
    if s.starts_with(is_minus) {
        return Err(UnitError::Negative);
    }
    let mut amount: i64 = 0;
    let mut seen_digit = false;
    for c in s.chars() {
        if let Some(d) = digit_value(c) {
            seen_digit = true;
            amount = amount
                .checked_mul(10)
                .and_then(|a| a.checked_add(i64::from(d)))
                .ok_or(UnitError::Overflow)?;
        } else if matches!(c, ',' | '\u{066C}') {
            continue;
        } else if matches!(c, '.' | '\u{066B}') {
            return Err(UnitError::FractionNotAllowed);
        } else {
            return Err(UnitError::InvalidChar(c));
        }
    }
    if !seen_digit {
        return Err(UnitError::NoDigits);
    }
    Ok(amount)
}

/// Replaces Latin digits with Persian ones for `fa` pages; every other character is kept as is.
pub fn to_persian_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(0x06F0 + (c as u32 - '0' as u32)).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Replaces Persian and Arabic-Indic digits with Latin ones, for input that is parsed elsewhere.
pub fn to_latin_digits(s: &str) -> String {
    s.chars()
        .map(|c| match digit_value(c) {
            Some(d) => char::from(b'0' + d),
            None => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_gb_whole_and_decimal_values() {
        assert_eq!(parse_gb("1"), Ok(GIB));
        assert_eq!(parse_gb("100"), Ok(100 * GIB));
        assert_eq!(parse_gb("2.5"), Ok(5 * GIB / 2));
        assert_eq!(parse_gb("0"), Ok(0));
        assert_eq!(parse_gb("  3  "), Ok(3 * GIB));
        assert_eq!(parse_gb(".5"), Ok(GIB / 2));
        assert_eq!(parse_gb("5."), Ok(5 * GIB));
        assert_eq!(parse_gb("007"), Ok(7 * GIB));
    }

    #[test]
    fn parse_gb_rounds_to_nearest_byte() {
        // 0.1 GiB = 107374182.4 bytes -> rounds down.
        assert_eq!(parse_gb("0.1"), Ok(107_374_182));
        // 0.3 GiB = 322122547.2 -> down; 0.7 GiB = 751619276.8 -> up.
        assert_eq!(parse_gb("0.3"), Ok(322_122_547));
        assert_eq!(parse_gb("0.7"), Ok(751_619_277));
        // 2^-31 GiB is exactly half a byte: half rounds up.
        assert_eq!(parse_gb("0.0000000004656612873077392578125"), Ok(1));
        // Just under half a byte rounds to zero, even with many digits.
        assert_eq!(parse_gb("0.0000000004656612873077392578124"), Ok(0));
        // More than six decimals are fine.
        assert_eq!(parse_gb("1.1234567"), Ok(1_206_302_446));
    }

    #[test]
    fn parse_gb_accepts_persian_and_arabic_input() {
        assert_eq!(parse_gb("۲٫۵"), Ok(5 * GIB / 2));
        assert_eq!(parse_gb("٢٫٥"), Ok(5 * GIB / 2));
        assert_eq!(parse_gb("۱۰۰"), Ok(100 * GIB));
        assert_eq!(parse_gb("2,5"), Ok(5 * GIB / 2));
        assert_eq!(parse_gb("0,100"), Ok(parse_gb("0.1").unwrap()));
        assert_eq!(parse_gb("1,5000"), Ok(3 * GIB / 2));
        assert_eq!(parse_gb("1234,500"), Ok(parse_gb("1234.5").unwrap()));
    }

    #[test]
    fn parse_gb_refuses_bad_input() {
        assert_eq!(parse_gb(""), Err(UnitError::Empty));
        assert_eq!(parse_gb("   "), Err(UnitError::Empty));
        assert_eq!(parse_gb("-1"), Err(UnitError::Negative));
        assert_eq!(parse_gb("\u{2212}1"), Err(UnitError::Negative));
        assert_eq!(parse_gb("abc"), Err(UnitError::InvalidChar('a')));
        assert_eq!(parse_gb("1e3"), Err(UnitError::InvalidChar('e')));
        assert_eq!(parse_gb("+1"), Err(UnitError::InvalidChar('+')));
        assert_eq!(parse_gb("1 000"), Err(UnitError::InvalidChar(' ')));
        assert_eq!(parse_gb("1.2.3"), Err(UnitError::MultipleSeparators));
        assert_eq!(parse_gb("1,000,000"), Err(UnitError::MultipleSeparators));
        assert_eq!(parse_gb("."), Err(UnitError::NoDigits));
        assert_eq!(
            parse_gb("1,000"),
            Err(UnitError::AmbiguousComma("1,000".into()))
        );
        assert_eq!(
            parse_gb("250,000"),
            Err(UnitError::AmbiguousComma("250,000".into()))
        );
    }

    #[test]
    fn parse_gb_detects_overflow_at_the_exact_limit() {
        let max_gib = i64::MAX / GIB; // 8589934591
        assert_eq!(parse_gb(&max_gib.to_string()), Ok(max_gib * GIB));
        // The largest input that still fits: i64::MAX bytes is max_gib GiB + (2^30 - 1) bytes.
        assert_eq!(parse_gb("8589934591.9999999995"), Ok(i64::MAX));
        assert_eq!(parse_gb("8589934592"), Err(UnitError::Overflow));
        assert_eq!(parse_gb("8589934591.9999999996"), Err(UnitError::Overflow));
        assert_eq!(parse_gb(&"9".repeat(200)), Err(UnitError::Overflow));
    }

    #[test]
    fn format_gb_examples() {
        assert_eq!(format_gb(GIB * 3 / 2, 2), "1.50");
        assert_eq!(format_gb(0, 2), "0.00");
        assert_eq!(format_gb(GIB, 0), "1");
        assert_eq!(format_gb(GIB / 2, 0), "1");
        assert_eq!(format_gb(GIB / 2 - 1, 0), "0");
        assert_eq!(format_gb(-GIB * 3 / 2, 2), "-1.50");
        assert_eq!(format_gb(-1, 2), "0.00");
        assert_eq!(format_gb(107_374_182, 3), "0.100");
        assert_eq!(format_gb(1, 10), "0.0000000009");
        assert_eq!(format_gb(i64::MAX, 2), "8589934592.00");
        assert_eq!(format_gb(i64::MIN, 2), "-8589934592.00");
        assert_eq!(format_gb(-GIB / 2, 0), "-1");
    }

    #[test]
    fn format_toman_examples() {
        assert_eq!(format_toman(0), "0");
        assert_eq!(format_toman(780), "780");
        assert_eq!(format_toman(1_000), "1,000");
        assert_eq!(format_toman(15_000), "15,000");
        assert_eq!(format_toman(-1_500), "-1,500");
        assert_eq!(format_toman(-100), "-100");
        assert_eq!(format_toman(123_456_789), "123,456,789");
        assert_eq!(format_toman(i64::MIN), "-9,223,372,036,854,775,808");
    }

    #[test]
    fn parse_toman_examples() {
        assert_eq!(parse_toman("20000"), Ok(20_000));
        assert_eq!(parse_toman("20,000"), Ok(20_000));
        assert_eq!(parse_toman("۲۰٬۰۰۰"), Ok(20_000));
        assert_eq!(parse_toman("-5"), Err(UnitError::Negative));
        assert_eq!(parse_toman("10.5"), Err(UnitError::FractionNotAllowed));
        assert_eq!(parse_toman(","), Err(UnitError::NoDigits));
        assert_eq!(parse_toman("10 000"), Err(UnitError::InvalidChar(' ')));
        assert_eq!(
            parse_toman("99999999999999999999"),
            Err(UnitError::Overflow)
        );
    }

    #[test]
    fn digit_conversion() {
        assert_eq!(to_persian_digits("1404/09/01 14:30"), "۱۴۰۴/۰۹/۰۱ ۱۴:۳۰");
        assert_eq!(to_persian_digits("15,000 تومان"), "۱۵,۰۰۰ تومان");
        assert_eq!(to_latin_digits("۱۴۰۴/٠٩"), "1404/09");
    }

    proptest! {
        #[test]
        fn whole_gb_parse_exactly(n in 0i64..=(i64::MAX / GIB)) {
            prop_assert_eq!(parse_gb(&n.to_string()), Ok(n * GIB));
        }

        #[test]
        fn parse_matches_exact_rational_rounding(int in 0i64..1_000_000, frac in 0u64..1_000_000_000, places in 1usize..=9) {
            let frac = frac % 10u64.pow(places as u32);
            let text = format!("{int}.{frac:0places$}");
            // Independent oracle: round(n / 10^k * 2^30) = floor((2 * n * 2^30 + 10^k) / (2 * 10^k)).
            let denom = 10i128.pow(places as u32);
            let numer = i128::from(int) * denom + i128::from(frac);
            let expected = (2 * numer * i128::from(GIB) + denom) / (2 * denom);
            prop_assert_eq!(parse_gb(&text), Ok(expected as i64));
        }

        #[test]
        fn persian_digits_parse_like_latin(int in 0i64..100_000, frac in 0u32..1000) {
            let latin = format!("{int}.{frac}");
            let persian = to_persian_digits(&latin).replace('.', "\u{066B}");
            prop_assert_eq!(parse_gb(&persian), parse_gb(&latin));
        }

        #[test]
        fn format_then_parse_is_within_rounding(bytes in 0i64..(i64::MAX / 2)) {
            // Formatting with 10 decimals loses less than one byte: 2^30 / 10^10 < 1.
            let back = parse_gb(&format_gb(bytes, 10)).unwrap();
            prop_assert!((back - bytes).abs() <= 1, "{} -> {}", bytes, back);
        }

        #[test]
        fn toman_round_trips(amount in 0i64..=i64::MAX) {
            prop_assert_eq!(parse_toman(&format_toman(amount)), Ok(amount));
            prop_assert_eq!(format_toman(amount).replace(',', ""), amount.to_string());
        }

        #[test]
        fn format_gb_is_symmetric_in_sign(bytes in (i64::MIN + 1)..=i64::MAX, d in 0u32..6) {
            let pos = format_gb(bytes.abs(), d);
            let neg = format_gb(-bytes.abs(), d);
            let zero = pos.chars().all(|c| c == '0' || c == '.');
            prop_assert_eq!(neg, if zero { pos } else { format!("-{pos}") });
        }
    }
}
