//! The picture of a training run, drawn with `plotters` (its SVG backend only): the loss curve on
//! a log scale beside the decision boundary — a binary classifier's output over a grid that
//! covers the data, with the training points on it.
//!
//! The same calls draw the picture from a program of your own: add
//! `plotters = { version = "0.3", default-features = false, features = ["svg_backend", "line_series"] }`
//! to its dependencies.

use plotters::prelude::*;

/// Width and height of the whole picture, in pixels.
const SIZE: (u32, u32) = (820, 420);

/// What the decision-boundary panel shows.
pub struct Boundary<'a, F: Fn(f64, f64) -> f64> {
    /// The classifier's probability of class 1 at `(x0, x1)`, in `[0, 1]`.
    pub probability: F,
    /// The training points, each with its label (0 or 1; a label above 0.5 is class 1).
    pub points: &'a [([f64; 2], f64)],
    /// The lower-left and upper-right corners of the square drawn.
    pub corners: ([f64; 2], [f64; 2]),
    /// Grid cells along each side.
    pub resolution: usize,
    /// The radius of a point, in pixels.
    pub radius: u32,
}

/// Corners that hold every point with `margin` to spare on each side.
pub fn corners_around(points: &[([f64; 2], f64)], margin: f64) -> ([f64; 2], [f64; 2]) {
    let mut lo = [f64::INFINITY; 2];
    let mut hi = [f64::NEG_INFINITY; 2];
    for (p, _) in points {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    (
        [lo[0] - margin, lo[1] - margin],
        [hi[0] + margin, hi[1] + margin],
    )
}

/// Pale blue (0) through white (0.5) to pale red (1): pale, so that the points, drawn in the
/// full colors of their classes, stand out on the side of the boundary they belong to.
fn color(p: f64) -> RGBColor {
    let p = p.clamp(0.0, 1.0);
    let mix = |from: u8, to: u8, t: f64| {
        (f64::from(from) + t * (f64::from(to) - f64::from(from))).round() as u8
    };
    let (end, t) = if p < 0.5 {
        (PALE_0, 1.0 - p / 0.5)
    } else {
        (PALE_1, (p - 0.5) / 0.5)
    };
    RGBColor(mix(255, end.0, t), mix(255, end.1, t), mix(255, end.2, t))
}

const PALE_0: RGBColor = RGBColor(150, 170, 235);
const PALE_1: RGBColor = RGBColor(240, 150, 150);
const CLASS_0: RGBColor = RGBColor(59, 76, 192);
const CLASS_1: RGBColor = RGBColor(180, 4, 38);

/// The SVG document: `title` on top, `losses` (one per epoch) on the left, `boundary` on the
/// right. `Err` holds plotters' message.
pub fn render<F: Fn(f64, f64) -> f64>(
    title: &str,
    losses: &[f64],
    boundary: &Boundary<'_, F>,
) -> Result<String, String> {
    let mut svg = String::new();
    draw(&mut svg, title, losses, boundary).map_err(|e| format!("cannot draw the plot: {e}"))?;
    Ok(svg)
}

/// [`render`]s the picture into the file `path`; `Err` says what failed, the path included.
pub fn write<F: Fn(f64, f64) -> f64>(
    path: &str,
    title: &str,
    losses: &[f64],
    boundary: &Boundary<'_, F>,
) -> Result<(), String> {
    let svg = render(title, losses, boundary)?;
    std::fs::write(path, svg).map_err(|e| format!("cannot write {path}: {e}"))
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw<F: Fn(f64, f64) -> f64>(
    svg: &mut String,
    title: &str,
    losses: &[f64],
    boundary: &Boundary<'_, F>,
) -> DrawResult {
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 16))?;
    let (left, right) = root.split_horizontally(SIZE.0 / 2);
    draw_losses(&left, losses)?;
    draw_boundary(&right, boundary)?;
    root.present()?;
    Ok(())
}

fn draw_losses<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    losses: &[f64],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    // A log scale needs positive numbers; a NaN or an infinity ends a run and is not drawn.
    let drawn: Vec<(usize, f64)> = losses
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, l)| l.is_finite() && *l > 0.0)
        .collect();
    let lo = drawn.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = drawn.iter().map(|p| p.1).fold(0.0, f64::max);
    let (lo, hi) = if drawn.is_empty() {
        (0.1, 1.0)
    } else {
        (lo / 1.5, hi * 1.5)
    };
    let epochs = losses.len().saturating_sub(1).max(1);
    let mut chart = ChartBuilder::on(area)
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0..epochs, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("loss (log scale)")
        .light_line_style(TRANSPARENT)
        // Label the powers of ten only; the lines between them show the scale.
        .y_label_formatter(&|l| {
            let decade = l.log10().round();
            if (l.log10() - decade).abs() < 1e-9 {
                format!("1e{decade}")
            } else {
                String::new()
            }
        })
        .draw()?;
    chart.draw_series(LineSeries::new(drawn, CLASS_1.stroke_width(2)))?;
    Ok(())
}

fn draw_boundary<DB: DrawingBackend, F: Fn(f64, f64) -> f64>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    b: &Boundary<'_, F>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let ([x_lo, y_lo], [x_hi, y_hi]) = b.corners;
    let mut chart = ChartBuilder::on(area)
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(40)
        .caption(
            "probability of class 1: blue 0, white 0.5, red 1",
            ("sans-serif", 13),
        )
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("x0")
        .y_desc("x1")
        .draw()?;
    let n = b.resolution.max(1);
    let (dx, dy) = ((x_hi - x_lo) / n as f64, (y_hi - y_lo) / n as f64);
    let cells = (0..n).flat_map(|i| (0..n).map(move |j| (i, j)));
    chart.draw_series(cells.map(|(i, j)| {
        let (u, v) = (x_lo + i as f64 * dx, y_lo + j as f64 * dy);
        let p = (b.probability)(u + dx / 2.0, v + dy / 2.0);
        Rectangle::new([(u, v), (u + dx, v + dy)], color(p).filled())
    }))?;
    chart.draw_series(b.points.iter().map(|&([u, v], label)| {
        let fill = if label > 0.5 { CLASS_1 } else { CLASS_0 };
        Circle::new((u, v), b.radius, fill.filled())
    }))?;
    chart.draw_series(
        b.points
            .iter()
            .map(|&([u, v], _)| Circle::new((u, v), b.radius, BLACK.stroke_width(1))),
    )?;
    Ok(())
}
