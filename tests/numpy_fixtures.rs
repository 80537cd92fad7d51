//! tapegrad's NumPy stream, two moons and tutorial weights against the values NumPy 2.4 and
//! scikit-learn 1.9 give, written once by `scripts/fixtures.py` into `tests/fixtures/`; and the
//! tutorial's printed losses reproduced by training on the tape.

use std::collections::HashMap;

use tapegrad::datasets::{load_csv, make_moons_numpy};
use tapegrad::numpy_random::RandomState;
use tapegrad::tutorial::TwoLayer;
use tapegrad::{Tape, Tensor};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// The `name: v v v` lines of a fixture file (lines starting with `#` are comments).
fn fixture_lines(file: &str) -> HashMap<String, Vec<String>> {
    let path = format!("{FIXTURES}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (name, values) = line.split_once(": ").expect("name: values");
            let values = values.split_whitespace().map(str::to_string).collect();
            (name.to_string(), values)
        })
        .collect()
}

fn parsed<T: std::str::FromStr>(values: &[String]) -> Vec<T>
where
    T::Err: std::fmt::Debug,
{
    values.iter().map(|v| v.parse().unwrap()).collect()
}

#[test]
fn random_state_draws_are_numpys() {
    for seed in [0, 3] {
        let numpy = fixture_lines(&format!("random_state_seed{seed}.txt"));
        let expect = |name: &str| &numpy[name];

        let mut rng = RandomState::new(seed);
        let raw: Vec<u32> = (0..20).map(|_| rng.next_raw_u32()).collect();
        assert_eq!(raw, parsed::<u32>(expect("raw_u32")), "seed {seed}");

        let mut rng = RandomState::new(seed);
        let uniform: Vec<f64> = (0..10).map(|_| rng.random_sample()).collect();
        assert_eq!(
            uniform,
            parsed::<f64>(expect("random_sample")),
            "seed {seed}"
        );

        // Ten normals: five pairs, each second value served from the cache.
        let normals = RandomState::new(seed).randn(&[10]);
        assert_eq!(
            normals.data(),
            parsed::<f64>(expect("randn")),
            "seed {seed}"
        );

        let permutation = RandomState::new(seed).permutation(10);
        assert_eq!(permutation, parsed::<usize>(expect("permutation_10")));

        let mut rng = RandomState::new(seed);
        let digits: Vec<i64> = (0..20).map(|_| rng.randint(0, 10)).collect();
        assert_eq!(digits, parsed::<i64>(expect("randint_0_10")), "seed {seed}");

        let mut rng = RandomState::new(seed);
        let wide: Vec<i64> = (0..5).map(|_| rng.randint(0, 1 << 40)).collect();
        assert_eq!(
            wide,
            parsed::<i64>(expect("randint_0_2pow40")),
            "seed {seed}"
        );

        let mut rng = RandomState::new(seed);
        let shifted: Vec<f64> = (0..5).map(|_| rng.normal(1.0, 0.5)).collect();
        assert_eq!(
            shifted,
            parsed::<f64>(expect("normal_1_0.5")),
            "seed {seed}"
        );
    }
}

#[test]
fn two_moons_are_sklearns() {
    for seed in [0, 3] {
        let (sklearn_x, sklearn_labels) =
            load_csv(format!("{FIXTURES}/moons_seed{seed}.csv")).unwrap();
        let (x, labels) = make_moons_numpy(200, 0.2, &mut RandomState::new(seed));
        assert_eq!(
            labels, sklearn_labels,
            "seed {seed}: labels in sklearn's order"
        );
        for (index, (ours, theirs)) in x.data().iter().zip(sklearn_x.data()).enumerate() {
            assert!(
                (ours - theirs).abs() <= 1e-15,
                "seed {seed}, point {}, x{}: {ours} vs sklearn's {theirs}",
                index / 2,
                index % 2 + 1
            );
        }
    }
}

#[test]
fn tutorial_weights_are_numpys() {
    let numpy = fixture_lines("tutorial_weights.txt");
    for hidden in [1, 2, 3, 4, 5, 20, 50] {
        let model = TwoLayer::tutorial_init(hidden, 2);
        assert_eq!(model.w1.shape(), [2, hidden]);
        assert_eq!(model.w2.shape(), [hidden, 2]);
        assert_eq!(
            model.w1.data(),
            parsed::<f64>(&numpy[&format!("W1 {hidden}")])
        );
        assert_eq!(
            model.w2.data(),
            parsed::<f64>(&numpy[&format!("W2 {hidden}")])
        );
        assert_eq!(
            (model.b1, model.b2),
            (Tensor::zeros(&[1, hidden]), Tensor::zeros(&[1, 2]))
        );
    }
}

/// The tutorial's `build_model(3, print_loss=True)` on the tape: the losses it prints after the
/// updates of passes 0 and 1000. Later passes depend on the last bits (see `docs/book/06-the-tutorial-exactly.md`).
#[test]
fn the_first_thousand_passes_print_the_tutorials_losses() {
    let numpy = fixture_lines("tutorial_losses.txt");
    let (x, labels) = load_csv(format!("{FIXTURES}/moons_seed0.csv")).unwrap();
    let weights = fixture_lines("tutorial_weights.txt");
    let fixture_tensor =
        |name: &str, shape: &[usize]| Tensor::new(parsed::<f64>(&weights[name]), shape).unwrap();
    let mut model = TwoLayer {
        w1: fixture_tensor("W1 3", &[2, 3]),
        b1: Tensor::zeros(&[1, 3]),
        w2: fixture_tensor("W2 3", &[3, 2]),
        b2: Tensor::zeros(&[1, 2]),
    };
    let mut tape = Tape::new();
    for pass in 0..=1000 {
        model.descend_by_tape(&mut tape, &x, &labels, 0.01, 0.01);
        if pass % 1000 == 0 {
            let printed = model.printed_loss(&x, &labels, 0.01);
            let numpy_loss: f64 = numpy[&format!("loss {pass}")][0].parse().unwrap();
            let relative = (printed - numpy_loss).abs() / numpy_loss;
            assert!(
                relative < 1e-9,
                "pass {pass}: {printed} vs NumPy's {numpy_loss} (relative {relative:e})"
            );
            println!("pass {pass}: {printed:.17} vs NumPy's {numpy_loss:.17}");
        }
    }
}
