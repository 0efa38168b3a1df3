#[wamp_runtime::service(version = "1.0.0", prefix = "com.example")]
pub trait Telemetry {
    #[wamp_runtime::topic(uri = ".telemetry.{device}.{metric}")]
    fn telemetry(&self, device: String, #[kwarg] value: f64);
}

fn main() {}
