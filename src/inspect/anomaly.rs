//! Finding the op that made a NaN: after a forward (and backward) pass, [`check`] names the first
//! node whose value, and then the first op whose backward, turned finite numbers into NaN or ±∞,
//! with the line of code that made it and the ranges of its inputs.
//!
//! It reads the tape after the fact, so training without it costs nothing.

use std::fmt;
use std::panic::Location;

use super::min_mean_max;
use crate::engine::{Node, NodeKind, replay_rule};
use crate::{Gradients, NodeId, Tape, Tensor};

/// Which walk the non-finite number appeared in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// An op's output (or a leaf's value) holds NaN or ±∞.
    Forward,
    /// An op's backward turned a finite output gradient into a non-finite input gradient.
    Backward,
    /// A node's uses each passed it a finite gradient, but their sum is not finite.
    Sum,
    /// The seed of the backward pass (the output's own gradient) was not finite.
    Seed,
}

/// The range of one input of the op at fault.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputRange {
    /// The input node.
    pub node: NodeId,
    /// Its smallest element.
    pub min: f64,
    /// Its largest element.
    pub max: f64,
}

/// The first place a NaN or infinity appeared, found by [`check`].
#[derive(Clone, Debug, PartialEq)]
pub struct NonFinite {
    /// Forward value or backward gradient.
    pub pass: Pass,
    /// The node at fault: its value is non-finite (forward), or its op's backward made a
    /// non-finite gradient (backward).
    pub node: NodeId,
    /// Its op, or `variable` / `constant` for a leaf.
    pub op: &'static str,
    /// The node as the tape listing writes it: `log(#7)`, or `constant` for a leaf.
    pub call: String,
    /// Where the user's code made the node.
    pub location: &'static Location<'static>,
    /// The first non-finite number it produced.
    pub value: f64,
    /// For a [`Pass::Backward`] fault, the input whose gradient became non-finite.
    pub gradient_of: Option<NodeId>,
    /// The ranges of the node's inputs.
    pub inputs: Vec<InputRange>,
}

impl fmt::Display for NonFinite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (call, node, at, value) = (&self.call, self.node, self.location, self.value);
        // A leaf is named with its id, an op by its inputs: `constant #0`, `log(#7)`.
        let named = if self.inputs.is_empty() {
            format!("{call} {node}")
        } else {
            call.clone()
        };
        match (self.pass, self.gradient_of) {
            (Pass::Backward, Some(input)) => write!(
                f,
                "non-finite gradient: the backward of {named} ({node}) at {at} produced {value:?} for input {input} from a finite output gradient"
            )?,
            (Pass::Sum, _) => write!(
                f,
                "non-finite gradient: the gradients reaching {named} ({node}) at {at} from its uses are each finite, but they add up to {value:?}"
            )?,
            (Pass::Seed, _) => write!(
                f,
                "non-finite gradient: the seed of backward at {named} ({node}) at {at} is {value:?}"
            )?,
            _ => write!(f, "non-finite value: {named} at {at} produced {value:?}")?,
        }
        for (position, input) in self.inputs.iter().enumerate() {
            let separator = if position == 0 { "; " } else { ", " };
            write!(
                f,
                "{separator}input {} has min {:?} and max {:?}",
                input.node, input.min, input.max
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for NonFinite {}

/// Looks for the first non-finite forward value on `tape`, then, given the `gradients` of a
/// backward pass of it, the first op whose backward made a gradient non-finite.
///
/// Panics if `gradients` come from another tape or an earlier pass of this one.
///
/// ```
/// use tapegrad::{Tape, Tensor, anomaly};
///
/// let tape = Tape::new();
/// let x = tape.var(Tensor::from_slice(&[1.0, 0.0]));
/// let loss = x.log().sum(); // log(0) = -inf
/// let error = anomaly::check(&tape, None).unwrap_err();
/// assert_eq!((error.op, error.value), ("log", f64::NEG_INFINITY));
/// let message = error.to_string(); // names the line of the `log` above
/// assert!(message.starts_with("non-finite value: log(#0) at "), "{message}");
/// assert!(message.ends_with(" produced -inf; input #0 has min 0.0 and max 1.0"), "{message}");
/// # let _ = loss;
/// ```
#[track_caller]
pub fn check(tape: &Tape, gradients: Option<&Gradients>) -> Result<(), NonFinite> {
    let nodes = tape.nodes();
    if let Some((id, node)) = nodes
        .iter()
        .enumerate()
        .find(|(_, node)| !node.value.is_finite())
    {
        return Err(fault(
            Pass::Forward,
            &nodes,
            id,
            node,
            first_non_finite(&node.value),
            None,
        ));
    }
    let Some(gradients) = gradients else {
        return Ok(());
    };
    tape.check_gradients(gradients, "anomaly::check");
    // The last node (in creation order) with a non-finite gradient got it from one of its users,
    // all of whose gradients are finite: run their backwards again to see which one did it.
    let gradient = |id: usize| gradients.get_node(tape, NodeId(id));
    let Some(victim) = (0..nodes.len())
        .rev()
        .find(|&id| gradient(id).is_some_and(|g| !g.is_finite()))
    else {
        return Ok(());
    };
    let mut users = 0;
    for (id, node) in nodes.iter().enumerate().skip(victim + 1).rev() {
        let (NodeKind::Op(_), Some(grad_output)) = (&node.kind, gradient(id)) else {
            continue;
        };
        if !node.inputs.contains(&NodeId(victim)) {
            continue;
        }
        users += 1;
        // The same rule, with the same wanted inputs, as the walk that made the gradients.
        let input_grads = replay_rule(tape, NodeId(id), grad_output);
        for (input, grad) in node.inputs.iter().zip(&input_grads) {
            let Some(grad) = grad else { continue };
            if input.0 == victim && !grad.is_finite() {
                let value = first_non_finite(grad);
                return Err(fault(Pass::Backward, &nodes, id, node, value, Some(*input)));
            }
        }
    }
    // No single use made it non-finite: either nothing used it (it is the output, seeded with a
    // non-finite gradient), or its uses' finite gradients overflowed when added up.
    let pass = if users == 0 { Pass::Seed } else { Pass::Sum };
    let value = first_non_finite(gradient(victim).expect("found above"));
    Err(fault(pass, &nodes, victim, &nodes[victim], value, None))
}

fn fault(
    pass: Pass,
    nodes: &[Node],
    id: usize,
    node: &Node,
    value: f64,
    gradient_of: Option<NodeId>,
) -> NonFinite {
    let inputs = node
        .inputs
        .iter()
        .map(|&input| {
            let (min, _, max) = min_mean_max(&nodes[input.0].value);
            InputRange {
                node: input,
                min,
                max,
            }
        })
        .collect();
    NonFinite {
        pass,
        node: NodeId(id),
        op: node.op_name(),
        call: node.call(),
        location: node.location,
        value,
        gradient_of,
        inputs,
    }
}

fn first_non_finite(tensor: &Tensor) -> f64 {
    tensor
        .data()
        .iter()
        .copied()
        .find(|x| !x.is_finite())
        .unwrap_or(f64::NAN)
}
