#[wamp_runtime::service(version = "1.0.0", prefix = "com.example")]
pub trait Text {
    async fn echo(&self, text: &str, pair: (u8, u8)) -> String;
    async fn count(&self, words: std::collections::HashMap<String, u32>) -> usize;
}

fn main() {}
