//! The reverse walk, once: [`walk`] calls each op's derivative rule from the output back to the
//! start. [`run`] (what `backward` does) has the tape evaluate the rules on plain numbers and
//! record nothing; [`run_on_tape`] (what `grad` does) has it record them, so that the gradients
//! can be differentiated again. Same loop, same rules, same numbers.
//!
//! The tape is in creation order, so walking it from the output back to the start visits each
//! node after every node that used it: by the time a node is reached its gradient is complete.
//! A loop, not recursion, so a chain of a million nodes needs no deep stack.

use std::panic::Location;
use std::sync::Arc;

use smallvec::SmallVec;

use super::gradient_ops::Accumulate;
use super::op::Batch;
use super::tape::NodeKind;
use super::{BackwardArgs, InputGrads, NodeId, Op, Tape, Var};
use crate::Tensor;
use crate::tensor::broadcast_shapes_checked;

/// The gradients of one backward pass: for each node that leads to the output, the gradient of
/// the output with respect to that node's value, with the node's shape.
///
/// Read them with the handles of the same pass: [`wrt`](Gradients::wrt) for a variable that must
/// have one, [`get`](Gradients::get) where "no gradient" is a possible answer.
#[derive(Debug, Clone)]
pub struct Gradients {
    /// The tape id and generation of the pass these came from.
    identity: (u64, u64),
    by_node: Vec<Option<Tensor>>,
}

impl Gradients {
    /// The gradient with respect to `var`, or `None` if `var` is a constant or the output does not
    /// depend on it. Panics if `var` comes from another tape or another pass.
    #[track_caller]
    pub fn get(&self, var: Var<'_>) -> Option<&Tensor> {
        if var.tape.identity() != self.identity {
            panic!(
                "Gradients: {} belongs to another tape, or to a pass of this one cleared since, at {}",
                var.id,
                Location::caller()
            );
        }
        self.by_node.get(var.id.0)?.as_ref()
    }

    /// The gradient with respect to `var`. Panics with the node id and the caller's line if there
    /// is none (a constant, or a variable the output does not depend on).
    #[track_caller]
    pub fn wrt(&self, var: Var<'_>) -> &Tensor {
        match self.get(var) {
            Some(grad) => grad,
            None => panic!(
                "Gradients::wrt: {} has no gradient: it is a constant, or the output does not depend on it \
                 (Gradients::get returns None instead) at {}",
                var.id,
                Location::caller()
            ),
        }
    }

    /// Moves the gradient with respect to `var` out (leaving none), instead of copying it: how
    /// a parameter collection hands gradients to an optimizer. Panics as [`get`](Gradients::get) does.
    ///
    /// ```
    /// use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let w = tape.var(Tensor::from_slice(&[3.0]));
    /// let mut grads = w.square().sum().backward();
    /// assert_eq!(grads.take(w).unwrap().item(), 6.0);
    /// assert!(grads.get(w).is_none());
    /// ```
    #[track_caller]
    pub fn take(&mut self, var: Var<'_>) -> Option<Tensor> {
        self.get(var)?;
        self.by_node[var.id.0].take()
    }

    /// Whether some node up to `last` (inclusive) has a gradient.
    pub(crate) fn any_up_to(&self, last: NodeId) -> bool {
        let end = (last.0 + 1).min(self.by_node.len());
        self.by_node[..end].iter().any(Option::is_some)
    }

    /// Which tape and which pass of it these came from.
    pub(crate) fn identity(&self) -> (u64, u64) {
        self.identity
    }

    /// The gradient at node `id` of `tape`, if it has one (for tools that walk the whole tape).
    /// PyTorch: a non-leaf tensor's `.grad` after `retain_grad()`.
    ///
    /// Panics, naming the caller's line, unless these gradients come from the current pass of
    /// `tape`: an id alone does not say which pass it belongs to, and after
    /// [`clear`](Tape::clear) the ids start again at `#0`.
    ///
    /// ```
    /// use tapegrad::{NodeId, Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(3.0));
    /// let y = x * x;
    /// let grads = y.backward();
    /// assert_eq!(grads.get_node(&tape, x.id()).unwrap().item(), 6.0);
    /// assert_eq!(grads.get_node(&tape, y.id()).unwrap().item(), 1.0);
    /// ```
    #[track_caller]
    pub fn get_node(&self, tape: &Tape, id: NodeId) -> Option<&Tensor> {
        tape.check_gradients(self, "Gradients::get_node");
        self.by_node.get(id.0)?.as_ref()
    }
}

/// Backpropagates the `seeds` (each the gradient of its root node) through `tape` from each
/// node in reverse creation order, calling each op's rule: the one walk of every order.
/// `flows(node)` says whether a gradient is wanted through a node (some variable, or some node
/// of `wrt`, reaches it). Returns each node's gradient; `None` if `batch` is given and an op the
/// walk meets does not take batches ([`Op::batches_seeds`]).
fn walk<'t>(
    tape: &'t Tape,
    seeds: &[(NodeId, Var<'t>)],
    flows: impl Fn(NodeId) -> bool,
    batch: Option<Batch>,
) -> Option<Vec<Option<Var<'t>>>> {
    let last = seeds.iter().map(|(root, _)| root.0).max()?;
    let mut by_node: Vec<Option<Var<'t>>> = vec![None; last + 1];
    for &(root, seed) in seeds.iter().filter(|(root, _)| flows(*root)) {
        let slot = &mut by_node[root.0];
        *slot = Some(match *slot {
            Some(total) => tape.apply(Accumulate, &[total, seed]), // one node seeded twice
            None => seed,
        });
    }
    // Reused from node to node; on the stack for ops of up to four inputs.
    let (mut inputs, mut wanted) = (
        SmallVec::<[Var<'t>; 4]>::new(),
        SmallVec::<[bool; 4]>::new(),
    );
    for id in (0..=last).rev() {
        let Some(grad_output) = by_node[id] else {
            continue; // nothing that reaches the output flows through here
        };
        // Copied out of the tape, which recording the rule adds nodes to.
        let (op, location) = {
            let nodes = tape.nodes();
            let node = &nodes[id];
            let NodeKind::Op(op) = &node.kind else {
                continue; // a leaf
            };
            inputs.clear();
            for &id in &node.inputs {
                inputs.push(Var { tape, id });
            }
            (Arc::clone(op), node.location)
        };
        if batch.is_some() && !op.batches_seeds() {
            return None; // the caller walks the seeds one at a time instead
        }
        wanted.clear();
        for input in &inputs {
            wanted.push(flows(input.id));
        }
        let args = BackwardArgs {
            inputs: &inputs,
            output: Var {
                tape,
                id: NodeId(id),
            },
            grad_output,
            wanted: &wanted,
            op: op.name(),
            applied_at: location,
            batch,
        };
        let mut apply_rule = || {
            let grads = checked(op.as_ref(), &args, id, op.backward(&args));
            for (input, grad) in inputs.iter().zip(grads) {
                let Some(grad) = grad else { continue };
                // An input that was broadcast gets the sum of the gradients of all its copies.
                let grad = if batch.is_none() && tape.same_shape(grad.id, input.id) {
                    grad
                } else {
                    let input_shape = args.batched(&input.shape());
                    let grad_shape = grad.shape();
                    let spreads = || {
                        let spread = broadcast_shapes_checked(&grad_shape, &input_shape);
                        spread.as_deref() == Ok(&input_shape[..])
                    };
                    if grad_shape == input_shape {
                        grad
                    } else if batch.is_some() && spreads() {
                        grad.broadcast_to(&input_shape) // one gradient for every seed: a zero
                    } else {
                        check_broadcast_grad(&args, &grad_shape, &input_shape);
                        grad.sum_to(&input_shape)
                    }
                };
                let slot = &mut by_node[input.id.0];
                *slot = Some(match *slot {
                    Some(total) => tape.apply(Accumulate, &[total, grad]), // used more than once
                    None => grad,
                });
            }
        };
        if tape.is_evaluating() {
            apply_rule();
        } else {
            // The recorded gradient's nodes name the line of the op they differentiate.
            tape.recording_backward_of(location, apply_rule);
        }
    }
    Some(by_node)
}

/// Backpropagates `seed` (the gradient of the output `root`) through `tape` with the rules
/// evaluated on plain numbers: first derivatives, nothing recorded.
pub(crate) fn run(tape: &Tape, root: NodeId, seed: Tensor) -> Gradients {
    let by_node = tape.evaluating(|| {
        // About two values a node: one growth of the list, not one per doubling.
        tape.reserve_scratch(2 * (root.0 + 1));
        let flows = |id: NodeId| tape.nodes()[id.0].needs_grad;
        let seeds = [(root, tape.constant(seed))];
        let by_node = walk(tape, &seeds, flows, None).expect("a walk without a batch");
        tape.take_values(by_node)
    });
    Gradients {
        identity: tape.identity(),
        by_node,
    }
}

/// The gradients node `id`'s rule gives its inputs for `grad_output`, evaluated as [`run`] does
/// (before any broadcast input's gradient is summed down): how
/// [`anomaly::check`](crate::anomaly::check) replays one node.
pub(crate) fn replay_rule(tape: &Tape, id: NodeId, grad_output: &Tensor) -> Vec<Option<Tensor>> {
    let (op, inputs, wanted, location) = {
        let nodes = tape.nodes();
        let node = &nodes[id.0];
        let NodeKind::Op(op) = &node.kind else {
            return Vec::new();
        };
        let inputs: SmallVec<[Var<'_>; 4]> =
            node.inputs.iter().map(|&i| Var { tape, id: i }).collect();
        let wanted: SmallVec<[bool; 4]> =
            node.inputs.iter().map(|i| nodes[i.0].needs_grad).collect();
        (Arc::clone(op), inputs, wanted, node.location)
    };
    tape.evaluating(|| {
        let args = BackwardArgs {
            inputs: &inputs,
            output: Var { tape, id },
            grad_output: tape.constant(grad_output.clone()),
            wanted: &wanted,
            op: op.name(),
            applied_at: location,
            batch: None,
        };
        let grads = checked(op.as_ref(), &args, id.0, op.backward(&args));
        grads.into_iter().map(|grad| grad.map(Var::value)).collect()
    })
}

/// The gradients of `root` (seeded with `seed`) with respect to each of `wrt`, recorded on the
/// tape. Only nodes that depend on `wrt` get a gradient, so nothing is recorded that cannot
/// reach the answer.
pub(crate) fn run_on_tape<'t>(
    tape: &'t Tape,
    root: NodeId,
    seed: Var<'t>,
    wrt: &[Var<'t>],
) -> Vec<Var<'t>> {
    let depends = depends_on(tape, root, wrt);
    let seeds = [(root, seed)];
    let by_node = walk(tape, &seeds, |id| depends[id.0], None).expect("a walk without a batch");
    wrt.iter()
        .map(|&w| match by_node.get(w.id.0).copied().flatten() {
            Some(grad) => grad,
            None => tape.constant(Tensor::zeros(&w.shape())),
        })
        .collect()
}

/// The vector-Jacobian products of `seeds`, which pair output nodes with their seeds, summed
/// over the outputs: for each of `wrt`, the gradient of `Σ seed ⊙ output`, with the rules
/// evaluated and nothing recorded. With `batch: Some(len)`, each seed holds `len` seeds on a
/// leading axis (`[len, ..the output's shape]`), each result too (`[len, ..its shape]`), and
/// one walk serves them all; `None` then if an op on the way does not take batches
/// ([`Op::batches_seeds`]), and the caller walks them one at a time.
pub(crate) fn pull_back<'t>(
    tape: &'t Tape,
    seeds: &[(Var<'t>, Tensor)],
    wrt: &[Var<'t>],
    batch: Option<usize>,
) -> Option<Vec<Tensor>> {
    let Some(root) = seeds.iter().map(|(output, _)| output.id).max() else {
        return Some(
            wrt.iter()
                .map(|var| Tensor::zeros(&batched(&var.shape(), batch)))
                .collect(),
        );
    };
    let batch = batch.map(|len| Batch {
        len,
        padded_rank: (tape.nodes()[..=root.0].iter())
            .map(|node| node.value.rank())
            .max()
            .unwrap_or(0),
    });
    let depends = depends_on(tape, root, wrt);
    let by_node = tape.evaluating(|| {
        let seeds: Vec<(NodeId, Var<'t>)> = (seeds.iter())
            .map(|(output, seed)| {
                let seed = match batch {
                    Some(batch) => seed.reshape(&batch.shape_of(&output.shape())),
                    None => seed.clone(),
                };
                (output.id, tape.constant(seed))
            })
            .collect();
        let by_node = walk(tape, &seeds, |id| depends[id.0], batch)?;
        Some(tape.take_values(by_node))
    })?;
    let gradients = wrt.iter().map(|var| {
        let shape = batched(&var.shape(), batch.map(|batch| batch.len));
        match by_node.get(var.id.0).cloned().flatten() {
            Some(gradient) => gradient.reshape(&shape),
            None => Tensor::zeros(&shape), // the outputs do not depend on it
        }
    });
    Some(gradients.collect())
}

/// `shape` with a leading axis of `len`, if any.
fn batched(shape: &[usize], len: Option<usize>) -> Vec<usize> {
    len.into_iter().chain(shape.iter().copied()).collect()
}

/// For each node up to `root`: whether it is one of `wrt` or computed from one.
fn depends_on(tape: &Tape, root: NodeId, wrt: &[Var<'_>]) -> Vec<bool> {
    let nodes = tape.nodes();
    let mut depends = vec![false; root.0 + 1];
    for var in wrt.iter().filter(|var| var.id <= root) {
        depends[var.id.0] = true;
    }
    for id in 0..=root.0 {
        depends[id] = depends[id] || nodes[id].inputs.iter().any(|input| depends[input.0]);
    }
    depends
}

/// `grads` after checking there is one per input and one for each wanted input; panics naming
/// the op and the line that applied it otherwise.
fn checked<'t>(
    op: &dyn Op,
    args: &BackwardArgs<'_, 't>,
    id: usize,
    mut grads: InputGrads<'t>,
) -> InputGrads<'t> {
    let node_id = NodeId(id);
    assert_eq!(
        grads.len(),
        args.wanted.len(),
        "{}: backward returned {} gradients for {} inputs (node {node_id}, created at {})",
        op.name(),
        grads.len(),
        args.wanted.len(),
        args.applied_at,
    );
    for (input, (grad, &wanted)) in grads.iter_mut().zip(args.wanted).enumerate() {
        if !wanted {
            *grad = None; // computed anyway: nobody reads it
        } else if grad.is_none() {
            panic!(
                "{}: backward returned no gradient for input {}, which needs one (node {node_id}, created at {})",
                op.name(),
                args.inputs[input].id,
                args.applied_at
            );
        }
    }
    grads
}

/// Panics naming the op unless `grad_shape` is a shape that `input_shape` broadcasts to, so
/// that summing the gradient down to the input is the right undoing of a broadcast.
fn check_broadcast_grad(args: &BackwardArgs<'_, '_>, grad_shape: &[usize], input_shape: &[usize]) {
    let broadcast = broadcast_shapes_checked(input_shape, grad_shape);
    if broadcast.as_deref() != Ok(grad_shape) {
        panic!(
            "{}: backward returned a gradient of shape {grad_shape:?} for an input of shape {input_shape:?} (node created at {})",
            args.op, args.applied_at
        );
    }
}
