//! What `Session::{call, publish, subscribe, register}` accept as a URI: text, validated
//! here, or a [`Uri`], validated when it was made and taken as it is.
//!
//! Programs call and publish the same few URIs over and over: the concrete URIs given as
//! text and validated last on a thread are reused (a string comparison and a reference
//! count instead of validating and allocating every time). Constant URIs
//! (`Uri::from_static` in a `const`) skip even that.

use std::borrow::Cow;

use crate::protocol::{Uri, UriError, UriKind};

/// A URI argument: `&str`, `String`, `&String`, `Cow<str>`, [`Uri`] or `&Uri`.
///
/// Text is checked against the loose rules for the URI's kind (a procedure or topic to
/// call or publish is concrete; what a subscription or registration matches depends on
/// its match policy). A [`Uri`] passed the rules when it was made and is not checked
/// again: generated code passes `const` URIs.
pub trait IntoUri {
    /// This value as a URI of `kind`.
    fn into_uri(self, kind: UriKind) -> Result<Uri, UriError>;

    /// This value as a URI whose kind is decided later (by a match policy set after the
    /// URI was given).
    fn into_pending(self) -> PendingUri;
}

/// A URI whose kind is not known yet: a [`Uri`], or text to check once the kind is known
/// (see [`IntoUri::into_pending`]).
#[derive(Clone, Debug)]
pub struct PendingUri(Pending);

#[derive(Clone, Debug)]
enum Pending {
    Valid(Uri),
    Text(String),
}

impl IntoUri for PendingUri {
    fn into_uri(self, kind: UriKind) -> Result<Uri, UriError> {
        match self.0 {
            Pending::Valid(uri) => Ok(uri),
            Pending::Text(text) => text.into_uri(kind),
        }
    }

    fn into_pending(self) -> PendingUri {
        self
    }
}

impl IntoUri for &str {
    fn into_uri(self, kind: UriKind) -> Result<Uri, UriError> {
        match kind {
            UriKind::Concrete => recent_uri(self),
            UriKind::Prefix | UriKind::Wildcard => Uri::with_kind(self, kind),
        }
    }

    fn into_pending(self) -> PendingUri {
        PendingUri(Pending::Text(self.to_owned()))
    }
}

impl IntoUri for String {
    fn into_uri(self, kind: UriKind) -> Result<Uri, UriError> {
        self.as_str().into_uri(kind)
    }

    fn into_pending(self) -> PendingUri {
        PendingUri(Pending::Text(self))
    }
}

impl IntoUri for &String {
    fn into_uri(self, kind: UriKind) -> Result<Uri, UriError> {
        self.as_str().into_uri(kind)
    }

    fn into_pending(self) -> PendingUri {
        self.as_str().into_pending()
    }
}

impl IntoUri for Cow<'_, str> {
    fn into_uri(self, kind: UriKind) -> Result<Uri, UriError> {
        (*self).into_uri(kind)
    }

    fn into_pending(self) -> PendingUri {
        PendingUri(Pending::Text(self.into_owned()))
    }
}

impl IntoUri for Uri {
    fn into_uri(self, _kind: UriKind) -> Result<Uri, UriError> {
        Ok(self)
    }

    fn into_pending(self) -> PendingUri {
        PendingUri(Pending::Valid(self))
    }
}

impl IntoUri for &Uri {
    fn into_uri(self, _kind: UriKind) -> Result<Uri, UriError> {
        Ok(self.clone())
    }

    fn into_pending(self) -> PendingUri {
        PendingUri(Pending::Valid(self.clone()))
    }
}

/// URIs this thread validated last, most recent first.
const RECENT_URIS: usize = 4;

thread_local! {
    static RECENT: std::cell::RefCell<[Option<Uri>; RECENT_URIS]> = const {
        std::cell::RefCell::new([None, None, None, None])
    };
}

/// A concrete URI given as text, reused if this thread validated it lately (see the
/// module documentation). Invalid ones are never remembered.
fn recent_uri(uri: &str) -> Result<Uri, UriError> {
    RECENT.with(|recent| {
        let Ok(mut recent) = recent.try_borrow_mut() else {
            return Uri::new(uri);
        };
        if let Some(i) = recent
            .iter()
            .position(|u| u.as_ref().is_some_and(|u| u.as_str() == uri))
        {
            recent[..=i].rotate_right(1);
            if let Some(hit) = &recent[0] {
                return Ok(hit.clone());
            }
        }
        let fresh = Uri::new(uri)?;
        recent.rotate_right(1);
        recent[0] = Some(fresh.clone());
        Ok(fresh)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_uris_are_reused_and_still_validated() {
        let names = [
            "a.one", "a.two", "a.three", "a.four", "a.five", "a.one", "a.five",
        ];
        for _ in 0..3 {
            for name in names {
                assert_eq!(recent_uri(name).expect("valid").as_str(), name);
            }
        }
        // Invalid ones are refused every time, never remembered.
        for _ in 0..2 {
            assert!(recent_uri("a..b").is_err());
            assert!(recent_uri("").is_err());
            assert!(recent_uri("a b").is_err());
        }
        assert_eq!(recent_uri("a.one").expect("valid").as_str(), "a.one");
    }

    /// Text is checked for the kind asked for; a `Uri` is taken as it is, whatever the
    /// kind (it was checked when it was made: `from_static` promises a valid one).
    #[test]
    fn text_is_validated_and_uris_are_not() {
        use UriKind::*;
        let text_cases = [
            ("com.a.b", Concrete, true),
            ("com.a.", Concrete, false),
            ("com.a.", Prefix, true),
            ("com..b", Prefix, false),
            ("com..b", Wildcard, true),
            ("com a", Wildcard, false),
        ];
        for (text, kind, ok) in text_cases {
            assert_eq!(text.into_uri(kind).is_ok(), ok, "&str {text:?} {kind:?}");
            assert_eq!(
                text.to_owned().into_uri(kind).is_ok(),
                ok,
                "String {text:?} {kind:?}"
            );
            assert_eq!((&text.to_owned()).into_uri(kind).is_ok(), ok);
            assert_eq!(Cow::Borrowed(text).into_uri(kind).is_ok(), ok);
            assert_eq!(text.into_pending().into_uri(kind).is_ok(), ok);
        }
        // Not checked again: even a URI that the rules would refuse for this kind
        // (only `from_static`, which does not check, can make one).
        let unchecked = Uri::from_static("com..b");
        for kind in [Concrete, Prefix, Wildcard] {
            assert_eq!(unchecked.clone().into_uri(kind), Ok(unchecked.clone()));
            assert_eq!((&unchecked).into_uri(kind), Ok(unchecked.clone()));
            assert_eq!(
                unchecked.clone().into_pending().into_uri(kind),
                Ok(unchecked.clone())
            );
        }
    }
}
