//! The examples' pictures, drawn with plotters into PNG files and shared by `moons` and `spiral`:
//! decision regions under the points (one panel or a grid of them) and curves against passes on
//! a log axis (loss, sharpness). Text uses a bundled font, so nothing here needs a system library.

use std::error::Error;
use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::{ReverseCoordTranslate, Shift};
use plotters::prelude::*;
use plotters::style::FontStyle;
use tapegrad::Tensor;

#[path = "files.rs"]
pub mod files;

pub type Outcome = Result<(), Box<dyn Error>>;

/// Pixels classified at once: with the examples' widest hidden layer (1000 units) a batch's
/// activations take 8 MB.
const PIXELS_PER_BATCH: usize = 1024;

/// A model's predicted class for each row of a `[N, 2]` tensor of points.
pub type Predict<'a> = Box<dyn Fn(&Tensor) -> Vec<usize> + 'a>;

/// One decision-region panel: a title, and the model's predicted class for each row of points.
pub struct Panel<'a> {
    pub title: String,
    /// The number of classes to colour (the model's outputs).
    pub classes: usize,
    pub predict: Predict<'a>,
}

/// One line of a curve plot: its legend label and `(passes, value)` points.
pub struct Curve {
    pub label: String,
    pub points: Vec<(usize, f64)>,
    /// Drawn as dots rather than a line: for values that alternate between two branches (the
    /// sharpness of a run oscillating with period 2), which a line would smear into a band.
    pub dots: bool,
}

/// matplotlib's Spectral colour map (ColorBrewer's 11 classes), which the tutorial colours
/// its classes with: class `i` of `C` gets the colour at `i / (C − 1)`.
const SPECTRAL: [(u8, u8, u8); 11] = [
    (158, 1, 66),
    (213, 62, 79),
    (244, 109, 67),
    (253, 174, 97),
    (254, 224, 139),
    (255, 255, 191),
    (230, 245, 152),
    (171, 221, 164),
    (102, 194, 165),
    (50, 136, 189),
    (94, 79, 162),
];

/// The colour of `class` among `classes`, interpolated along [`SPECTRAL`].
pub fn class_colour(class: usize, classes: usize) -> RGBColor {
    let position = class as f64 / (classes.max(2) - 1) as f64 * (SPECTRAL.len() - 1) as f64;
    let (low, fraction) = (position.floor() as usize, position.fract());
    let high = (low + 1).min(SPECTRAL.len() - 1);
    let mix =
        |a: u8, b: u8| (f64::from(a) + fraction * (f64::from(b) - f64::from(a))).round() as u8;
    let ((r0, g0, b0), (r1, g1, b1)) = (SPECTRAL[low], SPECTRAL[high]);
    RGBColor(mix(r0, r1), mix(g0, g1), mix(b0, b1))
}

/// A class's region: its colour washed halfway to white, so that the points in the class's
/// full colour with a dark edge stand out on every region.
pub fn region_colour(class: usize, classes: usize) -> RGBColor {
    let RGBColor(r, g, b) = class_colour(class, classes);
    let wash = |c: u8| ((u16::from(c) + 255) / 2) as u8;
    RGBColor(wash(r), wash(g), wash(b))
}

/// A tick label without a minus sign on zero (`-0.0` from rounding a tiny negative).
fn tick_label(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    format!("{:.1}", if rounded == 0.0 { 0.0 } else { rounded })
}

fn register_font() -> Outcome {
    let font: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
    plotters::style::register_font("sans-serif", FontStyle::Normal, font)
        .map_err(|_| "the bundled font is unreadable")?;
    Ok(())
}

/// Draws a `width × height` picture with `draw` and writes it to `path` as a PNG, whole or not at
/// all. plotters draws into an RGB buffer; the `png` crate writes it.
fn picture(
    path: &Path,
    (width, height): (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Outcome,
) -> Outcome {
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    files::atomically(path, |partial| {
        let mut file = std::io::BufWriter::new(std::fs::File::create(partial)?);
        let mut encoder = png::Encoder::new(&mut file, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
        writer.finish()?;
        // A failed last write (a full disk) must fail here, before the rename, not in a drop.
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(())
    })
}

/// The decision regions of one model under the points `x` (`[N, 2]`) coloured by `labels`.
pub fn boundary(path: &Path, x: &Tensor, labels: &[usize], panel: &Panel<'_>) -> Outcome {
    register_font()?;
    picture(path, (640, 520), |root| {
        draw_boundary(root, x, labels, panel, 22)
    })
}

/// One decision-region panel per model in a grid of two columns, as the tutorial's "varying the
/// hidden layer size" figure.
pub fn boundary_grid(path: &Path, x: &Tensor, labels: &[usize], panels: &[Panel<'_>]) -> Outcome {
    register_font()?;
    let columns = 2.min(panels.len());
    let rows = panels.len().div_ceil(columns);
    let size = (480 * columns as u32, 400 * rows as u32);
    picture(path, size, |root| {
        for (area, panel) in root.split_evenly((rows, columns)).iter().zip(panels) {
            draw_boundary(area, x, labels, panel, 18)?;
        }
        Ok(())
    })
}

fn draw_boundary(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    x: &Tensor,
    labels: &[usize],
    panel: &Panel<'_>,
    font_size: u32,
) -> Outcome {
    let mut chart = plane_chart(area, x, &panel.title, font_size)?;
    // The class of every pixel of the plotting area, predicted in one batch: a boundary as
    // sharp as the picture allows, with no cells to show as steps.
    let plotting_area = chart.plotting_area();
    let (pixels, columns) = pixel_centres(&chart)?;
    // In chunks of rows, so that a wide hidden layer's activations over ~250,000 pixels never
    // need more than a chunk's memory at once.
    let count = pixels.shape()[0];
    let mut predicted = Vec::with_capacity(count);
    for start in (0..count).step_by(PIXELS_PER_BATCH) {
        let rows = PIXELS_PER_BATCH.min(count - start);
        predicted.extend((panel.predict)(&pixels.narrow(0, start, rows)));
    }
    let from_labels = labels.iter().max().map_or(0, |&max| max + 1);
    let classes = panel.classes.max(from_labels);
    let pixel_area = plotting_area.strip_coord_spec();
    for (index, &class) in predicted.iter().enumerate() {
        let (column, row) = (index % columns, index / columns);
        pixel_area.draw_pixel((column as i32, row as i32), &region_colour(class, classes))?;
    }
    draw_points(&mut chart, x, labels, classes)
}

/// The plane of the points `x` (`[N, 2]`), with its axes, titled.
type Plane<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn plane_chart<'a, 'b>(
    area: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    x: &Tensor,
    title: &str,
    font_size: u32,
) -> Result<Plane<'a, 'b>, Box<dyn Error>> {
    let (x_range, y_range) = (axis_range(x, 0), axis_range(x, 1));
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", font_size))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(x_range.0..x_range.1, y_range.0..y_range.1)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("x1")
        .y_desc("x2")
        .x_label_formatter(&|x| tick_label(*x))
        .y_label_formatter(&|y| tick_label(*y))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .draw()?;
    Ok(chart)
}

/// The centre of every pixel of the plotting area, row by row (`[pixels, 2]`), and how many
/// pixels a row has.
fn pixel_centres(chart: &Plane<'_, '_>) -> Result<(Tensor, usize), Box<dyn Error>> {
    let (columns, rows) = chart.plotting_area().get_pixel_range();
    let mut centres = Vec::with_capacity(2 * columns.len() * rows.len());
    for row in rows.clone() {
        for column in columns.clone() {
            let (x1, x2) = chart
                .as_coord_spec()
                .reverse_translate((column, row))
                .ok_or("a pixel outside the axes")?;
            centres.extend([x1, x2]);
        }
    }
    let pixels = Tensor::new(centres, &[columns.len() * rows.len(), 2])?;
    Ok((pixels, columns.len()))
}

/// The points, each a dot of its class's colour with a dark rim.
fn draw_points(chart: &mut Plane<'_, '_>, x: &Tensor, labels: &[usize], classes: usize) -> Outcome {
    chart.draw_series(
        x.data()
            .chunks_exact(2)
            .zip(labels)
            .flat_map(|(point, &label)| {
                let centre = (point[0], point[1]);
                [
                    Circle::new(centre, 4, class_colour(label, classes).filled()),
                    Circle::new(centre, 4, RGBColor(30, 30, 30).stroke_width(1)),
                ]
            }),
    )?;
    Ok(())
}

/// For a batch of points (`[N, 2]`), each one's value and predicted class.
pub type Field<'a> = &'a dyn Fn(&Tensor) -> (Vec<f64>, Vec<usize>);

/// A field over the plane, one value per pixel, under the decision boundary and the points, on
/// the axes and in the class colours of [`boundary`]: `field` gives, for a batch of points, each
/// one's value and predicted class. Values run from white (0) to deep blue (the largest),
/// through their square root, so that the small values far from the boundary still show.
pub fn field(path: &Path, x: &Tensor, labels: &[usize], title: &str, field: Field<'_>) -> Outcome {
    register_font()?;
    picture(path, (640, 520), |root| {
        let mut chart = plane_chart(root, x, title, 18)?;
        let plotting_area = chart.plotting_area();
        let (pixels, width) = pixel_centres(&chart)?;
        let count = pixels.shape()[0];
        let (mut values, mut classes) = (Vec::with_capacity(count), Vec::with_capacity(count));
        for start in (0..count).step_by(PIXELS_PER_BATCH) {
            let rows = PIXELS_PER_BATCH.min(count - start);
            let (batch_values, batch_classes) = field(&pixels.narrow(0, start, rows));
            values.extend(batch_values);
            classes.extend(batch_classes);
        }
        let largest = values
            .iter()
            .copied()
            .fold(0.0f64, f64::max)
            .max(f64::MIN_POSITIVE);
        let pixel_area = plotting_area.strip_coord_spec();
        for (index, (&value, &class)) in values.iter().zip(&classes).enumerate() {
            let (column, row) = (index % width, index / width);
            // The boundary: where the predicted class differs from the right or lower neighbour.
            let differs = |other: usize| classes.get(other).is_some_and(|&c| c != class);
            let on_boundary = (column + 1 < width && differs(index + 1)) || differs(index + width);
            let colour = if on_boundary {
                RGBColor(20, 20, 20)
            } else {
                let t = (value / largest).clamp(0.0, 1.0).sqrt();
                let mix = |from: f64, to: f64| (from + (to - from) * t).round() as u8;
                RGBColor(mix(255.0, 8.0), mix(255.0, 48.0), mix(255.0, 107.0))
            };
            pixel_area.draw_pixel((column as i32, row as i32), &colour)?;
        }
        let classes = labels.iter().max().map_or(2, |&max| max + 1);
        draw_points(&mut chart, x, labels, classes)?;
        Ok(())
    })
}

/// Curve colours, one per curve: matplotlib's "tab10", chosen to be told apart.
const CURVES: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// How the passes run along the horizontal axis of [`curves`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Passes {
    /// Evenly: the late passes, where a period-2 oscillation shows.
    Linear,
    /// On a log axis from pass 1: the fast descent of the first passes and the long tail are
    /// both readable (on an even axis the descent is squeezed into the first few pixels).
    Log,
}

/// Positions on a log axis of passes are thousandths of a decade, whole numbers: plotters
/// labels chosen key points on an integer axis, not on a float one.
const PER_DECADE: f64 = 1000.0;

impl Passes {
    /// Where `pass` goes on the axis; `None` for pass 0 on a log axis.
    fn position(self, pass: usize) -> Option<i64> {
        match self {
            Passes::Linear => Some(pass as i64),
            Passes::Log => (pass > 0).then(|| ((pass as f64).log10() * PER_DECADE).round() as i64),
        }
    }

    /// The label at axis position `x`.
    fn label(self, x: i64) -> String {
        match self {
            Passes::Linear => x.to_string(),
            Passes::Log => {
                // Two significant digits: a thousandth of a decade is 0.2% of the value.
                let pass = 10f64.powf(x as f64 / PER_DECADE);
                let unit = 10f64.powf(pass.log10().floor() - 1.0).max(1.0);
                format!("{}", (pass / unit).round() * unit)
            }
        }
    }

    /// Axis positions of round numbers of passes up to `last`: 1, 2, 5, 10, … on a log axis
    /// (only powers of ten past five decades), steps of 1, 2 or 5 × 10ᵏ on an even one.
    fn ticks(self, last: usize) -> Vec<i64> {
        let rounds: Vec<usize> = match self {
            Passes::Log => {
                let decades = (last as f64).log10().ceil() as u32;
                let mantissas: &[usize] = if decades > 5 { &[1] } else { &[1, 2, 5] };
                (0..=decades)
                    .flat_map(|decade| mantissas.iter().map(move |m| m * 10usize.pow(decade)))
                    .filter(|&pass| pass <= last)
                    .collect()
            }
            Passes::Linear => {
                let rough = last.div_ceil(8).max(1);
                let power = 10usize.pow(rough.ilog10());
                let step = [1, 2, 5, 10]
                    .iter()
                    .map(|m| m * power)
                    .find(|&step| step >= rough)
                    .unwrap_or(10 * power);
                (0..=last).step_by(step).collect()
            }
        };
        rounds
            .into_iter()
            .filter_map(|pass| self.position(pass))
            .collect()
    }
}

/// Curves against the number of passes (on `passes`' axis, named `x_desc`: "passes", "epochs"),
/// values on a log axis, one colour each, with the legend beside the plot rather than over it; `reference` adds a dashed
/// horizontal line with its label (the sharpness plot's 2/η). Values that a log axis cannot show
/// (≤ 0, not finite) are left out, and so is pass 0 on a log axis of passes.
pub fn curves(
    path: &Path,
    title: &str,
    (x_desc, passes): (&str, Passes),
    y_desc: &str,
    curves: &[Curve],
    reference: Option<(f64, &str)>,
) -> Outcome {
    register_font()?;
    picture(path, (720, 440), |root| {
        draw_curves(root, title, (x_desc, passes), y_desc, curves, reference)
    })
}

fn draw_curves(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    title: &str,
    (x_desc, passes): (&str, Passes),
    y_desc: &str,
    curves: &[Curve],
    reference: Option<(f64, &str)>,
) -> Outcome {
    let legend_width = if curves.len() > 1 || reference.is_some() {
        120
    } else {
        0
    };
    let (plot_area, legend_area) = root.split_horizontally(720 - legend_width);
    let drawable = |value: f64| value > 0.0 && value.is_finite();
    let last_pass = curves
        .iter()
        .flat_map(|curve| curve.points.last())
        .map(|&(pass, _)| pass)
        .max()
        .unwrap_or(1)
        .max(2);
    let values = curves
        .iter()
        .flat_map(|curve| &curve.points)
        .map(|&(_, value)| value);
    let values = values
        .chain(reference.map(|(value, _)| value))
        .filter(|&v| drawable(v));
    let (lowest, highest) = values.fold((f64::INFINITY, 0.0f64), |(low, high), value| {
        (low.min(value), high.max(value))
    });
    let (low, high) = if lowest <= highest {
        (lowest * 0.9, highest * 1.1)
    } else {
        (0.1, 1.0) // nothing to draw: an empty axis, not a NaN range
    };
    // Pass 0 on an even axis, pass 1 (log 1 = 0) on a log one.
    let (x_low, x_high) = (0, passes.position(last_pass).unwrap_or(1));
    let x_range = x_low..x_high;
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .margin_right(30) // room for the last pass's label
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(
            x_range.with_key_points(passes.ticks(last_pass)),
            (low..high)
                .log_scale()
                .with_key_points(log_ticks(low, high)),
        )?;
    let x_desc = match passes {
        Passes::Linear => x_desc.to_string(),
        Passes::Log => format!("{x_desc} (log scale)"),
    };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|x| passes.label(*x))
        .y_label_formatter(&|value| format!("{}", significant(*value)))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(WHITE)
        .draw()?;
    for (index, curve) in curves.iter().enumerate() {
        let colour = CURVES[index % CURVES.len()];
        let points = curve
            .points
            .iter()
            .filter(|&&(_, v)| drawable(v))
            .filter_map(|&(pass, v)| Some((passes.position(pass)?, v)));
        if curve.dots {
            chart.draw_series(points.map(|point| Circle::new(point, 2, colour.filled())))?;
        } else {
            chart.draw_series(LineSeries::new(points, colour.stroke_width(2)))?;
        }
    }
    if let Some((value, _)) = reference {
        let width = x_high - x_low;
        let dashes = (0..40).map(|k| {
            let (from, to) = (x_low + k * width / 40, x_low + (2 * k + 1) * width / 80);
            PathElement::new([(from, value), (to, value)], BLACK.stroke_width(1))
        });
        chart.draw_series(dashes)?;
    }
    // The legend in its own column: it can cover no curve, and its rows cannot overlap.
    let mut entries: Vec<(String, ShapeStyle)> = curves
        .iter()
        .enumerate()
        .filter(|_| curves.len() > 1 || reference.is_some())
        .map(|(index, curve)| {
            (
                curve.label.clone(),
                CURVES[index % CURVES.len()].stroke_width(3),
            )
        })
        .collect();
    if let Some((_, label)) = reference {
        entries.push((label.to_string(), BLACK.stroke_width(1)));
    }
    for (index, (label, style)) in entries.into_iter().enumerate() {
        let y = 60 + 24 * index as i32;
        legend_area.draw(&PathElement::new([(4, y), (28, y)], style))?;
        legend_area.draw(&Text::new(label, (34, y - 8), ("sans-serif", 14)))?;
    }
    Ok(())
}

/// Tick values for a log axis from `low` to `high`: 1, 2, …, 9 times each power of ten, or only
/// 1, 2, 3 and 5 when that would be more than a dozen labels. Every decade in range gets labels,
/// so a curve that spends most of its passes below 0.1 is read against numbers there too.
fn log_ticks(low: f64, high: f64) -> Vec<f64> {
    let decades = low.log10().floor() as i32..=high.log10().ceil() as i32;
    let ticks_with = |mantissas: &[f64]| -> Vec<f64> {
        decades
            .clone()
            .flat_map(|decade| mantissas.iter().map(move |m| m * 10f64.powi(decade)))
            .filter(|tick| (low..=high).contains(tick))
            .collect()
    };
    let all = ticks_with(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    if all.len() < 3 {
        // A range within one decade (a sharpness between 150 and 250): halves as well.
        let halves: Vec<f64> = (2..20).map(|k| f64::from(k) / 2.0).collect();
        ticks_with(&halves)
    } else if all.len() <= 12 {
        all
    } else {
        ticks_with(&[1.0, 2.0, 3.0, 5.0])
    }
}

/// A tick value with its float noise removed (`0.07`, not `0.07000000000000001`).
fn significant(value: f64) -> f64 {
    format!("{value:.6e}").parse().unwrap_or(value)
}

/// The data's extent along one axis with the tutorial's 0.5 margin.
fn axis_range(x: &Tensor, axis: usize) -> (f64, f64) {
    let values = x.data().iter().skip(axis).step_by(2);
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), &v| {
        (low.min(v), high.max(v))
    });
    (low - 0.5, high + 0.5)
}
