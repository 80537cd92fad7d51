//! `cube(x) = x³`, a user's op written with its forward and one rule only: the op the tests of
//! every order and mode hold to what the built-in ops get. Included by `op_table.rs` and
//! `forward_mode.rs` as `#[path = "common/cube.rs"] mod cube;`.

use tapegrad::ops::{BackwardArgs, InputGrads, Op};
use tapegrad::{Tensor, Var};

/// `x³`, elementwise; its rule `3x² g` in `Var` ops.
pub struct Cube;

impl Op for Cube {
    fn name(&self) -> &'static str {
        "cube"
    }
    fn forward(&mut self, inputs: &[&Tensor]) -> Tensor {
        inputs[0].map(|x| x * x * x)
    }
    fn backward<'t>(&self, args: &BackwardArgs<'_, 't>) -> InputGrads<'t> {
        let x = args.inputs[0];
        vec![Some(args.grad_output * x.square() * 3.0)]
    }
}

/// `x³` on `x`'s tape.
pub fn cube(x: Var<'_>) -> Var<'_> {
    x.tape().apply(Cube, &[x])
}
