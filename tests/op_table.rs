//! Every row of the op table (`src/ops/table.rs`), checked the same way: its forward in every mode
//! of the tape, NaN propagation, first derivatives against finite differences, the rule
//! evaluated and recorded giving the same bits, and second derivatives (`gradcheck`,
//! `gradgradcheck`, PyTorch's tolerances). And the registry: every `impl Op` in `src/` has a row,
//! and the book's op list (chapter 9, `docs/book/09-writing-an-op.md`) and the `ops` module's table of files agree with the rows.

use std::collections::BTreeSet;
use std::path::Path;

#[path = "common/cube.rs"]
mod cube;

use cube::cube;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tapegrad::ops::table::{Kind, OPS, OpRow};
use tapegrad::{GradCheck, Tape, Tensor, Var, function, gradcheck, gradgradcheck};

/// The row's inputs drawn from their domains, the same for every call with the same `seed`.
fn inputs(row: &OpRow, seed: u64) -> Vec<Tensor> {
    let mut rng = StdRng::seed_from_u64(seed);
    (row.inputs.iter())
        .map(|&(shape, domain)| domain.sample(shape, &mut rng))
        .collect()
}

/// `Σ w ⊙ out` for fixed weights away from zero: every output element gets its own gradient.
fn weighted_sum<'t>(out: Var<'t>) -> Var<'t> {
    let mut rng = StdRng::seed_from_u64(99);
    let weights = Tensor::randn(&out.shape(), &mut rng).map(|w| w.signum() * (w.abs() + 0.25));
    (out * out.tape().constant(weights)).sum()
}

#[test]
fn every_row_computes_the_same_values_on_every_kind_of_tape() {
    for row in OPS {
        let inputs = inputs(row, 1);
        let (recording, no_grad) = (Tape::new(), Tape::no_grad());
        let on = |tape: &Tape| {
            let vars: Vec<Var> = inputs.iter().map(|t| tape.var(t.clone())).collect();
            (row.apply)(&vars).value()
        };
        let (recorded, evaluated) = (on(&recording), on(&no_grad));
        assert_eq!(recorded, evaluated, "{}: a no_grad tape differs", row.name);
        assert!(recorded.is_finite(), "{}: {recorded}", row.name);
        let node = recording.summary().to_string();
        assert!(
            node.contains(&format!(" {}(", row.name)),
            "{}: the row applies another op:\n{node}",
            row.name
        );
    }
}

#[test]
fn a_nan_in_any_input_reaches_the_output() {
    for row in OPS {
        for nan_input in 0..row.arity() {
            let mut inputs = inputs(row, 2);
            inputs[nan_input].data_mut()[0] = f64::NAN;
            let tape = Tape::new();
            let vars: Vec<Var> = inputs.iter().map(|t| tape.var(t.clone())).collect();
            let output = (row.apply)(&vars).value();
            assert!(
                output.data().iter().any(|v| v.is_nan()),
                "{}: a NaN in input {nan_input} vanished: {output}",
                row.name
            );
        }
    }
}

#[test]
fn every_row_passes_gradcheck_and_gradgradcheck() {
    for row in OPS {
        for seed in [3, 4] {
            let inputs = inputs(row, seed);
            let f = function(|v| weighted_sum((row.apply)(v)));
            let elements: usize = inputs.iter().map(Tensor::len).sum();
            let report =
                gradcheck(&inputs, f).unwrap_or_else(|error| panic!("{}: {error}", row.name));
            assert_eq!(report.elements, elements, "{}: not every element", row.name);
            let report =
                gradgradcheck(&inputs, f).unwrap_or_else(|error| panic!("{}: {error}", row.name));
            assert_eq!(report.elements, elements * elements, "{}", row.name);
            // The one rule, evaluated (`backward`) and recorded (`grad`): the same ops in the same
            // order, so the same bits.
            let tape = Tape::new();
            let vars: Vec<Var> = inputs.iter().map(|t| tape.var(t.clone())).collect();
            let output = f(&vars);
            let (evaluated, recorded) = (output.backward(), output.grad(&vars));
            for (input, (&var, recorded)) in vars.iter().zip(recorded).enumerate() {
                assert_eq!(
                    evaluated.wrt(var),
                    &recorded.value(),
                    "{}: input {input}: evaluated and recorded rules differ",
                    row.name
                );
            }
        }
    }
}

/// Where the op list users read lives: chapter 9 of the book.
const OP_LIST: &str = "docs/book/09-writing-an-op.md";

/// What the registry check reads: the `impl Op for` types of the sources, the op names of the
/// book's op list, and the (file, op) pairs of the `ops` module's table.
struct Sources {
    impls: BTreeSet<String>,
    book_ops: BTreeSet<String>,
    module_table: BTreeSet<(String, String)>,
}

impl Sources {
    fn read() -> Sources {
        let mut impls = BTreeSet::new();
        for folder in ["src/ops", "src/engine"] {
            for entry in std::fs::read_dir(folder).unwrap() {
                let path = entry.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                impls.extend(impl_op_types(&text));
            }
        }
        let book = std::fs::read_to_string(OP_LIST).unwrap();
        let module = std::fs::read_to_string("src/ops/mod.rs").unwrap();
        Sources {
            impls,
            book_ops: book_ops(&book),
            module_table: module_table(&module),
        }
    }
}

/// The types after `impl Op for` at the start of a line (not in doc comments).
fn impl_op_types(text: &str) -> BTreeSet<String> {
    (text.lines())
        .filter_map(|line| line.strip_prefix("impl Op for "))
        .map(|rest| rest.trim_end_matches(" {").trim().to_string())
        .collect()
}

/// The backticked names in the first column of the table between `<!-- ops` and `<!-- /ops -->`.
fn book_ops(book: &str) -> BTreeSet<String> {
    let start = book.find("<!-- ops").expect("the book's op list");
    let end = book.find("<!-- /ops -->").expect("the end of the op list");
    (book[start..end].lines())
        .filter(|line| line.starts_with("| `"))
        .flat_map(|line| backticked(line.split('|').nth(1).unwrap()))
        .collect()
}

/// `(file, op)` for each op named in the `ops` module's `| file | ops |` table.
fn module_table(module: &str) -> BTreeSet<(String, String)> {
    let mut pairs = BTreeSet::new();
    for line in module.lines().filter_map(|l| l.strip_prefix("//! | `")) {
        let mut columns = line.split('|');
        let file = columns
            .next()
            .unwrap()
            .trim()
            .trim_end_matches('`')
            .to_string();
        let ops = columns.next().unwrap();
        let ops = ops.split(" (").next().unwrap(); // what follows in parentheses is a remark
        for op in backticked(ops) {
            pairs.insert((file.clone(), op));
        }
    }
    pairs
}

/// Every whitespace-separated word inside backticks.
fn backticked(text: &str) -> Vec<String> {
    (text.split('`').skip(1).step_by(2))
        .flat_map(str::split_whitespace)
        .map(str::to_string)
        .collect()
}

/// Each way the sources and the rows disagree, in words; empty when they agree.
fn disagreements(sources: &Sources, rows: &[(&str, &str, &str, Kind)]) -> Vec<String> {
    let mut found = Vec::new();
    let types: BTreeSet<String> = rows.iter().map(|row| row.1.to_string()).collect();
    for missing in sources.impls.difference(&types) {
        found.push(format!("impl Op for {missing} has no row in the op table"));
    }
    for stale in types.difference(&sources.impls) {
        found.push(format!("the row of {stale} names no impl Op in src/"));
    }
    let listed: BTreeSet<String> = (rows.iter())
        .filter(|row| row.3 == Kind::Op)
        .map(|row| row.0.to_string())
        .collect();
    for extra in sources.book_ops.difference(&listed) {
        found.push(format!(
            "the book's op list has {extra}, which is no row of kind Op"
        ));
    }
    for missing in listed.difference(&sources.book_ops) {
        found.push(format!("the book's op list lacks {missing}"));
    }
    let placed: BTreeSet<(String, String)> = (rows.iter())
        .map(|row| (row.2.to_string(), row.0.to_string()))
        .collect();
    for extra in sources.module_table.difference(&placed) {
        found.push(format!(
            "the ops module's table has {} in {}, which no row says",
            extra.1, extra.0
        ));
    }
    for missing in placed.difference(&sources.module_table) {
        found.push(format!(
            "the ops module's table lacks {} in {}",
            missing.1, missing.0
        ));
    }
    found
}

fn rows() -> Vec<(&'static str, &'static str, &'static str, Kind)> {
    OPS.iter()
        .map(|row| (row.name, row.type_name, row.file, row.kind))
        .collect()
}

#[test]
fn every_op_has_a_row_and_the_lists_agree_with_the_rows() {
    let found = disagreements(&Sources::read(), &rows());
    assert!(found.is_empty(), "{}", found.join("\n"));
    for row in OPS {
        assert!(
            Path::new("src/ops").join(row.file).exists() || row.file == "engine",
            "{}: no file {}",
            row.name,
            row.file
        );
    }
}

#[test]
fn the_registry_check_fails_for_an_op_without_a_row_or_a_list_that_drifted() {
    // An op written in a family file but never given a row.
    let mut sources = Sources::read();
    sources.impls.extend(impl_op_types("impl Op for Cosh {\n"));
    assert_eq!(
        disagreements(&sources, &rows()),
        ["impl Op for Cosh has no row in the op table"]
    );
    // A book that lists an op the table does not have, and forgot one it has.
    let mut sources = Sources::read();
    sources.book_ops.insert("cosh".into());
    sources.book_ops.remove("tanh");
    assert_eq!(
        disagreements(&sources, &rows()),
        [
            "the book's op list has cosh, which is no row of kind Op",
            "the book's op list lacks tanh"
        ]
    );
    // A row whose op the ops module's table puts in another file.
    let mut rows = rows();
    rows.iter_mut().find(|row| row.0 == "relu").unwrap().2 = "unary.rs";
    assert_eq!(
        disagreements(&Sources::read(), &rows),
        [
            "the ops module's table has relu in piecewise.rs, which no row says",
            "the ops module's table lacks relu in unary.rs"
        ]
    );
}

#[test]
fn a_user_op_with_one_rule_gets_every_order() {
    let inputs = [Tensor::from_rows(&[[0.5, -1.5, 2.0], [0.1, -0.3, 1.2]])];
    let strict = GradCheck::default().atol(1e-7);
    strict.check(&inputs, |v| weighted_sum(cube(v[0]))).unwrap();
    strict
        .check_second_order(&inputs, |v| weighted_sum(cube(v[0]).sin()))
        .unwrap();
    // Third order, against the closed form: d³(x³)/dx³ = 6, through three recorded rules.
    let tape = Tape::new();
    let x = tape.var(Tensor::from_slice(&[0.5, -2.0]));
    let first = cube(x).sum().grad(&[x])[0]; // 3x²
    let second = first.sum().grad(&[x])[0]; // 6x
    let third = second.sum().grad(&[x])[0]; // 6
    assert_eq!(first.value().data(), &[0.75, 12.0]);
    assert_eq!(second.value().data(), &[3.0, -12.0]);
    assert_eq!(third.value().data(), &[6.0, 6.0]);
}

/// Central differences of `f` along `tangents`, element by element of its output.
fn directional_difference(
    f: &dyn for<'t> Fn(&[Var<'t>]) -> Var<'t>,
    inputs: &[Tensor],
    tangents: &[Tensor],
) -> Tensor {
    let eps = 1e-6;
    let at = |sign: f64| {
        let tape = Tape::no_grad();
        let vars: Vec<Var> = (inputs.iter().zip(tangents))
            .map(|(input, tangent)| {
                let mut moved = input.clone();
                moved.add_scaled(sign * eps, tangent);
                tape.var(moved)
            })
            .collect();
        f(&vars).value()
    };
    &(&at(1.0) - &at(-1.0)) / (2.0 * eps)
}

#[test]
fn every_rows_forward_mode_matches_finite_differences_and_its_reverse_mode() {
    let checker = GradCheck::default();
    for row in OPS {
        let inputs = inputs(row, 5);
        let mut rng = StdRng::seed_from_u64(6);
        let tangents: Vec<Tensor> = inputs
            .iter()
            .map(|t| Tensor::randn(t.shape(), &mut rng))
            .collect();
        let f = function(|v| (row.apply)(v));
        let (output, jv) = tapegrad::jvp(&inputs, &tangents, |v| (row.apply)(v));
        let numeric = directional_difference(&f, &inputs, &tangents);
        for (k, (&a, &n)) in jv.data().iter().zip(numeric.data()).enumerate() {
            assert!(
                (a - n).abs() <= checker.atol + checker.rtol * n.abs(),
                "{}: element {k} of J v: {a} vs finite difference {n}",
                row.name
            );
        }
        // ⟨u, J v⟩ = ⟨Jᵀu, v⟩, within a bound no cancellation can break.
        let cotangent = Tensor::randn(output.shape(), &mut rng);
        let (_, pulled) = tapegrad::vjp(&inputs, &cotangent, |v| (row.apply)(v));
        let forward: f64 = cotangent
            .data()
            .iter()
            .zip(jv.data())
            .map(|(u, x)| u * x)
            .sum();
        let reverse: f64 = (pulled.iter().zip(&tangents))
            .flat_map(|(p, v)| p.data().iter().zip(v.data()).map(|(p, v)| p * v))
            .sum();
        let scale: f64 = cotangent
            .data()
            .iter()
            .zip(jv.data())
            .map(|(u, x)| (u * x).abs())
            .sum();
        assert!(
            (forward - reverse).abs() <= 1e-12 * scale.max(f64::MIN_POSITIVE),
            "{}: ⟨u, J v⟩ = {forward}, ⟨Jᵀu, v⟩ = {reverse}",
            row.name
        );
    }
}

#[test]
fn every_rows_batched_jacobians_and_hessians_equal_one_walk_a_seed() {
    use tapegrad::{HessianPath, Seeds, hessian_with, jacfwd_with, jacrev_with};
    let close = |what: &str, name: &str, got: &Tensor, want: &Tensor| {
        let largest = want.data().iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(
            got.max_abs_diff(want) <= 1e-12 * largest,
            "{name}: {what}, batched and one walk a seed differ\n{got}\n{want}"
        );
    };
    for row in OPS {
        let inputs = inputs(row, 7);
        let f = function(|v| (row.apply)(v));
        let one = jacrev_with(&inputs, Seeds::OneAtATime, f);
        close(
            "jacrev",
            row.name,
            &jacrev_with(&inputs, Seeds::Batched, f),
            &one,
        );
        let one = jacfwd_with(&inputs, Seeds::OneAtATime, f);
        close(
            "jacfwd",
            row.name,
            &jacfwd_with(&inputs, Seeds::Batched, f),
            &one,
        );
        // Second order: the batched walk goes through the rules' own ops.
        let g = function(|v| (row.apply)(v).tanh().square().sum());
        let one = hessian_with(
            &inputs,
            HessianPath::ReverseOverReverse,
            Seeds::OneAtATime,
            g,
        );
        for path in [
            HessianPath::ReverseOverReverse,
            HessianPath::ForwardOverReverse,
        ] {
            let batched = hessian_with(&inputs, path, Seeds::Batched, g);
            close(&format!("hessian {path:?}"), row.name, &batched, &one);
        }
    }
}

/// `l2_penalty` stands for `square`, `sum`, `+` and `*`: the same value and first derivatives,
/// bit for bit, for one to three weights, several factors and special values.
#[test]
fn l2_penalty_has_the_bits_of_square_sum_add_and_scale() {
    let ordinary = |shape: &[usize], step: f64| {
        let len = shape.iter().product::<usize>();
        Tensor::new(
            (0..len).map(|i| (i as f64 * step + 0.1).sin()).collect(),
            shape,
        )
        .unwrap()
    };
    let specials = [
        Tensor::from_rows(&[[0.3, -0.0, 1e200], [f64::NAN, 5e-324, -2.5]]),
        Tensor::from_slice(&[1.5, f64::INFINITY]),
        Tensor::scalar(-0.7),
    ];
    let weights = [
        ordinary(&[2, 3], 0.77),
        ordinary(&[4], 1.31),
        ordinary(&[], 0.0),
    ];
    let bits = |t: &Tensor| t.data().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let cases =
        [&weights, &specials].map(|values| [1.0, 0.005, -0.3, 1.0 / 3.0].map(|c| (values, c)));
    for (values, coefficient) in cases.into_iter().flatten() {
        for count in 1..=3 {
            let run = |fused: bool| {
                let tape = Tape::new();
                let weights: Vec<Var> = values[..count]
                    .iter()
                    .map(|t| tape.var(t.clone()))
                    .collect();
                let penalty = if fused {
                    tapegrad::ops::l2_penalty(&weights, coefficient)
                } else {
                    let sums = weights.iter().map(|w| w.square().sum());
                    coefficient * sums.reduce(|total, sum| total + sum).expect("a weight")
                };
                let grads = penalty.backward_with(Tensor::scalar(3.7));
                let grads: Vec<_> = weights.iter().map(|&w| bits(grads.wrt(w))).collect();
                (bits(&penalty.value()), grads)
            };
            assert_eq!(run(true), run(false), "c = {coefficient}, {count} weights");
        }
    }
}

/// `affine`'s rule computes the weight and bias gradients of a narrow layer in one pass: they
/// keep the bits of `matmul` then `+ b`, first and second derivatives, for the moons network's
/// layers, a batch longer than the product's blocks of 256 rows, and both bias shapes.
#[test]
fn affine_gradients_have_the_bits_of_matmul_and_add() {
    let values = |shape: &[usize], step: f64| {
        let len = shape.iter().product::<usize>();
        Tensor::new(
            (0..len).map(|i| (i as f64 * step + 0.1).sin()).collect(),
            shape,
        )
        .unwrap()
    };
    let bits = |t: &Tensor| t.data().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for (rows, inputs, outputs) in [(200, 2, 3), (200, 3, 2), (600, 4, 1), (5, 8, 8)] {
        for bias_shape in [vec![outputs], vec![1, outputs]] {
            let run = |fused: bool| {
                let tape = Tape::new();
                let x = tape.var(values(&[rows, inputs], 0.37));
                let w = tape.var(values(&[inputs, outputs], 0.91));
                let b = tape.var(values(&bias_shape, 1.3));
                let z = if fused {
                    x.affine(w, b)
                } else {
                    x.matmul(w) + b
                };
                let loss = z.tanh().square().sum();
                let first = loss.backward();
                let first: Vec<_> = [x, w, b].iter().map(|&v| bits(first.wrt(v))).collect();
                // Differentiated again: the recorded rule's nodes, then their own rules.
                let grads = loss.grad(&[w, b]);
                let again = (grads[0].sum() + grads[1].square().sum()).backward();
                let second: Vec<_> = [x, w, b].iter().map(|&v| bits(again.wrt(v))).collect();
                (first, second)
            };
            let (fused, separate) = (run(true), run(false));
            let shape = format!("{rows}x{inputs}x{outputs}, bias {bias_shape:?}");
            assert_eq!(fused.0, separate.0, "first derivatives, {shape}");
            assert_eq!(fused.1, separate.1, "second derivatives, {shape}");
        }
    }
}
