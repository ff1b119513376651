//! A hand-written SVG of a training run: the loss curve (log scale) beside the decision boundary
//! (the network's output over the unit square, with the four XOR points marked).
//!
//! SVG is plain text; writing it by hand keeps the examples free of a plotting dependency.

use std::fmt::Write;

const PANEL: f64 = 300.0;
const MARGIN: f64 = 50.0;
const GAP: f64 = 70.0;

/// Blue (0) through white (0.5) to red (1).
fn color(v: f64) -> String {
    let v = v.clamp(0.0, 1.0);
    let (r, g, b) = if v < 0.5 {
        let t = v / 0.5;
        (
            59.0 + t * (255.0 - 59.0),
            76.0 + t * (255.0 - 76.0),
            192.0 + t * (255.0 - 192.0),
        )
    } else {
        let t = (v - 0.5) / 0.5;
        (
            255.0 - t * (255.0 - 180.0),
            255.0 - t * (255.0 - 4.0),
            255.0 - t * (255.0 - 38.0),
        )
    };
    format!("#{:02x}{:02x}{:02x}", r as u8, g as u8, b as u8)
}

/// The SVG document. `losses` are the loss per epoch; `output(x0, x1)` is the trained network;
/// `points` are the training points with their labels; `title` goes on top.
pub fn render(
    title: &str,
    losses: &[f64],
    output: impl Fn(f64, f64) -> f64,
    points: &[([f64; 2], f64)],
    resolution: usize,
) -> String {
    let width = MARGIN + PANEL + GAP + PANEL + MARGIN;
    let height = MARGIN + PANEL + MARGIN;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>"#,
        width / 2.0,
        escape(title)
    );
    loss_panel(&mut s, losses, MARGIN, MARGIN);
    boundary_panel(
        &mut s,
        &output,
        points,
        resolution,
        MARGIN + PANEL + GAP,
        MARGIN,
    );
    s.push_str("</svg>\n");
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn loss_panel(s: &mut String, losses: &[f64], x0: f64, y0: f64) {
    let finite: Vec<f64> = losses
        .iter()
        .copied()
        .filter(|l| l.is_finite() && *l > 0.0)
        .collect();
    let _ = writeln!(
        s,
        r##"<rect x="{x0}" y="{y0}" width="{PANEL}" height="{PANEL}" fill="none" stroke="#444"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">epoch</text>"#,
        x0 + PANEL / 2.0,
        y0 + PANEL + 35.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle" transform="rotate(-90 {} {})">loss (log scale)</text>"#,
        x0 - 35.0,
        y0 + PANEL / 2.0,
        x0 - 35.0,
        y0 + PANEL / 2.0
    );
    if finite.is_empty() {
        return;
    }
    // Decades that cover the data.
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(0.0, f64::max);
    let (d_lo, d_hi) = (
        lo.log10().floor(),
        hi.log10().ceil().max(lo.log10().floor() + 1.0),
    );
    let y_of = |l: f64| y0 + PANEL * (d_hi - l.log10()) / (d_hi - d_lo);
    let n = losses.len().max(2) - 1;
    let x_of = |i: usize| x0 + PANEL * i as f64 / n as f64;
    let mut d = d_lo;
    while d <= d_hi {
        let y = y_of(10f64.powf(d));
        let _ = writeln!(
            s,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">1e{d}</text>"##,
            x0 + PANEL,
            x0 - 4.0,
            y + 4.0
        );
        d += 1.0;
    }
    let _ = writeln!(
        s,
        r#"<text x="{x0}" y="{}" text-anchor="middle">0</text><text x="{}" y="{}" text-anchor="middle">{n}</text>"#,
        y0 + PANEL + 16.0,
        x0 + PANEL,
        y0 + PANEL + 16.0
    );
    // At most ~600 vertices: every k-th epoch, plus the last.
    let step = (losses.len() / 600).max(1);
    let mut path = String::new();
    for (i, &l) in losses.iter().enumerate() {
        if (i % step == 0 || i + 1 == losses.len()) && l.is_finite() && l > 0.0 {
            let cmd = if path.is_empty() { 'M' } else { 'L' };
            let _ = write!(path, "{cmd}{:.1},{:.1} ", x_of(i), y_of(l));
        }
    }
    let _ = writeln!(
        s,
        r##"<path d="{}" fill="none" stroke="#b40426" stroke-width="1.5"/>"##,
        path.trim_end()
    );
}

fn boundary_panel(
    s: &mut String,
    output: &impl Fn(f64, f64) -> f64,
    points: &[([f64; 2], f64)],
    resolution: usize,
    x0: f64,
    y0: f64,
) {
    // The square [-0.25, 1.25]² so that the points sit inside the picture.
    let (lo, hi) = (-0.25, 1.25);
    let cell = PANEL / resolution as f64;
    let to_x = |u: f64| x0 + PANEL * (u - lo) / (hi - lo);
    let to_y = |v: f64| y0 + PANEL * (hi - v) / (hi - lo);
    for i in 0..resolution {
        for j in 0..resolution {
            let u = lo + (hi - lo) * (i as f64 + 0.5) / resolution as f64;
            let v = lo + (hi - lo) * (j as f64 + 0.5) / resolution as f64;
            let _ = writeln!(
                s,
                r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{}"/>"#,
                x0 + i as f64 * cell,
                y0 + PANEL - (j + 1) as f64 * cell,
                cell + 0.05,
                cell + 0.05,
                color(output(u, v))
            );
        }
    }
    let _ = writeln!(
        s,
        r##"<rect x="{x0}" y="{y0}" width="{PANEL}" height="{PANEL}" fill="none" stroke="#444"/>"##
    );
    for &([u, v], label) in points {
        let fill = if label > 0.5 { "#b40426" } else { "#3b4cc0" };
        let _ = writeln!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="7" fill="{fill}" stroke="black" stroke-width="2"/>"#,
            to_x(u),
            to_y(v)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">x0</text><text x="{}" y="{}" text-anchor="middle" transform="rotate(-90 {} {})">x1</text>"#,
        x0 + PANEL / 2.0,
        y0 + PANEL + 35.0,
        x0 - 15.0,
        y0 + PANEL / 2.0,
        x0 - 15.0,
        y0 + PANEL / 2.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">network output: blue 0, white 0.5, red 1</text>"#,
        x0 + PANEL / 2.0,
        y0 - 8.0
    );
}
