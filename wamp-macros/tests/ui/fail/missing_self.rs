#[wamp_runtime::service(version = "1.0.0", prefix = "com.example")]
pub trait Math {
    async fn add(a: f64, b: f64) -> f64;
    async fn sub(&mut self, a: f64, b: f64) -> f64;
}

fn main() {}
