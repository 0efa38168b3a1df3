#[wamp_runtime::service(version = "1.0.0", prefix = "com.example")]
pub trait Math {
    #[wamp_runtime::procedure]
    fn add(&self, a: f64, b: f64) -> f64;
}

fn main() {}
