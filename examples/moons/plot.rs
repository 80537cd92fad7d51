//! The tutorial's pictures, drawn with plotters into PNG files: the decision boundary over the
//! points, one panel per hidden size, and the loss curve. Text uses a bundled font, so nothing
//! here needs a system library.

use std::error::Error;
use std::path::Path;

use plotters::coord::{ReverseCoordTranslate, Shift};
use plotters::prelude::*;
use plotters::style::FontStyle;
use tapegrad::Tensor;

use crate::{Data, Trained};

type Outcome = Result<(), Box<dyn Error>>;

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
fn class_colour(class: usize, classes: usize) -> RGBColor {
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
fn region_colour(class: usize, classes: usize) -> RGBColor {
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

/// `moons.png`: the decision boundary of one model, titled with its hidden size and accuracy.
pub fn boundary(path: &Path, data: &Data, run: &Trained) -> Outcome {
    register_font()?;
    let root = BitMapBackend::new(path, (640, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    draw_boundary(&root, data, run, 22)?;
    root.present()?;
    Ok(())
}

/// `moons_hidden.png`: one decision-boundary panel per hidden size, as the tutorial's
/// "varying the hidden layer size" figure.
pub fn boundary_grid(path: &Path, data: &Data, runs: &[Trained]) -> Outcome {
    register_font()?;
    let columns = 2.min(runs.len());
    let rows = runs.len().div_ceil(columns);
    let root =
        BitMapBackend::new(path, (480 * columns as u32, 400 * rows as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    for (panel, run) in root.split_evenly((rows, columns)).iter().zip(runs) {
        draw_boundary(panel, data, run, 18)?;
    }
    root.present()?;
    Ok(())
}

fn draw_boundary(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    data: &Data,
    run: &Trained,
    font_size: u32,
) -> Outcome {
    let (x_range, y_range) = (axis_range(&data.x, 0), axis_range(&data.x, 1));
    let title = format!(
        "hidden layer size {}, accuracy {}",
        run.hidden,
        crate::format_accuracy(run.accuracy)
    );
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

    // The class of every pixel of the plotting area, predicted in one batch: a boundary as
    // sharp as the picture allows, with no cells to show as steps.
    let plotting_area = chart.plotting_area();
    let (columns, rows) = plotting_area.get_pixel_range();
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
    let predicted = crate::predict(&run.model, &pixels);
    let classes = class_count(data, run);
    let pixel_area = plotting_area.strip_coord_spec();
    for (index, &class) in predicted.iter().enumerate() {
        let (column, row) = (index % columns.len(), index / columns.len());
        pixel_area.draw_pixel((column as i32, row as i32), &region_colour(class, classes))?;
    }

    chart.draw_series(data.x.data().chunks_exact(2).zip(&data.labels).flat_map(
        |(point, &label)| {
            let centre = (point[0], point[1]);
            [
                Circle::new(centre, 4, class_colour(label, classes).filled()),
                Circle::new(centre, 4, RGBColor(30, 30, 30).stroke_width(1)),
            ]
        },
    ))?;
    Ok(())
}

/// The number of classes: the model's outputs, at least as many as the data's labels.
fn class_count(data: &Data, run: &Trained) -> usize {
    let from_labels = data.labels.iter().max().map_or(0, |&max| max + 1);
    run.model.b2.shape()[1].max(from_labels)
}

/// Curve colours, one per hidden size: matplotlib's "tab10", chosen to be told apart.
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

/// `loss.png`: the reported loss against the pass on a log axis, one line per hidden size,
/// with the legend beside the plot rather than over it.
pub fn loss_curves(path: &Path, runs: &[Trained]) -> Outcome {
    register_font()?;
    let root = BitMapBackend::new(path, (720, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let legend_width = if runs.len() > 1 { 110 } else { 0 };
    let (plot_area, legend_area) = root.split_horizontally(720 - legend_width);
    let last_pass = runs
        .iter()
        .flat_map(|run| run.losses.last())
        .map(|&(pass, _)| pass)
        .max()
        .unwrap_or(1);
    let losses = runs
        .iter()
        .flat_map(|run| &run.losses)
        .map(|&(_, loss)| loss);
    let (lowest, highest) = losses.fold((f64::INFINITY, 0.0f64), |(low, high), loss| {
        (low.min(loss), high.max(loss))
    });
    let (low, high) = (lowest * 0.9, highest * 1.1);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption("loss (cross-entropy + L2, per point)", ("sans-serif", 20))
        .margin(12)
        .margin_right(30) // room for the last pass's label
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(
            0..last_pass.max(1),
            (low..high)
                .log_scale()
                .with_key_points(log_ticks(low, high)),
        )?;
    chart
        .configure_mesh()
        .x_desc("passes")
        .y_desc("loss (log scale)")
        .y_label_formatter(&|loss| format!("{}", significant(*loss)))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(WHITE)
        .draw()?;
    for (index, run) in runs.iter().enumerate() {
        let colour = CURVES[index % CURVES.len()];
        chart.draw_series(LineSeries::new(
            run.losses.iter().copied(),
            colour.stroke_width(2),
        ))?;
    }
    // The legend in its own column: it can cover no curve, and its rows cannot overlap.
    for (index, run) in runs.iter().enumerate().filter(|_| runs.len() > 1) {
        let y = 60 + 24 * index as i32;
        let colour = CURVES[index % CURVES.len()];
        legend_area.draw(&PathElement::new([(4, y), (28, y)], colour.stroke_width(3)))?;
        legend_area.draw(&Text::new(
            format!("hidden {}", run.hidden),
            (34, y - 8),
            ("sans-serif", 14),
        ))?;
    }
    root.present()?;
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
    if all.len() <= 12 {
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
