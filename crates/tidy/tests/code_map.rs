//! ARCHITECTURE.md's code map names every source file, and only files that
//! exist (in the spirit of rust-analyzer's `xtask tidy`).
//!
//! The code map is the first fenced block after the `## Code map` heading.
//! Its lines are read like this:
//!
//! - A line that starts in the first column is a heading: its first word is
//!   a folder relative to the repository root (`crates/hub`, `ui`, `tests`).
//! - A line indented by exactly two spaces is an entry: its first word is a
//!   path relative to the heading above it (`src/api/orders.rs`), named one
//!   by one, no globs. A path ending in `/` names a folder, for a note about
//!   the files in it; it does not name them.
//! - A line indented further continues the description above it.
//!
//! Source files are every `*.rs`, `*.ts` and `*.tsx` in the tree, outside
//! build output, dependencies, generated files and hidden folders. The tree
//! is read each time the test runs.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

const SOURCE_EXTENSIONS: &[&str] = &["rs", "ts", "tsx"];

/// Folders never read, wherever they are.
const SKIPPED_NAMES: &[&str] = &["target", "node_modules", "gen"];

/// Folders never read, relative to the repository root.
const SKIPPED_PATHS: &[&str] = &["ui/dist"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `path` relative to the repository root, with `/` between components.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn skipped(root: &Path, dir: &Path) -> bool {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name.starts_with('.')
        || SKIPPED_NAMES.contains(&name.as_ref())
        || SKIPPED_PATHS.contains(&relative(root, dir).as_str())
        // Cargo marks every target folder (`target`, `target-bench`, ...) so.
        || dir.join("CACHEDIR.TAG").exists()
}

fn is_source(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| SOURCE_EXTENSIONS.contains(&e))
}

/// Every source file under `dir`, relative to `root`.
fn source_files(root: &Path, dir: &Path, found: &mut Vec<String>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
        let path = entry.path();
        let kind = entry
            .file_type()
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        if kind.is_dir() {
            if !skipped(root, &path) {
                source_files(root, &path, found);
            }
        } else if kind.is_file() && is_source(&path) {
            found.push(relative(root, &path));
        }
    }
}

/// What the code map says, and what is wrong with how it says it.
#[derive(Default)]
struct CodeMap {
    /// Every file or folder named, relative to the repository root, with the
    /// line of ARCHITECTURE.md that names it.
    named: BTreeMap<String, usize>,
    problems: Vec<String>,
}

fn read_code_map(text: &str) -> CodeMap {
    let mut map = CodeMap::default();
    let mut lines = text.lines().enumerate().map(|(i, line)| (i + 1, line));
    if !lines.any(|(_, line)| line.trim_end() == "## Code map") {
        map.problems
            .push("ARCHITECTURE.md has no `## Code map` heading".to_owned());
        return map;
    }
    if !lines.any(|(_, line)| line.starts_with("```")) {
        map.problems
            .push("the code map has no fenced block after `## Code map`".to_owned());
        return map;
    }
    let mut heading: Option<String> = None;
    let mut closed = false;
    for (number, line) in lines {
        if line.starts_with("```") {
            closed = true;
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        let word = line.split_whitespace().next().unwrap_or_default();
        let path = match indent {
            0 => {
                let folder = word.trim_end_matches('/').to_owned();
                heading = Some(folder.clone());
                format!("{folder}/")
            }
            2 => match &heading {
                Some(folder) => format!("{folder}/{word}"),
                None => {
                    map.problems.push(format!(
                        "line {number}: an entry before any heading: {word}"
                    ));
                    continue;
                }
            },
            _ => continue,
        };
        if path.contains(['*', '?', '[', '{']) {
            map.problems.push(format!(
                "line {number}: {path} is a pattern; name each file on its own line"
            ));
        } else if let Some(first) = map.named.insert(path.clone(), number) {
            map.problems.push(format!(
                "line {number}: {path} is named twice (first on line {first})"
            ));
        }
    }
    if !closed {
        map.problems
            .push("the code map's fenced block is never closed".to_owned());
    }
    map
}

#[test]
fn architecture_md_names_every_source_file_and_no_missing_one() {
    let root = root();
    let architecture = root.join("ARCHITECTURE.md");
    let text = fs::read_to_string(&architecture)
        .unwrap_or_else(|e| panic!("reading {}: {e}", architecture.display()));
    let map = read_code_map(&text);

    let mut sources = Vec::new();
    source_files(&root, &root, &mut sources);
    sources.sort();

    let unnamed: Vec<&String> = sources
        .iter()
        .filter(|file| !map.named.contains_key(*file))
        .collect();
    let gone: Vec<String> = map
        .named
        .iter()
        .filter(|(path, _)| {
            let on_disk = root.join(path.trim_end_matches('/'));
            if path.ends_with('/') {
                !on_disk.is_dir()
            } else {
                !on_disk.is_file()
            }
        })
        .map(|(path, line)| format!("{path} (line {line})"))
        .collect();

    let mut report = String::new();
    if !unnamed.is_empty() {
        report.push_str(
            "\nSource files the code map does not name; add each under its folder's \
             heading as `  <path from the heading>  <what it is>`:\n",
        );
        for file in &unnamed {
            report.push_str(&format!("  {file}\n"));
        }
    }
    if !gone.is_empty() {
        report.push_str("\nFiles and folders the code map names that do not exist:\n");
        for path in &gone {
            report.push_str(&format!("  {path}\n"));
        }
    }
    if !map.problems.is_empty() {
        report.push_str("\nThe code map itself:\n");
        for problem in &map.problems {
            report.push_str(&format!("  {problem}\n"));
        }
    }
    assert!(
        report.is_empty(),
        "ARCHITECTURE.md's code map is out of date (its notation is described in \
         crates/tidy/tests/code_map.rs):\n{report}"
    );
    println!(
        "the code map names all {} source files, and each file it names exists",
        sources.len()
    );
}
