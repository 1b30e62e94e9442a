//! PNG charts for the report, drawn with `plotters` into an RGB buffer and encoded with `image`:
//! score against peak memory (the SmolVLM paper's headline picture), latency distributions as
//! cumulative curves, and per-category score bars.
//!
//! Text needs a TrueType font, read once at run time: `$SMOLBENCH_FONT`, else the first of the
//! usual system locations (DejaVu Sans, Liberation Sans, Arial). `make system-deps` installs
//! `fonts-dejavu-core` where none is present.

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Chart size in pixels.
pub const WIDTH: u32 = 960;
/// See [`WIDTH`].
pub const HEIGHT: u32 = 560;

/// Series colours, distinguishable and readable on white.
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
];
const BASELINE_GREY: RGBColor = RGBColor(110, 110, 110);

/// The colour of the `i`-th series.
pub fn series_colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Places a TrueType font is looked for, in order, after `$SMOLBENCH_FONT`.
const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// Registers the font with plotters once; an error names where it looked.
pub fn ensure_font() -> Result<()> {
    static FONT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let outcome = FONT.get_or_init(|| {
        let mut candidates: Vec<PathBuf> = std::env::var_os("SMOLBENCH_FONT").map(PathBuf::from).into_iter().collect();
        candidates.extend(FONT_CANDIDATES.iter().map(PathBuf::from));
        for path in &candidates {
            let Ok(bytes) = std::fs::read(path) else { continue };
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                return Ok(path.clone());
            }
        }
        Err(format!(
            "no TrueType font found for chart text (looked at $SMOLBENCH_FONT and {}); install fonts-dejavu-core (`make system-deps`) or set SMOLBENCH_FONT to a .ttf file",
            FONT_CANDIDATES.join(", ")
        ))
    });
    outcome.as_ref().map(|_| ()).map_err(|e| anyhow!("{e}"))
}

pub(crate) fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing a chart: {e:?}")
}

/// Size of the headline chart on the first screen, beside the compact table.
pub const HEADLINE_SIZE: (u32, u32) = (700, 500);

/// Draws with `draw` on a white [`WIDTH`] × [`HEIGHT`] canvas and returns the PNG bytes.
pub(crate) fn render(draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>) -> Result<Vec<u8>> {
    render_sized((WIDTH, HEIGHT), draw)
}

/// Draws with `draw` on a white canvas of `size` pixels and returns the PNG bytes.
fn render_sized(
    (width, height): (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
) -> Result<Vec<u8>> {
    ensure_font()?;
    let mut buffer = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        draw(&root)?;
        root.present().map_err(plot_err)?;
    }
    let img = image::RgbImage::from_raw(width, height, buffer).context("chart buffer has the wrong size")?;
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).context("encoding a chart as PNG")?;
    Ok(png)
}

/// What a point of the score-against-memory chart stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointKind {
    /// One of our runs (its series index).
    Run(usize),
    /// A published SmolVLM number.
    Family,
    /// A published number of another model.
    Baseline,
}

/// One point of the score-against-memory chart.
#[derive(Debug, Clone)]
pub struct MemoryPoint {
    /// Shown next to the point.
    pub label: String,
    /// Peak memory in GB (10^9 bytes), as published, measured or estimated.
    pub memory_gb: f64,
    /// Score in percent.
    pub score_pct: f64,
    /// Whose point it is.
    pub kind: PointKind,
    /// Whether the memory figure is an estimate (drawn hollow).
    pub estimated: bool,
}

/// The score-against-memory chart and the labels it had no room for.
#[derive(Debug, Clone)]
pub struct MemoryChart {
    /// The PNG.
    pub png: Vec<u8>,
    /// Labels left off because no free place was found (the page lists them).
    pub unlabelled: Vec<String>,
}

const FAMILY_COLOUR: RGBColor = RGBColor(230, 120, 0);
const MARKER: i32 = 6;

fn point_colour(kind: PointKind) -> RGBColor {
    match kind {
        PointKind::Run(i) => series_colour(i),
        PointKind::Family => FAMILY_COLOUR,
        PointKind::Baseline => BASELINE_GREY,
    }
}

/// Score (y, %) against peak memory (x, GB, log scale): our runs as coloured dots, the SmolVLM
/// family as orange diamonds, other models as grey diamonds, estimated memory hollow. Labels are
/// placed by [`crate::labels::place_labels`], our runs' first, so none overprints another.
pub fn score_vs_memory(title: &str, x_desc: &str, points: &[MemoryPoint], size: (u32, u32)) -> Result<MemoryChart> {
    let mut unlabelled = Vec::new();
    let png = render_sized(size, |root| {
        let (legend_area, plot_root) = root.split_vertically(34);
        let (min_gb, max_gb) = points
            .iter()
            .map(|p| p.memory_gb.max(1e-3))
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (lo, hi) = if points.is_empty() { (0.1, 100.0) } else { (min_gb / 2.0, max_gb * 2.0) };
        let mut chart = ChartBuilder::on(&plot_root)
            .caption(title, ("sans-serif", 22))
            .margin(14)
            .x_label_area_size(46)
            .y_label_area_size(60)
            .build_cartesian_2d((lo..hi).log_scale(), 0f64..100f64)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc("score (%)")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .x_label_formatter(&|v| if *v >= 10.0 { format!("{v:.0}") } else { format!("{v:.2}") })
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(plot_err)?;
        // Our runs first: their labels get the best places.
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by_key(|&i| match points[i].kind {
            PointKind::Run(r) => (0, r),
            PointKind::Family => (1, 0),
            PointKind::Baseline => (2, 0),
        });
        let pixel: Vec<(i32, i32)> =
            order.iter().map(|&i| chart.backend_coord(&(points[i].memory_gb.max(1e-3), points[i].score_pct))).collect();
        let font = |kind: PointKind| ("sans-serif", if matches!(kind, PointKind::Run(_)) { 15 } else { 13 });
        let mut sizes = Vec::with_capacity(order.len());
        for &i in &order {
            let (w, h) = root
                .estimate_text_size(&points[i].label, &font(points[i].kind).into_font().color(&BLACK))
                .map_err(plot_err)?;
            sizes.push((w as i32 + 2, h as i32 + 2));
        }
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        let bounds = crate::labels::Rect { x: xr.start, y: yr.start, w: xr.end - xr.start, h: yr.end - yr.start };
        let placed = crate::labels::place_labels(&pixel, &sizes, MARKER, bounds);
        // Markers, then leader lines, then labels.
        for (k, &i) in order.iter().enumerate() {
            let p = &points[i];
            let colour = point_colour(p.kind);
            let (x, y) = pixel[k];
            let style = if p.estimated { colour.stroke_width(2) } else { colour.filled() };
            match p.kind {
                PointKind::Run(_) => root.draw(&Circle::new((x, y), MARKER, style)).map_err(plot_err)?,
                _ => {
                    let m = MARKER;
                    let diamond = vec![(x, y - m), (x + m, y), (x, y + m), (x - m, y), (x, y - m)];
                    if p.estimated {
                        root.draw(&PathElement::new(diamond, style)).map_err(plot_err)?
                    } else {
                        root.draw(&Polygon::new(diamond, style)).map_err(plot_err)?
                    }
                }
            }
        }
        for (k, &i) in order.iter().enumerate() {
            let p = &points[i];
            let colour = point_colour(p.kind);
            match placed[k] {
                Some(place) => {
                    if place.leader {
                        let (x, y) = pixel[k];
                        let end = place.rect.nearest_point(x, y);
                        root.draw(&PathElement::new(vec![(x, y), end], colour.mix(0.6).stroke_width(1)))
                            .map_err(plot_err)?;
                    }
                    let style = font(p.kind).into_font().color(&colour);
                    root.draw(&Text::new(p.label.clone(), (place.rect.x + 1, place.rect.y + 1), style))
                        .map_err(plot_err)?;
                }
                None => unlabelled.push(p.label.clone()),
            }
        }
        // The legend, above the plot.
        let mut entries: Vec<(String, RGBColor, bool, bool)> = Vec::new();
        let mut runs: Vec<usize> =
            points.iter().filter_map(|p| if let PointKind::Run(r) = p.kind { Some(r) } else { None }).collect();
        runs.sort_unstable();
        runs.dedup();
        for r in runs {
            entries.push((format!("run R{}", r + 1), series_colour(r), true, false));
        }
        if points.iter().any(|p| p.kind == PointKind::Family) {
            entries.push(("SmolVLM".into(), FAMILY_COLOUR, false, false));
        }
        if points.iter().any(|p| p.kind == PointKind::Baseline) {
            entries.push(("other models".into(), BASELINE_GREY, false, false));
        }
        if points.iter().any(|p| p.estimated) {
            entries.push(("memory estimated".into(), BASELINE_GREY, false, true));
        }
        let mut x = 24;
        let y = 18;
        for (text, colour, circle, hollow) in entries {
            let style = if hollow { colour.stroke_width(2) } else { colour.filled() };
            if circle {
                legend_area.draw(&Circle::new((x, y), MARKER, style)).map_err(plot_err)?;
            } else {
                let m = MARKER;
                let d = vec![(x, y - m), (x + m, y), (x, y + m), (x - m, y), (x, y - m)];
                if hollow {
                    legend_area.draw(&PathElement::new(d, style)).map_err(plot_err)?;
                } else {
                    legend_area.draw(&Polygon::new(d, style)).map_err(plot_err)?;
                }
            }
            let f = ("sans-serif", 14).into_font();
            let (w, _) = legend_area.estimate_text_size(&text, &f.color(&BLACK)).map_err(plot_err)?;
            legend_area.draw(&Text::new(text, (x + 12, y - 8), f.color(&BLACK))).map_err(plot_err)?;
            x += 12 + w as i32 + 26;
        }
        Ok(())
    })?;
    Ok(MemoryChart { png, unlabelled })
}

/// The series legend every chart draws, at its lower right.
pub(crate) fn draw_legend<'a, CT: CoordTranslate>(chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>) -> Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(plot_err)
}

/// Cumulative distribution curves, one per series: x is the measurement (`x_desc`, with unit),
/// y the share of samples at or below it.
pub fn cdf_chart(title: &str, x_desc: &str, series: &[(String, Vec<f64>)]) -> Result<Vec<u8>> {
    render(|root| {
        let max = series.iter().flat_map(|(_, v)| v.iter().copied()).fold(0.0f64, f64::max);
        let hi = if max > 0.0 { max * 1.05 } else { 1.0 };
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..hi, 0f64..100f64)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc("samples at or below (%)")
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .draw()
            .map_err(plot_err)?;
        for (i, (name, values)) in series.iter().enumerate() {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let n = sorted.len() as f64;
            let colour = series_colour(i);
            let steps: Vec<(f64, f64)> = sorted
                .iter()
                .enumerate()
                .flat_map(|(k, &v)| [(v, k as f64 / n * 100.0), (v, (k + 1) as f64 / n * 100.0)])
                .collect();
            chart
                .draw_series(LineSeries::new(steps, colour.stroke_width(2)))
                .map_err(plot_err)?
                .label(format!("{name} (n={})", values.len()))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(3)));
        }
        draw_legend(&mut chart)?;
        Ok(())
    })
}

/// Horizontal bars: one group per category, one bar per series (score in %).
pub fn category_bars(title: &str, categories: &[String], series: &[(String, Vec<Option<f64>>)]) -> Result<Vec<u8>> {
    render(|root| {
        let n_cat = categories.len().max(1);
        let longest = categories.iter().map(|c| c.chars().count()).max().unwrap_or(4);
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size((longest as u32 * 8 + 16).clamp(60, 300))
            .build_cartesian_2d(0f64..100f64, 0f64..n_cat as f64)
            .map_err(plot_err)?;
        let labels = categories.to_vec();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n_cat * 2 + 1)
            .y_label_formatter(&|v| {
                let idx = v - 0.5;
                let i = idx.round();
                if (idx - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                    labels[labels.len() - 1 - i as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_desc("score (%)")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 17))
            .draw()
            .map_err(plot_err)?;
        let k = series.len().max(1) as f64;
        let band = 0.8 / k;
        for (s, (name, values)) in series.iter().enumerate() {
            let colour = series_colour(s);
            let bars = values.iter().enumerate().filter_map(|(c, v)| {
                let v = (*v)?;
                let row = (n_cat - 1 - c) as f64;
                let top = row + 0.9 - band * s as f64;
                let label_at = ((v * 100.0 + 0.5).min(92.0), top - band / 2.0);
                Some((
                    Rectangle::new([(0.0, top - band), (v * 100.0, top)], colour.filled()),
                    Text::new(format!("{:.1}", v * 100.0), label_at, ("sans-serif", 13).into_font().color(&colour)),
                ))
            });
            let (rects, texts): (Vec<_>, Vec<_>) = bars.unzip();
            let drawn = !rects.is_empty();
            let series_anno = chart.draw_series(rects).map_err(plot_err)?;
            if drawn {
                series_anno
                    .label(name.clone())
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
            }
            chart.draw_series(texts).map_err(plot_err)?;
        }
        draw_legend(&mut chart)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> image::RgbImage {
        image::load_from_memory(png).expect("a PNG").to_rgb8()
    }

    fn coloured_pixels(img: &image::RgbImage, colour: RGBColor) -> usize {
        img.pixels().filter(|p| p.0 == [colour.0, colour.1, colour.2]).count()
    }

    #[test]
    fn charts_are_pngs_with_their_series_drawn() {
        let point = |label: &str, memory_gb: f64, score_pct: f64, kind: PointKind, estimated: bool| MemoryPoint {
            label: label.into(),
            memory_gb,
            score_pct,
            kind,
            estimated,
        };
        let points = vec![
            point("MolmoE", 27.7, 77.7, PointKind::Baseline, false),
            point("Idefics-80B", 160.0, 42.3, PointKind::Baseline, true),
            point("SmolVLM-256M", 0.8, 58.3, PointKind::Family, false),
            point("tiny", 0.3, 2.0, PointKind::Run(0), false),
        ];
        let chart = score_vs_memory("DocVQA", "GB", &points, (WIDTH, HEIGHT)).unwrap();
        assert!(chart.unlabelled.is_empty(), "{:?}", chart.unlabelled);
        let img = decode(&chart.png);
        assert_eq!(img.dimensions(), (WIDTH, HEIGHT));
        assert!(coloured_pixels(&img, series_colour(0)) > 50, "our run's dot is drawn");
        assert!(coloured_pixels(&img, FAMILY_COLOUR) > 50, "the family's diamond is drawn");

        let cdf = decode(&cdf_chart("e2e", "ms", &[("a".into(), vec![1.0, 2.0, 3.0])]).unwrap());
        assert!(coloured_pixels(&cdf, series_colour(0)) > 100);

        let cats = vec!["Art".to_string(), "Math".to_string()];
        let bars = decode(&category_bars("MMMU", &cats, &[("r".into(), vec![Some(0.5), None])]).unwrap());
        assert!(coloured_pixels(&bars, series_colour(0)) > 1000);
    }
}
