//! The engine: the tape, the handles on it, the one trait every op implements, and the reverse
//! walk. It depends on [`Tensor`](crate::Tensor) alone, and every op in [`ops`](crate::ops)
//! depends on it: tensor ← engine ← ops ← the rest.
//!
//! A learner's path through one backward pass, top to bottom (about 700 lines with their docs;
//! nothing on it is specific to second derivatives, because the same walk serves every order):
//! 1. `op.rs` (about 100 lines): [`Op`], a forward and one derivative rule written with `Var` ops,
//!    and [`BackwardArgs`], what the rule is given.
//! 2. `tape.rs`, from the top to `push` (about 400 lines, half of them doc comments): [`Tape`], a
//!    flat list of nodes in creation order, each a value, the op that made it, its inputs and the
//!    line of your code that applied it; `var`, `constant` and `apply`, the ways onto it. Skip
//!    the `if self.evaluating` branches on a first reading: step 4 explains them.
//! 3. `var.rs`, `backward` (about 10 lines): [`Var`], a `Copy` handle on one node; the walk
//!    starts here.
//! 4. `evaluate.rs` (about 150 lines): how `backward` runs the rules on plain numbers without
//!    recording them, so that first derivatives cost no nodes.
//! 5. `backward.rs`, `walk` and `run` (about 130 lines): the reverse walk, each node's rule
//!    called once, gradients of broadcast inputs summed down, gradients of shared values added.
//!
//! Then, as needed: `backward.rs`' `run_on_tape` (what [`Var::grad`] adds: the same walk,
//! recording, for second derivatives and beyond), `gradient_ops.rs` (the ops the walk applies:
//! adding gradients, summing broadcasts back), `Tape::apply_with_output` (a value an op's forward
//! kept, recorded as that op's output), and the rest of `tape.rs` (names, `take`, `clear`, and
//! the checks that keep handles of one tape or pass away from another).

mod backward;
mod evaluate;
mod gradient_ops;
mod op;
mod tape;
mod var;

pub use backward::Gradients;
pub(crate) use backward::{pull_back, replay_rule};
pub use gradient_ops::{Accumulate, BroadcastTo, SumTo};
pub use op::{BackwardArgs, InputGrads, Op};
pub(crate) use tape::{Node, NodeKind};
pub use tape::{NodeId, Tape};
pub use var::Var;
