//! The baselines: training steps written by hand, as a careful person would, with the
//! hand-derived backprop, buffers allocated once, and no allocation inside a step. The benches
//! time tapegrad against them; `tests/hand_written.rs` checks that both compute the same numbers,
//! so the comparison is between equals.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use tapegrad::Tensor;
use tapegrad::tutorial::TwoLayer;

/// The tutorial's moons network (D inputs, H tanh units, C softmax outputs), trained on the
/// summed cross-entropy plus L2 by plain gradient descent: one fused loop over the rows forward,
/// one backward. The matrices are tiny (200×2·2×3), so plain loops beat a packed GEMM here.
pub struct MoonsLoop {
    x: Vec<f64>,
    labels: Vec<usize>,
    dims: (usize, usize, usize, usize),
    w1: Vec<f64>,
    b1: Vec<f64>,
    w2: Vec<f64>,
    b2: Vec<f64>,
    a1: Vec<f64>,
    delta3: Vec<f64>,
    dw1: Vec<f64>,
    db1: Vec<f64>,
    dw2: Vec<f64>,
    db2: Vec<f64>,
}

impl MoonsLoop {
    pub fn new(x: &Tensor, labels: &[usize], model: &TwoLayer) -> MoonsLoop {
        let (n, d) = (x.shape()[0], x.shape()[1]);
        let (h, c) = (model.w2.shape()[0], model.w2.shape()[1]);
        MoonsLoop {
            x: x.data().to_vec(),
            labels: labels.to_vec(),
            dims: (n, d, h, c),
            w1: model.w1.data().to_vec(),
            b1: model.b1.data().to_vec(),
            w2: model.w2.data().to_vec(),
            b2: model.b2.data().to_vec(),
            a1: vec![0.0; n * h],
            delta3: vec![0.0; n * c],
            dw1: vec![0.0; d * h],
            db1: vec![0.0; h],
            dw2: vec![0.0; h * c],
            db2: vec![0.0; c],
        }
    }

    /// One pass: forward, the hand-derived backward, the update. Returns the summed cross-entropy.
    pub fn pass(&mut self, learning_rate: f64, reg: f64) -> f64 {
        let (n, d, h, c) = self.dims;
        let mut loss = 0.0;
        // Forward: a1 = tanh(x W1 + b1), δ3 = softmax(a1 W2 + b2) − onehot, row by row.
        for row in 0..n {
            let x = &self.x[row * d..(row + 1) * d];
            let a1 = &mut self.a1[row * h..(row + 1) * h];
            for (j, a) in a1.iter_mut().enumerate() {
                let z: f64 = self.b1[j]
                    + x.iter()
                        .enumerate()
                        .map(|(i, xi)| xi * self.w1[i * h + j])
                        .sum::<f64>();
                *a = z.tanh();
            }
            let delta3 = &mut self.delta3[row * c..(row + 1) * c];
            let mut max = f64::NEG_INFINITY;
            for (k, z) in delta3.iter_mut().enumerate() {
                *z = self.b2[k]
                    + a1.iter()
                        .enumerate()
                        .map(|(j, aj)| aj * self.w2[j * c + k])
                        .sum::<f64>();
                max = max.max(*z);
            }
            let label = self.labels[row];
            let shifted_label = delta3[label] - max;
            let mut total = 0.0;
            for z in delta3.iter_mut() {
                *z = (*z - max).exp();
                total += *z;
            }
            loss += total.ln() - shifted_label;
            for p in delta3.iter_mut() {
                *p /= total;
            }
            delta3[label] -= 1.0;
        }
        // Backward: dW2 = a1ᵀ δ3, db2 = Σ δ3, δ2 = δ3 W2ᵀ ⊙ (1 − a1²), dW1 = xᵀ δ2, db1 = Σ δ2.
        for buffer in [&mut self.dw1, &mut self.db1, &mut self.dw2, &mut self.db2] {
            buffer.fill(0.0);
        }
        for row in 0..n {
            let x = &self.x[row * d..(row + 1) * d];
            let a1 = &self.a1[row * h..(row + 1) * h];
            let delta3 = &self.delta3[row * c..(row + 1) * c];
            for (k, dk) in delta3.iter().enumerate() {
                self.db2[k] += dk;
            }
            for (j, aj) in a1.iter().enumerate() {
                let w2_row = &self.w2[j * c..(j + 1) * c];
                let mut back = 0.0;
                for k in 0..c {
                    self.dw2[j * c + k] += aj * delta3[k];
                    back += delta3[k] * w2_row[k];
                }
                let delta2 = back * (1.0 - aj * aj);
                self.db1[j] += delta2;
                for (i, xi) in x.iter().enumerate() {
                    self.dw1[i * h + j] += xi * delta2;
                }
            }
        }
        // dW += reg W, then W -= lr dW.
        for (w, dw) in [(&mut self.w1, &self.dw1), (&mut self.w2, &self.dw2)] {
            for (w, dw) in w.iter_mut().zip(dw) {
                *w -= learning_rate * (dw + reg * *w);
            }
        }
        for (b, db) in [(&mut self.b1, &self.db1), (&mut self.b2, &self.db2)] {
            for (b, db) in b.iter_mut().zip(db) {
                *b -= learning_rate * db;
            }
        }
        loss
    }

    /// The current parameters, as tapegrad tensors (read by `tests/hand_written.rs`).
    #[allow(dead_code)]
    pub fn model(&self) -> TwoLayer {
        let (_, d, h, c) = self.dims;
        let tensor = |data: &[f64], shape: &[usize]| Tensor::new(data.to_vec(), shape).unwrap();
        TwoLayer {
            w1: tensor(&self.w1, &[d, h]),
            b1: tensor(&self.b1, &[1, h]),
            w2: tensor(&self.w2, &[h, c]),
            b2: tensor(&self.b2, &[1, c]),
        }
    }
}

/// A tanh MLP with one hidden layer trained by SGD on the mean cross-entropy, its matrix
/// products through matrixmultiply's GEMM (as tapegrad's are), buffers allocated once.
pub struct MlpStep {
    x: Array2<f64>,
    labels: Vec<usize>,
    w1: Array2<f64>,
    b1: Array2<f64>,
    w2: Array2<f64>,
    b2: Array2<f64>,
    a1: Array2<f64>,
    delta3: Array2<f64>,
    delta2: Array2<f64>,
    dw1: Array2<f64>,
    db1: Array1<f64>,
    dw2: Array2<f64>,
    db2: Array1<f64>,
}

/// Whether a product's result replaces the output's values or is added to them.
#[derive(Clone, Copy)]
enum Accum {
    Replace,
    Add,
}

/// `c = op(a) · op(b)`, or `c += …` with `Accum::Add`, by matrixmultiply's GEMM (as tapegrad's
/// products are), `op` transposing where asked.
fn gemm(
    a: &Array2<f64>,
    transpose_a: bool,
    b: &Array2<f64>,
    transpose_b: bool,
    accum: Accum,
    c: &mut Array2<f64>,
) {
    fn view(m: &Array2<f64>, transpose: bool) -> ArrayView2<'_, f64> {
        if transpose { m.t() } else { m.view() }
    }
    let beta = match accum {
        Accum::Replace => 0.0,
        Accum::Add => 1.0,
    };
    general_mat_mul(1.0, &view(a, transpose_a), &view(b, transpose_b), beta, c);
}

fn array(tensor: &Tensor) -> Array2<f64> {
    ArrayView2::from_shape((tensor.shape()[0], tensor.shape()[1]), tensor.data())
        .unwrap()
        .to_owned()
}

impl MlpStep {
    pub fn new(x: &Tensor, labels: &[usize], model: &TwoLayer) -> MlpStep {
        let (batch, hidden, classes) = (x.shape()[0], model.w1.shape()[1], model.w2.shape()[1]);
        MlpStep {
            x: array(x),
            labels: labels.to_vec(),
            w1: array(&model.w1),
            b1: array(&model.b1),
            w2: array(&model.w2),
            b2: array(&model.b2),
            a1: Array2::zeros((batch, hidden)),
            delta3: Array2::zeros((batch, classes)),
            delta2: Array2::zeros((batch, hidden)),
            dw1: Array2::zeros((model.w1.shape()[0], hidden)),
            db1: Array1::zeros(hidden),
            dw2: Array2::zeros((hidden, classes)),
            db2: Array1::zeros(classes),
        }
    }

    /// One SGD step; returns the mean cross-entropy.
    pub fn step(&mut self, learning_rate: f64) -> f64 {
        let batch = self.x.nrows() as f64;
        // a1 = tanh(x W1 + b1)
        let shape = self.a1.dim();
        self.a1.assign(&self.b1.broadcast(shape).unwrap());
        gemm(&self.x, false, &self.w1, false, Accum::Add, &mut self.a1);
        self.a1.mapv_inplace(f64::tanh);
        // δ3 = (softmax(a1 W2 + b2) − onehot) / B
        let shape = self.delta3.dim();
        self.delta3.assign(&self.b2.broadcast(shape).unwrap());
        gemm(
            &self.a1,
            false,
            &self.w2,
            false,
            Accum::Add,
            &mut self.delta3,
        );
        let mut loss = 0.0;
        for (mut row, &label) in self.delta3.axis_iter_mut(Axis(0)).zip(&self.labels) {
            let max = row.fold(f64::NEG_INFINITY, |m, &z| m.max(z));
            let shifted_label = row[label] - max;
            row.mapv_inplace(|z| (z - max).exp());
            let total = row.sum();
            loss += total.ln() - shifted_label;
            row.mapv_inplace(|p| p / total / batch);
            row[label] -= 1.0 / batch;
        }
        // dW2 = a1ᵀ δ3, δ2 = δ3 W2ᵀ ⊙ (1 − a1²), dW1 = xᵀ δ2; biases: column sums.
        gemm(
            &self.a1,
            true,
            &self.delta3,
            false,
            Accum::Replace,
            &mut self.dw2,
        );
        gemm(
            &self.delta3,
            false,
            &self.w2,
            true,
            Accum::Replace,
            &mut self.delta2,
        );
        self.delta2
            .zip_mut_with(&self.a1, |d, &a| *d *= 1.0 - a * a);
        gemm(
            &self.x,
            true,
            &self.delta2,
            false,
            Accum::Replace,
            &mut self.dw1,
        );
        for (db, delta) in [(&mut self.db1, &self.delta2), (&mut self.db2, &self.delta3)] {
            db.fill(0.0);
            for row in delta.rows() {
                *db += &row;
            }
        }
        self.b1.row_mut(0).scaled_add(-learning_rate, &self.db1);
        self.b2.row_mut(0).scaled_add(-learning_rate, &self.db2);
        self.w1.scaled_add(-learning_rate, &self.dw1);
        self.w2.scaled_add(-learning_rate, &self.dw2);
        loss / batch
    }

    /// The current parameters, as tapegrad tensors (read by `tests/hand_written.rs`).
    #[allow(dead_code)]
    pub fn model(&self) -> TwoLayer {
        let tensor = |a: &Array2<f64>| {
            Tensor::new(a.iter().copied().collect(), &[a.nrows(), a.ncols()]).unwrap()
        };
        TwoLayer {
            w1: tensor(&self.w1),
            b1: tensor(&self.b1),
            w2: tensor(&self.w2),
            b2: tensor(&self.b2),
        }
    }
}
