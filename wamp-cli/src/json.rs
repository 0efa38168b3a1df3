//! Payloads and details to and from JSON, in WAMP's JSON convention (binary as a string of
//! `\u0000` followed by base64, which `wamp::Value`'s serde impls handle).

use serde::Serialize;
use wamp::client::{Event, Invocation};
use wamp::protocol::PayloadError;
use wamp::{Dict, Id, List, Payload, Value};

use crate::exit::Failure;

/// One printed line: a result, an event, or an invocation's input.
#[derive(Debug, Serialize)]
struct Line<'a> {
    args: &'a List,
    kwargs: &'a Dict,
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Dict>,
}

impl Line<'_> {
    fn to_json(&self) -> String {
        // Values are trees of strings, numbers and containers with string keys: encoding
        // them cannot fail, but say so rather than panic if it ever did.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
    }
}

/// Parses the positional ARGs, each a JSON value.
pub fn parse_args(args: &[String]) -> Result<List, Failure> {
    args.iter()
        .enumerate()
        .map(|(i, arg)| {
            serde_json::from_str::<Value>(arg).map_err(|e| {
                Failure::usage(format!(
                    "ARG {} is not JSON ({e}): {arg:?} (write a string as '\"text\"')",
                    i + 1
                ))
            })
        })
        .collect()
}

/// Parses `--kwargs`, a JSON object.
pub fn parse_kwargs(kwargs: Option<&str>) -> Result<Dict, Failure> {
    let Some(text) = kwargs else {
        return Ok(Dict::new());
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Dict(d)) => Ok(d),
        Ok(other) => Err(Failure::usage(format!(
            "--kwargs must be a JSON object, not a {}",
            other.type_name()
        ))),
        Err(e) => Err(Failure::usage(format!(
            "--kwargs is not JSON ({e}): {text:?}"
        ))),
    }
}

/// The payload's arguments and keyword arguments as dynamic values.
pub fn payload_values(payload: &Payload) -> Result<(List, Dict), PayloadError> {
    Ok((payload.args_values()?, payload.kwargs_values()?))
}

fn unreadable(e: PayloadError) -> Failure {
    Failure::remote(format!("the peer sent an unreadable payload: {e}"))
}

/// A call result: `{"args":[...],"kwargs":{...}}`, plus `"progress":true` for progressive
/// results.
pub fn result_line(payload: &Payload, progress: bool) -> Result<String, Failure> {
    let (args, kwargs) = payload_values(payload).map_err(unreadable)?;
    Ok(Line {
        args: &args,
        kwargs: &kwargs,
        progress: progress.then_some(true),
        details: None,
    }
    .to_json())
}

/// An event: `{"args":[...],"kwargs":{...},"details":{...}}`; details always carry the
/// concrete `topic`.
pub fn event_line(event: &Event) -> Result<String, Failure> {
    let (args, kwargs) = payload_values(&event.payload).map_err(unreadable)?;
    let mut details = event.details.as_dict().clone();
    details.insert("topic".into(), Value::String(event.topic.to_string()));
    Ok(Line {
        args: &args,
        kwargs: &kwargs,
        progress: None,
        details: Some(&details),
    }
    .to_json())
}

/// What an `--exec` command reads on stdin: the event shape, with the concrete `procedure`
/// in the details. One line, newline-terminated.
pub fn invocation_input(invocation: &Invocation) -> Result<Vec<u8>, PayloadError> {
    let (args, kwargs) = payload_values(&invocation.payload)?;
    let mut details = invocation.details.as_dict().clone();
    details.insert(
        "procedure".into(),
        Value::String(invocation.procedure.to_string()),
    );
    let mut line = Line {
        args: &args,
        kwargs: &kwargs,
        progress: None,
        details: Some(&details),
    }
    .to_json()
    .into_bytes();
    line.push(b'\n');
    Ok(line)
}

/// The publication ID of an acknowledged publication: `{"publication":ID}`.
pub fn publication_line(id: Id) -> String {
    format!("{{\"publication\":{}}}", id.get())
}

/// Reads what an `--exec` command printed: an `{"args":[...],"kwargs":{...}}` object is the
/// result, any other JSON value the single positional result, nothing an empty result.
pub fn parse_exec_output(stdout: &[u8]) -> Result<Payload, String> {
    let text = std::str::from_utf8(stdout).map_err(|e| format!("the output is not UTF-8: {e}"))?;
    if text.trim().is_empty() {
        return Ok(Payload::empty());
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("the output is not JSON: {e}"))?;
    match value {
        Value::Dict(mut d) if !d.is_empty() && d.keys().all(|k| k == "args" || k == "kwargs") => {
            let args = match d.remove("args") {
                None | Some(Value::Null) => List::new(),
                Some(Value::List(l)) => l,
                Some(other) => {
                    return Err(format!(
                        "\"args\" must be a JSON array, not a {}",
                        other.type_name()
                    ))
                }
            };
            let kwargs = match d.remove("kwargs") {
                None | Some(Value::Null) => Dict::new(),
                Some(Value::Dict(k)) => k,
                Some(other) => {
                    return Err(format!(
                        "\"kwargs\" must be a JSON object, not a {}",
                        other.type_name()
                    ))
                }
            };
            Ok(Payload::from_values(args, kwargs))
        }
        other => Ok(Payload::from_values(vec![other], Dict::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(p: &Payload) -> (List, Dict) {
        payload_values(p).expect("values")
    }

    #[test]
    fn args_are_json() {
        let args = parse_args(&["1".into(), "-5".into(), "\"x\"".into()]).expect("args");
        assert_eq!(
            args,
            vec![
                Value::Integer(1),
                Value::Integer(-5),
                Value::String("x".into())
            ]
        );
        assert!(parse_args(&["x".into()]).is_err());
    }

    #[test]
    fn binary_args() {
        let args = parse_args(&["\"\\u0000AAEC\"".into()]).expect("args");
        assert_eq!(args, vec![Value::Binary(vec![0, 1, 2])]);
        let line = result_line(&Payload::from_values(args, Dict::new()), false).expect("line");
        assert_eq!(line, r#"{"args":["\u0000AAEC"],"kwargs":{}}"#);
    }

    #[test]
    fn kwargs_must_be_object() {
        assert!(parse_kwargs(Some("[1]")).is_err());
        assert!(parse_kwargs(Some("{")).is_err());
        assert_eq!(parse_kwargs(None).expect("none"), Dict::new());
        assert_eq!(parse_kwargs(Some("{\"a\":1}")).expect("kwargs").len(), 1);
    }

    #[test]
    fn result_lines() {
        assert_eq!(
            result_line(&Payload::empty(), false).expect("line"),
            r#"{"args":[],"kwargs":{}}"#
        );
        assert_eq!(
            result_line(&Payload::empty(), true).expect("line"),
            r#"{"args":[],"kwargs":{},"progress":true}"#
        );
    }

    #[test]
    fn exec_output() {
        assert!(parse_exec_output(b"  \n").expect("empty").is_empty());
        let (a, k) = values(&parse_exec_output(b"{\"args\":[1],\"kwargs\":{\"b\":2}}").expect("o"));
        assert_eq!(a, vec![Value::Integer(1)]);
        assert_eq!(k.get("b"), Some(&Value::Integer(2)));
        let (a, k) = values(&parse_exec_output(b"{\"kwargs\":{\"b\":2}}").expect("o"));
        assert!(a.is_empty());
        assert_eq!(k.len(), 1);
        let (a, _) = values(&parse_exec_output(b"{\"args\":[1],\"x\":2}").expect("o"));
        assert_eq!(a.len(), 1);
        assert!(matches!(a[0], Value::Dict(_)));
        let (a, _) = values(&parse_exec_output(b"\"hi\"\n").expect("o"));
        assert_eq!(a, vec![Value::String("hi".into())]);
        let (a, _) = values(&parse_exec_output(b"{}").expect("o"));
        assert_eq!(a, vec![Value::Dict(Dict::new())]);
        assert!(parse_exec_output(b"{\"args\":5}").is_err());
        assert!(parse_exec_output(b"not json").is_err());
        assert!(parse_exec_output(b"1 2").is_err());
    }
}
