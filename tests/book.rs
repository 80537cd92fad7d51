//! The book (`docs/book/`) and the front pages cannot go stale: every chapter is a doctest module
//! of `src/lib.rs`, every relative link and image path exists, every printed output a chapter
//! quotes is what the example prints today, the README stays a front page, and the Chinese
//! chapter's code is the English chapter's.

mod example_runs;

use std::path::{Path, PathBuf};

/// The front pages, which link into the book.
const FRONT_PAGES: [&str; 2] = ["README.md", "README.zh-CN.md"];

/// Every Markdown file under `docs/book/`, sub-folders included, sorted.
fn book_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(Path::new("docs/book"), &mut found);
    found.sort();
    found
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `path` with `/` separators, as `include_str!` and links spell it.
fn slashed(path: &Path) -> String {
    path.components()
        .map(|part| part.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The chapters `lib_rs` does not include as doctest modules.
fn not_included(lib_rs: &str, chapters: &[PathBuf]) -> Vec<String> {
    chapters
        .iter()
        .map(|path| slashed(path))
        .filter(|path| !lib_rs.contains(&format!("#[doc = include_str!(\"../{path}\")]")))
        .collect()
}

#[test]
fn every_chapter_is_a_doctest_module() {
    let chapters = book_files();
    assert!(chapters.len() >= 13, "{chapters:?}");
    let lib_rs = read(Path::new("src/lib.rs"));
    let missing = not_included(&lib_rs, &chapters);
    assert!(
        missing.is_empty(),
        "not included in src/lib.rs's `mod book`, so their code blocks never run: {missing:?}"
    );
    // The check itself: a chapter left out is found.
    let without = lib_rs.replace("docs/book/04-checking-gradients.md", "elsewhere.md");
    assert_eq!(
        not_included(&without, &chapters),
        ["docs/book/04-checking-gradients.md"]
    );
}

/// The text outside fenced code blocks, and the fenced blocks: (info string, body) in order.
fn split_fences(markdown: &str) -> (String, Vec<(String, String)>) {
    let (mut prose, mut blocks) = (String::new(), Vec::new());
    let mut open: Option<(String, String)> = None;
    for line in markdown.lines() {
        match (&mut open, line.trim_start().strip_prefix("```")) {
            (None, Some(info)) => open = Some((info.trim().to_string(), String::new())),
            (Some(_), Some(_)) => blocks.push(open.take().unwrap()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {
                prose.push_str(line);
                prose.push('\n');
            }
        }
    }
    assert!(open.is_none(), "a code block is never closed");
    (prose, blocks)
}

/// The targets of Markdown links and images and of HTML `src`/`href` attributes.
fn link_targets(prose: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for (start, _) in prose.match_indices("](") {
        let rest = &prose[start + 2..];
        if let Some(end) = rest.find(')') {
            targets.push(rest[..end].trim().to_string());
        }
    }
    for attribute in ["src=\"", "href=\""] {
        for (start, _) in prose.match_indices(attribute) {
            let rest = &prose[start + attribute.len()..];
            if let Some(end) = rest.find('"') {
                targets.push(rest[..end].to_string());
            }
        }
    }
    targets
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(markdown: &str) -> Vec<String> {
    let (prose, _) = split_fences(markdown);
    prose
        .lines()
        .filter_map(|line| line.strip_prefix('#'))
        .map(|heading| anchor(heading.trim_start_matches('#')))
        .collect()
}

/// The broken relative links of the Markdown file at `path`: a missing file, or a missing
/// heading for a `#anchor` into a Markdown file.
fn broken_links(path: &Path, markdown: &str) -> Vec<String> {
    let (prose, _) = split_fences(markdown);
    let dir = path.parent().unwrap();
    let mut broken = Vec::new();
    for target in link_targets(&prose) {
        if target.contains("://") || target.starts_with("mailto:") {
            continue; // no network
        }
        let (file, fragment) = match target.split_once('#') {
            Some((file, fragment)) => (file, Some(fragment)),
            None => (target.as_str(), None),
        };
        let resolved = if file.is_empty() {
            path.to_path_buf()
        } else {
            dir.join(file)
        };
        if !resolved.exists() {
            broken.push(format!("{}: {target} (no such file)", path.display()));
            continue;
        }
        if let Some(fragment) = fragment
            && resolved.extension().is_some_and(|ext| ext == "md")
            && !anchors(&read(&resolved)).iter().any(|a| a == fragment)
        {
            broken.push(format!("{}: {target} (no such heading)", path.display()));
        }
    }
    broken
}

#[test]
fn every_relative_link_and_image_exists() {
    let mut files: Vec<PathBuf> = FRONT_PAGES.iter().map(PathBuf::from).collect();
    files.extend(book_files());
    let mut broken = Vec::new();
    let mut checked = 0;
    for path in &files {
        let markdown = read(path);
        checked += link_targets(&split_fences(&markdown).0).len();
        broken.extend(broken_links(path, &markdown));
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(
        checked > 50,
        "only {checked} links found: is the parser still right?"
    );

    // The check itself: a missing file, a missing image and a missing heading are each found.
    let planted = "[a](02-the-tape.md#no-such-heading) ![b](../images/none.png) \
                   <img src=\"../images/moons.png\"> [c](nowhere.md) [d](https://example.com)";
    let found = broken_links(Path::new("docs/book/01-backprop-by-hand.md"), planted);
    assert_eq!(found.len(), 3, "{found:?}");
}

#[test]
fn the_readme_is_a_front_page_of_at_most_200_lines() {
    for page in FRONT_PAGES {
        let lines = read(Path::new(page)).lines().count();
        assert!(
            lines <= 200,
            "{page} has {lines} lines: move the detail into the book"
        );
    }
}

/// An output block a chapter quotes: the command that prints it and the lines quoted.
struct Quoted {
    chapter: PathBuf,
    example: String,
    args: Vec<String>,
    lines: Vec<String>,
}

/// The ```text blocks right after a `<!-- output: EXAMPLE ARGS -->` line.
fn quoted_outputs(chapter: &Path, markdown: &str) -> Vec<Quoted> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut quoted = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        let Some(command) = line
            .strip_prefix("<!-- output: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        assert_eq!(
            lines.get(at + 1).copied(),
            Some("```text"),
            "{}: an output marker must be followed by a ```text block",
            chapter.display()
        );
        let body = lines[at + 2..]
            .iter()
            .take_while(|line| **line != "```")
            .map(|line| line.to_string())
            .collect();
        let mut words = command.split_whitespace().map(String::from);
        quoted.push(Quoted {
            chapter: chapter.to_path_buf(),
            example: words.next().expect("an example's name"),
            args: words.collect(),
            lines: body,
        });
    }
    quoted
}

/// Whether `quoted` appears in `printed`: each run of lines between `…` lines is a run of
/// consecutive printed lines, the runs in order.
fn appears_in(quoted: &[String], printed: &str) -> Result<(), String> {
    let printed: Vec<&str> = printed.lines().collect();
    let mut from = 0;
    for run in quoted.split(|line| line == "…") {
        if run.is_empty() {
            continue;
        }
        let found = (from..printed.len().saturating_sub(run.len() - 1))
            .find(|&start| run.iter().zip(&printed[start..]).all(|(q, p)| q == p));
        match found {
            Some(start) => from = start + run.len(),
            None => {
                return Err(format!(
                    "not printed (after line {from}):\n{}",
                    run.join("\n")
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn quoted_outputs_are_what_the_examples_print() {
    let scratch = example_runs::scratch_dir("book");
    let out = scratch.to_str().unwrap();
    let mut checked = 0;
    for chapter in book_files() {
        for quoted in quoted_outputs(&chapter, &read(&chapter)) {
            let args: Vec<String> = quoted
                .args
                .iter()
                .map(|a| a.replace("{out}", out))
                .collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let output = example_runs::run(&quoted.example, &args);
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "{} {args:?}: {stdout}",
                quoted.example
            );
            if let Err(message) = appears_in(&quoted.lines, &stdout) {
                panic!(
                    "{}: `{} {}` prints something else today: {message}\n\nit printed:\n{stdout}",
                    quoted.chapter.display(),
                    quoted.example,
                    args.join(" ")
                );
            }
            checked += 1;
        }
    }
    std::fs::remove_dir_all(scratch).ok();
    assert!(checked >= 7, "only {checked} quoted outputs found");
}

#[test]
fn the_output_matcher_finds_runs_in_order_and_refuses_the_rest() {
    let printed = "a\nb\nc\nd\ne\n";
    let lines = |text: &str| text.lines().map(String::from).collect::<Vec<_>>();
    assert!(appears_in(&lines("a\nb\n…\nd"), printed).is_ok());
    assert!(appears_in(&lines("b\nc\nd"), printed).is_ok());
    assert!(appears_in(&lines("a\nc"), printed).is_err()); // not consecutive
    assert!(appears_in(&lines("d\n…\nb"), printed).is_err()); // out of order
    assert!(appears_in(&lines("b\nx"), printed).is_err());
}

/// The Rust code blocks of a chapter, in order.
fn rust_blocks(markdown: &str) -> Vec<String> {
    split_fences(markdown)
        .1
        .into_iter()
        .filter(|(info, _)| info == "rust" || info.starts_with("rust,"))
        .map(|(_, body)| body)
        .collect()
}

#[test]
fn the_chinese_chapter_runs_the_english_chapters_code() {
    let mut pairs = 0;
    for translated in book_files() {
        let Ok(rest) = translated.strip_prefix("docs/book/zh-CN") else {
            continue;
        };
        let english = Path::new("docs/book").join(rest);
        let (theirs, ours) = (
            rust_blocks(&read(&translated)),
            rust_blocks(&read(&english)),
        );
        if english.ends_with("README.md") {
            continue; // a table of contents, no code
        }
        assert!(!ours.is_empty(), "{} has no code", english.display());
        assert_eq!(
            theirs,
            ours,
            "{}'s code blocks differ from {}'s",
            translated.display(),
            english.display()
        );
        pairs += 1;
    }
    assert!(pairs >= 1, "no Chinese chapter found under docs/book/zh-CN");
}

/// `examples/moons/main.rs:164:43` as the picture writes it: `moons/main.rs:164`.
fn short_location(location: &str) -> String {
    let mut parts = location.rsplitn(3, ':');
    let (_column, line, path) = (parts.next(), parts.next(), parts.next());
    let path = path.expect("a path:line:column location");
    let path = path.strip_prefix("examples/").unwrap_or(path);
    let path = path.strip_prefix("src/").unwrap_or(path);
    format!("{path}:{}", line.unwrap())
}

/// Each node's label in `moons --graph`'s DOT: its head (`#5 affine`), shape and location.
fn dot_nodes(dot: &str) -> Vec<(String, String, String)> {
    dot.lines()
        .filter_map(|line| line.split_once("[label=\"").map(|(_, rest)| rest))
        .map(|rest| {
            let label = &rest[..rest.find('"').unwrap()];
            let parts: Vec<&str> = label.split("\\n").collect();
            (parts[0].into(), parts[1].into(), parts[2].into())
        })
        .collect()
}

/// The text lines of the SVG's labels, in order.
fn svg_lines(svg: &str) -> Vec<String> {
    svg.match_indices("dy=\"1.0em\">")
        .map(|(at, key)| {
            let rest = &svg[at + key.len()..];
            rest[..rest.find("</tspan>").unwrap()].replace("&gt;", ">")
        })
        .collect()
}

#[test]
fn the_tape_picture_shows_todays_tape() {
    let scratch = example_runs::scratch_dir("book-graph");
    let dot_path = scratch.join("tape.dot");
    let output = example_runs::run("moons", &["--graph", dot_path.to_str().unwrap()]);
    assert!(output.status.success());
    let nodes = dot_nodes(&read(&dot_path));
    std::fs::remove_dir_all(scratch).ok();
    assert_eq!(
        nodes.len(),
        11,
        "the tutorial's pass has 11 nodes (5 leaves, 6 ops): {nodes:?}"
    );

    let svg = read(Path::new("docs/images/tape.svg"));
    let lines = svg_lines(&svg);
    let boxes: Vec<(&str, &str)> = lines
        .chunks(3)
        .map(|chunk| (chunk[0].as_str(), chunk[1].as_str()))
        .collect();
    assert_eq!(boxes.len(), nodes.len(), "{lines:?}");
    for (head, shape, location) in &nodes {
        let expected = (format!("{head} {shape}"), short_location(location));
        assert!(
            boxes.contains(&(expected.0.as_str(), expected.1.as_str())),
            "docs/images/tape.svg lacks {expected:?}: redraw it (docs/images/README.md)"
        );
    }
}
