//! Saving and loading [`Params`] in the safetensors format (what PyTorch, NumPy and Hugging Face
//! users read and write), as f64 tensors under the parameters' names, in PyTorch's layout.
//!
//! The header's `__metadata__` holds the layout version (`tapegrad.layout`, [`LAYOUT_VERSION`])
//! and the parameters' order (`tapegrad.order`, a JSON list of names), which the writer's sort
//! by name would otherwise lose.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::params::{Layout, Source};
use super::{ParamId, Params};
use crate::Tensor;

/// The layout of the files [`Params::save`] writes: 2 holds a [`Linear`](crate::nn::Linear)
/// layer as `torch.nn.Linear` does (weight `[out, in]`, bias `[out]`). Files without a version
/// are PyTorch's or tapegrad's before version 2 (weight `[in, out]`, bias `[1, out]`);
/// [`Params::load_into`] tells them apart by their biases' shapes.
///
/// ```
/// use tapegrad::nn::{Linear, Params, LAYOUT_VERSION};
/// use tapegrad::rand::{SeedableRng, rngs::StdRng};
/// let mut params = Params::new();
/// Linear::new(&mut params, "fc", 4, 2, &mut StdRng::seed_from_u64(0));
/// let file = Params::from_safetensors(&params.to_safetensors()).unwrap();
/// assert_eq!(file.get("fc.weight").unwrap().shape(), &[2, 4]); // PyTorch's [out, in]
/// assert_eq!(params.get("fc.weight").unwrap().shape(), &[4, 2]); // x W in memory
/// assert_eq!(LAYOUT_VERSION, 2);
/// ```
pub const LAYOUT_VERSION: u32 = 2;

/// The metadata key of the layout version.
const LAYOUT_KEY: &str = "tapegrad.layout";
/// The metadata key of the parameters' order.
const ORDER_KEY: &str = "tapegrad.order";

/// The largest weight file read: 4 GiB, far above any model this crate trains, and a bound on
/// what a wrong path (a device, a huge file) can make it allocate.
pub const MAX_FILE_BYTES: u64 = 4 << 30;

/// Why weights could not be saved or loaded (a safetensors file, or its fit to a model).
///
/// ```
/// use tapegrad::nn::{Params, WeightsError};
/// let error = Params::from_safetensors(b"not weights").unwrap_err();
/// assert!(matches!(error, WeightsError::Format { .. }), "{error}");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum WeightsError {
    /// The file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The bytes are not a safetensors file (truncated, a bad header, another format).
    Format {
        /// The file, or `<bytes>`.
        path: PathBuf,
        /// What the safetensors reader said.
        message: String,
    },
    /// A tensor is not f64.
    Dtype {
        /// The tensor's name.
        name: String,
        /// Its element type in the file.
        dtype: String,
    },
    /// The model has a parameter the file lacks.
    Missing {
        /// The parameter's name.
        name: String,
    },
    /// The file has a tensor the model lacks.
    Unexpected {
        /// The tensor's name.
        name: String,
    },
    /// The file's layout version is not one this tapegrad reads, or a file without a version
    /// mixes tapegrad's old layout with PyTorch's.
    Layout {
        /// What is wrong.
        message: String,
    },
    /// A tensor's shape differs from the parameter's.
    Shape {
        /// The parameter's name.
        name: String,
        /// The parameter's shape.
        expected: Vec<usize>,
        /// The file's.
        found: Vec<usize>,
    },
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightsError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            WeightsError::TooLarge { path } => write!(
                f,
                "{}: larger than {} GiB, not a weight file of this model",
                path.display(),
                MAX_FILE_BYTES >> 30
            ),
            WeightsError::Format { path, message } => {
                write!(f, "{}: not a safetensors file: {message}", path.display())
            }
            WeightsError::Dtype { name, dtype } => {
                write!(f, "tensor {name} is {dtype}, not F64")
            }
            WeightsError::Missing { name } => write!(f, "the file has no tensor {name}"),
            WeightsError::Unexpected { name } => {
                write!(
                    f,
                    "the file's tensor {name} is not a parameter of the model"
                )
            }
            WeightsError::Layout { message } => write!(f, "{message}"),
            WeightsError::Shape {
                name,
                expected,
                found,
            } => write!(
                f,
                "tensor {name} has shape {found:?}, the model's {expected:?}"
            ),
        }
    }
}

impl std::error::Error for WeightsError {}

impl Params {
    /// The parameters as the bytes of a safetensors file, f64, under their names, in PyTorch's
    /// layout ([`LAYOUT_VERSION`]): a [`Linear`](crate::nn::Linear) weight `[out, in]` and
    /// bias `[out]`, so that `torch.nn.Linear` loads them with `load_state_dict(...,
    /// strict=True)`; other tensors as they are. The order is kept in the header's metadata.
    ///
    /// ```
    /// use tapegrad::nn::Params;
    /// use tapegrad::Tensor;
    /// let mut params = Params::new();
    /// params.insert("w", Tensor::from_rows(&[[1.0, 2.0]]));
    /// params.insert("a", Tensor::scalar(3.0));
    /// let bytes = params.to_safetensors();
    /// let loaded = Params::from_safetensors(&bytes).unwrap();
    /// assert_eq!(loaded.get("w"), params.get("w"));
    /// let names: Vec<&str> = loaded.iter().map(|(_, name, _)| name).collect();
    /// assert_eq!(names, ["w", "a"]); // the insertion order, not the file's sorted one
    /// ```
    pub fn to_safetensors(&self) -> Vec<u8> {
        let bytes: Vec<(&str, Vec<u8>, Vec<usize>)> = self
            .iter()
            .map(|(id, name, value)| {
                let stored = to_stored(self.layout(id), value);
                let data = stored.data().iter().flat_map(|x| x.to_le_bytes()).collect();
                (name, data, stored.shape().to_vec())
            })
            .collect();
        let views = bytes.iter().map(|(name, data, shape)| {
            let view = TensorView::new(Dtype::F64, shape.clone(), data).expect("sizes agree");
            (*name, view)
        });
        let order: Vec<&str> = bytes.iter().map(|(name, _, _)| *name).collect();
        let mut metadata = HashMap::from([
            ("format".to_string(), "pt".to_string()),
            (
                ORDER_KEY.to_string(),
                serde_json::to_string(&order).expect("a list of strings serialises"),
            ),
        ]);
        // Tensors read from a file without a version are written back without one: their
        // layout is not known.
        if self.source == Source::Versioned {
            metadata.insert(LAYOUT_KEY.to_string(), LAYOUT_VERSION.to_string());
        }
        safetensors::serialize(views, Some(metadata))
            .expect("f64 tensors with unique names serialise")
    }

    /// Every tensor of a safetensors file's bytes as a parameter (they must all be f64), as the
    /// file stores them (a [`Linear`](crate::nn::Linear) weight `[out, in]`), in the order they
    /// were saved (files from elsewhere: their data's order). To put weights into a model, use
    /// [`load_into`](Params::load_into): ids from the model do not index this new collection.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Params, WeightsError> {
        read(bytes, Path::new("<bytes>"))
    }

    /// Writes the parameters to a safetensors file (PyTorch: `safetensors.torch.save_file`), in
    /// the layout of [`to_safetensors`](Params::to_safetensors). The bytes go to a temporary
    /// file in the same folder, renamed over `path` once complete, so that a save that fails
    /// (a full disk) leaves the old file as it was.
    ///
    /// ```
    /// use tapegrad::nn::Params;
    /// use tapegrad::Tensor;
    /// let mut params = Params::new();
    /// params.insert("w", Tensor::from_slice(&[1.0, 2.0]));
    /// let path = std::env::temp_dir().join("tapegrad_doc_save.safetensors");
    /// params.save(&path).unwrap();
    /// assert_eq!(Params::load(&path).unwrap().get("w"), params.get("w"));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), WeightsError> {
        let path = path.as_ref();
        write_atomically(path, &self.to_safetensors()).map_err(|source| WeightsError::Io {
            path: path.into(),
            source,
        })
    }

    /// Reads every tensor of a safetensors file as a parameter, as
    /// [`from_safetensors`](Params::from_safetensors) does (PyTorch: `load_file`). A new
    /// collection: to load a model's weights, use [`load_into`](Params::load_into).
    pub fn load(path: impl AsRef<Path>) -> Result<Params, WeightsError> {
        let path = path.as_ref();
        read(&read_capped(path)?, path)
    }

    /// Replaces this model's parameters with the file's, which must have exactly these names
    /// and shapes; on an error nothing is changed. PyTorch: `model.load_state_dict(load_file(path))`.
    ///
    /// The file's layout is PyTorch's (a [`Linear`](crate::nn::Linear) weight `[out, in]`,
    /// turned into `[in, out]` here); a file without a layout version whose `Linear` biases are
    /// `[1, out]` was written by tapegrad before version 2, and is read in that layout (an
    /// [`Mlp`](crate::nn::Mlp)'s layers renumbered from `mlp.0`, `mlp.1`, … to today's names).
    ///
    /// ```
    /// use tapegrad::nn::Params;
    /// use tapegrad::Tensor;
    /// let mut saved = Params::new();
    /// saved.insert("w", Tensor::from_slice(&[1.0, 2.0]));
    /// let path = std::env::temp_dir().join("tapegrad_doc_load_into.safetensors");
    /// saved.save(&path).unwrap();
    ///
    /// let mut model = Params::new();
    /// model.insert("w", Tensor::zeros(&[2]));
    /// model.load_into(&path).unwrap();
    /// assert_eq!(model.get("w").unwrap().data(), &[1.0, 2.0]);
    ///
    /// let mut other = Params::new();
    /// other.insert("w", Tensor::zeros(&[3]));
    /// let error = other.load_into(&path).unwrap_err();
    /// assert_eq!(error.to_string(), "tensor w has shape [2], the model's [3]");
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn load_into(&mut self, path: impl AsRef<Path>) -> Result<(), WeightsError> {
        let loaded = Params::load(path)?;
        self.replace_from(loaded)
    }

    /// Takes every parameter's value from `loaded` (read from a file, or another model's),
    /// which must have exactly these names and shapes, in the layout of
    /// [`load_into`](Params::load_into); on an error nothing is changed.
    ///
    /// ```
    /// use tapegrad::nn::{Linear, Params};
    /// use tapegrad::rand::{SeedableRng, rngs::StdRng};
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let (mut trained, mut fresh) = (Params::new(), Params::new());
    /// Linear::new(&mut trained, "fc", 3, 2, &mut rng);
    /// Linear::new(&mut fresh, "fc", 3, 2, &mut rng);
    /// fresh.replace_from(Params::from_safetensors(&trained.to_safetensors()).unwrap()).unwrap();
    /// assert_eq!(fresh.get("fc.weight"), trained.get("fc.weight"));
    /// ```
    pub fn replace_from(&mut self, loaded: Params) -> Result<(), WeightsError> {
        let loaded = self.renumber_old_mlp(loaded);
        if let Some((_, name, _)) = loaded.iter().find(|(_, name, _)| self.id(name).is_none()) {
            return Err(WeightsError::Unexpected { name: name.into() });
        }
        let old_layout = loaded.source == Source::Unversioned && self.holds_old_layout(&loaded)?;
        // The layout each loaded tensor is in, and the one this collection holds it in.
        let layouts = |name: &str| {
            let here = self.layout(self.id(name).expect("checked above"));
            let there = loaded.layout(loaded.id(name).expect("checked above"));
            (if old_layout { here } else { there }, here)
        };
        for (_, name, value) in self.iter() {
            let Some(found) = loaded.get(name) else {
                return Err(WeightsError::Missing { name: name.into() });
            };
            let (there, here) = layouts(name);
            let expected = memory_shape(there, &stored_shape(here, value.shape()));
            if found.shape() != expected {
                return Err(WeightsError::Shape {
                    name: name.into(),
                    expected,
                    found: found.shape().to_vec(),
                });
            }
        }
        let converted: Vec<(ParamId, Tensor)> = loaded
            .iter()
            .map(|(_, name, value)| {
                let (there, here) = layouts(name);
                let value = if there == here {
                    value.clone()
                } else {
                    from_stored(here, &to_stored(there, value))
                };
                (self.id(name).expect("checked above"), value)
            })
            .collect();
        for (id, value) in converted {
            *self.value_mut(id) = value;
        }
        Ok(())
    }

    /// `loaded` with an old file's `Mlp` layers renumbered as they are named now: tapegrad before
    /// layout version 2 named them `NAME.0`, `NAME.1`, …, now `NAME.0`, `NAME.2`, … as PyTorch's
    /// `Sequential`. Only a file without a version, with `[1, out]` biases (the old layout), all
    /// of whose names fit this model once renumbered; any other comes back as it was.
    fn renumber_old_mlp(&self, loaded: Params) -> Params {
        let fits = loaded.iter().all(|(_, name, _)| self.id(name).is_some());
        let old = loaded
            .iter()
            .any(|(_, name, value)| name.ends_with(".bias") && matches!(value.shape(), [1, _]));
        if fits || !old || loaded.source != Source::Unversioned {
            return loaded;
        }
        let renumbered = |name: &str| -> Option<String> {
            let (rest, kind) = name.rsplit_once('.')?;
            let (model, layer) = rest.rsplit_once('.')?;
            let layer: usize = layer.parse().ok()?;
            Some(format!("{model}.{}.{kind}", layer.checked_mul(2)?))
        };
        let mut seen = std::collections::HashSet::new();
        let names: Option<Vec<String>> = loaded
            .iter()
            .map(|(_, name, _)| {
                renumbered(name).filter(|new| self.id(new).is_some() && seen.insert(new.clone()))
            })
            .collect();
        let Some(names) = names else {
            return loaded;
        };
        let mut renamed = Params::new();
        renamed.source = Source::Unversioned;
        for (name, (_, _, value)) in names.iter().zip(loaded.iter()) {
            renamed.insert(name, value.clone());
        }
        renamed
    }

    /// Whether `loaded`, from a file without a version, holds this model's `Linear` layers in
    /// tapegrad's layout before version 2 (bias `[1, out]`) rather than PyTorch's (`[out]`).
    fn holds_old_layout(&self, loaded: &Params) -> Result<bool, WeightsError> {
        let (mut old, mut torch) = (None, None);
        for (id, name, _) in self.iter() {
            if self.layout(id) != Layout::LinearBias {
                continue;
            }
            match loaded.get(name).map(Tensor::shape) {
                Some([1, _]) => old = old.or(Some(name)),
                Some([_]) => torch = torch.or(Some(name)),
                _ => {}
            }
        }
        match (old, torch) {
            (Some(old), Some(torch)) => Err(WeightsError::Layout {
                message: format!(
                    "the file has no layout version and mixes tapegrad's old layout \
                     ({old} is [1, out]) with PyTorch's ({torch} is [out])"
                ),
            }),
            (old, _) => Ok(old.is_some()),
        }
    }
}

/// `value` as files hold it: PyTorch's layout.
fn to_stored(layout: Layout, value: &Tensor) -> Cow<'_, Tensor> {
    match layout {
        Layout::Plain => Cow::Borrowed(value),
        Layout::LinearWeight => Cow::Owned(value.transpose()),
        Layout::LinearBias => Cow::Owned(value.reshape(&stored_shape(layout, value.shape()))),
    }
}

/// A tensor as files hold it, in the layout `layout` holds it in memory.
fn from_stored(layout: Layout, value: &Tensor) -> Tensor {
    match layout {
        Layout::Plain => value.clone(),
        Layout::LinearWeight => value.transpose(),
        Layout::LinearBias => value.reshape(&memory_shape(layout, value.shape())),
    }
}

/// The shape files hold a tensor of `shape` in, held in memory in `layout`.
fn stored_shape(layout: Layout, shape: &[usize]) -> Vec<usize> {
    match (layout, shape) {
        (Layout::LinearWeight, _) => shape.iter().rev().copied().collect(),
        (Layout::LinearBias, [1, out]) => vec![*out],
        _ => shape.to_vec(),
    }
}

/// The shape memory holds a tensor in, in `layout`, that files hold in `shape`.
fn memory_shape(layout: Layout, shape: &[usize]) -> Vec<usize> {
    match (layout, shape) {
        (Layout::LinearWeight, _) => shape.iter().rev().copied().collect(),
        (Layout::LinearBias, [out]) => vec![1, *out],
        _ => shape.to_vec(),
    }
}

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`: the rename
/// replaces the old file whole, so a write that fails midway leaves it untouched.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let Some(file_name) = path.file_name() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file name",
        ));
    };
    let temporary = path.with_file_name(format!(
        ".{}.{}-{}.partial",
        file_name.to_string_lossy(),
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::File::create(&temporary)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// The file's bytes, refusing more than [`MAX_FILE_BYTES`] before allocating them.
fn read_capped(path: &Path) -> Result<Vec<u8>, WeightsError> {
    let io = |source| WeightsError::Io {
        path: path.into(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(WeightsError::TooLarge { path: path.into() });
    }
    Ok(bytes)
}

fn read(bytes: &[u8], path: &Path) -> Result<Params, WeightsError> {
    let format = |message: String| WeightsError::Format {
        path: path.into(),
        message,
    };
    let (header_len, header) =
        SafeTensors::read_metadata(bytes).map_err(|error| format(error.to_string()))?;
    // read_metadata checked that the header and every tensor's offsets lie within the bytes.
    let data = &bytes[8 + header_len..];
    let extra = header.metadata().as_ref();
    let source = match extra.and_then(|metadata| metadata.get(LAYOUT_KEY)) {
        None => Source::Unversioned,
        Some(version) if *version == LAYOUT_VERSION.to_string() => Source::Versioned,
        Some(version) => {
            return Err(WeightsError::Layout {
                message: format!(
                    "{}: layout version {version:?}, and this tapegrad reads version {LAYOUT_VERSION}",
                    path.display()
                ),
            });
        }
    };
    let tensors = header.tensors();
    let names: Vec<&str> = match extra.and_then(|metadata| metadata.get(ORDER_KEY)) {
        Some(order) => {
            let names: Vec<&str> = serde_json::from_str(order)
                .map_err(|error| format(format!("{ORDER_KEY} is not a list of names: {error}")))?;
            if names.len() != tensors.len() {
                return Err(format(format!(
                    "{ORDER_KEY} lists {} names for {} tensors",
                    names.len(),
                    tensors.len()
                )));
            }
            names
        }
        None => {
            // Files from elsewhere: their data's order, ties (empty tensors) by name.
            let mut names: Vec<(&str, (usize, usize))> = tensors
                .iter()
                .map(|(name, info)| (name.as_str(), info.data_offsets))
                .collect();
            names.sort_by_key(|&(name, offsets)| (offsets, name));
            names.into_iter().map(|(name, _)| name).collect()
        }
    };
    let mut params = Params::new();
    params.source = source;
    for name in names {
        let Some(info) = tensors.get(name) else {
            return Err(format(format!(
                "{ORDER_KEY} names {name:?}, which is not a tensor"
            )));
        };
        if params.id(name).is_some() {
            return Err(format(format!("{ORDER_KEY} names {name:?} twice")));
        }
        if info.dtype != Dtype::F64 {
            return Err(WeightsError::Dtype {
                name: name.into(),
                dtype: format!("{:?}", info.dtype),
            });
        }
        let (start, end) = info.data_offsets;
        let values = data[start..end]
            .chunks_exact(8)
            .map(|bytes| f64::from_le_bytes(bytes.try_into().expect("8 bytes")))
            .collect();
        // The reader checked the sizes, but a shape with a zero length may still overflow ours.
        let tensor = Tensor::new(values, &info.shape)
            .map_err(|error| format(format!("tensor '{name}': {error}")))?;
        params.insert(name, tensor);
    }
    Ok(params)
}
