//! Saving and loading [`Params`] in the safetensors format (what PyTorch, NumPy and Hugging Face
//! users read and write), as f64 tensors under the parameters' names.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::Params;
use crate::Tensor;

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
    /// The parameters as the bytes of a safetensors file, f64, under their names.
    ///
    /// ```
    /// use tapegrad::nn::Params;
    /// use tapegrad::Tensor;
    /// let mut params = Params::new();
    /// params.insert("w", Tensor::from_rows(&[[1.0, 2.0]]));
    /// let bytes = params.to_safetensors();
    /// let loaded = Params::from_safetensors(&bytes).unwrap();
    /// assert_eq!(loaded.get("w"), params.get("w"));
    /// ```
    pub fn to_safetensors(&self) -> Vec<u8> {
        let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = self
            .iter()
            .map(|(_, name, value)| {
                let data = value.data().iter().flat_map(|x| x.to_le_bytes()).collect();
                (name.to_string(), data, value.shape().to_vec())
            })
            .collect();
        let views = bytes.iter().map(|(name, data, shape)| {
            let view = TensorView::new(Dtype::F64, shape.clone(), data).expect("sizes agree");
            (name.as_str(), view)
        });
        safetensors::serialize(views, None).expect("f64 tensors with unique names serialise")
    }

    /// Every tensor of a safetensors file's bytes as a parameter (they must all be f64), in
    /// the file's order (writers sort them by name, so a saved collection comes back sorted;
    /// [`load_into`](Params::load_into) matches by name and keeps the model's order).
    pub fn from_safetensors(bytes: &[u8]) -> Result<Params, WeightsError> {
        read(bytes, Path::new("<bytes>"))
    }

    /// Writes the parameters to a safetensors file (PyTorch: `safetensors.torch.save_file`).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), WeightsError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_safetensors()).map_err(|source| WeightsError::Io {
            path: path.into(),
            source,
        })
    }

    /// Reads every tensor of a safetensors file as a parameter (PyTorch: `load_file`).
    pub fn load(path: impl AsRef<Path>) -> Result<Params, WeightsError> {
        let path = path.as_ref();
        read(&read_capped(path)?, path)
    }

    /// Replaces this model's parameters with the file's, which must have exactly these names
    /// and shapes; on an error nothing is changed. PyTorch: `model.load_state_dict(load_file(path))`.
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

    /// Takes every parameter's value from `loaded`, which must have exactly these names and shapes.
    pub fn replace_from(&mut self, loaded: Params) -> Result<(), WeightsError> {
        if let Some((_, name, _)) = loaded.iter().find(|(_, name, _)| self.id(name).is_none()) {
            return Err(WeightsError::Unexpected { name: name.into() });
        }
        for (_, name, value) in self.iter() {
            let Some(found) = loaded.get(name) else {
                return Err(WeightsError::Missing { name: name.into() });
            };
            if found.shape() != value.shape() {
                return Err(WeightsError::Shape {
                    name: name.into(),
                    expected: value.shape().to_vec(),
                    found: found.shape().to_vec(),
                });
            }
        }
        for (name, value) in loaded.into_named() {
            let id = self.id(&name).expect("checked above");
            *self.value_mut(id) = value;
        }
        Ok(())
    }
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
    let file = SafeTensors::deserialize(bytes).map_err(|error| WeightsError::Format {
        path: path.into(),
        message: error.to_string(),
    })?;
    // The header's order is not the file's order: sort by where each tensor's data starts.
    let mut tensors: Vec<(&str, TensorView<'_>)> = file.iter().collect();
    tensors.sort_by_key(|(_, view)| view.data().as_ptr() as usize);
    let mut params = Params::new();
    for (name, view) in tensors {
        if view.dtype() != Dtype::F64 {
            return Err(WeightsError::Dtype {
                name: name.into(),
                dtype: format!("{:?}", view.dtype()),
            });
        }
        let data = view
            .data()
            .chunks_exact(8)
            .map(|bytes| f64::from_le_bytes(bytes.try_into().expect("8 bytes")))
            .collect();
        // The reader checked the sizes, but a shape with a zero length may still overflow ours.
        let tensor = Tensor::new(data, view.shape()).map_err(|error| WeightsError::Format {
            path: path.into(),
            message: format!("tensor '{name}': {error}"),
        })?;
        params.insert(name, tensor);
    }
    Ok(params)
}
