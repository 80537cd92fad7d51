//! How [`Var::backward`](crate::Var::backward) evaluates derivative rules without recording
//! them. A rule is written with `Var` ops; while the first-order walk runs, the tape is
//! *evaluating*: [`Tape::apply`] computes each op's value as usual but keeps it in a scratch
//! list instead of recording a node (no op is stored, nothing is added to the tape). The walk then
//! moves the gradients out of the scratch list, and the rest of it goes back to the buffer pool.
//! [`Var::grad`](crate::Var::grad) runs the same walk with the tape recording, so the same rules
//! become nodes that can be differentiated again.

use std::cell::Ref;
use std::sync::Arc;

use super::{NodeId, Tape, Var};
use crate::Tensor;

/// Marks the id of a value that a first-order walk computed while evaluating a rule: it lives in
/// the tape's scratch list, not among its nodes.
pub(super) const SCRATCH: usize = 1 << (usize::BITS - 1);

/// A value of the scratch list: computed by a rule, or one an op's forward kept and shares.
pub(super) enum ScratchValue {
    Computed(Tensor),
    Kept(Arc<Tensor>),
    /// Moved out by [`Tape::take_values`] as the gradient of this node.
    Taken(usize),
}

impl std::ops::Deref for ScratchValue {
    type Target = Tensor;
    fn deref(&self) -> &Tensor {
        match self {
            ScratchValue::Computed(tensor) => tensor,
            ScratchValue::Kept(tensor) => tensor,
            ScratchValue::Taken(_) => panic!("a scratch value read after the walk took it"),
        }
    }
}

impl Tape {
    /// A value computed while evaluating a rule: kept in the scratch list, not recorded.
    pub(super) fn push_scratch(&self, value: Tensor) -> Var<'_> {
        self.push_scratch_value(ScratchValue::Computed(value))
    }

    pub(super) fn push_scratch_value(&self, value: ScratchValue) -> Var<'_> {
        let mut scratch = self.scratch.borrow_mut();
        let id = NodeId(SCRATCH | scratch.len());
        scratch.push(value);
        Var { tape: self, id }
    }

    /// The value of node `id`, or of a value computed while evaluating a rule.
    #[inline]
    pub(crate) fn value_of(&self, id: NodeId) -> Ref<'_, Tensor> {
        if id.0 & SCRATCH != 0 {
            Ref::map(self.scratch.borrow(), |scratch| &*scratch[id.0 & !SCRATCH])
        } else {
            Ref::map(self.nodes.borrow(), |nodes| &nodes[id.0].value)
        }
    }

    /// Whether the values of `a` and `b` have the same shape.
    pub(crate) fn same_shape(&self, a: NodeId, b: NodeId) -> bool {
        self.value_of(a).shape() == self.value_of(b).shape()
    }

    /// Runs `walk` with every op evaluated on plain values, recording nothing (the first-order
    /// walk). The values it computes live until it returns: it moves out those it keeps with
    /// [`take_values`](Tape::take_values), and the rest go back to the buffer pool.
    pub(crate) fn evaluating<T>(&self, walk: impl FnOnce() -> T) -> T {
        /// Leaves evaluating mode even if a rule panics (a tape reused after `catch_unwind`).
        struct Restore<'a>(&'a Tape);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.evaluating.set(false);
                self.0.scratch.borrow_mut().clear(); // keeps its memory for the next walk
            }
        }
        assert!(
            !self.evaluating.replace(true),
            "a derivative rule started another backward walk on its own tape"
        );
        let _restore = Restore(self);
        walk()
    }

    /// The index in the scratch list of a value computed while evaluating a rule.
    pub(crate) fn scratch_index(id: NodeId) -> Option<usize> {
        (id.0 & SCRATCH != 0).then_some(id.0 & !SCRATCH)
    }

    /// Whether a first-order walk is evaluating rules (ops compute values and record nothing).
    pub(crate) fn is_evaluating(&self) -> bool {
        self.evaluating.get()
    }

    /// Room for `values` values in the scratch list.
    pub(crate) fn reserve_scratch(&self, values: usize) {
        self.scratch.borrow_mut().reserve(values);
    }

    /// The values of `vars` (one per node, `None` where a node has no gradient), moved out of
    /// the scratch list. A rule may hand one value to several inputs (`add` gives each its `g`):
    /// the first takes it, the others copy it.
    pub(crate) fn take_values(&self, vars: Vec<Option<Var<'_>>>) -> Vec<Option<Tensor>> {
        let (mut scratch, nodes) = (self.scratch.borrow_mut(), self.nodes.borrow());
        let mut values: Vec<Option<Tensor>> = Vec::with_capacity(vars.len());
        for var in vars {
            let node = values.len();
            let value = var.map(|var| match Tape::scratch_index(var.id) {
                Some(index) => {
                    match std::mem::replace(&mut scratch[index], ScratchValue::Taken(node)) {
                        ScratchValue::Computed(tensor) => tensor,
                        ScratchValue::Kept(tensor) => Tensor::clone(&tensor),
                        ScratchValue::Taken(earlier) => {
                            scratch[index] = ScratchValue::Taken(earlier);
                            values[earlier].clone().expect("taken earlier")
                        }
                    }
                }
                None => nodes[var.id.0].value.clone(), // a rule returned a value of the tape itself
            });
            values.push(value);
        }
        values
    }
}
