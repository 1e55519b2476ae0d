//! Server-rendered SVG (no script, no inline style, so the CSP's `style-src 'self'` holds): usage
//! bars, bar charts for traffic per day or hour, a line for a wallet balance. Sizes are geometry
//! attributes; colours are classes. Text is escaped; values are i64.

use std::fmt::Write;

pub struct Point {
    pub label: String,
    pub value: i64,
    /// Shown on hover (the SVG `<title>`); the axes carry the same figures for touch screens.
    pub tooltip: String,
}

/// A chart ready for a template: the SVG, or `None` when there is nothing to draw (the template
/// says so in words instead of drawing a flat line).
pub struct Chart {
    pub title: String,
    pub svg: Option<String>,
}

// The drawing box. Wide enough for 30 bars; on a phone the figure scrolls sideways rather than
// shrinking its text below legibility (see `.chart-scroll` in app.css).
const W: f64 = 640.0;
const H: f64 = 260.0;
const PAD_TOP: f64 = 14.0;
const PAD_BOTTOM: f64 = 30.0;
/// Room for the value axis labels on the reading side.
const AXIS_W: f64 = 64.0;
const PAD_END: f64 = 8.0;
/// Five steps divide every round top (1, 2, 2.5, 5 × 10ⁿ) into round values.
const TICKS: usize = 5;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// How often to print an x label so they do not overlap (about eight per chart).
fn label_step(n: usize) -> usize {
    n.div_ceil(8).max(1)
}

/// Labels are centred under their point, except the newest (at the plot's far edge), which is
/// aligned to end there.
fn edge_anchor(i: usize, n: usize, rtl: bool) -> &'static str {
    match (i + 1 == n, rtl) {
        (false, _) => "middle",
        (true, false) => "end",
        (true, true) => "start",
    }
}

/// A round axis top at or above `max`: 1, 2 or 5 times a power of ten, in `unit` steps.
pub fn nice_max(max: i64, unit: i64) -> i64 {
    let unit = unit.max(1);
    let in_units = (max.max(1) as f64 / unit as f64).max(f64::MIN_POSITIVE);
    let exp = in_units.log10().floor();
    let base = 10f64.powf(exp);
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * base)
        .find(|m| *m >= in_units)
        .unwrap_or(10.0 * base);
    ((step * unit as f64).ceil() as i64).max(1)
}

/// The plot's horizontal extent: the axis labels sit at the start of the reading direction.
fn plot_x(rtl: bool) -> (f64, f64) {
    if rtl {
        (PAD_END, W - AXIS_W)
    } else {
        (AXIS_W, W - PAD_END)
    }
}

fn svg_open(svg: &mut String, aria_label: &str, kind: &str) {
    let _ = write!(
        svg,
        r#"<svg class="chart {kind}" viewBox="0 0 {W} {H}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(aria_label)
    );
}

/// Horizontal grid lines with their values written beside them.
fn value_axis(
    svg: &mut String,
    lo: i64,
    hi: i64,
    rtl: bool,
    y_of: &dyn Fn(i64) -> f64,
    fmt: &dyn Fn(i64, i64) -> String,
) {
    let (x0, x1) = plot_x(rtl);
    for i in 0..=TICKS {
        let v = lo + (hi - lo) * i as i64 / TICKS as i64;
        let y = y_of(v);
        let _ = write!(
            svg,
            r#"<line x1="{x0:.1}" y1="{y:.1}" x2="{x1:.1}" y2="{y:.1}" class="grid{}"/>"#,
            if v == 0 { " zero" } else { "" }
        );
        let (tx, anchor) = if rtl {
            (x1 + 6.0, "start")
        } else {
            (x0 - 6.0, "end")
        };
        let _ = write!(
            svg,
            r#"<text x="{tx:.1}" y="{:.1}" class="tick" text-anchor="{anchor}">{}</text>"#,
            y + 4.0,
            esc(&fmt(v, hi - lo))
        );
    }
}

/// A bar chart with a value axis; `rtl` mirrors it so time runs right-to-left for Persian
/// readers. `None` when every value is zero. Each bar carries `data-value` (tests compare its
/// rendered height with the data).
pub fn bars(
    points: &[Point],
    aria_label: &str,
    rtl: bool,
    unit: i64,
    fmt: &dyn Fn(i64, i64) -> String,
) -> Option<String> {
    if points.iter().all(|p| p.value <= 0) {
        return None;
    }
    let max = points.iter().map(|p| p.value).max().unwrap_or(0);
    let top = nice_max(max, unit);
    let (x0, x1) = plot_x(rtl);
    let n = points.len().max(1);
    let slot = (x1 - x0) / n as f64;
    let base = H - PAD_BOTTOM;
    let plot_h = base - PAD_TOP;
    let y_of = |v: i64| base - (v.max(0) as f64 / top as f64) * plot_h;
    let mut svg = String::with_capacity(200 * n);
    svg_open(&mut svg, aria_label, "bars");
    value_axis(&mut svg, 0, top, rtl, &y_of, fmt);
    let step = label_step(n);
    for (i, p) in points.iter().enumerate() {
        let idx = if rtl { n - 1 - i } else { i };
        let x = x0 + idx as f64 * slot;
        let y = y_of(p.value);
        let h = base - y;
        let _ = write!(
            svg,
            r#"<rect x="{:.2}" y="{y:.2}" width="{:.2}" height="{h:.2}" class="col" data-value="{}" data-max="{top}"><title>{}</title></rect>"#,
            x + slot * 0.15,
            slot * 0.7,
            p.value,
            esc(&p.tooltip)
        );
        // The newest label is always printed, so the end of the range is never a guess; it
        // leans inwards so the plot's edge does not cut it.
        if (n - 1 - i).is_multiple_of(step) {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" class="label" text-anchor="{}">{}</text>"#,
                x + slot / 2.0,
                H - 10.0,
                edge_anchor(i, n, rtl),
                esc(&p.label)
            );
        }
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// A line chart that may go below zero (a wallet balance), with its value axis and zero line.
/// `None` without points.
pub fn line(
    points: &[Point],
    aria_label: &str,
    rtl: bool,
    fmt: &dyn Fn(i64, i64) -> String,
) -> Option<String> {
    if points.is_empty() {
        return None;
    }
    let max = points.iter().map(|p| p.value).max().unwrap_or(0).max(0);
    let min = points.iter().map(|p| p.value).min().unwrap_or(0).min(0);
    // Round both ends so the ticks land on readable amounts.
    let span = nice_max((max - min).max(1), 1);
    let step = (span / TICKS as i64).max(1);
    let lo = if min < 0 {
        -(((-min) + step - 1) / step) * step
    } else {
        0
    };
    let hi = (lo + step * TICKS as i64).max(max);
    let (x0, x1) = plot_x(rtl);
    let n = points.len();
    let x_of = |i: usize| {
        let idx = if rtl { n - 1 - i } else { i };
        if n > 1 {
            x0 + idx as f64 * (x1 - x0) / (n - 1) as f64
        } else {
            (x0 + x1) / 2.0
        }
    };
    let base = H - PAD_BOTTOM;
    let plot_h = base - PAD_TOP;
    let y_of = |v: i64| base - (v - lo) as f64 / (hi - lo).max(1) as f64 * plot_h;
    let mut svg = String::with_capacity(160 * n);
    svg_open(&mut svg, aria_label, "line-chart");
    value_axis(&mut svg, lo, hi, rtl, &y_of, fmt);
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x_of(i), y_of(p.value)))
        .collect();
    let _ = write!(
        svg,
        r#"<polyline points="{}" class="line"/>"#,
        path.join(" ")
    );
    let step = label_step(n);
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="3" class="dot{}"><title>{}</title></circle>"#,
            x_of(i),
            y_of(p.value),
            if p.value < 0 { " negative" } else { "" },
            esc(&p.tooltip)
        );
        if (n - 1 - i).is_multiple_of(step) {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" class="label" text-anchor="{}">{}</text>"#,
                x_of(i),
                H - 10.0,
                edge_anchor(i, n, rtl),
                esc(&p.label)
            );
        }
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// How full a bar is, in percent (0 to 100, one decimal); an unlimited or zero limit is empty.
pub fn percent(used: i64, limit: i64) -> f64 {
    if limit <= 0 {
        return 0.0;
    }
    let p = (used.max(0) as f64 / limit as f64 * 100.0).min(100.0);
    (p * 10.0).round() / 10.0
}

/// The colour class of a usage level: calm, near the end, at or past it.
pub fn level(used: i64, limit: i64) -> &'static str {
    let p = percent(used, limit);
    if limit > 0 && used >= limit {
        "spent"
    } else if p >= 90.0 {
        "danger"
    } else if p >= 75.0 {
        "warn"
    } else {
        "ok"
    }
}

/// A usage bar: `used` of `limit` as an SVG whose fill width is a geometry attribute (an inline
/// `style` width would be blocked by the CSP and show a full bar). It fills from the reading
/// start, so from the right on Persian pages.
pub fn meter(used: i64, limit: i64, rtl: bool) -> String {
    meter_with(used, limit, rtl, level(used, limit))
}

/// A bar with a fixed colour class (a ranking, where the longest bar is no warning).
pub fn meter_with(used: i64, limit: i64, rtl: bool, class: &str) -> String {
    let p = percent(used, limit);
    let x = if rtl { 100.0 - p } else { 0.0 };
    format!(
        r#"<svg class="meter {}" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label="{p}%" data-percent="{p}" xmlns="http://www.w3.org/2000/svg"><rect class="track" width="100" height="6"/><rect class="fill" x="{x:.1}" width="{p:.1}" height="6"/></svg>"#,
        class
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(values: &[i64]) -> Vec<Point> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                label: format!("d{i}"),
                value: *v,
                tooltip: format!("<{v}>"),
            })
            .collect()
    }

    fn plain(v: i64, _span: i64) -> String {
        v.to_string()
    }

    fn attr_values(svg: &str, tag: &str, attr: &str) -> Vec<f64> {
        svg.split(&format!("<{tag} "))
            .skip(1)
            .map(|s| {
                s.split(&format!(" {attr}=\""))
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn bars_scale_to_a_round_axis_and_escape_text() {
        let svg = bars(&pts(&[0, 50, 100]), "traffic & more", false, 1, &plain).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("aria-label=\"traffic &amp; more\""));
        assert!(svg.contains("&lt;100&gt;") && !svg.contains("<100>"));
        let heights = attr_values(&svg, "rect", "height");
        assert_eq!(heights.len(), 3);
        assert_eq!(heights[0], 0.0);
        assert!((heights[2] - 2.0 * heights[1]).abs() < 0.1, "{heights:?}");
        // The axis is labelled from zero to its round top.
        assert!(svg.contains(">0</text>") && svg.contains(">100</text>"));
        assert!(
            !svg.contains("style="),
            "no inline style: the CSP blocks it"
        );
    }

    #[test]
    fn an_all_zero_series_has_nothing_to_draw() {
        assert!(bars(&pts(&[0, 0]), "x", false, 1, &plain).is_none());
        assert!(line(&[], "x", false, &plain).is_none());
    }

    #[test]
    fn rtl_mirrors_the_time_axis_and_keeps_the_newest_label() {
        let ltr = bars(&pts(&[1, 2]), "x", false, 1, &plain).unwrap();
        let rtl = bars(&pts(&[1, 2]), "x", true, 1, &plain).unwrap();
        let first_x = |s: &str| attr_values(s, "rect", "x")[0];
        assert!(first_x(&ltr) < first_x(&rtl));
        let many = bars(&pts(&[1; 30]), "x", false, 1, &plain).unwrap();
        assert!(many.contains(">d29</text>"), "the last day is labelled");
    }

    #[test]
    fn nice_axis_tops() {
        assert_eq!(nice_max(7, 1), 10);
        assert_eq!(nice_max(100, 1), 100);
        assert_eq!(nice_max(101, 1), 200);
        assert_eq!(nice_max(30, 10), 50);
        assert_eq!(nice_max(0, 1), 1);
    }

    #[test]
    fn a_negative_balance_is_drawn_below_the_zero_line() {
        let svg = line(&pts(&[10_000, -4_000]), "balance", false, &plain).unwrap();
        assert!(svg.contains("class=\"dot negative\""));
        assert!(svg.contains("<polyline"));
        assert!(svg.contains("class=\"grid zero\""));
    }

    #[test]
    fn a_meter_is_as_full_as_the_usage() {
        let m = meter(1, 4, false);
        assert!(m.contains(r#"class="fill" x="0.0" width="25.0""#), "{m}");
        let m = meter(1, 4, true);
        assert!(m.contains(r#"class="fill" x="75.0" width="25.0""#), "{m}");
        assert!(meter(9, 4, false).contains("meter spent"));
        assert!(meter(5, 0, false).contains(r#"width="0.0""#));
        assert!(!m.contains("style="));
    }
}
