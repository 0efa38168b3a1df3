//! A reference implementation of the calculator contract, served by the end-to-end
//! tests, the interop tests and the benchmarks (the demo has its own, which narrates).

use crate::calculator::{
    self, DivideByZero, DivideError, DivideProgress, NegativeInput, RoundResult, Rounding,
    SqrtError,
};
use crate::geo;
use wamp::typed::Context;

/// The calculator: exact arithmetic, the contract's declared errors, and three progress
/// reports (`1/3`, `2/3`, `3/3`) before a division's result when the caller asks for them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Calculator;

impl calculator::Calculator for Calculator {
    async fn add(&self, _: Context, a: f64, b: f64) -> Result<f64, wamp::client::Error> {
        Ok(a + b)
    }

    async fn divide(
        &self,
        ctx: Context<DivideProgress>,
        a: f64,
        b: f64,
        precision: u32,
    ) -> Result<f64, DivideError> {
        if b == 0.0 {
            return Err(DivideByZero { dividend: a }.into());
        }
        if ctx.wants_progress() {
            for done in 1..=3 {
                ctx.send_progress(&DivideProgress { done, total: 3 })
                    .await?;
            }
        }
        let scale = 10f64.powi(i32::try_from(precision).unwrap_or(6));
        Ok((a / b * scale).round() / scale)
    }

    async fn sqrt(&self, _: Context, x: f64) -> Result<f64, SqrtError> {
        if x < 0.0 {
            return Err(NegativeInput { value: x }.into());
        }
        Ok(x.sqrt())
    }

    async fn distance(
        &self,
        _: Context,
        a: geo::Point,
        b: geo::Point,
        unit: geo::Unit,
    ) -> Result<f64, wamp::client::Error> {
        let meters = (a.x - b.x).hypot(a.y - b.y);
        Ok(match unit {
            geo::Unit::M => meters,
            geo::Unit::Km => meters / 1000.0,
            geo::Unit::Mi => meters / 1609.344,
        })
    }

    async fn round(
        &self,
        _: Context,
        value: f64,
        digits: u8,
        mode: Rounding,
    ) -> Result<RoundResult, wamp::client::Error> {
        let scale = 10f64.powi(i32::from(digits));
        let scaled = value * scale;
        let rounded = match mode {
            Rounding::HalfEven => scaled.round_ties_even(),
            Rounding::HalfUp => scaled.round(),
            Rounding::Down => scaled.trunc(),
            Rounding::Floor => scaled.floor(),
            Rounding::Ceil => scaled.ceil(),
        };
        Ok(RoundResult {
            value: rounded / scale,
            mode,
        })
    }
}
