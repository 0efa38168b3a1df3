//! `wamp codegen diff`: two versions of a contract, from files or from git.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use wamp_codegen::diff::{self, Change, Level};

use crate::cli::{DiffArgs, DiffFormat};
use crate::exit::{Failure, REMOTE, USAGE};

/// Runs the comparison; exit 1 when something breaks.
pub fn run(args: DiffArgs) -> Result<(), Failure> {
    let (old, new) = match (&args.against, args.files.as_slice()) {
        (Some(rev), [new]) => {
            let git = GitRevision::new(rev, new)?;
            (
                wamp_codegen::load_from(&[git.path_of(new)?], &git),
                wamp_codegen::load(&[new]),
            )
        }
        (None, [old, new]) => (wamp_codegen::load(&[old]), wamp_codegen::load(&[new])),
        (Some(_), _) => return Err(Failure::usage("with --against, give only the NEW file")),
        (None, _) => {
            return Err(Failure::usage(
                "give the OLD and the NEW file (or --against REV NEW)",
            ))
        }
    };
    eprint!("{}", old.report());
    eprint!("{}", new.report());
    if old.has_errors() || new.has_errors() {
        return Err(Failure::quiet(USAGE));
    }
    let changes = diff::compare(&old.bundle, &new.bundle);
    let breaking = changes.iter().any(|c| c.level == Level::Breaking);
    let text = match args.format {
        DiffFormat::Text => text(&changes),
        DiffFormat::Json => json(&changes, breaking),
    };
    print!("{text}");
    if breaking {
        Err(Failure::quiet(REMOTE))
    } else {
        Ok(())
    }
}

fn text(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "no changes\n".into();
    }
    let mut out = String::new();
    for c in changes {
        out.push_str(&format!(
            "{:<8} {}: {}\n         hint: {}\n",
            c.level.as_str(),
            c.path,
            c.message,
            c.hint
        ));
    }
    let count = |l| changes.iter().filter(|c| c.level == l).count();
    out.push_str(&format!(
        "{} breaking, {} warning, {} info\n",
        count(Level::Breaking),
        count(Level::Warning),
        count(Level::Info)
    ));
    out
}

fn json(changes: &[Change], breaking: bool) -> String {
    let list: Vec<serde_json::Value> = changes
        .iter()
        .map(|c| {
            serde_json::json!({
                "level": c.level.as_str(),
                "path": c.path,
                "message": c.message,
                "hint": c.hint,
            })
        })
        .collect();
    let doc = serde_json::json!({ "breaking": breaking, "changes": list });
    format!("{doc:#}\n")
}

/// Contract files as they were at a git revision.
struct GitRevision {
    rev: String,
    root: PathBuf,
}

impl GitRevision {
    fn new(rev: &str, near: &Path) -> Result<Self, Failure> {
        let dir = near
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let output = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["rev-parse", "--show-toplevel"])
            .output()
            .map_err(|e| Failure::usage(format!("cannot run git: {e}")))?;
        if !output.status.success() {
            return Err(Failure::usage(format!(
                "{} is not in a git repository",
                near.display()
            )));
        }
        let root = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        Ok(GitRevision {
            rev: rev.to_string(),
            root,
        })
    }

    /// The absolute, normalized path of a file of the working tree.
    fn path_of(&self, file: &Path) -> Result<PathBuf, Failure> {
        let dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = std::fs::canonicalize(dir)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))?;
        Ok(dir.join(file.file_name().unwrap_or_default()))
    }
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

impl wamp_codegen::FileSystem for GitRevision {
    fn canonicalize(&self, path: &Path) -> std::io::Result<PathBuf> {
        Ok(normalize(path))
    }

    fn read(&self, path: &Path) -> std::io::Result<String> {
        let rel = path.strip_prefix(&self.root).map_err(|_| {
            std::io::Error::other(format!("{} is outside the repository", path.display()))
        })?;
        let spec = format!("{}:{}", self.rev, rel.display());
        let output = Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(["show", &spec])
            .output()?;
        if !output.status.success() {
            return Err(std::io::Error::other(format!(
                "not in revision {}: {}",
                self.rev,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        String::from_utf8(output.stdout).map_err(std::io::Error::other)
    }
}
