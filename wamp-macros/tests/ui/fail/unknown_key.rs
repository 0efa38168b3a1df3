#[wamp_runtime::contract(version = "1.0.0", prefix = "com.example", flavour = "x")]
pub mod shop {
    #[derive(wamp_runtime::Error)]
    #[wamp(uir = ".error.sold_out")]
    pub struct SoldOut {}

    pub trait Shop {
        #[wamp_runtime::procedure(timeout = 5000, errors(SoldOut))]
        async fn buy(&self, #[kwarg(defualt = 1)] count: Option<u32>);
    }
}

fn main() {}
