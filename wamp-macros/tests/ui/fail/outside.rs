#[derive(wamp_runtime::Type)]
pub struct Point {
    pub x: f64,
}

pub trait Math {
    #[wamp_runtime::procedure]
    fn add(&self, a: f64, b: f64) -> f64;
}

fn main() {}
