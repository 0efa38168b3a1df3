//! WAMP URIs and the spec's two rule sets.
//!
//! *Loose* URIs allow any component without whitespace, `.` or `#`; *strict* URIs allow
//! only `[0-9a-z_]`. Patterns (prefix and wildcard subscriptions and registrations) may
//! have empty components. Peers must accept loose URIs, so decoding checks the loose rules
//! and applications that want more call [`validate`] with [`UriRules::Strict`].

use std::fmt;

/// Which characters URI components may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UriRules {
    /// Any character except whitespace, `.` and `#`.
    Loose,
    /// Only lowercase ASCII letters, digits and `_`.
    Strict,
}

/// Whether a URI is concrete or a pattern, which decides if empty components are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UriKind {
    /// A fully qualified URI: no empty components.
    Concrete,
    /// A prefix pattern: like a concrete URI, but the last component may be empty
    /// (`com.myapp.` and the empty prefix `""` are valid).
    Prefix,
    /// A wildcard pattern: any component may be empty (`com..create`).
    Wildcard,
}

/// Why a URI was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// An empty URI where a concrete one is needed.
    #[error("URI is empty")]
    Empty,
    /// A component is empty where that is not allowed.
    #[error("URI {uri:?} has an empty component at position {index}")]
    EmptyComponent {
        /// The URI.
        uri: String,
        /// Zero-based index of the empty component.
        index: usize,
    },
    /// A component contains a character the rules forbid.
    #[error("URI {uri:?} contains the forbidden character {ch:?}")]
    ForbiddenChar {
        /// The URI.
        uri: String,
        /// The offending character.
        ch: char,
    },
}

/// Checks `uri` against the rules for its kind.
pub fn validate(uri: &str, rules: UriRules, kind: UriKind) -> Result<(), UriError> {
    if uri.is_empty() {
        return match kind {
            UriKind::Concrete => Err(UriError::Empty),
            UriKind::Prefix | UriKind::Wildcard => Ok(()),
        };
    }
    if is_plainly_valid(uri.as_bytes(), rules, kind) {
        return Ok(());
    }
    validate_carefully(uri, rules, kind)
}

/// Component by component, Unicode-aware, with the reason when the URI is invalid.
fn validate_carefully(uri: &str, rules: UriRules, kind: UriKind) -> Result<(), UriError> {
    let count = uri.split('.').count();
    for (index, component) in uri.split('.').enumerate() {
        if component.is_empty() {
            let allowed = match kind {
                UriKind::Concrete => false,
                UriKind::Prefix => index + 1 == count,
                UriKind::Wildcard => true,
            };
            if !allowed {
                return Err(UriError::EmptyComponent {
                    uri: uri.to_owned(),
                    index,
                });
            }
            continue;
        }
        let bad = match rules {
            UriRules::Loose => component.chars().find(|c| c.is_whitespace() || *c == '#'),
            UriRules::Strict => component
                .chars()
                .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')),
        };
        if let Some(ch) = bad {
            return Err(UriError::ForbiddenChar {
                uri: uri.to_owned(),
                ch,
            });
        }
    }
    Ok(())
}

/// One pass over an ASCII URI, no allocation: `true` if it is valid for `rules` and `kind`.
/// `false` means "not sure" (invalid, or non-ASCII): [`validate`] then takes the careful path,
/// which also says what is wrong. URIs are validated on every call and publish, so the
/// common case must be cheap.
fn is_plainly_valid(uri: &[u8], rules: UriRules, kind: UriKind) -> bool {
    let table = match rules {
        UriRules::Loose => &LOOSE,
        UriRules::Strict => &STRICT,
    };
    let mut component_len = 0usize;
    for &b in uri {
        match table[usize::from(b)] {
            BYTE_OK => component_len += 1,
            // An empty component before a dot: only wildcard URIs may have one.
            BYTE_DOT if component_len == 0 && kind != UriKind::Wildcard => return false,
            BYTE_DOT => component_len = 0,
            _ => return false,
        }
    }
    // A trailing empty component: fine for prefixes and wildcards.
    component_len > 0 || kind != UriKind::Concrete
}

/// Byte classes for [`is_plainly_valid`]: allowed in a component, the separator, or "not
/// sure" (forbidden, or non-ASCII: Unicode whitespace is checked on the careful path).
const BYTE_OK: u8 = 0;
const BYTE_DOT: u8 = 1;
const BYTE_OTHER: u8 = 2;

/// Loose rules: anything but whitespace and `#`.
static LOOSE: [u8; 256] = byte_classes(false);
/// Strict rules: `[0-9a-z_]`.
static STRICT: [u8; 256] = byte_classes(true);

const fn byte_classes(strict: bool) -> [u8; 256] {
    let mut table = [BYTE_OTHER; 256];
    let mut b = 0usize;
    while b < 128 {
        let c = b as u8;
        table[b] = if c == b'.' {
            BYTE_DOT
        } else if strict {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' {
                BYTE_OK
            } else {
                BYTE_OTHER
            }
        } else if matches!(c, b'\t'..=b'\r' | b' ' | b'#') {
            BYTE_OTHER
        } else {
            BYTE_OK
        };
        b += 1;
    }
    table
}

/// A URI that passed the loose rules for its kind. Cheap to clone.
///
/// Equality, hashing and ordering are by the URI's text, however it is held.
#[derive(Clone)]
pub struct Uri(Repr);

/// Where the text lives: in the program (a `const` URI, no allocation, cloned by copy) or
/// on the heap, shared by the clones.
#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(std::sync::Arc<str>),
}

impl Uri {
    /// Validates a concrete URI with the loose rules.
    pub fn new(uri: impl AsRef<str>) -> Result<Uri, UriError> {
        Uri::with_kind(uri, UriKind::Concrete)
    }

    /// Validates a URI (or pattern) of the given kind with the loose rules.
    pub fn with_kind(uri: impl AsRef<str>, kind: UriKind) -> Result<Uri, UriError> {
        let uri = uri.as_ref();
        validate(uri, UriRules::Loose, kind)?;
        Ok(Uri(Repr::Shared(uri.into())))
    }

    /// Wraps a string without checking it, for URIs known to be valid. Usable in `const`
    /// items and costs no allocation:
    ///
    /// ```
    /// use wamp::Uri;
    /// const ADD: Uri = Uri::from_static("com.example.add");
    /// assert_eq!(ADD.as_str(), "com.example.add");
    /// ```
    pub const fn from_static(uri: &'static str) -> Uri {
        Uri(Repr::Static(uri))
    }

    /// The URI as a string slice.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Shared(s) => s,
        }
    }
}

impl PartialEq for Uri {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Uri {}

impl PartialOrd for Uri {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Uri {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for Uri {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for Uri {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Uri {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl std::ops::Deref for Uri {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Uri {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Uri {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for Uri {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(uri: &str, rules: UriRules, kind: UriKind, ok: bool) {
        assert_eq!(
            validate(uri, rules, kind).is_ok(),
            ok,
            "{uri:?} {rules:?} {kind:?}"
        );
    }

    #[test]
    fn the_fast_path_agrees_with_the_careful_one() {
        let samples = [
            "a",
            "a.b",
            "a.b.",
            ".a",
            "a..b",
            "..",
            ".",
            "a.",
            "com.example.x_1",
            "A.B",
            "a b",
            "a#b",
            "a\tb",
            "a\u{a0}b",
            "é.x",
            "a.b.c.d.e",
            "a_b.c-d",
            "x..",
            "..x",
        ];
        for uri in samples {
            for rules in [UriRules::Loose, UriRules::Strict] {
                for kind in [UriKind::Concrete, UriKind::Prefix, UriKind::Wildcard] {
                    let careful = validate_carefully(uri, rules, kind).is_ok();
                    if is_plainly_valid(uri.as_bytes(), rules, kind) {
                        assert!(careful, "{uri:?} {rules:?} {kind:?}: fast says valid");
                    }
                    if uri.is_ascii() {
                        // For ASCII the fast path decides alone.
                        assert_eq!(
                            is_plainly_valid(uri.as_bytes(), rules, kind),
                            careful,
                            "{uri:?} {rules:?} {kind:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn static_and_shared_uris_compare_hash_and_order_by_text() {
        use std::collections::hash_map::DefaultHasher;
        use std::hash::{Hash, Hasher};
        const STATIC: Uri = Uri::from_static("com.example.b");
        let shared = Uri::new("com.example.b").expect("valid");
        let hash = |u: &Uri| {
            let mut h = DefaultHasher::new();
            u.hash(&mut h);
            h.finish()
        };
        assert_eq!(STATIC, shared);
        assert_eq!(hash(&STATIC), hash(&shared));
        assert_eq!(STATIC.cmp(&shared), std::cmp::Ordering::Equal);
        let a = Uri::new("com.example.a").expect("valid");
        let c = Uri::from_static("com.example.c");
        assert!(a < STATIC && STATIC < c && a < shared && shared < c);
        assert_ne!(a, STATIC);
        // Lookups by text in maps keyed by URIs.
        let map: std::collections::HashMap<Uri, u8> = [(shared.clone(), 1)].into();
        assert_eq!(map.get("com.example.b"), Some(&1));
        assert_eq!(map.get(&STATIC), Some(&1));
        assert_eq!(
            format!("{STATIC} {STATIC:?}"),
            "com.example.b \"com.example.b\""
        );
        assert_eq!(&*STATIC.clone(), "com.example.b");
    }

    #[test]
    fn rules() {
        use UriKind::*;
        use UriRules::*;
        let cases = [
            ("com.myapp.topic1", Strict, Concrete, true),
            ("com.myapp.Topic1", Strict, Concrete, false),
            ("com.myapp.Topic1", Loose, Concrete, true),
            ("com.my-app.topic", Loose, Concrete, true),
            ("com.my app.topic", Loose, Concrete, false),
            ("com.my#app", Loose, Concrete, false),
            ("com..topic", Loose, Concrete, false),
            ("com.myapp.", Loose, Concrete, false),
            ("", Loose, Concrete, false),
            ("com..topic", Loose, Wildcard, true),
            ("..", Loose, Wildcard, true),
            ("com..topic", Loose, Prefix, false),
            ("com.myapp.", Loose, Prefix, true),
            ("", Loose, Prefix, true),
            ("wamp.error.not_authorized", Strict, Concrete, true),
            ("ünïcode.ok", Loose, Concrete, true),
        ];
        for (uri, rules, kind, ok) in cases {
            check(uri, rules, kind, ok);
        }
    }
}
