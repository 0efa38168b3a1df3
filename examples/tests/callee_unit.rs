//! A generated callee trait's implementation tested without a session or router:
//! `Invocation::for_test` (feature `test-util`) builds the invocation, and its
//! `ProgressReceiver` collects the progressive results the implementation sends, decoded
//! with the contract's own wire codec.

use wamp::client::Invocation;
use wamp::protocol::InvocationDetails;
use wamp::typed::Context;
use wamp::{Payload, Uri};
use wamp_examples::calculator::{self, Calculator, DivideError, DivideProgress};
use wamp_examples::geo;

struct Calc;

impl Calculator for Calc {
    async fn add(&self, _: Context, a: f64, b: f64) -> Result<f64, wamp::client::Error> {
        Ok(a + b)
    }
    async fn divide(
        &self,
        ctx: Context<DivideProgress>,
        a: f64,
        b: f64,
        _precision: u32,
    ) -> Result<f64, DivideError> {
        if b == 0.0 {
            return Err(calculator::DivideByZero { dividend: a }.into());
        }
        for done in 1..=2 {
            ctx.send_progress(&DivideProgress { done, total: 2 })
                .await?;
        }
        Ok(a / b)
    }
    async fn sqrt(&self, _: Context, x: f64) -> Result<f64, calculator::SqrtError> {
        Ok(x.sqrt())
    }
    async fn distance(
        &self,
        _: Context,
        _a: geo::Point,
        _b: geo::Point,
        _unit: geo::Unit,
    ) -> Result<f64, wamp::client::Error> {
        Ok(0.0)
    }
    async fn round(
        &self,
        _: Context,
        value: f64,
        _digits: u8,
        mode: calculator::Rounding,
    ) -> Result<calculator::RoundResult, wamp::client::Error> {
        Ok(calculator::RoundResult { value, mode })
    }
}

#[tokio::test]
async fn a_callee_method_with_progress_without_a_router() {
    let (invocation, mut progress) = Invocation::for_test(
        Uri::from_static("com.example.calc.divide"),
        Payload::empty(),
        InvocationDetails::new().with_receive_progress(true),
    );
    let ctx = Context::new(invocation, calculator::wire::DivideProgress::encode);
    let q = Calc.divide(ctx, 1.0, 4.0, 6).await.expect("divide");
    assert_eq!(q, 0.25);
    let items: Vec<DivideProgress> = progress
        .drain()
        .iter()
        .map(|p| calculator::wire::DivideProgress::decode(p).expect("a progress item"))
        .collect();
    assert_eq!(
        items,
        vec![
            DivideProgress { done: 1, total: 2 },
            DivideProgress { done: 2, total: 2 }
        ]
    );

    // The declared error becomes the ERROR the session would send.
    let (invocation, _progress) = Invocation::for_test(
        Uri::from_static("com.example.calc.divide"),
        Payload::empty(),
        InvocationDetails::new(),
    );
    let err = Calc
        .divide(
            Context::new(invocation, calculator::wire::DivideProgress::encode),
            3.0,
            0.0,
            6,
        )
        .await
        .expect_err("divide by zero");
    let wamp = err.into_wamp_error(wamp::Serializer::Json);
    assert_eq!(wamp.uri.as_str(), "com.example.calc.error.divide_by_zero");
    assert_eq!(
        wamp.payload
            .kwargs_values()
            .expect("kwargs")
            .get("dividend"),
        Some(&wamp::Value::from(3.0))
    );
}
