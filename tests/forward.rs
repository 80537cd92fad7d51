//! Forward values of every op on small tensors, against numbers worked out by hand (or written
//! with the `f64` functions they are defined by), through the tape as a user would call them.

use std::f64::consts::{E, LN_2};

use tapegrad::{Reduction, Tape, Tensor};

/// Asserts that `actual` has `shape` and that each element is within 1e-12 (relative to the
/// expected value where that exceeds 1) of `expected`.
#[track_caller]
fn assert_values(actual: &Tensor, shape: &[usize], expected: &[f64]) {
    assert_eq!(actual.shape(), shape, "shape of {actual:?}");
    assert_eq!(actual.len(), expected.len(), "length of {actual:?}");
    for (k, (&a, &e)) in actual.data().iter().zip(expected).enumerate() {
        let tolerance = 1e-12 * e.abs().max(1.0);
        assert!(
            (a - e).abs() <= tolerance,
            "element {k}: got {a}, expected {e} (all: {actual:?}, expected {expected:?})"
        );
    }
}

fn m23() -> Tensor {
    Tensor::from_rows(&[[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])
}

#[test]
fn add_with_and_without_broadcasting() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]));
    let same = tape.var(Tensor::from_rows(&[[0.5, 0.25], [-1.0, -2.0]]));
    assert_values(&(x + same).value(), &[2, 2], &[1.5, 2.25, 2.0, 2.0]);
    // [2, 2] + [2]: the vector is added to every row.
    let row = tape.var(Tensor::from_slice(&[10.0, 20.0]));
    assert_values(&(x + row).value(), &[2, 2], &[11.0, 22.0, 13.0, 24.0]);
    // [2, 2] + [1, 2]
    let row2 = tape.var(Tensor::from_rows(&[[10.0, 20.0]]));
    assert_values(&(x + row2).value(), &[2, 2], &[11.0, 22.0, 13.0, 24.0]);
    // [3] + [2, 3]: the small operand on the left.
    let small = tape.var(Tensor::from_slice(&[1.0, 2.0, 3.0]));
    let big = tape.var(m23());
    assert_values(
        &(small + big).value(),
        &[2, 3],
        &[11.0, 22.0, 33.0, 41.0, 52.0, 63.0],
    );
    // [2, 1] + [1, 3]: an outer sum.
    let column = tape.var(Tensor::from_rows(&[[1.0], [2.0]]));
    let row3 = tape.var(Tensor::from_rows(&[[10.0, 20.0, 30.0]]));
    assert_values(
        &(column + row3).value(),
        &[2, 3],
        &[11.0, 21.0, 31.0, 12.0, 22.0, 32.0],
    );
    assert_values(
        &(row3 + column).value(),
        &[2, 3],
        &[11.0, 21.0, 31.0, 12.0, 22.0, 32.0],
    );
    // A scalar on either side.
    let s = tape.var(Tensor::scalar(0.5));
    assert_values(
        &(s + big).value(),
        &[2, 3],
        &[10.5, 20.5, 30.5, 40.5, 50.5, 60.5],
    );
    assert_values(
        &(big + s).value(),
        &[2, 3],
        &[10.5, 20.5, 30.5, 40.5, 50.5, 60.5],
    );
    assert_values(&(s + s).value(), &[], &[1.0]);
    // [1, 1] + [3] grows to [1, 3]; [2, 1, 3] + [4, 1] to [2, 4, 3].
    let one = tape.var(Tensor::new(vec![5.0], &[1, 1]).unwrap());
    assert_values(&(one + small).value(), &[1, 3], &[6.0, 7.0, 8.0]);
    let a = tape.var(Tensor::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 1, 3]).unwrap());
    let b = tape.var(Tensor::new(vec![0.0, 10.0, 20.0, 30.0], &[4, 1]).unwrap());
    #[rustfmt::skip]
    let expected = [
        1.0, 2.0, 3.0, 11.0, 12.0, 13.0, 21.0, 22.0, 23.0, 31.0, 32.0, 33.0,
        4.0, 5.0, 6.0, 14.0, 15.0, 16.0, 24.0, 25.0, 26.0, 34.0, 35.0, 36.0,
    ];
    assert_values(&(a + b).value(), &[2, 4, 3], &expected);
}

#[test]
fn sub_is_not_symmetric() {
    let tape = Tape::new();
    let small = tape.var(Tensor::from_slice(&[1.0, 2.0, 3.0]));
    let big = tape.var(m23());
    assert_values(
        &(small - big).value(),
        &[2, 3],
        &[-9.0, -18.0, -27.0, -39.0, -48.0, -57.0],
    );
    assert_values(
        &(big - small).value(),
        &[2, 3],
        &[9.0, 18.0, 27.0, 39.0, 48.0, 57.0],
    );
    let s = tape.var(Tensor::scalar(100.0));
    assert_values(
        &(s - big).value(),
        &[2, 3],
        &[90.0, 80.0, 70.0, 60.0, 50.0, 40.0],
    );
    assert_values(
        &(big - s).value(),
        &[2, 3],
        &[-90.0, -80.0, -70.0, -60.0, -50.0, -40.0],
    );
    let column = tape.var(Tensor::from_rows(&[[1.0], [2.0]]));
    let row = tape.var(Tensor::from_rows(&[[10.0, 20.0, 30.0]]));
    assert_values(
        &(column - row).value(),
        &[2, 3],
        &[-9.0, -19.0, -29.0, -8.0, -18.0, -28.0],
    );
}

#[test]
fn mul_and_div_with_broadcasting() {
    let tape = Tape::new();
    let big = tape.var(m23());
    let row = tape.var(Tensor::from_slice(&[10.0, 5.0, 2.0]));
    assert_values(
        &(big * row).value(),
        &[2, 3],
        &[100.0, 100.0, 60.0, 400.0, 250.0, 120.0],
    );
    assert_values(
        &(big / row).value(),
        &[2, 3],
        &[1.0, 4.0, 15.0, 4.0, 10.0, 30.0],
    );
    assert_values(
        &(row / big).value(),
        &[2, 3],
        &[1.0, 0.25, 2.0 / 30.0, 0.25, 0.1, 2.0 / 60.0],
    );
    let column = tape.var(Tensor::from_rows(&[[1.0], [2.0]]));
    let row3 = tape.var(Tensor::from_rows(&[[10.0, 20.0, 30.0]]));
    assert_values(
        &(column * row3).value(),
        &[2, 3],
        &[10.0, 20.0, 30.0, 20.0, 40.0, 60.0],
    );
    assert_values(
        &(column / row3).value(),
        &[2, 3],
        &[0.1, 0.05, 1.0 / 30.0, 0.2, 0.1, 2.0 / 30.0],
    );
    let s = tape.var(Tensor::scalar(120.0));
    assert_values(
        &(s / big).value(),
        &[2, 3],
        &[12.0, 6.0, 4.0, 3.0, 2.4, 2.0],
    );
    assert_values(
        &(big / s).value(),
        &[2, 3],
        &[1.0 / 12.0, 1.0 / 6.0, 0.25, 1.0 / 3.0, 5.0 / 12.0, 0.5],
    );
    assert_values(
        &(s * big).value(),
        &[2, 3],
        &[1200.0, 2400.0, 3600.0, 4800.0, 6000.0, 7200.0],
    );
    // x ⊙ x and x / x.
    let x = tape.var(Tensor::from_slice(&[-3.0, 0.5]));
    assert_values(&(x * x).value(), &[2], &[9.0, 0.25]);
    assert_values(&(x / x).value(), &[2], &[1.0, 1.0]);
}

#[test]
fn operators_with_an_f64_and_negation() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[1.0, -2.0, 4.0]));
    assert_values(&(x + 2.0).value(), &[3], &[3.0, 0.0, 6.0]);
    assert_values(&(2.0 + x).value(), &[3], &[3.0, 0.0, 6.0]);
    assert_values(&(x - 1.5).value(), &[3], &[-0.5, -3.5, 2.5]);
    assert_values(&(2.0 - x).value(), &[3], &[1.0, 4.0, -2.0]);
    assert_values(&(3.0 * x).value(), &[3], &[3.0, -6.0, 12.0]);
    assert_values(&(x * -0.5).value(), &[3], &[-0.5, 1.0, -2.0]);
    assert_values(&(x / 4.0).value(), &[3], &[0.25, -0.5, 1.0]);
    assert_values(
        &(x / 3.0).value(),
        &[3],
        &[1.0 / 3.0, -2.0 / 3.0, 4.0 / 3.0],
    );
    assert_values(&(2.0 / x).value(), &[3], &[2.0, -1.0, 0.5]);
    assert_values(&(-x).value(), &[3], &[-1.0, 2.0, -4.0]);
    // A scalar variable and a matrix one keep their shapes.
    let s = tape.var(Tensor::scalar(5.0));
    assert_values(&(10.0 - s).value(), &[], &[5.0]);
    let m = tape.var(Tensor::from_rows(&[[1.0, 2.0], [4.0, 8.0]]));
    assert_values(&(8.0 / m).value(), &[2, 2], &[8.0, 4.0, 2.0, 1.0]);
}

#[test]
fn matmul_by_hand() {
    let tape = Tape::new();
    let a = tape.var(Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]));
    let b = tape.var(Tensor::from_rows(&[[5.0, 6.0], [7.0, 8.0]]));
    // [1·5 + 2·7, 1·6 + 2·8; 3·5 + 4·7, 3·6 + 4·8]
    assert_values(&a.matmul(b).value(), &[2, 2], &[19.0, 22.0, 43.0, 50.0]);
    assert_values(&b.matmul(a).value(), &[2, 2], &[23.0, 34.0, 31.0, 46.0]);
    // [1, 3] x [3, 2]
    let row = tape.var(Tensor::from_rows(&[[1.0, 2.0, 3.0]]));
    let m = tape.var(Tensor::from_rows(&[[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]));
    assert_values(&row.matmul(m).value(), &[1, 2], &[14.0, 32.0]);
    // [2, 1] x [1, 3]: an outer product.
    let column = tape.var(Tensor::from_rows(&[[1.0], [2.0]]));
    let row3 = tape.var(Tensor::from_rows(&[[3.0, 4.0, 5.0]]));
    assert_values(
        &column.matmul(row3).value(),
        &[2, 3],
        &[3.0, 4.0, 5.0, 6.0, 8.0, 10.0],
    );
    // [1, 3] x [3, 1]: a dot product that stays a matrix.
    let col3 = tape.var(Tensor::from_rows(&[[-1.0], [0.5], [2.0]]));
    assert_values(&row.matmul(col3).value(), &[1, 1], &[-1.0 + 1.0 + 6.0]);
    // Against the identity.
    let eye = tape.constant(Tensor::eye(3));
    assert_values(
        &m.transpose().matmul(eye).value(),
        &[2, 3],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    );
}

#[test]
fn elementwise_functions() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[-1.0, 0.0, 0.5, 2.0]));
    let tanh = [-1f64, 0.0, 0.5, 2.0].map(f64::tanh);
    assert_values(&x.tanh().value(), &[4], &tanh);
    assert_values(&x.exp().value(), &[4], &[1.0 / E, 1.0, 0.5f64.exp(), E * E]);
    let sigmoid = [
        1.0 / (1.0 + E),
        0.5,
        1.0 / (1.0 + (-0.5f64).exp()),
        1.0 / (1.0 + 1.0 / (E * E)),
    ];
    assert_values(&x.sigmoid().value(), &[4], &sigmoid);
    assert_values(&x.relu().value(), &[4], &[0.0, 0.0, 0.5, 2.0]);
    assert_values(&x.square().value(), &[4], &[1.0, 0.0, 0.25, 4.0]);
    assert_values(&x.powf(3.0).value(), &[4], &[-1.0, 0.0, 0.125, 8.0]);
    assert_values(&x.powf(2.0).value(), &[4], &[1.0, 0.0, 0.25, 4.0]);

    let positive = tape.var(Tensor::from_rows(&[[0.5, 1.0], [E, 4.0]]));
    assert_values(
        &positive.log().value(),
        &[2, 2],
        &[-LN_2, 0.0, 1.0, 2.0 * LN_2],
    );
    assert_values(
        &positive.sqrt().value(),
        &[2, 2],
        &[0.5f64.sqrt(), 1.0, E.sqrt(), 2.0],
    );
    let p = tape.var(Tensor::from_slice(&[4.0, 9.0, 0.25]));
    assert_values(&p.powf(1.5).value(), &[3], &[8.0, 27.0, 0.125]);
    assert_values(&p.powf(-1.0).value(), &[3], &[0.25, 1.0 / 9.0, 4.0]);
    assert_values(&p.powf(0.5).value(), &[3], &[2.0, 3.0, 0.5]);
    assert_values(&p.powf(0.0).value(), &[3], &[1.0, 1.0, 1.0]);
    assert_values(&p.sqrt().value(), &[3], &[2.0, 3.0, 0.5]);
    // exp and log undo each other.
    assert_values(&p.log().exp().value(), &[3], &[4.0, 9.0, 0.25]);
}

#[test]
fn sigmoid_and_tanh_at_extremes_are_exact_limits() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[1000.0, -1000.0, 50.0, -50.0]));
    assert_values(&x.sigmoid().value(), &[4], &[1.0, 0.0, 1.0, 0.0]);
    assert!(x.sigmoid().value().is_finite());
    assert_eq!(x.tanh().value().data(), &[1.0, -1.0, 1.0, -1.0]);
    // 40 is not yet saturated: 1 / (1 + e⁻⁴⁰).
    let y = tape.var(Tensor::scalar(-40.0)).sigmoid().item();
    let expected = (-40f64).exp() / (1.0 + (-40f64).exp());
    assert!(
        (y - expected).abs() <= 1e-15 * expected,
        "{y} vs {expected}"
    );
}

#[test]
fn sums_and_means() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_rows(&[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]));
    assert_values(&x.sum().value(), &[], &[21.0]);
    assert_values(&x.mean().value(), &[], &[3.5]);
    assert_values(&x.sum_axis(0, false).value(), &[3], &[5.0, 7.0, 9.0]);
    assert_values(&x.sum_axis(0, true).value(), &[1, 3], &[5.0, 7.0, 9.0]);
    assert_values(&x.sum_axis(1, false).value(), &[2], &[6.0, 15.0]);
    assert_values(&x.sum_axis(1, true).value(), &[2, 1], &[6.0, 15.0]);
    assert_values(&x.mean_axis(0, false).value(), &[3], &[2.5, 3.5, 4.5]);
    assert_values(&x.mean_axis(0, true).value(), &[1, 3], &[2.5, 3.5, 4.5]);
    assert_values(&x.mean_axis(1, false).value(), &[2], &[2.0, 5.0]);
    assert_values(&x.mean_axis(1, true).value(), &[2, 1], &[2.0, 5.0]);

    // Rank 3: element [i, j, k] is 1 + 4i + 2j + k.
    let t = tape.var(Tensor::new((1..=8).map(f64::from).collect(), &[2, 2, 2]).unwrap());
    assert_values(
        &t.sum_axis(0, false).value(),
        &[2, 2],
        &[6.0, 8.0, 10.0, 12.0],
    );
    assert_values(
        &t.sum_axis(1, false).value(),
        &[2, 2],
        &[4.0, 6.0, 12.0, 14.0],
    );
    assert_values(
        &t.sum_axis(2, false).value(),
        &[2, 2],
        &[3.0, 7.0, 11.0, 15.0],
    );
    assert_values(
        &t.sum_axis(1, true).value(),
        &[2, 1, 2],
        &[4.0, 6.0, 12.0, 14.0],
    );
    assert_values(
        &t.mean_axis(0, true).value(),
        &[1, 2, 2],
        &[3.0, 4.0, 5.0, 6.0],
    );
    assert_values(
        &t.mean_axis(2, false).value(),
        &[2, 2],
        &[1.5, 3.5, 5.5, 7.5],
    );
    assert_values(&t.mean().value(), &[], &[4.5]);
    // A vector reduced along its only axis is a scalar, or a [1] with keepdim.
    let v = tape.var(Tensor::from_slice(&[1.0, 2.0, 4.0, 8.0]));
    assert_values(&v.sum_axis(0, false).value(), &[], &[15.0]);
    assert_values(&v.mean_axis(0, true).value(), &[1], &[3.75]);
    // A size-1 axis.
    let c = tape.var(Tensor::from_rows(&[[1.0], [2.0], [3.0]]));
    assert_values(&c.sum_axis(1, false).value(), &[3], &[1.0, 2.0, 3.0]);
    assert_values(&c.mean_axis(0, false).value(), &[1], &[2.0]);
}

#[test]
fn transpose_and_reshape() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_rows(&[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]));
    assert_values(
        &x.transpose().value(),
        &[3, 2],
        &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0],
    );
    assert_values(
        &x.transpose().transpose().value(),
        &[2, 3],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    );
    assert_values(
        &x.reshape(&[3, 2]).value(),
        &[3, 2],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    );
    assert_values(
        &x.reshape(&[6]).value(),
        &[6],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    );
    assert_values(
        &x.reshape(&[1, 6, 1]).value(),
        &[1, 6, 1],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    );
    // Rank 3 reverses all axes: out[k, j, i] = in[i, j, k], with in[i, j, k] = 1 + 4i + 2j + k.
    let t = tape.var(Tensor::new((1..=8).map(f64::from).collect(), &[2, 2, 2]).unwrap());
    assert_values(
        &t.transpose().value(),
        &[2, 2, 2],
        &[1.0, 5.0, 3.0, 7.0, 2.0, 6.0, 4.0, 8.0],
    );
    // [2, 3, 1] → [1, 3, 2]: out[0, j, i] = in[i, j, 0] = 1 + 3i + j.
    let u = tape.var(Tensor::new((1..=6).map(f64::from).collect(), &[2, 3, 1]).unwrap());
    assert_values(
        &u.transpose().value(),
        &[1, 3, 2],
        &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0],
    );
    // A vector and a scalar are their own transposes.
    let v = tape.var(Tensor::from_slice(&[1.0, 2.0]));
    assert_values(&v.transpose().value(), &[2], &[1.0, 2.0]);
    let s = tape.var(Tensor::scalar(3.0));
    assert_values(&s.transpose().value(), &[], &[3.0]);
    assert_values(&s.reshape(&[1, 1]).value(), &[1, 1], &[3.0]);
}

#[test]
fn softmax_by_explicit_exponentials() {
    let tape = Tape::new();
    let z = tape.var(Tensor::from_rows(&[[1.0, 2.0, 3.0]]));
    let total = E + E * E + E * E * E;
    let expected = [E / total, E * E / total, E * E * E / total];
    assert_values(&z.softmax(1).value(), &[1, 3], &expected);
    // Along axis 0 each column of [1, 3] is one element: softmax is 1 everywhere.
    assert_values(&z.softmax(0).value(), &[1, 3], &[1.0, 1.0, 1.0]);
    // Shifting every logit changes nothing, even by 1000.
    let shifted = tape.var(Tensor::from_rows(&[[1001.0, 1002.0, 1003.0]]));
    assert_values(&shifted.softmax(1).value(), &[1, 3], &expected);
    // Columns of [[1, 2], [3, 5]]: (e, e³) and (e², e⁵).
    let m = tape.var(Tensor::from_rows(&[[1.0, 2.0], [3.0, 5.0]]));
    let (c0, c1) = (E + E.powi(3), E.powi(2) + E.powi(5));
    let by_column = [E / c0, E.powi(2) / c1, E.powi(3) / c0, E.powi(5) / c1];
    assert_values(&m.softmax(0).value(), &[2, 2], &by_column);
    let (r0, r1) = (E + E.powi(2), E.powi(3) + E.powi(5));
    let by_row = [E / r0, E.powi(2) / r0, E.powi(3) / r1, E.powi(5) / r1];
    assert_values(&m.softmax(1).value(), &[2, 2], &by_row);
    // Rank 3 along the middle axis: lanes (0, ln 3) and (ln 3, 0) are (¼, ¾) and (¾, ¼).
    let ln3 = 3f64.ln();
    let t = tape.var(Tensor::new(vec![0.0, ln3, ln3, 0.0], &[1, 2, 2]).unwrap());
    assert_values(&t.softmax(1).value(), &[1, 2, 2], &[0.25, 0.75, 0.75, 0.25]);
    assert_values(&t.softmax(2).value(), &[1, 2, 2], &[0.25, 0.75, 0.75, 0.25]);
    assert_values(&t.softmax(0).value(), &[1, 2, 2], &[1.0; 4]);
    // Logits of ±1000 stay finite.
    let huge = tape.var(Tensor::from_rows(&[
        [1000.0, -1000.0],
        [1000.0, 1000.0],
        [-1000.0, -1000.0],
    ]));
    assert_values(
        &huge.softmax(1).value(),
        &[3, 2],
        &[1.0, 0.0, 0.5, 0.5, 0.5, 0.5],
    );
    assert_values(
        &huge.softmax(0).value(),
        &[3, 2],
        &[0.5, 0.0, 0.5, 1.0, 0.0, 0.0],
    );
}

#[test]
fn log_softmax_by_explicit_logarithms() {
    let tape = Tape::new();
    let z = tape.var(Tensor::from_rows(&[[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]));
    let log_total = (E + E * E + E * E * E).ln();
    let ln3 = 3f64.ln();
    let expected = [
        1.0 - log_total,
        2.0 - log_total,
        3.0 - log_total,
        -ln3,
        -ln3,
        -ln3,
    ];
    assert_values(&z.log_softmax(1).value(), &[2, 3], &expected);
    // Columns (1, 0), (2, 0), (3, 0).
    let column = |a: f64| (a.exp() + 1.0).ln();
    #[rustfmt::skip]
    let by_column = [
        1.0 - column(1.0), 2.0 - column(2.0), 3.0 - column(3.0),
        -column(1.0), -column(2.0), -column(3.0),
    ];
    assert_values(&z.log_softmax(0).value(), &[2, 3], &by_column);
    let huge = tape.var(Tensor::from_rows(&[[0.0, -1000.0], [1000.0, 1000.0]]));
    assert_values(
        &huge.log_softmax(1).value(),
        &[2, 2],
        &[0.0, -1000.0, -LN_2, -LN_2],
    );
}

#[test]
fn cross_entropy_by_explicit_logarithms() {
    let tape = Tape::new();
    let z = tape.var(Tensor::from_rows(&[[1.0, 2.0, 3.0], [1.0, 0.0, -1.0]]));
    // Row 0 with label 2: log(e + e² + e³) − 3; row 1 with label 1: log(e + 1 + 1/e) − 0.
    let row0 = (E + E * E + E * E * E).ln() - 3.0;
    let row1 = (E + 1.0 + 1.0 / E).ln();
    let sum = z.cross_entropy(&[2, 1], Reduction::Sum);
    assert_values(&sum.value(), &[], &[row0 + row1]);
    let mean = z.cross_entropy(&[2, 1], Reduction::Mean);
    assert_values(&mean.value(), &[], &[(row0 + row1) / 2.0]);
    // Other labels: row 0 with label 0 and row 1 with label 2.
    let other = z.cross_entropy(&[0, 2], Reduction::Sum).item();
    let expected = ((E + E * E + E * E * E).ln() - 1.0) + ((E + 1.0 + 1.0 / E).ln() + 1.0);
    assert!((other - expected).abs() < 1e-12, "{other} vs {expected}");
    // Equal logits: log of the class count, whatever the label.
    let flat = tape.var(Tensor::zeros(&[3, 4]));
    assert_values(
        &flat.cross_entropy(&[0, 3, 1], Reduction::Mean).value(),
        &[],
        &[4f64.ln()],
    );
    assert_values(
        &flat.cross_entropy(&[0, 3, 1], Reduction::Sum).value(),
        &[],
        &[3.0 * 4f64.ln()],
    );
    // ±1000: the loss is the gap, 2000, or 0; finite either way.
    let huge = tape.var(Tensor::from_rows(&[[1000.0, -1000.0]]));
    assert_values(
        &huge.cross_entropy(&[1], Reduction::Sum).value(),
        &[],
        &[2000.0],
    );
    assert_values(
        &huge.cross_entropy(&[0], Reduction::Mean).value(),
        &[],
        &[0.0],
    );
    // Cross-entropy is the mean negative log-softmax at the labels.
    let logp = z.log_softmax(1).value();
    let nll = -(logp[[0, 2]] + logp[[1, 1]]) / 2.0;
    assert!((mean.item() - nll).abs() < 1e-12);
}

#[test]
fn detach_and_constants_carry_the_value() {
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[1.5, -2.0]));
    let c = tape.constant(Tensor::from_slice(&[2.0, 3.0]));
    assert_values(&x.detach().value(), &[2], &[1.5, -2.0]);
    assert_values(&(x * c).value(), &[2], &[3.0, -6.0]);
    assert_values(&(x.detach() * c + x).value(), &[2], &[4.5, -8.0]);
    assert_eq!(x.shape().as_slice(), &[2]);
    assert_eq!(tape.value(x), Tensor::from_slice(&[1.5, -2.0]));
}

#[test]
fn a_small_network_forward_by_hand() {
    // x = [[1, 2]], W = [[0.5, -1], [0.25, 1]], b = [0.1, -0.2]: h = xW + b = [1.1, 0.8];
    // tanh, then the sum with weights [1, -1].
    let tape = Tape::new();
    let x = tape.constant(Tensor::from_rows(&[[1.0, 2.0]]));
    let w = tape.var(Tensor::from_rows(&[[0.5, -1.0], [0.25, 1.0]]));
    let b = tape.var(Tensor::from_slice(&[0.1, -0.2]));
    let h = x.matmul(w) + b;
    assert_values(&h.value(), &[1, 2], &[1.1, 0.8]);
    let out = (h.tanh() * tape.constant(Tensor::from_slice(&[1.0, -1.0]))).sum();
    assert_values(&out.value(), &[], &[1.1f64.tanh() - 0.8f64.tanh()]);
}

/// Every op with a NaN in an input it reads: the NaN must reach the output, as in PyTorch, so that
/// a NaN upstream cannot vanish from a loss (relu used to turn it into 0).
#[test]
fn a_nan_input_is_never_removed_from_a_value() {
    type Unary = for<'t> fn(tapegrad::Var<'t>) -> tapegrad::Var<'t>;
    let unary: [(&str, Unary); 39] = [
        ("tanh", |x| x.tanh()),
        ("exp", |x| x.exp()),
        ("log", |x| x.log()),
        ("sigmoid", |x| x.sigmoid()),
        ("relu", |x| x.relu()),
        ("leaky_relu", |x| x.leaky_relu(0.01)),
        ("sqrt", |x| x.sqrt()),
        ("square", |x| x.square()),
        ("powf", |x| x.powf(1.5)),
        ("abs", |x| x.abs()),
        ("sin", |x| x.sin()),
        ("cos", |x| x.cos()),
        ("neg", |x| -x),
        ("x + c", |x| x + 1.0),
        ("x - c", |x| x - 1.0),
        ("x * c", |x| x * 0.0),
        ("x / c", |x| x / 2.0),
        ("c / x", |x| 2.0 / x),
        ("add", |x| x + x),
        ("sub", |x| x - x),
        ("mul", |x| x * x),
        ("div", |x| x / x),
        ("matmul", |x| x.matmul(x.transpose())),
        ("transpose", |x| x.transpose()),
        ("reshape", |x| x.reshape(&[3, 2])),
        ("broadcast_to", |x| x.broadcast_to(&[2, 2, 3])),
        ("sum_to", |x| x.sum_to(&[1, 3])),
        ("sum", |x| x.sum()),
        ("mean", |x| x.mean()),
        ("sum_axis 0", |x| x.sum_axis(0, false)),
        ("mean_axis 1", |x| x.mean_axis(1, true)),
        ("max_axis 0", |x| x.max_axis(0, false)),
        ("max_axis 1", |x| x.max_axis(1, false)),
        ("softmax", |x| x.softmax(1)),
        ("log_softmax", |x| x.log_softmax(0)),
        ("cross_entropy", |x| {
            x.cross_entropy(&[1, 2], Reduction::Mean)
        }),
        ("mse_loss", |x| {
            x.mse_loss(x.tape().constant(Tensor::zeros(&[2, 3])), Reduction::Sum)
        }),
        ("bce_with_logits", |x| {
            x.binary_cross_entropy_with_logits(&Tensor::zeros(&[2, 3]), Reduction::Mean)
        }),
        ("narrow, index_select, concat, stack", |x| {
            let part = x.narrow(1, 0, 2).index_select(&[0]);
            tapegrad::ops::stack(&[tapegrad::ops::concat(&[part, part], 0)], 0)
        }),
    ];
    // The NaN sits beside the largest, the smallest and a zero, where max-like kernels decide.
    for nan_at in 0..6 {
        let mut values = vec![0.0, 1.0, -2.0, 0.5, -1.0, 3.0];
        values[nan_at] = f64::NAN;
        let input = Tensor::new(values, &[2, 3]).unwrap();
        for (name, op) in unary {
            let tape = Tape::new();
            let x = tape.var(input.clone());
            let output = op(x).value();
            let reads_the_nan = !name.starts_with("narrow") || [0, 1].contains(&nan_at);
            assert_eq!(
                output.data().iter().any(|v| v.is_nan()),
                reads_the_nan,
                "{name} with NaN at {nan_at}: {output:?}"
            );
        }
    }
}

#[test]
fn a_var_divided_by_a_number_is_a_division() {
    // x · (1/c) rounds twice: 49 · (1/49) is 0.9999999999999999, and 1/1e-310 overflows.
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[49.0, 1e-10, 3.0]));
    let y = (x / 49.0).value();
    assert_eq!(y.data()[0], 1.0);
    let z = (x / 1e-310).value();
    assert_eq!(z.data()[1], 1e-10 / 1e-310);
    assert!(z.data()[1].is_finite());
    // The same as the tensor's own division, element for element.
    let tensor = Tensor::from_slice(&[49.0, 1e-10, 3.0]) / &Tensor::scalar(49.0);
    assert_eq!(y, tensor);
}
