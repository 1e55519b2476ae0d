//! Server-rendered SVG charts (no script, no external service): bars for traffic per day or
//! hour and for top resellers, a line for a wallet balance. Text is escaped; values are i64.

use std::fmt::Write;

pub struct Point {
    pub label: String,
    pub value: i64,
    /// Shown on hover (the SVG `<title>`).
    pub tooltip: String,
}

const W: f64 = 720.0;
const H: f64 = 220.0;
const PAD_X: f64 = 8.0;
const PAD_TOP: f64 = 10.0;
const PAD_BOTTOM: f64 = 28.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// How often to print an x label so they do not overlap.
fn label_step(n: usize) -> usize {
    (n / 10).max(1)
}

/// A bar chart; `rtl` mirrors it so time runs right-to-left for Persian readers.
pub fn bars(points: &[Point], aria_label: &str, rtl: bool) -> String {
    let max = points.iter().map(|p| p.value).max().unwrap_or(0).max(1) as f64;
    let n = points.len().max(1) as f64;
    let slot = (W - 2.0 * PAD_X) / n;
    let plot_h = H - PAD_TOP - PAD_BOTTOM;
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(aria_label)
    );
    let _ = write!(
        svg,
        r#"<line x1="{PAD_X}" y1="{y}" x2="{x2}" y2="{y}" class="axis"/>"#,
        y = H - PAD_BOTTOM,
        x2 = W - PAD_X
    );
    let step = label_step(points.len());
    for (i, p) in points.iter().enumerate() {
        let idx = if rtl { points.len() - 1 - i } else { i };
        let x = PAD_X + idx as f64 * slot;
        let h = (p.value.max(0) as f64 / max) * plot_h;
        let y = H - PAD_BOTTOM - h;
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" class="bar"><title>{}</title></rect>"#,
            x + slot * 0.1,
            slot * 0.8,
            esc(&p.tooltip)
        );
        if i % step == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" class="label" text-anchor="middle">{}</text>"#,
                x + slot / 2.0,
                H - 8.0,
                esc(&p.label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A line chart that may go below zero (a wallet balance); the zero line is drawn.
pub fn line(points: &[Point], aria_label: &str, rtl: bool) -> String {
    let max = points.iter().map(|p| p.value).max().unwrap_or(0).max(0) as f64;
    let min = points.iter().map(|p| p.value).min().unwrap_or(0).min(0) as f64;
    let span = (max - min).max(1.0);
    let plot_h = H - PAD_TOP - PAD_BOTTOM;
    let n = points.len();
    let x_of = |i: usize| {
        let idx = if rtl { n.saturating_sub(1) - i } else { i };
        PAD_X
            + if n > 1 {
                idx as f64 * (W - 2.0 * PAD_X) / (n - 1) as f64
            } else {
                (W - 2.0 * PAD_X) / 2.0
            }
    };
    let y_of = |v: f64| PAD_TOP + (max - v) / span * plot_h;
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(aria_label)
    );
    let _ = write!(
        svg,
        r#"<line x1="{PAD_X}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" class="axis"/>"#,
        y = y_of(0.0),
        x2 = W - PAD_X
    );
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x_of(i), y_of(p.value as f64)))
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
            y_of(p.value as f64),
            if p.value < 0 { " negative" } else { "" },
            esc(&p.tooltip)
        );
        if i % step == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" class="label" text-anchor="middle">{}</text>"#,
                x_of(i),
                H - 8.0,
                esc(&p.label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
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

    #[test]
    fn bars_scale_to_the_largest_value_and_escape_text() {
        let svg = bars(&pts(&[0, 50, 100]), "traffic & more", false);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("aria-label=\"traffic &amp; more\""));
        assert!(svg.contains("&lt;100&gt;") && !svg.contains("<100>"));
        let heights: Vec<f64> = svg
            .split("height=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(heights.len(), 3);
        assert_eq!(heights[0], 0.0);
        assert!((heights[2] - 2.0 * heights[1]).abs() < 0.2, "{heights:?}");
    }

    #[test]
    fn rtl_mirrors_the_time_axis() {
        let ltr = bars(&pts(&[1, 2]), "x", false);
        let rtl = bars(&pts(&[1, 2]), "x", true);
        let first_x = |s: &str| {
            s.split("<rect x=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse::<f64>()
                .unwrap()
        };
        assert!(first_x(&ltr) < first_x(&rtl));
    }

    #[test]
    fn a_negative_balance_is_drawn_below_the_zero_line() {
        let svg = line(&pts(&[10_000, -4_000]), "balance", false);
        assert!(svg.contains("class=\"dot negative\""));
        assert!(svg.contains("<polyline"));
    }
}
