//! The reverse walk, twice: [`run`] on plain tensors (first order, what `backward` does) and
//! [`run_on_tape`] with variables (what `grad` does, so that gradients can be differentiated
//! again). The two loops have the same shape; read `run` first.
//!
//! The tape is in creation order, so walking it from the output back to the start visits each
//! node after every node that used it: by the time a node is reached its gradient is complete.
//! A loop, not recursion, so a chain of a million nodes needs no deep stack.

use std::panic::Location;
use std::sync::Arc;

use smallvec::SmallVec;

use super::gradient_ops::{Accumulate, FirstOrderOnly};
use super::tape::{Node, NodeKind};
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

/// Backpropagates `seed` (the gradient of the output `root`) through `tape`, on tensors.
pub(crate) fn run(tape: &Tape, root: NodeId, seed: Tensor) -> Gradients {
    let nodes = tape.nodes();
    let mut by_node: Vec<Option<Tensor>> = Vec::new();
    by_node.resize_with(root.0 + 1, || None);
    if nodes[root.0].needs_grad {
        by_node[root.0] = Some(seed);
    }
    for id in (0..=root.0).rev() {
        // Inputs come earlier on the tape, so their slots lie before this node's.
        let (earlier, rest) = by_node.split_at_mut(id);
        let Some(grad_output) = &rest[0] else {
            continue; // nothing that reaches the output flows through here
        };
        let node = &nodes[id];
        let wanted = inputs_needing_grad(&nodes, node);
        let Some(input_grads) = tensor_backward(&nodes, id, grad_output, &wanted) else {
            continue; // a leaf
        };
        for (input, grad) in node.inputs.iter().zip(input_grads) {
            let Some(grad) = grad else { continue };
            let input_shape = nodes[input.0].value.shape();
            // An input that was broadcast gets the sum of the gradients of all its copies.
            let grad = if grad.shape() == input_shape {
                grad
            } else {
                check_broadcast_grad(node, grad.shape(), input_shape);
                grad.sum_to_shape(input_shape)
            };
            match &mut earlier[input.0] {
                Some(total) => *total += &grad, // used more than once: the gradients add up
                empty => *empty = Some(grad),
            }
        }
    }
    Gradients {
        identity: tape.identity(),
        by_node,
    }
}

/// Which inputs of `node` need a gradient: those some variable reaches.
pub(crate) fn inputs_needing_grad(nodes: &[Node], node: &Node) -> SmallVec<[bool; 4]> {
    node.inputs.iter().map(|i| nodes[i.0].needs_grad).collect()
}

/// The tensor gradients of node `id`'s `wanted` inputs given its output's gradient (`None` for a
/// leaf). The one call of [`Op::backward`], shared by the walk, by the on-tape walk for ops
/// without a second-order backward, and by [`anomaly::check`](crate::anomaly::check) when it
/// replays a node.
pub(crate) fn tensor_backward(
    nodes: &[Node],
    id: usize,
    grad_output: &Tensor,
    wanted: &[bool],
) -> Option<InputGrads<Tensor>> {
    let node = &nodes[id];
    let NodeKind::Op(op) = &node.kind else {
        return None;
    };
    let inputs: SmallVec<[&Tensor; 4]> = node.inputs.iter().map(|i| &nodes[i.0].value).collect();
    let args = BackwardArgs {
        inputs: &inputs,
        output: &node.value,
        grad_output,
        wanted,
    };
    let grads = op.backward(&args);
    Some(checked(op.as_ref(), node, id, wanted, grads))
}

/// The gradients of `root` (seeded with `seed`) with respect to each of `wrt`, recorded on the
/// tape: the walk of [`run`], with [`Var`]s where it has tensors. Only nodes that depend on
/// `wrt` get a gradient, so nothing is recorded that cannot reach the answer.
pub(crate) fn run_on_tape<'t>(
    tape: &'t Tape,
    root: NodeId,
    seed: Var<'t>,
    wrt: &[Var<'t>],
) -> Vec<Var<'t>> {
    let depends_on_wrt = depends_on(tape, root, wrt);
    let mut by_node: Vec<Option<Var<'t>>> = vec![None; root.0 + 1];
    if depends_on_wrt[root.0] {
        by_node[root.0] = Some(seed);
    }
    let var = |id: NodeId| Var { tape, id };
    for id in (0..=root.0).rev() {
        let Some(grad_output) = by_node[id] else {
            continue;
        };
        // Copied out of the tape, which the backward below records new nodes on.
        let (op, inputs, location) = {
            let nodes = tape.nodes();
            let node = &nodes[id];
            let NodeKind::Op(op) = &node.kind else {
                continue;
            };
            (Arc::clone(op), node.inputs.clone(), node.location)
        };
        let input_vars: SmallVec<[Var<'t>; 4]> = inputs.iter().map(|&i| var(i)).collect();
        let wanted: SmallVec<[bool; 4]> = inputs.iter().map(|i| depends_on_wrt[i.0]).collect();
        let args = BackwardArgs {
            inputs: &input_vars,
            output: var(NodeId(id)),
            grad_output,
            wanted: &wanted,
        };
        tape.recording_backward_of(location, || {
            let grads = op
                .backward_on_tape(&args)
                .unwrap_or_else(|| first_order_only(tape, op.as_ref(), &args, id));
            let grads = {
                let nodes = tape.nodes();
                checked(op.as_ref(), &nodes[id], id, &wanted, grads)
            };
            for (input, grad) in input_vars.iter().zip(grads) {
                let Some(grad) = grad else { continue };
                let input_shape = input.shape();
                let grad = if grad.shape() == input_shape {
                    grad
                } else {
                    check_broadcast_grad(&tape.nodes()[id], &grad.shape(), &input_shape);
                    grad.sum_to(&input_shape)
                };
                let slot = &mut by_node[input.id.0];
                *slot = Some(match *slot {
                    Some(total) => tape.apply(Accumulate, &[total, grad]),
                    None => grad,
                });
            }
        });
    }
    wrt.iter()
        .map(|&w| match by_node.get(w.id.0).copied().flatten() {
            Some(grad) => grad,
            None => tape.constant(Tensor::zeros(&w.shape())),
        })
        .collect()
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

/// For an op with no [`Op::backward_on_tape`]: its tensor gradients, each recorded as a node
/// whose own backward panics, so that first derivatives work and a second one fails loudly.
fn first_order_only<'t>(
    tape: &'t Tape,
    op: &dyn Op,
    args: &BackwardArgs<'_, Var<'t>>,
    id: usize,
) -> InputGrads<Var<'t>> {
    let (grads, location) = {
        let nodes = tape.nodes();
        let grad_output = &nodes[args.grad_output.id.0].value;
        let grads = tensor_backward(&nodes, id, grad_output, args.wanted).expect("an op's node");
        (grads, nodes[id].location)
    };
    // Its inputs are the op's and the output gradient's, so that whatever the gradient depends
    // on leads through this node, and a second backward reaching it panics.
    let mut inputs: SmallVec<[Var<'t>; 4]> = args.inputs.iter().copied().collect();
    inputs.push(args.grad_output);
    grads
        .into_iter()
        .map(|grad| {
            let node = FirstOrderOnly::new(op.name(), location, grad?);
            Some(tape.apply(node, &inputs))
        })
        .collect()
}

/// `grads` after checking there is one per input and one for each wanted input; panics naming
/// the op and the line that applied it otherwise.
fn checked<T>(
    op: &dyn Op,
    node: &Node,
    id: usize,
    wanted: &[bool],
    grads: InputGrads<T>,
) -> InputGrads<T> {
    let node_id = NodeId(id);
    assert_eq!(
        grads.len(),
        wanted.len(),
        "{}: backward returned {} gradients for {} inputs (node {node_id}, created at {})",
        op.name(),
        grads.len(),
        wanted.len(),
        node.location,
    );
    let mut grads = grads;
    for (input, (grad, &wanted)) in grads.iter_mut().zip(wanted).enumerate() {
        if !wanted {
            *grad = None; // computed anyway: nobody reads it
        } else if grad.is_none() {
            panic!(
                "{}: backward returned no gradient for input {}, which needs one (node {node_id}, created at {})",
                op.name(),
                node.inputs[input],
                node.location
            );
        }
    }
    grads
}

/// Panics naming the op unless `grad_shape` is a shape that `input_shape` broadcasts to, so
/// that summing the gradient down to the input is the right undoing of a broadcast.
fn check_broadcast_grad(node: &Node, grad_shape: &[usize], input_shape: &[usize]) {
    let broadcast = broadcast_shapes_checked(input_shape, grad_shape);
    if broadcast.as_deref() != Ok(grad_shape) {
        panic!(
            "{}: backward returned a gradient of shape {grad_shape:?} for an input of shape {input_shape:?} (node created at {})",
            node.op_name(),
            node.location
        );
    }
}
