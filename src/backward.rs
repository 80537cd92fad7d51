//! The reverse walk and its result, [`Gradients`].
//!
//! The tape is in creation order, so walking it from the output back to the start visits each
//! node after every node that used it: by the time a node is reached its gradient is complete.
//! A loop, not recursion, so a chain of a million nodes needs no deep stack.

use std::panic::Location;

use smallvec::SmallVec;

use crate::tape::NodeKind;
use crate::tensor::broadcast_shapes_checked;
use crate::{NodeId, Tape, Tensor, Var};

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

    /// Which tape and which pass of it these came from.
    pub(crate) fn identity(&self) -> (u64, u64) {
        self.identity
    }

    /// The gradient at node `id` of the pass, if it has one (for tools that walk the whole tape).
    pub fn get_node(&self, id: NodeId) -> Option<&Tensor> {
        self.by_node.get(id.0)?.as_ref()
    }
}

/// Backpropagates `seed` (the gradient of the output `root`) through `tape`.
pub(crate) fn run(tape: &Tape, root: NodeId, seed: Tensor) -> Gradients {
    let nodes = tape.nodes();
    let mut by_node: Vec<Option<Tensor>> = Vec::new();
    by_node.resize_with(root.0 + 1, || None);
    if nodes[root.0].needs_grad {
        by_node[root.0] = Some(seed);
    }
    for id in (0..=root.0).rev() {
        let node = &nodes[id];
        let NodeKind::Op(op) = &node.kind else {
            continue;
        };
        // Inputs come earlier on the tape, so their slots lie before this node's.
        let (earlier, rest) = by_node.split_at_mut(id);
        let Some(grad_output) = &rest[0] else {
            continue; // nothing that reaches the output flows through here
        };
        let inputs: SmallVec<[&Tensor; 4]> = node
            .inputs
            .iter()
            .map(|input| &nodes[input.0].value)
            .collect();
        let wanted: SmallVec<[bool; 4]> = node
            .inputs
            .iter()
            .map(|input| nodes[input.0].needs_grad)
            .collect();
        let input_grads = op.backward_wanted(&wanted, &inputs, &node.value, grad_output);
        assert_eq!(
            input_grads.len(),
            inputs.len(),
            "{}: backward returned {} gradients for {} inputs (node {}, created at {})",
            op.name(),
            input_grads.len(),
            inputs.len(),
            NodeId(id),
            node.location,
        );
        for (((input, input_value), grad), wanted) in
            node.inputs.iter().zip(&inputs).zip(input_grads).zip(wanted)
        {
            if !wanted {
                continue;
            }
            let Some(grad) = grad else {
                panic!(
                    "{}: backward_wanted returned no gradient for input {input}, which needs one (node {}, created at {})",
                    op.name(),
                    NodeId(id),
                    node.location
                );
            };
            // An input that was broadcast gets the sum of the gradients of all its copies.
            let grad = if grad.shape() == input_value.shape() {
                grad
            } else {
                reduce_to_input(op.name(), grad, input_value.shape(), node.location)
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

/// `grad` summed down to `shape`; panics naming the op if its backward returned a shape that
/// is neither the input's nor one the input broadcasts to.
fn reduce_to_input(op: &str, grad: Tensor, shape: &[usize], location: &Location<'_>) -> Tensor {
    let broadcast = broadcast_shapes_checked(shape, grad.shape());
    if broadcast.as_deref() != Ok(grad.shape()) {
        panic!(
            "{op}: backward returned a gradient of shape {:?} for an input of shape {shape:?} (node created at {location})",
            grad.shape()
        );
    }
    grad.sum_to_shape(shape)
}
