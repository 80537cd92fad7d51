//! One tab's run: its data, its network and where training stands, changed by the page's
//! commands and described by the frames the page draws.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tapegrad::optim::{Optimizer, Sgd};
use tapegrad::{Tape, Tensor};

use plotters::style::RGBColor;

use crate::cli::readable;
use crate::data::Data;
use crate::model::Model;
use crate::plot;
use crate::settings::{Dataset, LossReduction, Settings};
use crate::sharpness::{PowerIteration, Progress};

/// What the page can ask of its run.
pub enum Command {
    Play,
    Pause,
    /// One pass of gradient descent.
    Step,
    /// New data (drawn again from the seed) and new initial weights.
    Reset,
    /// New settings, already checked; data and network change only if they must.
    Apply(Settings),
    /// Train on these points from now on (an uploaded CSV, already read and checked).
    Upload(Data),
    /// Measure the sharpness at every frame, or stop.
    Sharpness(bool),
    /// Send the tape of one pass at the current weights.
    Tape,
    /// Send the tape's gradients against the tutorial's hand-derived ones.
    Gradients,
    /// Nothing: the page's sign of life, which keeps its run.
    Alive,
}

/// Something for the page besides the frames: a name for its SSE `event:` line, and the data.
pub struct Event {
    pub name: &'static str,
    pub data: serde_json::Value,
}

/// The decision regions are drawn from the logits on a grid of cells, as fine as this many
/// multiply-adds per frame allow (a 96² grid for the tutorial's network, 42² for 2-100-100-11);
/// the page interpolates them to its pixels, so the boundaries are smooth curves, not steps.
const REGION_BUDGET: usize = 20_000_000;
const GRID_SIDES: std::ops::RangeInclusive<usize> = 32..=96;
/// Each logit is sent as hundredths below the cell's largest, down to this many: only the
/// logits near a tie decide a boundary, and small integers keep a frame to about 50 kB.
const SCORE_FLOOR: i32 = -500;
/// The most points a curve keeps: when full, every other point goes, so it spans the whole run.
const CURVE_POINTS: usize = 1000;
/// The tutorial prints its loss every 1000 passes over 20000 passes: the page keeps those lines.
const PRINTED_EVERY: usize = 1000;
const PRINTED_LINES: usize = 20;

pub struct Run {
    pub settings: Settings,
    /// The last CSV uploaded to this run, kept to reset to.
    uploaded: Option<Data>,
    data: Data,
    model: Model,
    optimizer: Sgd,
    tape: Tape,
    passes: usize,
    pub playing: bool,
    /// Why training stopped by itself (a loss that is not finite); cleared by a reset.
    diverged: Option<String>,
    /// The loss per point at log-spaced passes ([`on_log_scale`]), for the page's log axis:
    /// the first passes' descent as finely as the tail, in a few hundred points.
    loss_curve: Vec<(usize, f64)>,
    /// The tutorial's lines: the loss after pass i + 1 for i = 0, 1000, …, 19000.
    printed: Vec<(usize, f64)>,
    sharpness: Option<SharpnessTrack>,
    /// `(when, passes)` over the last second, for the passes per second.
    recent: VecDeque<(Instant, usize)>,
    /// Events waiting to be sent: new data, a tape, a gradient table.
    pub pending: Vec<Event>,
    /// Whether the page's picture is out of date (a step, a reset, a setting).
    pub changed: bool,
}

/// The sharpness, measured again whenever the weights have moved, while the page asks for it.
#[derive(Default)]
struct SharpnessTrack {
    curve: Vec<(usize, f64)>,
    /// The last eigenvector found, which starts the next power iteration.
    last: Option<Vec<Tensor>>,
    measured_at: Option<usize>,
    /// Whether the last measurement met its tolerance, or stopped at its cap of products.
    converged: bool,
    /// The measurement under way, a product at a time between frames.
    current: Option<PowerIteration>,
}

impl Run {
    /// The tutorial's run, paused at pass 0, its data queued for the page.
    pub fn new() -> Run {
        let settings = Settings::tutorial();
        let data = Data::generate(&settings).expect("the tutorial's moons");
        let mut run = Run {
            model: Model::for_data(&settings, &data),
            optimizer: Sgd::new(settings.learning_rate),
            settings,
            uploaded: None,
            data,
            tape: Tape::new(),
            passes: 0,
            playing: false,
            diverged: None,
            loss_curve: Vec::new(),
            printed: Vec::new(),
            sharpness: None,
            recent: VecDeque::new(),
            pending: Vec::new(),
            changed: true,
        };
        run.announce_data();
        run
    }

    /// Carries out a command from the page; an error says why it changed nothing.
    pub fn obey(&mut self, command: Command) -> Result<(), String> {
        match command {
            Command::Alive => return Ok(()), // nothing to draw again
            Command::Play => {
                self.check_not_diverged()?;
                self.playing = true;
            }
            Command::Step => {
                self.check_not_diverged()?;
                self.playing = false;
                self.pass();
            }
            Command::Pause => self.playing = false,
            Command::Reset => self.restart(),
            Command::Apply(settings) => {
                if settings.dataset == Dataset::Csv && self.uploaded.is_none() {
                    return Err("data: upload a CSV file of x1,x2,label rows first".into());
                }
                let restart = self.settings.needs_restart(&settings) || self.diverged.is_some();
                self.optimizer.config.lr = settings.learning_rate;
                self.settings = settings;
                if restart {
                    self.restart();
                }
            }
            Command::Upload(data) => {
                self.uploaded = Some(data);
                self.settings.dataset = Dataset::Csv;
                self.restart();
            }
            Command::Sharpness(on) => self.sharpness = on.then(SharpnessTrack::default),
            Command::Tape => {
                let text = self.model.tape_of_one_pass(
                    &self.data,
                    self.settings.l2,
                    self.settings.reduction(),
                );
                self.pending.push(Event {
                    name: "tape",
                    data: serde_json::json!({ "passes": self.passes, "text": text }),
                });
            }
            Command::Gradients => {
                let data = match self
                    .model
                    .against_hand_gradients(&self.data, self.settings.l2)
                {
                    Some((table, agree)) => {
                        serde_json::json!({ "passes": self.passes, "text": table, "agree": agree })
                    }
                    None => {
                        return Err("the tutorial derives the gradients of its network by hand: \
                                    choose one hidden layer and tanh to compare them with the tape's"
                            .into());
                    }
                };
                self.pending.push(Event {
                    name: "gradients",
                    data,
                });
            }
        }
        self.changed = true;
        Ok(())
    }

    /// Training can go on only from weights that are still numbers.
    fn check_not_diverged(&self) -> Result<(), String> {
        match &self.diverged {
            Some(why) => Err(format!("{why} Reset the run (or change a setting) first.")),
            None => Ok(()),
        }
    }

    /// New data for the settings (or the uploaded CSV), the tutorial's initial weights from the
    /// seed, pass 0.
    fn restart(&mut self) {
        if let Some(data) = Data::generate(&self.settings).or_else(|| self.uploaded.clone()) {
            self.data = data;
        }
        self.model = Model::for_data(&self.settings, &self.data);
        self.optimizer = Sgd::new(self.settings.learning_rate);
        self.passes = 0;
        self.diverged = None;
        self.loss_curve.clear();
        self.printed.clear();
        if let Some(track) = &mut self.sharpness {
            *track = SharpnessTrack::default();
        }
        self.recent.clear();
        self.announce_data();
        self.changed = true;
    }

    /// Queues the points, their classes' colours (the tutorial's Spectral palette, as the moons
    /// example draws them) and the square to draw, for the page.
    fn announce_data(&mut self) {
        let classes = self.data.classes;
        let hex = |rgb: RGBColor| format!("#{:02x}{:02x}{:02x}", rgb.0, rgb.1, rgb.2);
        let colours = |colour: fn(usize, usize) -> RGBColor| -> Vec<String> {
            (0..classes)
                .map(|class| hex(colour(class, classes)))
                .collect()
        };
        let data = serde_json::json!({
            "points": self.data.x.data(),
            "labels": self.data.labels,
            "classes": classes,
            "bounds": self.data.bounds(),
            "point_colours": colours(plot::class_colour),
            "region_colours": colours(plot::region_colour),
        });
        self.pending.push(Event { name: "data", data });
    }

    /// Whether the run has work to do before its next frame: training, or a sharpness to
    /// measure at weights that have moved.
    pub fn busy(&self) -> bool {
        self.playing || self.measuring()
    }

    fn measuring(&self) -> bool {
        match &self.sharpness {
            Some(track) if self.diverged.is_none() => {
                track.current.is_some() || track.measured_at != Some(self.passes)
            }
            _ => false,
        }
    }

    /// Works until `deadline` in steps of one pass or one Hessian-vector product, so that it
    /// overruns by one step at most. While the sharpness is measured, a playing run trains for
    /// half the time (a pass at least) and measures for the rest (a product at least).
    pub fn work_until(&mut self, deadline: Instant) {
        if !self.measuring() {
            return self.train_until(deadline);
        }
        if self.playing {
            self.pass();
            let left = deadline.saturating_duration_since(Instant::now());
            self.train_until(deadline - left / 2);
        }
        self.measure_until(deadline);
    }

    /// Trains until `deadline` (checked after each pass) or until the run stops by itself.
    fn train_until(&mut self, deadline: Instant) {
        while self.playing && Instant::now() < deadline {
            self.pass();
        }
    }

    /// Hessian-vector products until `deadline` (one at least) or until the measurement ends.
    fn measure_until(&mut self, deadline: Instant) {
        if !self.measuring() {
            return; // the pass before may have diverged
        }
        let (l2, reduction) = (self.settings.l2, self.settings.reduction());
        let Some(track) = &mut self.sharpness else {
            return;
        };
        loop {
            let iteration = track.current.get_or_insert_with(|| {
                let shapes: Vec<&[usize]> = self.model.shapes();
                PowerIteration::new(track.last.take(), &shapes)
            });
            let product =
                self.model
                    .hessian_times(&self.data, l2, reduction, iteration.direction());
            if let Progress::Done {
                eigenvalue,
                eigenvector,
                converged,
            } = iteration.advance(product)
            {
                track.converged = converged;
                push_bounded(&mut track.curve, (self.passes, eigenvalue));
                track.last = Some(eigenvector);
                track.measured_at = Some(self.passes);
                track.current = None;
                self.changed = true;
                return;
            }
            if Instant::now() >= deadline {
                return;
            }
        }
    }

    /// One pass of full-batch gradient descent, `W += -lr dW`, the tutorial's update; a loss
    /// that is not finite stops the run instead.
    fn pass(&mut self) {
        let (l2, reduction) = (self.settings.l2, self.settings.reduction());
        let (loss, gradients) = self
            .model
            .gradients(&mut self.tape, &self.data, l2, reduction);
        if !loss.is_finite() {
            self.stop_diverged(loss);
            return;
        }
        if on_log_scale(self.passes) {
            let per_point = match self.settings.loss {
                LossReduction::Sum => loss / self.data.labels.len() as f64,
                LossReduction::Mean => loss,
            };
            self.loss_curve.push((self.passes, per_point));
        }
        self.optimizer.step(&mut self.model.params, &gradients);
        // Like the tutorial, the loss printed at pass i is that of the model after update i.
        if self.passes.is_multiple_of(PRINTED_EVERY) && self.printed.len() < PRINTED_LINES {
            let printed = self.model.printed_loss(&self.data, l2);
            self.printed.push((self.passes, printed));
        }
        self.passes += 1;
    }

    fn stop_diverged(&mut self, loss: f64) {
        if let Some(track) = &mut self.sharpness {
            track.current = None; // a measurement at weights that are not numbers
        }
        let settings = &self.settings;
        let (rate, l2) = (readable(settings.learning_rate), readable(settings.l2));
        let loss_kind = match settings.loss {
            LossReduction::Sum => "summed",
            LossReduction::Mean => "mean",
        };
        let overshoot = if settings.learning_rate * settings.l2 >= 1.0 {
            format!(" (and with L2 strength {l2}, η · L2 ≥ 1 makes every step overshoot)")
        } else {
            String::new()
        };
        self.diverged = Some(format!(
            "The loss became {loss} at pass {}: the learning rate {rate} is too large for the \
             {loss_kind} loss over {} points{overshoot}; try a smaller one.",
            self.passes,
            self.data.labels.len()
        ));
        self.playing = false;
        self.changed = true;
    }

    /// What the page draws now: the numbers, the curves and the decision regions.
    pub fn frame(&mut self) -> serde_json::Value {
        let l2 = self.settings.l2;
        let loss = self.model.printed_loss(&self.data, l2);
        if !loss.is_finite() && self.diverged.is_none() {
            self.stop_diverged(loss);
        }
        let mut loss_curve = self.loss_curve.clone();
        if loss_curve.last().map(|&(passes, _)| passes) != Some(self.passes) {
            loss_curve.push((self.passes, loss)); // where the run stands now
        }
        let sharpness = match &self.sharpness {
            Some(track) => serde_json::json!({
                "curve": track.curve,
                "edge": 2.0 / self.settings.learning_rate,
                "converged": track.converged,
                // A measurement under way: its products so far and its estimate.
                "measuring": track.current.as_ref().map(|iteration| {
                    serde_json::json!({ "products": iteration.products, "estimate": iteration.estimate() })
                }),
            }),
            None => serde_json::Value::Null,
        };
        let now = Instant::now();
        self.recent.push_back((now, self.passes));
        while self.recent.len() > 2 && now - self.recent[0].0 > Duration::from_secs(1) {
            self.recent.pop_front();
        }
        let passes_per_second = match (self.recent.front(), self.playing) {
            (Some(&(then, passes)), true) if now > then => {
                (self.passes - passes) as f64 / (now - then).as_secs_f64()
            }
            _ => 0.0,
        };
        self.changed = false;
        serde_json::json!({
            "passes": self.passes,
            "playing": self.playing,
            "settings": self.settings,
            "loss": loss,
            "accuracy": tapegrad::nn::accuracy(&self.model.logits(&self.data.x), &self.data.labels),
            "passes_per_second": passes_per_second,
            "loss_curve": loss_curve,
            "printed": self.printed,
            "regions": self.regions(),
            "sharpness": sharpness,
            "diverged": self.diverged,
        })
    }

    /// The grid's side and, at the centre of each of its cells (row by row from the top), each
    /// class's logit less the largest, in hundredths, at least [`SCORE_FLOOR`]: 0 for the
    /// predicted class.
    fn regions(&self) -> serde_json::Value {
        let side = self.grid_side();
        let [x_min, x_max, y_min, y_max] = self.data.bounds();
        let step = |low: f64, high: f64, index: usize| {
            low + (high - low) * (index as f64 + 0.5) / side as f64
        };
        let mut centres = Vec::with_capacity(2 * side * side);
        for row in 0..side {
            for column in 0..side {
                centres.extend([step(x_min, x_max, column), step(y_max, y_min, row)]);
            }
        }
        let centres = Tensor::new(centres, &[side * side, 2]).expect("two coordinates per cell");
        let classes = self.data.classes;
        let logits = self.model.logits(&centres);
        let mut scores = Vec::with_capacity(side * side * classes);
        for cell in logits.data().chunks_exact(classes) {
            let top = cell.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            scores.extend(cell.iter().map(|&logit| {
                let below = (100.0 * (logit - top)).round();
                // NaN logits (a diverged run) show as the first class, as argmax would.
                if below.is_nan() {
                    0
                } else {
                    (below as i32).max(SCORE_FLOOR)
                }
            }));
        }
        serde_json::json!({ "side": side, "classes": classes, "scores": scores })
    }

    /// The finest grid within [`REGION_BUDGET`] for this network.
    fn grid_side(&self) -> usize {
        let sizes: Vec<usize> = [2]
            .into_iter()
            .chain(self.settings.hidden.iter().copied())
            .chain([self.data.classes])
            .collect();
        let per_point: usize = sizes.windows(2).map(|pair| pair[0] * pair[1]).sum();
        let side = (REGION_BUDGET as f64 / per_point as f64).sqrt() as usize;
        side.clamp(*GRID_SIDES.start(), *GRID_SIDES.end())
    }
}

/// Whether the loss at `passes` goes on the curve: every pass below 100, then 90 a decade (every
/// 10th from 100, every 100th from 1000, …).
fn on_log_scale(passes: usize) -> bool {
    let mut step = 1;
    while passes >= 100 * step {
        step *= 10;
    }
    passes.is_multiple_of(step)
}

/// Appends `point`, halving the curve (every other point kept) when it is full.
fn push_bounded(curve: &mut Vec<(usize, f64)>, point: (usize, f64)) {
    if curve.len() >= CURVE_POINTS {
        let mut index = 0;
        curve.retain(|_| {
            index += 1;
            index % 2 == 1
        });
    }
    curve.push(point);
}
