//! The tape (a Wengert list): every value of a computation in the order it was made, each with
//! the op and the inputs that made it. [`Var::backward`] walks it once, last node first.

use std::cell::{Cell, Ref, RefCell};
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use smallvec::SmallVec;

use super::evaluate::ScratchValue;
use super::{Gradients, Op, Var};
use crate::Tensor;

/// The position of a node on its tape, printed as `#5`. Inputs always have smaller ids than
/// the nodes made from them, so creation order is already a topological order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub(crate) usize);

impl NodeId {
    /// The node's position on the tape, from 0. (Inside a rule that `Var::backward` evaluates,
    /// values are not nodes: their ids print as `scratch#k` and index nothing on the tape.)
    pub fn index(self) -> usize {
        self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Tape::scratch_index(*self) {
            Some(index) => write!(f, "scratch#{index}"),
            None => write!(f, "#{}", self.0),
        }
    }
}

/// What made a node: a leaf the user put on the tape, or an op applied to earlier nodes.
pub(crate) enum NodeKind {
    /// A leaf whose gradient is wanted ([`Tape::var`]).
    Variable,
    /// A leaf without a gradient ([`Tape::constant`]).
    Constant,
    /// The output of an op; the op keeps whatever its backward needs. Shared, so that the
    /// walk can call its rule while the rule records new nodes on the same tape.
    Op(Arc<dyn Op>),
    /// The output of an op on a [`Tape::no_grad`] tape: the value and the op's name, no op.
    Evaluated(&'static str),
}

/// One entry of the tape.
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    /// Inline up to three: `affine`'s `x`, `W` and `b`.
    pub(crate) inputs: SmallVec<[NodeId; 3]>,
    pub(crate) value: Tensor,
    /// Whether some variable reaches this node, so that backward must pass through it.
    pub(crate) needs_grad: bool,
    /// Where the user's code created the node (a `&'static`, so recording it costs no allocation).
    pub(crate) location: &'static Location<'static>,
    /// A leaf's name, if it was given one ([`Tape::var_named`]): what printouts show.
    pub(crate) name: Option<Arc<str>>,
    /// Whether [`Tape::take`] moved the value out, leaving an empty stand-in.
    pub(crate) taken: bool,
}

impl Node {
    /// `variable`, `constant`, or the op's name.
    pub(crate) fn op_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Variable => "variable",
            NodeKind::Constant => "constant",
            NodeKind::Op(op) => op.name(),
            NodeKind::Evaluated(name) => name,
        }
    }
}

/// `op`'s forward on the values of `inputs`, read by `value`.
#[track_caller]
fn forward<'a, O: Op>(
    op: &mut O,
    inputs: &[Var<'_>],
    value: impl Fn(&Var<'_>) -> &'a Tensor,
) -> Tensor {
    match inputs {
        [a] => op.forward(&[value(a)]),
        [a, b] => op.forward(&[value(a), value(b)]),
        _ => op.forward(&inputs.iter().map(value).collect::<SmallVec<[_; 4]>>()),
    }
}

/// How many backward walks in a row, each leaving the one before's output behind, make
/// [`Tape::note_backward`] warn of a forgotten `clear`.
const FORGOTTEN_CLEAR_WALKS: usize = 3;

/// Tells tapes apart, so that a [`Var`] or a [`Gradients`](crate::Gradients) of one is never read against another.
static NEXT_TAPE_ID: AtomicU64 = AtomicU64::new(0);

/// Records tensor operations as they run, so that one backward walk gives every gradient.
///
/// Values go on the tape with [`var`](Tape::var) (a gradient is wanted) or
/// [`constant`](Tape::constant) (no gradient); every op on the [`Var`] handles they return
/// appends a node. The tape takes `&self` for all of this, so handles are `Copy` and code reads
/// like the math. [`clear`](Tape::clear) empties it for the next training step and keeps its memory.
///
/// A tape is [`Send`] (it can move to another thread with the training it records) but not
/// [`Sync`]: it records through `&self`, so one thread at a time uses it.
///
/// ```
/// use tapegrad::{Tape, Tensor};
///
/// let tape = Tape::new();
/// let x = tape.var(Tensor::scalar(3.0));
/// let y = x * x + 2.0 * x; // dy/dx = 2x + 2
/// assert_eq!(y.backward().wrt(x).item(), 8.0);
/// assert_eq!(tape.len(), 4); // x, x*x, 2*x, the sum
/// ```
pub struct Tape {
    pub(super) nodes: RefCell<Vec<Node>>,
    id: u64,
    /// Bumped by `clear`, so gradients from an earlier pass are not read against new nodes.
    generation: u64,
    /// While [`Var::grad`] records an op's backward: the line that applied the op, which the
    /// gradient's nodes then show instead of a line inside the backward.
    recording_backward_of: Cell<Option<&'static Location<'static>>>,
    /// False for a [`Tape::no_grad`] tape: values only, nothing for a backward walk.
    records_gradients: bool,
    /// The first leaf whose value [`Tape::take`] moved out since the last `clear`: a backward
    /// would read its empty stand-in and blame whichever op used it.
    taken: Cell<Option<NodeId>>,
    /// The output of the last backward walk since `clear`, and how many walks in a row did not
    /// reach the output of the one before: the sign of a training loop that forgot `clear`.
    last_backward: Cell<(Option<NodeId>, usize)>,
    /// Whether this tape has warned about a forgotten `clear` (it warns once).
    warned: Cell<bool>,
    /// True while [`Var::backward`] evaluates derivative rules: ops then compute their values
    /// into `scratch` and record nothing.
    pub(super) evaluating: Cell<bool>,
    /// The values computed while evaluating rules, addressed by ids marked [`SCRATCH`].
    pub(super) scratch: RefCell<Vec<ScratchValue>>,
}

impl Default for Tape {
    fn default() -> Tape {
        Tape::new()
    }
}

impl Tape {
    /// An empty tape.
    pub fn new() -> Tape {
        Tape {
            nodes: RefCell::new(Vec::new()),
            id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
            generation: 0,
            recording_backward_of: Cell::new(None),
            records_gradients: true,
            taken: Cell::new(None),
            last_backward: Cell::new((None, 0)),
            warned: Cell::new(false),
            evaluating: Cell::new(false),
            scratch: RefCell::new(Vec::new()),
        }
    }

    /// An empty tape that computes values and records nothing a backward walk needs: no op is
    /// kept and no value needs a gradient, so the same model code that trains on a [`Tape::new`]
    /// evaluates here for the cost of its forward pass. PyTorch: `torch.no_grad()`,
    /// `torch.inference_mode()`.
    ///
    /// The values stay until the tape is cleared or dropped (a [`Var`] may still read them): to
    /// evaluate a large grid, [`clear`](Tape::clear) it between chunks.
    ///
    /// ```
    /// use tapegrad::{Tape, Tensor};
    /// let tape = Tape::no_grad();
    /// let w = tape.var(Tensor::from_slice(&[1.0, -2.0]));
    /// let y = (w * 3.0).tanh();
    /// assert!(!y.needs_grad());
    /// assert_eq!(y.value().data()[0], 3f64.tanh());
    /// assert_eq!(tape.summary().to_string().lines().nth(2).unwrap().split_whitespace().nth(1), Some("tanh(#1)"));
    /// ```
    pub fn no_grad() -> Tape {
        Tape {
            records_gradients: false,
            ..Tape::new()
        }
    }

    /// Whether this tape records what a backward walk needs (false for [`Tape::no_grad`]).
    pub fn records_gradients(&self) -> bool {
        self.records_gradients
    }

    /// Records `value` as a leaf whose gradient [`Var::backward`] computes (a weight, an input
    /// to check). On a [`no_grad`](Tape::no_grad) tape it needs none.
    #[track_caller]
    pub fn var(&self, value: Tensor) -> Var<'_> {
        if self.evaluating.get() {
            return self.push_scratch(value);
        }
        let needs_grad = self.records_gradients;
        self.push(NodeKind::Variable, SmallVec::new(), value, needs_grad)
    }

    /// [`var`](Tape::var) with a name that [`summary`](Tape::summary), [`to_dot`](Tape::to_dot)
    /// and error messages show (a parameter's, say); an `Arc<str>` so that naming costs no
    /// allocation each step.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let name: Arc<str> = "W1".into();
    /// tape.var_named(&name, Tensor::zeros(&[2, 3]));
    /// assert!(tape.to_string().contains("variable W1"));
    /// ```
    #[track_caller]
    pub fn var_named(&self, name: &Arc<str>, value: Tensor) -> Var<'_> {
        let var = self.var(value);
        if !self.evaluating.get() {
            self.nodes.borrow_mut()[var.id.0].name = Some(Arc::clone(name));
        }
        var
    }

    /// [`constant`](Tape::constant) with a name, as [`var_named`](Tape::var_named).
    #[track_caller]
    pub fn constant_named(&self, name: &Arc<str>, value: Tensor) -> Var<'_> {
        let constant = self.constant(value);
        if !self.evaluating.get() {
            self.nodes.borrow_mut()[constant.id.0].name = Some(Arc::clone(name));
        }
        constant
    }

    /// Records `value` as a leaf with no gradient (data, labels, fixed coefficients).
    #[track_caller]
    pub fn constant(&self, value: Tensor) -> Var<'_> {
        if self.evaluating.get() {
            return self.push_scratch(value);
        }
        self.push(NodeKind::Constant, SmallVec::new(), value, false)
    }

    /// Runs `op` forward on the values of `inputs` and records the result: the one way every op,
    /// built-in or yours, gets onto the tape. See [`Op`] for how to write one.
    ///
    /// Panics if `inputs` is empty or an input belongs to another tape; shape errors raised by
    /// the op's forward name the caller's line.
    #[track_caller]
    pub fn apply<O: Op>(&self, mut op: O, inputs: &[Var<'_>]) -> Var<'_> {
        self.check_inputs(op.name(), inputs);
        if self.evaluating.get() {
            let (nodes, scratch) = (self.nodes.borrow(), self.scratch.borrow());
            let value = |var: &Var<'_>| match Tape::scratch_index(var.id) {
                Some(index) => &*scratch[index],
                None => &nodes[var.id.0].value,
            };
            let output = forward(&mut op, inputs, value);
            drop((nodes, scratch));
            return self.push_scratch(output);
        }
        let output = {
            let nodes = self.nodes.borrow();
            forward(&mut op, inputs, |var| &nodes[var.id.0].value)
        };
        self.record(op, inputs, output)
    }

    /// Records `op` applied to `inputs` with an `output` its forward kept, instead of running the
    /// forward again: how a rule uses a value its op's forward computed (cross-entropy's softmax
    /// probabilities) and still has it differentiated by `op`'s own rule. `output` must be what
    /// `op`'s forward gives for these inputs, and `op`'s rule must read nothing its forward would
    /// have kept (the forward does not run); nothing checks either but
    /// [`gradgradcheck`](crate::gradgradcheck). Shared, so that a first-order walk reads it
    /// without a copy.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tapegrad::ops::Exp;
    /// use tapegrad::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(0.0));
    /// let kept = Arc::new(Tensor::scalar(1.0)); // e⁰, known already
    /// let y = tape.apply_with_output(Exp, &[x], &kept);
    /// assert_eq!(y.backward().wrt(x).item(), 1.0);
    /// ```
    #[track_caller]
    pub fn apply_with_output<O: Op>(
        &self,
        op: O,
        inputs: &[Var<'_>],
        output: &Arc<Tensor>,
    ) -> Var<'_> {
        self.check_inputs(op.name(), inputs);
        if self.evaluating.get() {
            return self.push_scratch_value(ScratchValue::Kept(Arc::clone(output)));
        }
        self.record(op, inputs, Tensor::clone(output))
    }

    /// [`apply_with_output`](Tape::apply_with_output) with an `output` the caller owns: how a
    /// rule that computes two values in one pass (a layer's weight and bias gradients) records
    /// each as the node of its own op.
    #[track_caller]
    pub(crate) fn apply_with_value<O: Op>(
        &self,
        op: O,
        inputs: &[Var<'_>],
        output: Tensor,
    ) -> Var<'_> {
        self.check_inputs(op.name(), inputs);
        self.record(op, inputs, output)
    }

    /// Panics, naming `op` and the caller's line, if `inputs` is empty, holds a handle of another
    /// tape, or a value [`Tape::take`] moved out.
    #[track_caller]
    #[inline]
    fn check_inputs(&self, op: &str, inputs: &[Var<'_>]) {
        if inputs.is_empty() || inputs.iter().any(|input| !std::ptr::eq(input.tape, self)) {
            self.refuse_inputs(op, inputs);
        }
        // A first-order walk checked that nothing was taken before it started.
        if !self.evaluating.get() && self.taken.get().is_some() {
            self.refuse_inputs(op, inputs);
        }
    }

    #[track_caller]
    #[cold]
    fn refuse_inputs(&self, op: &str, inputs: &[Var<'_>]) {
        if inputs.is_empty() {
            panic!(
                "{op}: applied to no inputs; an op needs at least one (a value without inputs is a \
                 leaf: Tape::var or Tape::constant) at {}",
                Location::caller()
            );
        }
        for input in inputs {
            self.check_owns(*input, op);
        }
        let nodes = self.nodes.borrow();
        if let Some(input) = inputs.iter().find(|v| nodes[v.id.0].taken) {
            panic!(
                "{op}: the value of {} (created at {}) was moved out by Tape::take (Params' \
                 optimizer step takes the weights back so); call tape.clear() before recording \
                 the next pass, at {}",
                input.id,
                nodes[input.id.0].location,
                Location::caller()
            );
        }
    }

    /// Appends the node of `op` applied to `inputs` with value `output`; while a first-order walk
    /// evaluates rules, keeps only the value.
    #[track_caller]
    fn record<O: Op>(&self, op: O, inputs: &[Var<'_>], output: Tensor) -> Var<'_> {
        if self.evaluating.get() {
            return self.push_scratch(output);
        }
        let input_ids = inputs.iter().map(|v| v.id).collect();
        if !self.records_gradients {
            return self.push(NodeKind::Evaluated(op.name()), input_ids, output, false);
        }
        let needs_grad = {
            let nodes = self.nodes.borrow();
            inputs.iter().any(|v| nodes[v.id.0].needs_grad)
        };
        self.push(NodeKind::Op(Arc::new(op)), input_ids, output, needs_grad)
    }

    /// Runs `record` with the nodes it creates attributed to `location` (the line that applied
    /// the op whose backward `record` writes on the tape).
    pub(crate) fn recording_backward_of<T>(
        &self,
        location: &'static Location<'static>,
        record: impl FnOnce() -> T,
    ) -> T {
        /// Puts the outer location back even if `record` panics (a tape reused after
        /// `catch_unwind` must not go on naming the wrong lines).
        struct Restore<'a>(
            &'a Cell<Option<&'static Location<'static>>>,
            Option<&'static Location<'static>>,
        );
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        let outer = self.recording_backward_of.replace(Some(location));
        let _restore = Restore(&self.recording_backward_of, outer);
        record()
    }

    #[track_caller]
    fn push(
        &self,
        kind: NodeKind,
        inputs: SmallVec<[NodeId; 3]>,
        value: Tensor,
        needs_grad: bool,
    ) -> Var<'_> {
        let location = self
            .recording_backward_of
            .get()
            .unwrap_or(Location::caller());
        let mut nodes = self.nodes.borrow_mut();
        let id = NodeId(nodes.len());
        nodes.push(Node {
            kind,
            inputs,
            value,
            needs_grad,
            location,
            name: None,
            taken: false,
        });
        Var { tape: self, id }
    }

    /// The forward value of `var` (a copy; [`Var::item`] reads a scalar without one).
    #[track_caller]
    pub fn value(&self, var: Var<'_>) -> Tensor {
        self.check_owns(var, "value");
        self.value_of(var.id).clone()
    }

    /// Moves the value of a leaf out of the tape without a copy, leaving an empty tensor: the way
    /// to hand large weights or data back after `backward`, instead of cloning them onto the tape
    /// each step. The tape is then spent: [`clear`](Tape::clear) it before another `backward`,
    /// [`summary`](Tape::summary) or [`anomaly::check`](crate::anomaly::check), which would see
    /// the empty tensor ([`Var::backward`] and [`Var::grad`] panic saying so). Panics if `var`
    /// is an op's output or is on another tape.
    ///
    /// ```
    /// use tapegrad::{Tape, Tensor};
    /// let mut w = Tensor::from_slice(&[1.0, 2.0]);
    /// let tape = Tape::new();
    /// let var = tape.var(std::mem::take(&mut w)); // moved in
    /// let grads = var.square().sum().backward();
    /// w = tape.take(var); // and back out, no copy either way
    /// w.add_scaled(-0.25, grads.wrt(var));
    /// assert_eq!(w.data(), &[0.5, 1.0]);
    /// ```
    #[track_caller]
    pub fn take(&self, var: Var<'_>) -> Tensor {
        self.check_owns(var, "take");
        let mut nodes = self.nodes.borrow_mut();
        let node = &mut nodes[var.id.0];
        if !node.inputs.is_empty() {
            panic!(
                "take: {} is the output of {}, not a leaf, at {}",
                var.id,
                node.op_name(),
                Location::caller()
            );
        }
        if self.taken.get().is_none() {
            self.taken.set(Some(var.id));
        }
        node.taken = true;
        std::mem::take(&mut node.value)
    }

    /// Panics, naming `what`, the leaf and the caller's line, if [`take`](Tape::take) moved a
    /// value out since the last `clear`: the walk would find an empty tensor in its place.
    #[track_caller]
    pub(crate) fn check_not_spent(&self, what: &str) {
        if let Some(id) = self.taken.get() {
            panic!(
                "{what}: the tape is spent: the value of {id} (created at {}) was moved out by \
                 Tape::take (Params' optimizer step takes the weights back so); call tape.clear() \
                 before recording the next pass, at {}",
                self.nodes.borrow()[id.0].location,
                Location::caller()
            );
        }
    }

    /// The number of nodes recorded.
    pub fn len(&self) -> usize {
        self.nodes.borrow().len()
    }

    /// How many nodes the tape can hold before it must grow: after [`clear`](Tape::clear) it keeps
    /// this, so a training loop stops allocating node slots after its first pass.
    pub fn capacity(&self) -> usize {
        self.nodes.borrow().capacity()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every node but keeps the memory, for the next training step.
    ///
    /// It takes `&mut self`, so the borrow checker guarantees no [`Var`] of the old pass is still
    /// alive; [`Gradients`](crate::Gradients) of the old pass are refused by the new one's handles.
    pub fn clear(&mut self) {
        self.nodes.get_mut().clear();
        self.generation += 1;
        self.taken.set(None);
        self.last_backward.set((None, 0));
    }

    /// Notes a backward walk from `root`, whose gradients reached a node at or before a given one
    /// if `reached_up_to` says so, and warns once (on stderr, naming the caller's line) when three
    /// walks in a row each reached nothing recorded up to the previous walk's output: passes
    /// recorded one after another on a tape nobody clears, each on new leaves, so that it grows
    /// without end while every loss still comes out right. (Several outputs of one pass share
    /// their leaves, and do not count.)
    #[track_caller]
    pub(crate) fn note_backward(&self, root: NodeId, reached_up_to: impl Fn(NodeId) -> bool) {
        let (previous, count) = self.last_backward.get();
        let left_behind =
            previous.is_some_and(|previous| previous < root && !reached_up_to(previous));
        let count = if left_behind { count + 1 } else { 0 };
        self.last_backward.set((Some(root), count));
        if count >= FORGOTTEN_CLEAR_WALKS && !self.warned.replace(true) {
            eprintln!(
                "tapegrad: warning: this backward walk and the {} before it each started after \
                 the previous one's output, on new leaves: the tape keeps every pass ({} nodes \
                 now). Call tape.clear() before recording the next pass (at {})",
                FORGOTTEN_CLEAR_WALKS - 1,
                self.len(),
                Location::caller()
            );
        }
    }

    /// Which tape and which pass of it: what [`Gradients`] remember to refuse strangers.
    pub(crate) fn identity(&self) -> (u64, u64) {
        (self.id, self.generation)
    }

    /// Panics, naming `what` and the caller's line, unless `gradients` come from this pass of this tape.
    #[track_caller]
    pub(crate) fn check_gradients(&self, gradients: &Gradients, what: &str) {
        if gradients.identity() != self.identity() {
            panic!(
                "{what}: the gradients come from another tape or an earlier pass at {}",
                Location::caller()
            );
        }
    }

    pub(crate) fn nodes(&self) -> Ref<'_, Vec<Node>> {
        self.nodes.borrow()
    }

    #[track_caller]
    pub(crate) fn check_owns(&self, var: Var<'_>, op: &str) {
        if !std::ptr::eq(var.tape, self) {
            panic!(
                "{op}: {} belongs to another tape at {}",
                var.id,
                Location::caller()
            );
        }
    }
}

impl fmt::Debug for Tape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tape").field("nodes", &self.len()).finish()
    }
}
