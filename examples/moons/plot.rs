//! The tutorial's pictures, drawn with plotters into PNG files: the decision boundary over the
//! points, one panel per hidden size, and the loss curve. Text uses a bundled font, so nothing
//! here needs a system library.

use std::error::Error;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use tapegrad::Tensor;

use crate::{Data, Trained};

type Outcome = Result<(), Box<dyn Error>>;

/// Region and point colours per class, after matplotlib's Spectral map that the tutorial uses.
const REGION: [RGBColor; 4] = [
    RGBColor(202, 45, 74),
    RGBColor(64, 120, 182),
    RGBColor(240, 180, 90),
    RGBColor(110, 190, 120),
];
const POINT: [RGBColor; 4] = [
    RGBColor(158, 1, 66),
    RGBColor(94, 79, 162),
    RGBColor(200, 120, 20),
    RGBColor(30, 120, 50),
];
/// Cells across the decision-boundary grid.
const GRID_CELLS: usize = 240;

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
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(x_range.0..x_range.1, y_range.0..y_range.1)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .label_style(("sans-serif", 13))
        .draw()?;

    // Predict the class at the centre of every grid cell in one batch, then fill the cells.
    let cell = (
        (x_range.1 - x_range.0) / GRID_CELLS as f64,
        (y_range.1 - y_range.0) / GRID_CELLS as f64,
    );
    let mut centres = Vec::with_capacity(2 * GRID_CELLS * GRID_CELLS);
    for row in 0..GRID_CELLS {
        for column in 0..GRID_CELLS {
            centres.push(x_range.0 + (column as f64 + 0.5) * cell.0);
            centres.push(y_range.0 + (row as f64 + 0.5) * cell.1);
        }
    }
    let centres = Tensor::new(centres, &[GRID_CELLS * GRID_CELLS, 2])?;
    let classes = crate::predict(&run.model, &centres);
    chart.draw_series(
        centres
            .data()
            .chunks_exact(2)
            .zip(&classes)
            .map(|(centre, &class)| {
                let corner = (centre[0] - cell.0 / 2.0, centre[1] - cell.1 / 2.0);
                Rectangle::new(
                    [corner, (corner.0 + cell.0, corner.1 + cell.1)],
                    REGION[class % REGION.len()].filled(),
                )
            }),
    )?;

    chart.draw_series(data.x.data().chunks_exact(2).zip(&data.labels).flat_map(
        |(point, &label)| {
            let centre = (point[0], point[1]);
            [
                Circle::new(centre, 3, POINT[label % POINT.len()].filled()),
                Circle::new(centre, 3, BLACK.mix(0.6).stroke_width(1)),
            ]
        },
    ))?;
    Ok(())
}

/// `loss.png`: the reported loss against the pass, one line per hidden size.
pub fn loss_curves(path: &Path, runs: &[Trained]) -> Outcome {
    register_font()?;
    let root = BitMapBackend::new(path, (640, 420)).into_drawing_area();
    root.fill(&WHITE)?;
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
    let mut chart = ChartBuilder::on(&root)
        .caption("loss (cross-entropy + L2, per point)", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(
            0..last_pass.max(1),
            (lowest * 0.9..highest * 1.1).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("passes")
        .y_desc("loss (log scale)")
        .y_label_formatter(&|loss| format!("{loss:.3}"))
        .label_style(("sans-serif", 13))
        .draw()?;
    for (index, run) in runs.iter().enumerate() {
        let colour = Palette99::pick(index).stroke_width(2);
        chart
            .draw_series(LineSeries::new(run.losses.iter().copied(), colour))?
            .label(format!("hidden {}", run.hidden))
            .legend(move |(x, y)| {
                PathElement::new(
                    [(x, y), (x + 20, y)],
                    Palette99::pick(index).stroke_width(2),
                )
            });
    }
    if runs.len() > 1 {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// The data's extent along one axis with the tutorial's 0.5 margin.
fn axis_range(x: &Tensor, axis: usize) -> (f64, f64) {
    let values = x.data().iter().skip(axis).step_by(2);
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), &v| {
        (low.min(v), high.max(v))
    });
    (low - 0.5, high + 0.5)
}
