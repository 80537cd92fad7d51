//! The two workloads of the performance comparison, each stepped by tapegrad and by hand; shared
//! by `training.rs` (criterion, wall time) and `instructions.rs` (instruction counts).

use std::hint::black_box;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tapegrad::datasets::make_moons_numpy;
use tapegrad::numpy_random::RandomState;
use tapegrad::tutorial::{TwoLayer, objective};
use tapegrad::{
    HessianPath, Reduction, Seeds, Tape, Tensor, function, hessian, hessian_with, jacfwd, jacobian,
    jacrev, jacrev_with,
};

use crate::hand_written::{MlpStep, MoonsLoop};

/// A training step to measure: the moons job or the MLP, by tapegrad on a reused tape, on a
/// fresh tape each step, or by hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    MoonsTape,
    MoonsTapeFresh,
    MoonsTapeCopied,
    MoonsHand,
    MlpTape,
    MlpTapeCopied,
    MlpHand,
    /// Issue 21's Jacobian of `tanh(tanh(x Wa) Wb)`, `x` [1, 100], by `jacobian`, `jacfwd`,
    /// `jacrev`, and `jacrev` one walk a seed (the path before batched seeds).
    Jacobian,
    Jacfwd,
    Jacrev,
    JacrevOneAtATime,
    /// The tutorial's 17×17 Hessian at its initial weights, by `hessian`, forward-over-reverse
    /// (batched) and reverse-over-reverse one walk a row (the path before batched seeds).
    Hessian,
    HessianForward,
    HessianOneAtATime,
}

impl Workload {
    /// Every workload, in the order `instructions.rs` lists and smoke-runs them.
    #[allow(dead_code)] // used by instructions.rs only
    pub const ALL: [Workload; 14] = [
        Workload::MoonsTape,
        Workload::MoonsTapeFresh,
        Workload::MoonsTapeCopied,
        Workload::MoonsHand,
        Workload::MlpTape,
        Workload::MlpTapeCopied,
        Workload::MlpHand,
        Workload::Jacobian,
        Workload::Jacfwd,
        Workload::Jacrev,
        Workload::JacrevOneAtATime,
        Workload::Hessian,
        Workload::HessianForward,
        Workload::HessianOneAtATime,
    ];

    /// The name on `instructions.rs`'s command line.
    #[allow(dead_code)] // used by instructions.rs only
    pub fn name(self) -> &'static str {
        match self {
            Workload::MoonsTape => "moons-tape",
            Workload::MoonsTapeFresh => "moons-tape-fresh",
            Workload::MoonsTapeCopied => "moons-tape-copied",
            Workload::MoonsHand => "moons-hand",
            Workload::MlpTape => "mlp-tape",
            Workload::MlpTapeCopied => "mlp-tape-copied",
            Workload::MlpHand => "mlp-hand",
            Workload::Jacobian => "jacobian",
            Workload::Jacfwd => "jacfwd",
            Workload::Jacrev => "jacrev",
            Workload::JacrevOneAtATime => "jacrev-one-at-a-time",
            Workload::Hessian => "hessian",
            Workload::HessianForward => "hessian-forward",
            Workload::HessianOneAtATime => "hessian-one-at-a-time",
        }
    }

    /// The workload with this [`name`](Workload::name).
    #[allow(dead_code)] // used by instructions.rs only
    pub fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// One training step of this workload, ready to be run again and again.
    pub fn step(self) -> Box<dyn FnMut()> {
        match self {
            Workload::MoonsTape | Workload::MoonsTapeFresh => {
                let mut job = TapeJob::moons();
                let fresh = self == Workload::MoonsTapeFresh;
                Box::new(move || {
                    if fresh {
                        job.tape = Tape::new();
                    }
                    job.step();
                })
            }
            Workload::MoonsTapeCopied | Workload::MlpTapeCopied => {
                let mut job = if self == Workload::MoonsTapeCopied {
                    TapeJob::moons()
                } else {
                    TapeJob::mlp()
                };
                Box::new(move || job.step_copying())
            }
            Workload::MoonsHand => {
                let (x, labels, model) = moons();
                let mut hand = MoonsLoop::new(&x, &labels, &model);
                Box::new(move || {
                    black_box(hand.pass(0.01, 0.01));
                })
            }
            Workload::MlpTape => {
                let mut job = TapeJob::mlp();
                Box::new(move || {
                    job.step();
                })
            }
            Workload::Jacobian
            | Workload::Jacfwd
            | Workload::Jacrev
            | Workload::JacrevOneAtATime => {
                let (x, wa, wb) = two_tanh_layers();
                let f = function(move |v| {
                    let tape = v[0].tape();
                    let (wa, wb) = (tape.constant(wa.clone()), tape.constant(wb.clone()));
                    v[0].matmul(wa).tanh().matmul(wb).tanh()
                });
                let inputs = [x];
                Box::new(move || {
                    black_box(match self {
                        Workload::Jacobian => jacobian(&inputs, &f),
                        Workload::Jacfwd => jacfwd(&inputs, &f),
                        Workload::Jacrev => jacrev(&inputs, &f),
                        _ => jacrev_with(&inputs, Seeds::OneAtATime, &f),
                    });
                })
            }
            Workload::Hessian | Workload::HessianForward | Workload::HessianOneAtATime => {
                let (x, labels, model) = moons();
                let params = [model.w1, model.b1, model.w2, model.b2];
                let f = function(move |v| {
                    let x = v[0].tape().constant(x.clone());
                    objective(x, &labels, [v[0], v[1], v[2], v[3]], 0.01, Reduction::Sum)
                });
                Box::new(move || {
                    black_box(match self {
                        Workload::Hessian => hessian(&params, &f),
                        Workload::HessianForward => hessian_with(
                            &params,
                            HessianPath::ForwardOverReverse,
                            Seeds::Batched,
                            &f,
                        ),
                        _ => hessian_with(
                            &params,
                            HessianPath::ReverseOverReverse,
                            Seeds::OneAtATime,
                            &f,
                        ),
                    });
                })
            }
            Workload::MlpHand => {
                let (x, labels, model) = mlp();
                let mut hand = MlpStep::new(&x, &labels, &model);
                Box::new(move || {
                    black_box(hand.step(0.01));
                })
            }
        }
    }
}

/// The tutorial's job: its 200 two-moons points and its 2-3-2 network at its initial weights.
pub fn moons() -> (Tensor, Vec<usize>, TwoLayer) {
    let (x, labels) = make_moons_numpy(200, 0.2, &mut RandomState::new(0));
    (x, labels, TwoLayer::tutorial_init(3, 2))
}

/// `x` [1, 100] and two 100×100 weights, standard normal over √100 (so that `tanh` is not
/// saturated): issue 21's Jacobian anchor.
pub fn two_tanh_layers() -> (Tensor, Tensor, Tensor) {
    let mut rng = StdRng::seed_from_u64(21);
    let x = Tensor::randn(&[1, 100], &mut rng);
    let wa = Tensor::randn(&[100, 100], &mut rng) * 0.1;
    let wb = Tensor::randn(&[100, 100], &mut rng) * 0.1;
    (x, wa, wb)
}

/// An MNIST-sized MLP step: a batch of 256 random 784-pixel inputs, 10 classes, 256 tanh units.
pub fn mlp() -> (Tensor, Vec<usize>, TwoLayer) {
    let mut rng = StdRng::seed_from_u64(1);
    let x = Tensor::randn(&[256, 784], &mut rng);
    let labels = (0..256).map(|_| rng.random_range(0..10)).collect();
    (x, labels, TwoLayer::init(784, 256, 10, &mut rng))
}

/// Gradient descent on a 2-layer tanh network by the tape, with what one step needs.
struct TapeJob {
    tape: Tape,
    model: TwoLayer,
    x: Tensor,
    labels: Vec<usize>,
    learning_rate: f64,
    reg: f64,
    reduction: Reduction,
}

impl TapeJob {
    fn moons() -> TapeJob {
        let (x, labels, model) = moons();
        TapeJob {
            tape: Tape::new(),
            model,
            x,
            labels,
            learning_rate: 0.01,
            reg: 0.01,
            reduction: Reduction::Sum,
        }
    }

    fn mlp() -> TapeJob {
        let (x, labels, model) = mlp();
        TapeJob {
            tape: Tape::new(),
            model,
            x,
            labels,
            learning_rate: 0.01,
            reg: 0.0,
            reduction: Reduction::Mean,
        }
    }

    /// One step written as the README's first example is: the data and the weights copied onto
    /// the tape (`clone`), the weights updated from the gradients.
    fn step_copying(&mut self) {
        let tape = &mut self.tape;
        tape.clear();
        let model = &mut self.model;
        let params = [&model.w1, &model.b1, &model.w2, &model.b2].map(|p| tape.var(p.clone()));
        let data = tape.constant(self.x.clone());
        let loss = objective(data, &self.labels, params, self.reg, self.reduction);
        let grads = loss.backward();
        for (param, var) in [&mut model.w1, &mut model.b1, &mut model.w2, &mut model.b2]
            .into_iter()
            .zip(params)
        {
            param.add_scaled(-self.learning_rate, grads.wrt(var));
        }
    }

    /// One step, parameters updated in place; returns the loss before the update. The parameters
    /// and the data are moved onto the tape and back (`Tape::take`), not copied.
    fn step(&mut self) -> f64 {
        let tape = &mut self.tape;
        tape.clear();
        let model = &mut self.model;
        let params = [&mut model.w1, &mut model.b1, &mut model.w2, &mut model.b2]
            .map(|p| tape.var(std::mem::take(p)));
        let data = tape.constant(std::mem::take(&mut self.x));
        let loss = objective(data, &self.labels, params, self.reg, self.reduction);
        let grads = loss.backward();
        let loss = loss.item();
        self.x = tape.take(data);
        for (param, var) in [&mut model.w1, &mut model.b1, &mut model.w2, &mut model.b2]
            .into_iter()
            .zip(params)
        {
            *param = tape.take(var);
            param.add_scaled(-self.learning_rate, grads.wrt(var));
        }
        loss
    }
}

/// Writes the MLP workload's data and initial weights into `dir`, for the PyTorch anchor
/// (`benches/anchors/torch_mlp.py`): `x`, `labels`, `w1`, `b1`, `w2`, `b2` as raw little-endian
/// `f64` files (`NAME.f64`, row-major; labels as `f64`), and the losses of tapegrad's first
/// `steps` steps, one a line with 17 significant digits, in `losses.txt`.
#[allow(dead_code)] // used by instructions.rs only
pub fn export_mlp(dir: &std::path::Path, steps: usize) -> std::io::Result<()> {
    let (x, labels, model) = mlp();
    let labels = Tensor::from_slice(&labels.iter().map(|&l| l as f64).collect::<Vec<_>>());
    let TwoLayer { w1, b1, w2, b2 } = &model;
    std::fs::create_dir_all(dir)?;
    for (name, tensor) in [
        ("x", &x),
        ("labels", &labels),
        ("w1", w1),
        ("b1", b1),
        ("w2", w2),
        ("b2", b2),
    ] {
        let bytes: Vec<u8> = tensor.data().iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(dir.join(format!("{name}.f64")), bytes)?;
    }
    let mut job = TapeJob::mlp();
    let losses: String = (0..steps)
        .map(|_| format!("{:.17e}\n", job.step()))
        .collect();
    std::fs::write(dir.join("losses.txt"), losses)
}
