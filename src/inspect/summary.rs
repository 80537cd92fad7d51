//! Seeing what the tape recorded: one line per node ([`Tape::summary`]), or a Graphviz graph
//! ([`Tape::to_dot`]), each node with its op, inputs, shape and the line of code that made it.

use std::fmt::{self, Write as _};

use crate::engine::{Node, NodeKind};
use crate::{Gradients, NodeId, Tape, Tensor};

impl Node {
    /// `tanh(#4)`, `add(#3, #2)`, or `variable` for a leaf (`variable W1` if it has a name).
    pub(crate) fn call(&self) -> String {
        if let Some(name) = &self.name {
            return format!("{} {name}", self.op_name());
        }
        if self.inputs.is_empty() {
            return self.op_name().to_string();
        }
        let inputs: Vec<String> = self.inputs.iter().map(NodeId::to_string).collect();
        format!("{}({})", self.op_name(), inputs.join(", "))
    }
}

/// The smallest, mean and largest element, for a value's one-line description.
/// A NaN anywhere makes all three NaN, so that a range never hides one.
pub(crate) fn min_mean_max(tensor: &Tensor) -> (f64, f64, f64) {
    let data = tensor.data();
    if data.iter().any(|x| x.is_nan()) {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let min = data.iter().copied().fold(f64::INFINITY, f64::min);
    let max = data.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (min, data.iter().sum::<f64>() / data.len() as f64, max)
}

/// The Euclidean norm of all elements.
fn norm(tensor: &Tensor) -> f64 {
    tensor.data().iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// A printable listing of a tape, one node per line in creation order; see [`Tape::summary`].
pub struct Summary<'a> {
    tape: &'a Tape,
    values: bool,
    gradients: Option<&'a Gradients>,
}

impl<'a> Summary<'a> {
    /// Adds each value's min / mean / max.
    pub fn with_values(self) -> Summary<'a> {
        Summary {
            values: true,
            ..self
        }
    }

    /// Adds the norm of each node's gradient from a backward pass of this tape (`-` where none).
    /// Panics if `gradients` come from another tape or an earlier pass of this one.
    #[track_caller]
    pub fn with_gradients(self, gradients: &'a Gradients) -> Summary<'a> {
        self.tape.check_gradients(gradients, "Tape::summary");
        Summary {
            gradients: Some(gradients),
            ..self
        }
    }
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes = self.tape.nodes();
        let mut rows: Vec<[String; 4]> = Vec::with_capacity(nodes.len());
        for (index, node) in nodes.iter().enumerate() {
            let mut numbers = String::new();
            if self.values {
                let (min, mean, max) = min_mean_max(&node.value);
                write!(numbers, "min {min:.4e}  mean {mean:.4e}  max {max:.4e}")?;
            }
            if let Some(gradients) = self.gradients {
                let grad = gradients
                    .get_node(self.tape, NodeId(index))
                    .map_or("-".into(), |g| format!("{:.4e}", norm(g)));
                write!(
                    numbers,
                    "{}|grad| {grad}",
                    if numbers.is_empty() { "" } else { "  " }
                )?;
            }
            rows.push([
                NodeId(index).to_string(),
                node.call(),
                format!("{:?}", node.value.shape()),
                format!("{}", node.location)
                    + &if numbers.is_empty() {
                        String::new()
                    } else {
                        format!("  {numbers}")
                    },
            ]);
        }
        let width = |column: usize| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths = [width(0), width(1), width(2)];
        for row in &rows {
            writeln!(
                f,
                "{:<w0$}  {:<w1$}  {:<w2$}  {}",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            )?;
        }
        Ok(())
    }
}

impl Tape {
    /// A listing of the tape, one node per line in creation order: id, op and inputs, shape, and
    /// the line of code that made it. `with_values()` and `with_gradients(&grads)` add columns.
    ///
    /// ```
    /// use tapegrad::{Tape, Tensor};
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_slice(&[0.5, -1.0]));
    /// let loss = x.tanh().sum();
    /// let grads = loss.backward();
    /// let text = tape.summary().with_gradients(&grads).to_string();
    /// let first_words: Vec<&str> = text.lines().map(|line| line.split_whitespace().nth(1).unwrap()).collect();
    /// assert_eq!(first_words, ["variable", "tanh(#0)", "sum(#1)"]);
    /// println!("{text}");
    /// ```
    pub fn summary(&self) -> Summary<'_> {
        Summary {
            tape: self,
            values: false,
            gradients: None,
        }
    }

    /// The tape as a Graphviz DOT graph: a box per node (op, shape, call site; variables and
    /// constants styled apart) and an edge from each input to the node that uses it. With
    /// `gradients` (of a backward pass of this tape; others panic), each box also shows its
    /// gradient's norm. Render with `dot -Tsvg`.
    ///
    /// ```
    /// use tapegrad::{Tape, Tensor};
    ///
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::scalar(2.0));
    /// let y = x * x;
    /// let dot = tape.to_dot(Some(&y.backward()));
    /// assert!(dot.starts_with("digraph tape {"));
    /// assert_eq!(dot.matches(" -> ").count(), 2); // x feeds the product twice
    /// ```
    #[track_caller]
    pub fn to_dot(&self, gradients: Option<&Gradients>) -> String {
        if let Some(gradients) = gradients {
            self.check_gradients(gradients, "Tape::to_dot");
        }
        let nodes = self.nodes();
        let mut dot = String::from(
            "digraph tape {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n",
        );
        for (index, node) in nodes.iter().enumerate() {
            let mut label = format!(
                "#{index} {}\\n{:?}\\n{}",
                node.name.as_deref().unwrap_or(node.op_name()),
                node.value.shape(),
                node.location
            );
            if let Some(grad) = gradients.and_then(|g| g.get_node(self, NodeId(index))) {
                label += &format!("\\n|grad| {:.3e}", norm(grad));
            }
            let style = match node.kind {
                NodeKind::Variable => ", style=filled, fillcolor=\"#cfe3f7\"",
                NodeKind::Constant => ", style=\"filled,dashed\", fillcolor=\"#eeeeee\"",
                NodeKind::Op(_) | NodeKind::Evaluated(_) => "",
            };
            let _ = writeln!(dot, "  n{index} [label=\"{}\"{style}];", escape(&label));
        }
        for (index, node) in nodes.iter().enumerate() {
            for input in &node.inputs {
                let _ = writeln!(dot, "  n{} -> n{index};", input.0);
            }
        }
        dot.push_str("}\n");
        dot
    }
}

impl fmt::Display for Tape {
    /// The [`summary`](Tape::summary) without values or gradients.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.summary().fmt(f)
    }
}

/// Escapes a label for a DOT double-quoted string, keeping the `\n` line breaks written on purpose.
fn escape(label: &str) -> String {
    label.replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use crate::{Tape, Tensor};

    #[test]
    fn summary_lines_have_id_call_shape_and_location() {
        let tape = Tape::new();
        let x = tape.var(Tensor::from_rows(&[[1.0, 2.0]]));
        let c = tape.constant(Tensor::from_rows(&[[3.0], [4.0]]));
        let y = (x.matmul(c) + 1.0).square().sum();
        let grads = y.backward();
        let text = tape
            .summary()
            .with_values()
            .with_gradients(&grads)
            .to_string();
        // Columns are padded to the widest entry; compare with runs of spaces folded to one.
        let lines: Vec<String> = text
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(lines.len(), 6, "{text}");
        assert!(
            lines[0].starts_with("#0 variable [1, 2] src/inspect/summary.rs:"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("#1 constant [2, 1] src/inspect/summary.rs:"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("#2 matmul(#0, #1) [1, 1] src/inspect/summary.rs:"),
            "{text}"
        );
        assert!(lines[3].starts_with("#3 shift(#2) [1, 1] "), "{text}");
        assert!(lines[5].starts_with("#5 sum(#4) [] "), "{text}");
        // 11 + 1 = 12, squared 144: the value columns and the gradient norm d/dx = 2·12·[3, 4].
        assert!(lines[4].contains("min 1.4400e2"), "{text}");
        assert!(lines[0].ends_with("|grad| 1.2000e2"), "{text}");
        assert!(lines[1].ends_with("|grad| -"), "{text}");
    }
}
