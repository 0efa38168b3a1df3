//! URI rules for contracts: the spec's strict rules (components of `[0-9a-z_]`), plus
//! whole-component `{capture}`s in topic URIs.
//!
//! Contracts are stricter than the wire (which allows loose URIs) so that a contract's
//! URIs work with every router and every client library.

/// Checks a URI; the error completes the sentence "`URI` ...".
pub(crate) fn check(uri: &str, captures: bool) -> Result<(), String> {
    if uri.is_empty() {
        return Err("is empty".into());
    }
    for (i, component) in uri.split('.').enumerate() {
        if component.is_empty() {
            return Err(format!("is not a valid URI: component {} is empty", i + 1));
        }
        if let Some(name) = component
            .strip_prefix('{')
            .and_then(|c| c.strip_suffix('}'))
        {
            if !captures {
                return Err(format!(
                    "is not a valid URI: `{component}` (captures are only for topics)"
                ));
            }
            if !crate::parse::is_identifier(name) {
                return Err(format!(
                    "is not a valid URI: `{component}` is not a valid capture name"
                ));
            }
            continue;
        }
        if let Some(bad) = component
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
        {
            return Err(format!(
                "is not a valid URI: `{bad}` in component `{component}` (components are lowercase letters, digits and `_`)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn strict_components_and_whole_component_captures() {
        assert!(check("com.example.add", false).is_ok());
        assert!(check("wamp.session.count", false).is_ok());
        assert!(check("com.x.{device}.{metric}", true).is_ok());
        assert!(check("com.x.{device}", false).is_err());
        assert!(check("com..x", false)
            .unwrap_err()
            .contains("component 2 is empty"));
        assert!(check("com.X", false).unwrap_err().contains("`X`"));
        assert!(check("com.a-b", false).is_err());
        assert!(check("com.x{y}", true).is_err());
        assert!(check("", false).is_err());
    }
}
