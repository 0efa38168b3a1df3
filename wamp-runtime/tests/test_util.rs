//! `Invocation::for_test` (feature `test-util`): a callee's handler tested without a
//! session or a router, the way generated callee glue is.

use std::time::Duration;

use futures_util::StreamExt;
use wamp::client::{IntoResult, Invocation, StandardError, WampError};
use wamp::protocol::{InvocationDetails, Payload, Uri};
use wamp::{Dict, Serializer};

const COUNT: Uri = Uri::from_static("com.example.count");

/// A handler as an application (or generated glue) writes it: reads typed arguments,
/// streams progress, returns a typed result.
async fn count_to(inv: Invocation) -> Result<Payload, WampError> {
    let (n,): (u32,) = inv.args()?;
    for i in 1..n {
        inv.send_progress(inv.result(&(i,))?).await;
    }
    inv.result(&(n,))
}

#[tokio::test]
async fn a_handler_runs_on_a_test_invocation_and_its_progress_is_collected() {
    let details = InvocationDetails::new().with_receive_progress(true);
    let args = Payload::from_values(vec![4.into()], Dict::new());
    let (inv, mut progress) = Invocation::for_test(COUNT, args, details);
    assert_eq!(inv.procedure, COUNT);
    assert!(inv.wants_progress());
    let result = count_to(inv).await.expect("result");
    assert_eq!(result.args::<(u32,)>().expect("final"), (4,));
    let sent: Vec<u32> = progress
        .drain()
        .iter()
        .map(|p| p.args::<(u32,)>().expect("progress").0)
        .collect();
    assert_eq!(sent, vec![1, 2, 3]);
    // The invocation is gone: the stream ends.
    assert_eq!(progress.next().await, None);
}

#[tokio::test]
async fn errors_and_results_convert_as_in_a_session() {
    let bad = Payload::from_values(vec!["four".into()], Dict::new());
    let (inv, _progress) = Invocation::for_test(COUNT, bad, InvocationDetails::new());
    let err = count_to(inv)
        .await
        .into_result(Serializer::Json)
        .expect_err("not a number");
    assert!(err.is_kind(StandardError::InvalidArgument), "{err}");
    // Without receive_progress, nothing is sent (as the spec wants).
    let args = Payload::from_values(vec![3.into()], Dict::new());
    let (inv, mut progress) = Invocation::for_test(COUNT, args, InvocationDetails::new());
    assert!(!inv.progress(Payload::empty()));
    let result = count_to(inv).await.expect("result");
    assert_eq!(result.args::<(u32,)>().expect("final"), (3,));
    assert!(progress.drain().is_empty());
}

/// The same bound as in a session: the receiver taking a result makes room for the next.
#[tokio::test]
async fn progress_to_a_test_receiver_is_bounded_too() {
    let details = InvocationDetails::new().with_receive_progress(true);
    let (inv, mut progress) = Invocation::for_test(COUNT, Payload::empty(), details);
    for _ in 0..Invocation::PROGRESS_QUEUE {
        assert!(inv.progress(Payload::empty()));
    }
    assert!(!inv.progress(Payload::empty()), "dropped when full");
    let blocked = tokio::time::timeout(
        Duration::from_millis(50),
        inv.send_progress(Payload::empty()),
    );
    assert!(blocked.await.is_err(), "waits when full");
    assert!(progress.recv().await.is_some());
    assert!(inv.send_progress(Payload::empty()).await);
    assert_eq!(progress.drain().len(), Invocation::PROGRESS_QUEUE);
    drop(progress);
    assert!(!inv.progress(Payload::empty()), "nobody receives");
}
