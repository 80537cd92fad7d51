//! [`Params`]: a model's parameters by name, held as tensors between training steps, put on a
//! tape for a step without a copy ([`Params::on_tape`]) and given back with their gradients.

use std::collections::HashMap;
use std::ops::{Deref, Index};
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Gradients, Tape, Tensor, Var};

/// A parameter's position in the [`Params`] that made it: what layers keep, and what indexes a
/// [`Bound`] and [`ParamGrads`]. It remembers its collection, so that indexing another one (say,
/// weights read with [`Params::load`] instead of [`Params::load_into`]) panics at the caller's
/// line instead of reading whichever tensor sits at the same position.
///
/// ```
/// use tapegrad::nn::Params;
/// use tapegrad::Tensor;
/// let mut params = Params::new();
/// let w = params.insert("w", Tensor::scalar(1.0));
/// assert_eq!(w.index(), 0);
/// let mut other = Params::new();
/// other.insert("b", Tensor::scalar(2.0));
/// assert!(std::panic::catch_unwind(|| other[w].item()).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParamId {
    collection: u64,
    index: usize,
}

impl ParamId {
    /// The position, from 0, in insertion order.
    pub fn index(self) -> usize {
        self.index
    }
}

/// Each [`Params`] gets its own number, which its ids carry.
static NEXT_COLLECTION: AtomicU64 = AtomicU64::new(1);

/// Panics, naming the caller's line, when `id` was made by another collection than `collection`.
#[track_caller]
fn check_collection(what: &str, collection: u64, id: ParamId) -> usize {
    if id.collection != collection {
        panic!(
            "{what}[id]: parameter id {} was made by another Params (each id indexes only the \
             collection that made it; to read weights into a model, use `Params::load_into`) at {}",
            id.index,
            Location::caller()
        );
    }
    id.index
}

/// How a parameter is held in memory compared with the file layout, which is PyTorch's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// The same.
    Plain,
    /// A [`Linear`](crate::nn::Linear) weight: `[in, out]` here, `[out, in]` in files.
    LinearWeight,
    /// A [`Linear`](crate::nn::Linear) bias: `[1, out]` here, `[out]` in files.
    LinearBias,
}

struct Entry {
    name: Arc<str>,
    value: Tensor,
    trainable: bool,
    #[cfg_attr(not(feature = "safetensors"), allow(dead_code))] // read by saving and loading
    layout: Layout,
}

impl Entry {
    /// `value` on `tape` under this parameter's name: a variable, or a constant if frozen.
    #[track_caller]
    fn record<'t>(&self, tape: &'t Tape, value: Tensor) -> Var<'t> {
        if self.trainable {
            tape.var_named(&self.name, value)
        } else {
            tape.constant_named(&self.name, value)
        }
    }
}

/// A model's parameters, each a tensor with a unique name, in the order they were added.
/// PyTorch: `module.named_parameters()`; candle: `VarMap`.
///
/// Layers ([`Linear`](crate::nn::Linear), [`Mlp`](crate::nn::Mlp)) add their parameters here
/// and keep [`ParamId`]s; a training step puts them all on a tape in one call
/// ([`on_tape`](Params::on_tape)), and the tape's printouts show their names.
///
/// ```
/// use tapegrad::nn::Params;
/// use tapegrad::{Tape, Tensor};
///
/// let mut params = Params::new();
/// let w = params.insert("w", Tensor::from_slice(&[1.0, -2.0]));
/// let tape = Tape::new();
/// let bound = params.on_tape(&tape);
/// let loss = bound[w].square().sum();
/// let grads = bound.backward(loss); // the parameters are back in `params`
/// assert_eq!(grads[w].as_ref().unwrap().data(), &[2.0, -4.0]);
/// assert_eq!(params.get("w").unwrap().data(), &[1.0, -2.0]);
/// ```
pub struct Params {
    /// The number this collection's ids carry.
    collection: u64,
    entries: Vec<Entry>,
    /// Each name's position, so that lookups by name do not scan (a file of 40,000 tensors).
    by_name: HashMap<Arc<str>, usize>,
    /// Where these tensors came from, for a file without a layout version.
    #[cfg_attr(not(feature = "safetensors"), allow(dead_code))]
    pub(crate) source: Source,
}

/// Where the tensors of a [`Params`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "safetensors"), allow(dead_code))]
pub(crate) enum Source {
    /// Made in memory, or read from a file with tapegrad's layout version.
    Versioned,
    /// Read from a file without a layout version: PyTorch's, or tapegrad's before version 2.
    Unversioned,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            collection: NEXT_COLLECTION.fetch_add(1, Ordering::Relaxed),
            entries: Vec::new(),
            by_name: HashMap::new(),
            source: Source::Versioned,
        }
    }
}

impl Params {
    /// An empty collection.
    pub fn new() -> Params {
        Params::default()
    }

    /// Adds a parameter; panics, naming it and the caller's line, if the name is taken.
    ///
    /// ```
    /// use tapegrad::nn::Params;
    /// use tapegrad::Tensor;
    /// let mut params = Params::new();
    /// let w = params.insert("w", Tensor::zeros(&[2, 3]));
    /// assert_eq!((params.name(w), params[w].shape()), ("w", &[2, 3][..]));
    /// assert_eq!(params.id("w"), Some(w));
    /// ```
    #[track_caller]
    pub fn insert(&mut self, name: &str, value: Tensor) -> ParamId {
        self.insert_with_layout(name, value, Layout::Plain)
    }

    #[track_caller]
    pub(crate) fn insert_with_layout(
        &mut self,
        name: &str,
        value: Tensor,
        layout: Layout,
    ) -> ParamId {
        if self.by_name.contains_key(name) {
            panic!(
                "Params::insert: a parameter named {name:?} exists already at {}",
                Location::caller()
            );
        }
        let index = self.entries.len();
        let name: Arc<str> = name.into();
        self.by_name.insert(name.clone(), index);
        self.entries.push(Entry {
            name,
            value,
            trainable: true,
            layout,
        });
        self.id_at(index)
    }

    /// The id of the parameter at position `index` (which must be below `len()`).
    pub(crate) fn id_at(&self, index: usize) -> ParamId {
        ParamId {
            collection: self.collection,
            index,
        }
    }

    /// The position of `id`, after checking that it is one of this collection's.
    #[track_caller]
    fn slot(&self, id: ParamId) -> usize {
        check_collection("Params", self.collection, id)
    }

    /// The id of the parameter named `name`.
    pub fn id(&self, name: &str) -> Option<ParamId> {
        self.by_name.get(name).map(|&index| self.id_at(index))
    }

    #[cfg(feature = "safetensors")]
    pub(crate) fn layout(&self, id: ParamId) -> Layout {
        self.entries[self.slot(id)].layout
    }

    /// The parameter named `name`.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.id(name).map(|id| &self[id])
    }

    /// The name of parameter `id`.
    #[track_caller]
    pub fn name(&self, id: ParamId) -> &str {
        &self.entries[self.slot(id)].name
    }

    /// Parameter `id`, to change in place (an optimizer's update, a weight loaded by hand).
    #[track_caller]
    pub fn value_mut(&mut self, id: ParamId) -> &mut Tensor {
        let slot = self.slot(id);
        &mut self.entries[slot].value
    }

    /// Every parameter with its id and name, in insertion order. PyTorch: `named_parameters()`.
    ///
    /// ```
    /// use tapegrad::nn::{Linear, Params};
    /// use tapegrad::rand::{SeedableRng, rngs::StdRng};
    /// let mut params = Params::new();
    /// Linear::new(&mut params, "fc", 4, 2, &mut StdRng::seed_from_u64(0));
    /// let names: Vec<&str> = params.iter().map(|(_, name, _)| name).collect();
    /// assert_eq!(names, ["fc.weight", "fc.bias"]);
    /// assert_eq!((params.len(), params.num_elements()), (2, 4 * 2 + 2));
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (ParamId, &str, &Tensor)> {
        self.entries
            .iter()
            .enumerate()
            .map(|(index, entry)| (self.id_at(index), &*entry.name, &entry.value))
    }

    /// This collection's number, which its ids, bound variables and gradients carry.
    pub(crate) fn collection(&self) -> u64 {
        self.collection
    }

    /// The number of parameters (tensors, not elements).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of elements of all parameters together.
    pub fn num_elements(&self) -> usize {
        self.entries.iter().map(|entry| entry.value.len()).sum()
    }

    /// Holds parameter `id` fixed: it goes on the tape as a constant, gets no gradient, and
    /// optimizers leave it alone. PyTorch: `param.requires_grad_(False)`.
    ///
    /// ```
    /// use tapegrad::nn::Params;
    /// use tapegrad::{Tape, Tensor};
    /// let mut params = Params::new();
    /// let (w, b) = (params.insert("w", Tensor::scalar(2.0)), params.insert("b", Tensor::scalar(1.0)));
    /// params.freeze(b);
    /// let tape = Tape::new();
    /// let bound = params.on_tape(&tape);
    /// let loss = bound[w] * bound[b];
    /// let grads = bound.backward(loss);
    /// assert!(grads[w].is_some() && grads[b].is_none());
    /// ```
    #[track_caller]
    pub fn freeze(&mut self, id: ParamId) {
        let slot = self.slot(id);
        self.entries[slot].trainable = false;
    }

    /// Trains parameter `id` again after [`freeze`](Params::freeze).
    #[track_caller]
    pub fn unfreeze(&mut self, id: ParamId) {
        let slot = self.slot(id);
        self.entries[slot].trainable = true;
    }

    /// Whether parameter `id` is trained (not frozen).
    #[track_caller]
    pub fn is_trainable(&self, id: ParamId) -> bool {
        self.entries[self.slot(id)].trainable
    }

    /// Moves every parameter onto `tape`, named, as a variable (a constant if frozen), without a
    /// copy. They come back into this collection when the returned [`OnTape`] is consumed by
    /// [`backward`](OnTape::backward) or dropped; the tape is then spent, as after
    /// [`Tape::take`], until it is [`clear`](Tape::clear)ed. PyTorch has no such step: its
    /// parameters carry their gradients with them.
    ///
    /// ```
    /// use tapegrad::nn::Params;
    /// use tapegrad::{Tape, Tensor};
    /// let mut params = Params::new();
    /// let w = params.insert("w", Tensor::from_slice(&[3.0]));
    /// let mut tape = Tape::new();
    /// for _ in 0..2 {
    ///     tape.clear();
    ///     let bound = params.on_tape(&tape); // `params` is borrowed until `backward`
    ///     assert!(tape.to_string().contains("variable w"));
    ///     let loss = bound[w].square().sum();
    ///     let grads = bound.backward(loss);
    ///     params.value_mut(w).add_scaled(-0.25, grads[w].as_ref().unwrap());
    /// }
    /// assert_eq!(params[w].data(), &[0.75]); // 3 → 1.5 → 0.75
    /// ```
    #[track_caller]
    pub fn on_tape<'t, 'p>(&'p mut self, tape: &'t Tape) -> OnTape<'t, 'p> {
        // A loop, not a closure, so that each node records the caller's line.
        let mut vars = Vec::with_capacity(self.entries.len());
        for entry in &mut self.entries {
            let value = std::mem::take(&mut entry.value);
            vars.push(entry.record(tape, value));
        }
        OnTape {
            bound: Bound {
                collection: self.collection,
                vars,
            },
            params: self,
        }
    }

    /// Copies every parameter onto `tape`, named, as [`on_tape`](Params::on_tape) moves them
    /// (a variable, or a constant if frozen), while they stay here: for evaluation on a
    /// [`Tape::no_grad`], or to look at one pass's tape after its backward.
    ///
    /// ```
    /// use tapegrad::nn::Params;
    /// use tapegrad::{Tape, Tensor};
    /// let mut params = Params::new();
    /// let w = params.insert("w", Tensor::scalar(2.0));
    /// let tape = Tape::no_grad();
    /// let bound = params.copied_to(&tape);
    /// assert_eq!((bound[w] * 3.0).item(), 6.0);
    /// ```
    #[track_caller]
    pub fn copied_to<'t>(&self, tape: &'t Tape) -> Bound<'t> {
        let mut vars = Vec::with_capacity(self.entries.len());
        for entry in &self.entries {
            vars.push(entry.record(tape, entry.value.clone()));
        }
        Bound {
            collection: self.collection,
            vars,
        }
    }
}

impl std::fmt::Debug for Params {
    /// The names and shapes: `Params { fc.weight: [2, 3], fc.bias: [1, 3] }`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (_, name, value) in self.iter() {
            map.entry(&format_args!("{name}"), &value.shape());
        }
        map.finish()
    }
}

impl Index<ParamId> for Params {
    type Output = Tensor;
    #[track_caller]
    fn index(&self, id: ParamId) -> &Tensor {
        &self.entries[self.slot(id)].value
    }
}

/// Every parameter of a [`Params`] as a [`Var`] on one tape, indexed by the [`ParamId`]s of
/// that collection (another's panic, naming the caller's line): what a model's forward pass
/// reads its weights from.
pub struct Bound<'t> {
    collection: u64,
    vars: Vec<Var<'t>>,
}

impl<'t> Index<ParamId> for Bound<'t> {
    type Output = Var<'t>;
    #[track_caller]
    fn index(&self, id: ParamId) -> &Var<'t> {
        &self.vars[check_collection("Bound", self.collection, id)]
    }
}

impl<'t> Bound<'t> {
    /// The gradient of each parameter, moved out of `grads` (no copy); `None` for a frozen
    /// parameter or one the loss does not depend on.
    #[track_caller]
    pub fn gradients(&self, mut grads: Gradients) -> ParamGrads {
        ParamGrads {
            collection: Some(self.collection),
            by_param: self.vars.iter().map(|&var| grads.take(var)).collect(),
        }
    }
}

/// The parameters of a [`Params`] moved onto a tape by [`Params::on_tape`]: read them as a
/// [`Bound`]; when this is consumed or dropped they move back.
pub struct OnTape<'t, 'p> {
    bound: Bound<'t>,
    params: &'p mut Params,
}

impl<'t> OnTape<'t, '_> {
    /// Walks back from `loss` and returns each parameter's gradient, the parameters moving back
    /// into their collection: the end of a training step, before the optimizer's.
    #[track_caller]
    pub fn backward(self, loss: Var<'t>) -> ParamGrads {
        self.bound.gradients(loss.backward())
    }
}

impl<'t> Deref for OnTape<'t, '_> {
    type Target = Bound<'t>;
    fn deref(&self) -> &Bound<'t> {
        &self.bound
    }
}

impl Drop for OnTape<'_, '_> {
    fn drop(&mut self) {
        for (entry, &var) in self.params.entries.iter_mut().zip(&self.bound.vars) {
            entry.value = var.tape().take(var);
        }
    }
}

/// One gradient per parameter of a [`Params`], indexed by [`ParamId`]: what optimizers consume.
#[derive(Clone, Debug, Default)]
pub struct ParamGrads {
    /// The collection whose parameters these are; `None` for gradients made by hand.
    collection: Option<u64>,
    by_param: Vec<Option<Tensor>>,
}

impl Index<ParamId> for ParamGrads {
    type Output = Option<Tensor>;
    #[track_caller]
    fn index(&self, id: ParamId) -> &Option<Tensor> {
        let index = match self.collection {
            Some(collection) => check_collection("ParamGrads", collection, id),
            None => id.index,
        };
        &self.by_param[index]
    }
}

impl From<Vec<Option<Tensor>>> for ParamGrads {
    /// Gradients computed elsewhere (by hand, say), one per parameter in insertion order.
    fn from(by_param: Vec<Option<Tensor>>) -> ParamGrads {
        ParamGrads {
            collection: None,
            by_param,
        }
    }
}

impl ParamGrads {
    /// The number of gradients (one per parameter, `None` included): what an optimizer checks
    /// against the number of parameters.
    ///
    /// ```
    /// use tapegrad::nn::ParamGrads;
    /// use tapegrad::Tensor;
    /// let grads: ParamGrads = vec![Some(Tensor::scalar(1.0)), None].into();
    /// assert_eq!((grads.len(), grads.is_empty()), (2, false));
    /// ```
    pub fn len(&self) -> usize {
        self.by_param.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_param.is_empty()
    }

    /// The collection these gradients belong to, if they came from a backward pass.
    pub(crate) fn collection(&self) -> Option<u64> {
        self.collection
    }

    /// Each parameter's gradient (`None` where there is none), in the order of the parameters.
    pub fn iter(&self) -> impl Iterator<Item = Option<&Tensor>> {
        self.by_param.iter().map(Option::as_ref)
    }

    /// The Euclidean norm of all gradients together, as if they were one vector.
    ///
    /// ```
    /// use tapegrad::Tensor;
    /// use tapegrad::nn::ParamGrads;
    /// let grads: ParamGrads = vec![Some(Tensor::from_slice(&[3.0])), None, Some(Tensor::from_slice(&[4.0]))].into();
    /// assert_eq!(grads.global_norm(), 5.0);
    /// ```
    pub fn global_norm(&self) -> f64 {
        let squares = self.iter().flatten();
        squares
            .map(|g| g.data().iter().map(|x| x * x).sum::<f64>())
            .sum::<f64>()
            .sqrt()
    }

    /// Scales every gradient by `max_norm / (norm + 1e-6)` when their global norm exceeds
    /// `max_norm`, and returns the norm before clipping. PyTorch:
    /// `torch.nn.utils.clip_grad_norm_(parameters, max_norm)`, the same formula.
    ///
    /// ```
    /// use tapegrad::nn::Params;
    /// use tapegrad::{Tape, Tensor};
    /// let mut params = Params::new();
    /// let w = params.insert("w", Tensor::from_slice(&[3.0, 4.0]));
    /// let tape = Tape::new();
    /// let bound = params.on_tape(&tape);
    /// let loss = (bound[w] * tape.constant(Tensor::from_slice(&[3.0, 4.0]))).sum();
    /// let mut grads = bound.backward(loss); // [3, 4], norm 5
    /// assert_eq!(grads.clip_norm(1.0), 5.0);
    /// assert!((grads.global_norm() - 1.0).abs() < 1e-6);
    /// ```
    pub fn clip_norm(&mut self, max_norm: f64) -> f64 {
        let norm = self.global_norm();
        let factor = max_norm / (norm + 1e-6);
        if factor < 1.0 {
            for grad in self.by_param.iter_mut().flatten() {
                *grad *= factor;
            }
        }
        norm
    }
}
