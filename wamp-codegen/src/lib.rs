//! Code generation for typed WAMP contracts.
//!
//! A contract (`NAME.wamp.toml` or `NAME.wamp.json`, see `schemas/README.md`) declares
//! procedures, topics, types and errors once. This crate reads contracts into one owned
//! model ([`model`]), validates them with located diagnostics, and renders Rust: types,
//! URI constants, a typed client, a callee trait with its registration, typed publishers
//! and subscriptions. Generated code reaches the runtime through an absolute path
//! (`::wamp` by default); this crate never depends on the runtime.
//!
//! From `build.rs`:
//!
//! ```no_run
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     wamp_codegen::compile(&["contracts/calculator.wamp.toml"])?;
//!     Ok(())
//! }
//! ```
//!
//! and in the crate: `wamp::include_contracts!();` (one `pub mod` per contract).

pub mod diff;
pub mod export;
pub mod model;
pub mod rust;
pub mod source;
#[doc(hidden)]
pub mod wire_derive;
pub mod write;

mod doc;
mod names;
mod parse;
mod render;
mod typeexpr;
mod uri;
mod validate;

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use model::{Bundle, Import};
use source::{Diagnostics, FileId, Located, Sources, Span};

/// The file `compile` writes into `OUT_DIR`, and `wamp::include_contracts!` includes.
pub const OUTPUT_FILE: &str = "wamp_contracts.rs";

/// What can go wrong when generating code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A contract is invalid: every diagnostic, one `FILE:LINE:COL: error: MESSAGE` per line.
    #[error("invalid WAMP contract:\n{0}")]
    Invalid(String),
    /// Writing the output failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `compile` was called outside a build script and no output directory was set.
    #[error("OUT_DIR is not set: call compile() from build.rs, or set Builder::out_dir")]
    NoOutDir,
}

/// Contracts read and validated: the model, the files read, and what was found.
#[derive(Debug)]
pub struct Loaded {
    /// Every file read (the ones asked for and their imports).
    pub sources: Sources,
    /// The contracts, each after the ones it imports.
    pub bundle: Bundle,
    /// Errors and warnings.
    pub diagnostics: Diagnostics,
}

impl Loaded {
    /// Whether any error was found (then nothing should be generated).
    pub fn has_errors(&self) -> bool {
        self.diagnostics.has_errors()
    }

    /// Every diagnostic as `FILE:LINE:COL: error: MESSAGE`, one per line.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for d in self.diagnostics.iter() {
            out.push_str(
                &Located {
                    sources: &self.sources,
                    diagnostic: d,
                }
                .to_string(),
            );
            out.push('\n');
        }
        out
    }
}

/// Reads contract files (and, transitively, their imports) and validates them.
///
/// Never fails: unreadable files, syntax errors and invalid contracts all become
/// diagnostics in the result.
pub fn load<P: AsRef<Path>>(files: &[P]) -> Loaded {
    load_from(files, &Disk)
}

/// Where contract files are read from: the disk, or elsewhere (a git revision for
/// `wamp codegen diff --against`).
pub trait FileSystem {
    /// A path that is the same for every way of naming the file (it detects import cycles
    /// and files imported twice).
    fn canonicalize(&self, path: &Path) -> std::io::Result<PathBuf>;
    /// The file's text.
    fn read(&self, path: &Path) -> std::io::Result<String>;
}

/// The disk.
pub struct Disk;

impl FileSystem for Disk {
    fn canonicalize(&self, path: &Path) -> std::io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
}

/// [`load`] reading from `fs`.
pub fn load_from<P: AsRef<Path>>(files: &[P], fs: &dyn FileSystem) -> Loaded {
    let mut loader = Loader {
        fs,
        sources: Sources::default(),
        diags: Diagnostics::default(),
        bundle: Bundle::default(),
        done: HashMap::new(),
        stack: Vec::new(),
    };
    for f in files {
        let path = f.as_ref();
        loader.visit(path, path.display().to_string(), None);
    }
    if !loader.diags.has_errors() {
        validate::bundle(&loader.bundle, &mut loader.diags);
    }
    Loaded {
        sources: loader.sources,
        bundle: loader.bundle,
        diagnostics: loader.diags,
    }
}

struct Loader<'f> {
    fs: &'f dyn FileSystem,
    sources: Sources,
    diags: Diagnostics,
    bundle: Bundle,
    /// Canonical path → the contract's name (None: the file could not be read).
    done: HashMap<PathBuf, Option<String>>,
    /// The files being read, for import cycles: (canonical path, shown name).
    stack: Vec<(PathBuf, String)>,
}

impl Loader<'_> {
    /// Reads one file and its imports; returns the contract's name.
    fn visit(&mut self, path: &Path, name: String, from: Option<Span>) -> Option<String> {
        let report = |diags: &mut Diagnostics, msg: String| match from {
            Some(span) => diags.error(span, msg),
            None => diags.error_nowhere(msg),
        };
        let canonical = match self.fs.canonicalize(path) {
            Ok(p) => p,
            Err(e) => {
                let what = if from.is_some() {
                    "imported file"
                } else {
                    "file"
                };
                report(&mut self.diags, format!("cannot read {what} {name}: {e}"));
                return None;
            }
        };
        if let Some(i) = self.stack.iter().position(|(p, _)| *p == canonical) {
            let cycle: Vec<&str> = self.stack[i..]
                .iter()
                .map(|(_, n)| n.as_str())
                .chain(std::iter::once(name.as_str()))
                .collect();
            report(
                &mut self.diags,
                format!("import cycle: {}", cycle.join(" imports ")),
            );
            return None;
        }
        if let Some(done) = self.done.get(&canonical) {
            return done.clone();
        }
        let text = match self.fs.read(&canonical) {
            Ok(t) => t,
            Err(e) => {
                report(&mut self.diags, format!("cannot read {name}: {e}"));
                self.done.insert(canonical, None);
                return None;
            }
        };
        let file = self.sources.add(&canonical, name.clone(), text);
        let contract = self.read(file, &canonical, &name);
        self.done.insert(canonical, contract.clone());
        contract
    }

    fn read(&mut self, file: FileId, canonical: &Path, name: &str) -> Option<String> {
        let text = &self.sources.get(file).text;
        let is_json = canonical.extension().is_some_and(|e| e == "json");
        let root = if is_json {
            doc::from_json(file, text)
        } else {
            doc::from_toml(file, text)
        };
        let root = match root {
            Ok(r) => r,
            Err(e) => {
                self.diags.error(e.span, e.message);
                return None;
            }
        };
        let shown = Path::new(name)
            .file_name()
            .map_or_else(|| name.to_string(), |f| f.to_string_lossy().into_owned());
        let parsed = parse::contract(&root, &shown, &mut self.diags)?;
        let mut contract = parsed.contract;

        self.stack.push((canonical.to_path_buf(), name.to_string()));
        for (alias, rel, span) in parsed.imports {
            let target = canonical.parent().unwrap_or(Path::new("")).join(&rel);
            let shown = lexical_join(Path::new(name).parent(), &rel);
            if let Some(imported) = self.visit(&target, shown, Some(span)) {
                contract.imports.push(Import {
                    alias,
                    path: rel,
                    contract: imported,
                });
            }
        }
        self.stack.pop();

        let cname = contract.name.name.clone();
        if let Some(other) = self.bundle.contracts.iter().find(|c| c.name.name == cname) {
            self.diags.error(
                contract.name.span,
                format!(
                    "two contracts are named `{cname}` (the other is in {}): the generated modules would collide",
                    other.source_name
                ),
            );
            return None;
        }
        self.bundle.contracts.push(contract);
        Some(cname)
    }
}

/// `dir/rel`, with `..` and `.` resolved lexically (for messages).
fn lexical_join(dir: Option<&Path>, rel: &str) -> String {
    let mut out = PathBuf::new();
    for c in dir.unwrap_or(Path::new("")).join(rel).components() {
        match c {
            Component::ParentDir
                if out
                    .components()
                    .next_back()
                    .is_some_and(|l| matches!(l, Component::Normal(_))) =>
            {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.display().to_string()
}

/// Generation settings. Start from [`configure`].
#[derive(Clone, Debug)]
pub struct Builder {
    runtime: String,
    prelude: bool,
    out_dir: Option<PathBuf>,
    file_name: String,
    emit_rerun: bool,
}

/// Settings for generating code: the runtime's path, where to write.
pub fn configure() -> Builder {
    Builder {
        runtime: "::wamp".into(),
        prelude: false,
        out_dir: None,
        file_name: OUTPUT_FILE.into(),
        emit_rerun: true,
    }
}

/// Generates code for `files` into `OUT_DIR` (the one-line `build.rs` form of
/// `configure().compile(files)`).
pub fn compile<P: AsRef<Path>>(files: &[P]) -> Result<(), Error> {
    configure().compile(files)
}

impl Builder {
    /// The path generated code uses for the runtime crate (default `::wamp`, the name the
    /// README gives the dependency; e.g. `::wamp_runtime` when it is not renamed).
    pub fn runtime_path(mut self, path: impl Into<String>) -> Self {
        self.runtime = path.into();
        self
    }

    /// Whether each generated module imports the standard prelude itself (default false):
    /// needed when the code is included in a module under `#![no_implicit_prelude]`,
    /// since the serde and schemars derives on the generated types expect the prelude.
    pub fn import_prelude(mut self, import: bool) -> Self {
        self.prelude = import;
        self
    }

    /// Where to write (default: `OUT_DIR`).
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// The output file's name (default [`OUTPUT_FILE`]).
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = name.into();
        self
    }

    /// Whether to print `cargo:rerun-if-changed` for every file read (default true).
    pub fn emit_rerun_if_changed(mut self, emit: bool) -> Self {
        self.emit_rerun = emit;
        self
    }

    /// Generates the code for `files` (and their imports) as one formatted Rust source
    /// with one `pub mod` per contract.
    pub fn generate<P: AsRef<Path>>(&self, files: &[P]) -> Result<String, Error> {
        let loaded = load(files);
        self.render(&loaded)
    }

    /// Renders contracts already loaded.
    pub fn render(&self, loaded: &Loaded) -> Result<String, Error> {
        if loaded.has_errors() {
            return Err(Error::Invalid(loaded.report()));
        }
        render::bundle(&loaded.bundle, &self.runtime, self.prelude).map_err(Error::Invalid)
    }

    /// Renders one contract of contracts already loaded as its module alone (`pub mod
    /// NAME { ... }`, formatted, without the file's `@generated` header): what
    /// `#[wamp::contract]` expands to for the same contract.
    pub fn render_module(&self, loaded: &Loaded, contract: &str) -> Result<String, Error> {
        if loaded.has_errors() {
            return Err(Error::Invalid(loaded.report()));
        }
        let c = loaded
            .bundle
            .contracts
            .iter()
            .find(|c| c.name.name == contract)
            .ok_or_else(|| Error::Invalid(format!("no contract named `{contract}` was loaded")))?;
        render::module_string(&loaded.bundle, c, &self.runtime, self.prelude)
            .map_err(Error::Invalid)
    }

    /// Generates code for `files` and writes it into the output directory (only if it
    /// changed, so that cargo does not rebuild for nothing).
    pub fn compile<P: AsRef<Path>>(&self, files: &[P]) -> Result<(), Error> {
        let loaded = load(files);
        if self.emit_rerun {
            for f in files {
                println!("cargo:rerun-if-changed={}", f.as_ref().display());
            }
            for f in loaded.sources.files() {
                println!("cargo:rerun-if-changed={}", f.path.display());
            }
        }
        let code = self.render(&loaded)?;
        let dir = match &self.out_dir {
            Some(d) => d.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(Error::NoOutDir)?,
        };
        let path = dir.join(&self.file_name);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(code.as_str()) {
            return Ok(());
        }
        std::fs::write(&path, code).map_err(|source| Error::Write { path, source })
    }
}
