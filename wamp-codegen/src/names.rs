//! Rust names derived from contract names, in one place.
//!
//! Contract names are converted (types and errors to UpperCamelCase, procedures, topics,
//! fields and arguments to snake_case, constants to SCREAMING_SNAKE_CASE); a Rust keyword
//! becomes a raw identifier (`r#type`) rather than an error. Validation checks that no
//! two names become one identifier.

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
    "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn",
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
    "virtual", "yield", "try", "gen",
];

/// Keywords that cannot be raw identifiers: they get a trailing `_` instead.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// A type name: `divide_by_zero` → `DivideByZero`.
pub fn type_name(name: &str) -> String {
    let camel = name.to_upper_camel_case();
    fix_start(if camel.is_empty() { "_".into() } else { camel }, "T")
}

/// A function, field or module name: `tsMs` → `ts_ms`.
pub fn snake(name: &str) -> String {
    let snake = name.to_snake_case();
    fix_start(if snake.is_empty() { "_".into() } else { snake }, "_")
}

/// A constant name: `divide` → `DIVIDE`.
pub fn constant(name: &str) -> String {
    fix_start(name.to_shouty_snake_case(), "_")
}

/// An enum variant name for a wire value: `km` → `Km`, `1st` → `V1st`.
pub fn variant(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let camel = cleaned.to_upper_camel_case();
    if camel.is_empty() {
        return "Empty".into();
    }
    fix_start(camel, "V")
}

fn fix_start(name: String, prefix: &str) -> String {
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("{prefix}{name}")
    } else {
        name
    }
}

/// The identifier for a derived name, raw if it is a keyword.
pub fn ident(name: &str) -> Ident {
    if NOT_RAW.contains(&name) {
        Ident::new(&format!("{name}_"), Span::call_site())
    } else if KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

/// The name an identifier has for serde (without `r#`).
pub fn unraw(name: &str) -> String {
    if NOT_RAW.contains(&name) {
        format!("{name}_")
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(type_name("divide_by_zero"), "DivideByZero");
        assert_eq!(type_name("Point"), "Point");
        assert_eq!(snake("tsMs"), "ts_ms");
        assert_eq!(snake("type"), "type");
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(ident("self").to_string(), "self_");
        assert_eq!(ident("Self").to_string(), "Self_");
        assert_eq!(constant("divide"), "DIVIDE");
        assert_eq!(variant("km"), "Km");
        assert_eq!(variant("1st"), "V1st");
        assert_eq!(variant("in-progress"), "InProgress");
        assert_eq!(variant(""), "Empty");
    }
}
