//! The op table: one row for every built-in op. The tests read it (`tests/op_table.rs`): each row
//! is checked for its forward values in every mode, NaN propagation, first derivatives against
//! finite differences (`gradcheck`), second derivatives (`gradgradcheck`) and random graphs built
//! from rows, and a registry test fails when an `impl Op` in `src/` has no row, or when the
//! book's op list (`docs/book/09-writing-an-op.md`) or this module's table of files disagrees
//! with the rows. Adding a built-in op is its code in a family file plus one row here.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

use super::*;
use crate::{Tensor, Var};

/// Where an op's rule is used from, which decides where the op is listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An op users apply (`x.tanh()`): listed in the book's chapter 9.
    Op,
    /// A fused kernel of another op's rule (`tanh_backward` in `tanh`'s): an op with its own
    /// rule, so that second derivatives go through it.
    Rule,
    /// What the walk applies itself: adding gradients, summing broadcasts back.
    Engine,
}

/// The values a check draws an input from: where the op is smooth and its checks meaningful.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// Standard-normal values.
    Any,
    /// At least 0.5 (`log`, `sqrt`, fractional powers).
    Positive,
    /// At least 0.5 away from zero (denominators; the kink of `relu` and `abs`).
    AwayFromZero,
    /// Distinct values at least 0.25 apart in random order, so that `max` has no ties.
    Distinct,
}

impl Domain {
    /// A tensor of `shape` drawn from this domain.
    ///
    /// ```
    /// use tapegrad::ops::table::Domain;
    /// use tapegrad::rand::{SeedableRng, rngs::StdRng};
    /// let x = Domain::Positive.sample(&[2, 3], &mut StdRng::seed_from_u64(0));
    /// assert!(x.data().iter().all(|&v| v >= 0.5));
    /// ```
    pub fn sample(self, shape: &[usize], rng: &mut impl Rng) -> Tensor {
        let mut normal = || -> f64 { StandardNormal.sample(&mut *rng) };
        let len = shape.iter().product::<usize>();
        let data: Vec<f64> = match self {
            Domain::Any => (0..len).map(|_| normal()).collect(),
            Domain::Positive => (0..len).map(|_| normal().abs() + 0.5).collect(),
            Domain::AwayFromZero => (0..len)
                .map(|_| {
                    let x = normal();
                    x + 0.5f64.copysign(x)
                })
                .collect(),
            Domain::Distinct => {
                let mut values: Vec<f64> = (0..len).map(|k| 0.25 * k as f64 - 1.0).collect();
                for k in (1..len).rev() {
                    values.swap(k, rng.random_range(0..=k));
                }
                values
            }
        };
        Tensor::new(data, shape).expect("the length of the shape")
    }
}

/// One input of a row: the shape the checks give it and the domain its values come from.
pub type Input = (&'static [usize], Domain);

/// One built-in op.
pub struct OpRow {
    /// The op's name, as [`Op::name`] gives it and the book lists it.
    pub name: &'static str,
    /// The type that implements [`Op`].
    pub type_name: &'static str,
    /// The file of `src/ops/` (or `engine`) that holds it.
    pub file: &'static str,
    /// Where it is used from.
    pub kind: Kind,
    /// Its inputs, one per argument of `apply`, with the shapes and domains the checks use.
    pub inputs: &'static [Input],
    /// Applies the op (and nothing else) to variables of those shapes.
    pub apply: for<'t> fn(&[Var<'t>]) -> Var<'t>,
}

impl OpRow {
    /// The number of inputs.
    pub fn arity(&self) -> usize {
        self.inputs.len()
    }
}

const M23: &[usize] = &[2, 3];
const ANY: Input = (M23, Domain::Any);

macro_rules! row {
    ($type:ident, $name:literal, $file:literal, $kind:ident, [$($input:expr),*], $apply:expr) => {
        OpRow {
            name: $name,
            type_name: stringify!($type),
            file: $file,
            kind: Kind::$kind,
            inputs: &[$($input),*],
            apply: $apply,
        }
    };
}

/// Every built-in op, one row each, in the order of the files.
///
/// ```
/// use tapegrad::ops::table::OPS;
/// use tapegrad::{Tape, Tensor};
/// let tanh = OPS.iter().find(|row| row.name == "tanh").unwrap();
/// let tape = Tape::new();
/// let x = tape.var(Tensor::scalar(0.5));
/// assert_eq!((tanh.apply)(&[x]).value(), Tensor::scalar(0.5).tanh());
/// ```
pub static OPS: &[OpRow] = &[
    row!(
        Add,
        "add",
        "arith.rs",
        Op,
        [ANY, (&[1, 3], Domain::Any)],
        |v| v[0] + v[1]
    ),
    row!(
        Sub,
        "sub",
        "arith.rs",
        Op,
        [ANY, (&[3], Domain::Any)],
        |v| v[0] - v[1]
    ),
    row!(
        Mul,
        "mul",
        "arith.rs",
        Op,
        [ANY, (&[2, 1], Domain::Any)],
        |v| v[0] * v[1]
    ),
    row!(
        Div,
        "div",
        "arith.rs",
        Op,
        [ANY, (M23, Domain::AwayFromZero)],
        |v| v[0] / v[1]
    ),
    row!(Scale, "scale", "arith.rs", Op, [ANY], |v| v[0] * 1.5),
    row!(DivScalar, "div_scalar", "arith.rs", Op, [ANY], |v| v[0]
        / 3.0),
    row!(Shift, "shift", "arith.rs", Op, [ANY], |v| v[0] + 0.5),
    row!(Tanh, "tanh", "unary.rs", Op, [ANY], |v| v[0].tanh()),
    row!(Exp, "exp", "unary.rs", Op, [ANY], |v| v[0].exp()),
    row!(Log, "log", "unary.rs", Op, [(M23, Domain::Positive)], |v| v
        [0]
    .log()),
    row!(Sigmoid, "sigmoid", "unary.rs", Op, [ANY], |v| v[0]
        .sigmoid()),
    row!(
        Sqrt,
        "sqrt",
        "unary.rs",
        Op,
        [(M23, Domain::Positive)],
        |v| v[0].sqrt()
    ),
    row!(Square, "square", "unary.rs", Op, [ANY], |v| v[0].square()),
    row!(
        PowF,
        "powf",
        "unary.rs",
        Op,
        [(M23, Domain::Positive)],
        |v| v[0].powf(1.5)
    ),
    row!(Sin, "sin", "unary.rs", Op, [ANY], |v| v[0].sin()),
    row!(Cos, "cos", "unary.rs", Op, [ANY], |v| v[0].cos()),
    row!(
        TanhBackward,
        "tanh_backward",
        "unary.rs",
        Rule,
        [ANY, ANY],
        |v| v[0].tanh_backward(v[1])
    ),
    row!(
        Relu,
        "relu",
        "piecewise.rs",
        Op,
        [(M23, Domain::AwayFromZero)],
        |v| v[0].relu()
    ),
    row!(
        LeakyRelu,
        "leaky_relu",
        "piecewise.rs",
        Op,
        [(M23, Domain::AwayFromZero)],
        |v| { v[0].leaky_relu(0.1) }
    ),
    row!(
        Abs,
        "abs",
        "piecewise.rs",
        Op,
        [(M23, Domain::AwayFromZero)],
        |v| v[0].abs()
    ),
    row!(
        MatMul,
        "matmul",
        "linalg.rs",
        Op,
        [ANY, (&[3, 4], Domain::Any)],
        |v| v[0].matmul(v[1])
    ),
    row!(
        Affine,
        "affine",
        "linalg.rs",
        Op,
        [ANY, (&[3, 4], Domain::Any), (&[1, 4], Domain::Any)],
        |v| { v[0].affine(v[1], v[2]) }
    ),
    row!(Transpose, "transpose", "linalg.rs", Op, [ANY], |v| v[0]
        .transpose()),
    row!(Reshape, "reshape", "linalg.rs", Op, [ANY], |v| v[0]
        .reshape(&[3, 2])),
    row!(
        MatMulT,
        "matmul_t",
        "linalg.rs",
        Rule,
        [ANY, (&[4, 3], Domain::Any)],
        |v| v[0].matmul_t(v[1])
    ),
    row!(
        TMatMul,
        "t_matmul",
        "linalg.rs",
        Rule,
        [(&[3, 2], Domain::Any), (&[3, 4], Domain::Any)],
        |v| { v[0].t_matmul(v[1]) }
    ),
    row!(Sum, "sum", "reduce.rs", Op, [ANY], |v| v[0].sum()),
    row!(
        SumSquares,
        "sum_squares",
        "reduce.rs",
        Op,
        [ANY, (&[1, 3], Domain::Any)],
        |v| l2_penalty(v, 0.3)
    ),
    row!(
        SumSquaresBackward,
        "sum_squares_backward",
        "reduce.rs",
        Rule,
        [ANY, (&[2, 1], Domain::Any)],
        |v| v[0]
            .tape()
            .apply(SumSquaresBackward { coefficient: 0.3 }, v)
    ),
    row!(Mean, "mean", "reduce.rs", Op, [ANY], |v| v[0].mean()),
    row!(SumAxis, "sum_axis", "reduce.rs", Op, [ANY], |v| v[0]
        .sum_axis(1, false)),
    row!(MeanAxis, "mean_axis", "reduce.rs", Op, [ANY], |v| v[0]
        .mean_axis(0, true)),
    row!(
        MaxAxis,
        "max_axis",
        "reduce.rs",
        Op,
        [(M23, Domain::Distinct)],
        |v| v[0].max_axis(1, false)
    ),
    row!(Narrow, "narrow", "select.rs", Op, [ANY], |v| v[0]
        .narrow(1, 0, 2)),
    row!(
        IndexSelect,
        "index_select",
        "select.rs",
        Op,
        [(&[3, 2], Domain::Any)],
        |v| { v[0].index_select(&[0, 2, 0]) }
    ),
    row!(
        Concat,
        "concat",
        "select.rs",
        Op,
        [(&[1, 3], Domain::Any), ANY],
        |v| concat(v, 0)
    ),
    row!(Unnarrow, "unnarrow", "select.rs", Rule, [ANY], |v| {
        let unnarrow = Unnarrow {
            axis: 1,
            start: 0,
            length: 4,
        };
        v[0].tape().apply(unnarrow, &[v[0]])
    }),
    row!(
        IndexAdd,
        "index_add",
        "select.rs",
        Rule,
        [(&[3, 2], Domain::Any)],
        |v| {
            let index_add = IndexAdd {
                indices: vec![0, 2, 0],
                rows: 4,
            };
            v[0].tape().apply(index_add, &[v[0]])
        }
    ),
    row!(Softmax, "softmax", "softmax.rs", Op, [ANY], |v| v[0]
        .softmax(1)),
    row!(LogSoftmax, "log_softmax", "softmax.rs", Op, [ANY], |v| v[0]
        .log_softmax(0)),
    row!(
        CrossEntropy,
        "cross_entropy",
        "softmax.rs",
        Op,
        [ANY],
        |v| { v[0].cross_entropy(&[0, 2], Reduction::Mean) }
    ),
    row!(
        CrossEntropyBackward,
        "cross_entropy_backward",
        "softmax.rs",
        Rule,
        [ANY, (&[], Domain::Any)],
        |v| {
            v[0].tape()
                .apply(CrossEntropyBackward::new(&[0, 2], Reduction::Sum), v)
        }
    ),
    row!(
        BinaryCrossEntropyWithLogits,
        "binary_cross_entropy_with_logits",
        "loss.rs",
        Op,
        [ANY],
        |v| {
            let targets = Tensor::from_rows(&[[0.0, 1.0, 0.25], [1.0, 0.5, 0.0]]);
            v[0].binary_cross_entropy_with_logits(&targets, Reduction::Mean)
        }
    ),
    row!(
        Accumulate,
        "accumulate",
        "engine",
        Engine,
        [ANY, ANY],
        |v| v[0].tape().apply(Accumulate, v)
    ),
    row!(SumTo, "sum_to", "engine", Engine, [ANY], |v| v[0]
        .sum_to(&[1, 3])),
    row!(
        BroadcastTo,
        "broadcast_to",
        "engine",
        Engine,
        [(&[1, 3], Domain::Any)],
        |v| { v[0].broadcast_to(&[2, 3]) }
    ),
];
