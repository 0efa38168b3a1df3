//! URI matching for pattern subscriptions and registrations, and the spec's precedence
//! (exact, then longest prefix, then the most specific wildcard).

use crate::protocol::MatchPolicy;

/// Whether `uri` is matched by `pattern` under `policy`.
pub(crate) fn matches(policy: MatchPolicy, pattern: &str, uri: &str) -> bool {
    match policy {
        MatchPolicy::Exact => pattern == uri,
        MatchPolicy::Prefix => uri.starts_with(pattern),
        MatchPolicy::Wildcard => {
            let mut p = pattern.split('.');
            let mut u = uri.split('.');
            loop {
                match (p.next(), u.next()) {
                    (None, None) => return true,
                    (Some(pc), Some(uc)) if pc.is_empty() || pc == uc => continue,
                    _ => return false,
                }
            }
        }
    }
}

/// How specific a wildcard pattern is: which components are concrete, compared left to
/// right (a concrete component earlier wins).
pub(crate) fn wildcard_rank(pattern: &str) -> Vec<bool> {
    pattern.split('.').map(|c| !c.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        use MatchPolicy::*;
        for (policy, pattern, uri, expected) in [
            (Exact, "a.b", "a.b", true),
            (Exact, "a.b", "a.b.c", false),
            (Prefix, "a.b", "a.b.c", true),
            (Prefix, "a.b.", "a.b.c", true),
            (Prefix, "", "anything", true),
            (Prefix, "a.c", "a.b.c", false),
            (Wildcard, "a..c", "a.b.c", true),
            (Wildcard, "a..c", "a.b.d", false),
            (Wildcard, "a..c", "a.b.c.d", false),
            (Wildcard, "..", "x.y.z", true),
            (Wildcard, "a.b", "a.b", true),
        ] {
            assert_eq!(
                matches(policy, pattern, uri),
                expected,
                "{policy:?} {pattern:?} {uri:?}"
            );
        }
        assert!(wildcard_rank("a1.b2..d4") > wildcard_rank("a1...d4"));
    }
}
