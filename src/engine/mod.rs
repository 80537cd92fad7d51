//! The engine: the tape, the handles on it, the one trait every op implements, and the reverse
//! walk. It depends on [`Tensor`](crate::Tensor) alone, and every op in [`ops`](crate::ops)
//! depends on it: tensor ← engine ← ops.
//!
//! Read it top to bottom in this order:
//! 1. `tape.rs`: [`Tape`], a flat list of nodes in creation order, each a value, the op that
//!    made it, its inputs and the line of your code that applied it.
//! 2. `var.rs`: [`Var`], a `Copy` handle on one node; `backward` and `grad` start here.
//! 3. `op.rs`: [`Op`], forward and two backwards (on tensors, and on the tape).
//! 4. `backward.rs`: the reverse walk, once on tensors (first order, fast) and once with
//!    variables (gradients recorded on the tape, differentiable again), and [`Gradients`].
//! 5. `gradient_ops.rs`: the few ops the walk itself records: accumulating a value's gradients,
//!    summing a broadcast input's gradient back to its shape.

mod backward;
mod gradient_ops;
mod op;
mod tape;
mod var;

pub use backward::Gradients;
pub(crate) use backward::replay_rule;
pub use gradient_ops::{Accumulate, BroadcastTo, SumTo};
pub use op::{BackwardArgs, InputGrads, Op};
pub(crate) use tape::{Node, NodeKind};
pub use tape::{NodeId, Tape};
pub use var::Var;
