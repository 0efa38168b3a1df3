//! Authorization: what a role may do on which URIs.
//!
//! A realm without roles configured lets every session do everything (the development
//! default). Once roles are configured, an action is allowed only if the session's role
//! has a permission that matches the URI (the most specific one decides: exact, then the
//! longest prefix, then the most specific wildcard) and grants the action.

use std::collections::HashMap;

use super::matching::{matches, wildcard_rank};
use crate::protocol::MatchPolicy;

/// Something a session may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Call procedures.
    Call,
    /// Register procedures.
    Register,
    /// Publish events.
    Publish,
    /// Subscribe to topics.
    Subscribe,
}

impl Action {
    /// The name used in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Action::Call => "call",
            Action::Register => "register",
            Action::Publish => "publish",
            Action::Subscribe => "subscribe",
        }
    }

    /// Parses a configuration name.
    pub fn parse(s: &str) -> Option<Action> {
        [
            Action::Call,
            Action::Register,
            Action::Publish,
            Action::Subscribe,
        ]
        .into_iter()
        .find(|a| a.name() == s)
    }
}

/// One permission of a role.
#[derive(Clone, Debug)]
pub struct Permission {
    /// The URI, prefix or wildcard pattern it applies to.
    pub uri: String,
    /// How `uri` is matched.
    pub policy: MatchPolicy,
    /// What it allows.
    pub allow: Vec<Action>,
    /// Whether callers may disclose themselves (`disclose_me` on CALL).
    pub disclose_caller: bool,
    /// Whether publishers may disclose themselves (`disclose_me` on PUBLISH).
    pub disclose_publisher: bool,
}

impl Permission {
    /// A permission on everything under `prefix` (`""` is every URI).
    pub fn prefix(prefix: impl Into<String>, allow: &[Action]) -> Self {
        Permission {
            uri: prefix.into(),
            policy: MatchPolicy::Prefix,
            allow: allow.to_vec(),
            disclose_caller: true,
            disclose_publisher: true,
        }
    }

    /// A permission on one URI.
    pub fn exact(uri: impl Into<String>, allow: &[Action]) -> Self {
        Permission {
            uri: uri.into(),
            policy: MatchPolicy::Exact,
            allow: allow.to_vec(),
            disclose_caller: true,
            disclose_publisher: true,
        }
    }
}

/// Why an action is refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Denied {
    /// `wamp.error.not_authorized`.
    NotAuthorized,
    /// `wamp.error.option_disallowed.disclose_me`.
    DiscloseMe,
}

/// The most specific permission of `permissions` that matches `uri`.
fn best<'a>(permissions: &'a [Permission], uri: &str) -> Option<&'a Permission> {
    let candidates = || {
        permissions
            .iter()
            .filter(|p| matches(p.policy, &p.uri, uri))
    };
    if let Some(p) = candidates().find(|p| p.policy == MatchPolicy::Exact) {
        return Some(p);
    }
    if let Some(p) = candidates()
        .filter(|p| p.policy == MatchPolicy::Prefix)
        .max_by_key(|p| p.uri.len())
    {
        return Some(p);
    }
    candidates()
        .filter(|p| p.policy == MatchPolicy::Wildcard)
        .max_by_key(|p| wildcard_rank(&p.uri))
}

/// Checks `action` on `uri` for `role`. `roles` is `None` when the realm has no
/// authorization configured.
pub(crate) fn check(
    roles: Option<&HashMap<String, Vec<Permission>>>,
    role: &str,
    action: Action,
    uri: &str,
    disclose_me: bool,
) -> Result<(), Denied> {
    let Some(roles) = roles else { return Ok(()) };
    let permission = roles
        .get(role)
        .and_then(|perms| best(perms, uri))
        .ok_or(Denied::NotAuthorized)?;
    if !permission.allow.contains(&action) {
        return Err(Denied::NotAuthorized);
    }
    let may_disclose = match action {
        Action::Call => permission.disclose_caller,
        Action::Publish => permission.disclose_publisher,
        _ => true,
    };
    if disclose_me && !may_disclose {
        return Err(Denied::DiscloseMe);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_permission_decides() {
        let mut roles = HashMap::new();
        let mut no_disclose = Permission::exact("com.app.secret", &[Action::Call]);
        no_disclose.disclose_caller = false;
        roles.insert(
            "user".to_owned(),
            vec![
                Permission::prefix("com.app.", &[Action::Call, Action::Subscribe]),
                Permission::prefix("com.app.admin.", &[]),
                no_disclose,
                Permission {
                    uri: "com..status".into(),
                    policy: MatchPolicy::Wildcard,
                    allow: vec![Action::Publish],
                    disclose_caller: true,
                    disclose_publisher: true,
                },
            ],
        );
        let r = Some(&roles);
        assert_eq!(check(r, "user", Action::Call, "com.app.add", false), Ok(()));
        assert_eq!(
            check(r, "user", Action::Register, "com.app.add", false),
            Err(Denied::NotAuthorized)
        );
        assert_eq!(
            check(r, "user", Action::Call, "com.app.admin.kill", false),
            Err(Denied::NotAuthorized)
        );
        assert_eq!(
            check(r, "user", Action::Call, "com.app.secret", true),
            Err(Denied::DiscloseMe)
        );
        assert_eq!(
            check(r, "user", Action::Call, "com.app.secret", false),
            Ok(())
        );
        assert_eq!(
            check(r, "user", Action::Publish, "com.x.status", false),
            Ok(())
        );
        assert_eq!(
            check(r, "other", Action::Call, "com.app.add", false),
            Err(Denied::NotAuthorized)
        );
        assert_eq!(check(None, "anyone", Action::Register, "x", true), Ok(()));
    }
}
