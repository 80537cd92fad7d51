//! The tape as a picture: a Graphviz DOT file drawn as SVG by `layout-rs`, in pure Rust, with no
//! system Graphviz. The book's picture of the tutorial's tape (`docs/images/tape.svg`,
//! chapter 2) is drawn from the moons example's `--graph`:
//!
//! ```sh
//! cargo run --example moons -- --graph tape.dot
//! cargo run --example tape_picture --features picture -- tape.dot docs/images/tape.svg
//! ```
//!
//! Each box is one node: its number and op (or a parameter's name) with its shape, and the line
//! of code that recorded it (file name and line, to keep the boxes narrow enough to read at the
//! width GitHub shows an image). Behind the feature `picture`, so that its dependency never
//! enters a default build.

use std::process::ExitCode;

use layout::backends::svg::SVGWriter;
use layout::gv::{DotParser, GraphBuilder};

/// layout-rs sizes a box for a label as if each character were as wide as the type is tall
/// (its default 14 px), about twice what a proportional font takes: the boxes come out twice as
/// wide as their text, and the picture unreadably small at GitHub's width. So the labels are
/// drawn in a monospaced font of 22 px (13.2 px a character), which fills the boxes, and each
/// label gets a blank third line so that its box is tall enough for two lines of 22 px.
const LAYOUT_STYLE: &str = ".a14 { font-size: 14px; font-family: Times, serif; }";
const PICTURE_STYLE: &str = ".a14 { font-size: 22px; font-family: DejaVu Sans Mono, monospace; }";
/// How far up each label moves so that its two 22 px lines sit in the middle of its box:
/// layout-rs puts the first line 2 × 14 px above the centre, and `dy="1.0em"` moves it down by
/// 22 px, 6 px above the centre, where 11 px centres the pair.
const TEXT_SHIFT: f64 = 5.0;

/// `examples/moons/main.rs:164:43` as `moons/main.rs:164`, `src/tutorial.rs:41:16` as
/// `tutorial.rs:41`: the file and the line.
fn short_location(location: &str) -> String {
    let mut parts = location.rsplitn(3, ':');
    let (_column, line, path) = (parts.next(), parts.next(), parts.next());
    match (path, line) {
        (Some(path), Some(line)) => {
            let path = path.strip_prefix("examples/").unwrap_or(path);
            let path = path.strip_prefix("src/").unwrap_or(path);
            format!("{path}:{line}")
        }
        _ => location.to_string(),
    }
}

/// `to_dot`'s node line with a shorter label (`#5 affine [200, 3]` over `tutorial.rs:41`; no
/// gradient norm) and the picture's type size; other lines as they are.
fn for_the_picture(line: &str) -> String {
    let Some((node, rest)) = line.split_once(" [label=\"") else {
        return line.to_string();
    };
    let Some((label, attributes)) = rest.split_once('"') else {
        return line.to_string();
    };
    let parts: Vec<&str> = label.split("\\n").collect();
    let label = match parts[..] {
        [head, shape, location, ..] => {
            format!("{head} {shape}\\n{}\\n ", short_location(location))
        }
        _ => label.to_string(),
    };
    format!("{node} [label=\"{label}\"{attributes}")
}

/// The right and bottom edges of the drawing's boxes. layout-rs sizes its canvas for each
/// label as if it ran downwards, which leaves a tall empty margin; the boxes bound the drawing.
fn extent(svg: &str) -> (f64, f64) {
    let attribute = |tag: &str, name: &str| -> f64 {
        let key = format!(" {name}=\"");
        tag.find(&key)
            .and_then(|at| {
                let rest = &tag[at + key.len()..];
                rest[..rest.find('"')?].parse().ok()
            })
            .unwrap_or(0.0)
    };
    let mut edges = (0.0f64, 0.0f64);
    for (at, _) in svg.match_indices("<rect ") {
        let tag = &svg[at..at + svg[at..].find('>').unwrap_or(0)];
        let (x, y) = (attribute(tag, "x"), attribute(tag, "y"));
        let (width, height) = (attribute(tag, "width"), attribute(tag, "height"));
        edges = (edges.0.max(x + width), edges.1.max(y + height));
    }
    edges
}

/// The SVG with its canvas cut to the drawing plus a margin.
fn cropped(svg: &str) -> String {
    let (right, bottom) = extent(svg);
    let (width, height) = ((right + 30.0).ceil(), (bottom + 30.0).ceil());
    let Some(start) = svg.find("<svg ") else {
        return svg.to_string();
    };
    let end = start + svg[start..].find('>').unwrap_or(0);
    let header = format!(
        "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    let svg = format!("{}{header}{}", &svg[..start], &svg[end + 1..]);
    let svg = svg.replace(LAYOUT_STYLE, PICTURE_STYLE);
    // Each label: `<text … y="Y" class="a14">`.
    let mut moved = String::with_capacity(svg.len());
    let mut rest = svg.as_str();
    while let Some(at) = rest.find("<text ") {
        let tag_end = at + rest[at..].find('>').unwrap_or(0);
        let tag = &rest[at..tag_end];
        moved.push_str(&rest[..at]);
        match tag.find(" y=\"").and_then(|y| {
            let value_start = y + 4;
            let value_end = value_start + tag[value_start..].find('"')?;
            let value: f64 = tag[value_start..value_end].parse().ok()?;
            Some((value_start, value_end, value))
        }) {
            Some((start, end, y)) => {
                moved.push_str(&tag[..start]);
                moved.push_str(&format!("{}", y - TEXT_SHIFT));
                moved.push_str(&tag[end..]);
            }
            None => moved.push_str(tag),
        }
        rest = &rest[tag_end..];
    }
    moved.push_str(rest);
    moved
}

/// The SVG drawing of the graph in `dot`, or the parser's complaint.
fn draw(dot: &str) -> Result<String, String> {
    let dot: String = dot
        .lines()
        .map(for_the_picture)
        .collect::<Vec<_>>()
        .join("\n");
    let mut parser = DotParser::new(&dot);
    let graph = parser.process()?;
    let mut builder = GraphBuilder::new();
    builder.visit_graph(&graph);
    let mut visual = builder.get();
    let mut svg = SVGWriter::new();
    visual.do_it(false, false, false, &mut svg);
    Ok(cropped(&svg.finalize()))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dot_path, svg_path] = &args[..] else {
        eprintln!("usage: tape_picture TAPE.dot OUT.svg (TAPE.dot from `moons --graph`)");
        return ExitCode::from(2);
    };
    let result = std::fs::read_to_string(dot_path)
        .map_err(|error| format!("{dot_path}: {error}"))
        .and_then(|dot| draw(&dot).map_err(|error| format!("{dot_path}: {error}")))
        .and_then(|svg| {
            std::fs::write(svg_path, svg).map_err(|error| format!("{svg_path}: {error}"))
        });
    match result {
        Ok(()) => {
            println!("picture: {svg_path}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("tape_picture: {message}");
            ExitCode::FAILURE
        }
    }
}
