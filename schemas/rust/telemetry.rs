//! `telemetry.wamp.toml` written in Rust: topics with captures, an open enum, a retained
//! topic and a query procedure, as a `#[wamp::contract]` module. Both generate the same
//! code (wamp-codegen's `rust_twins` test); the examples crate compiles this one as
//! `wamp_examples::code_first_telemetry::telemetry`.

/// Device telemetry, device status and chat rooms.
#[wamp::contract(version = "1.3.0", prefix = "com.example")]
pub mod telemetry {
    /// What a telemetry sample measures. Open: devices with newer firmware report metrics not
    /// listed here, and subscribers keep them as unknown values instead of refusing the event.
    #[derive(wamp::Type)]
    #[wamp(open)]
    pub enum Metric {
        /// CPU load, 0.0 to 1.0 per core.
        Cpu,
        /// Resident memory in bytes.
        Memory,
        /// Used disk space in bytes.
        Disk,
        Temperature,
    }

    /// The state a device last reported. Closed.
    #[derive(wamp::Type)]
    pub enum DeviceState {
        Online,
        Degraded,
        Offline,
        Maintenance,
    }

    /// One message in a chat room.
    #[derive(wamp::Type)]
    pub struct ChatMessage {
        pub author: String,
        /// Markdown.
        pub text: String,
        /// When the author sent it, in milliseconds since the Unix epoch.
        pub sent_ms: u64,
        /// When it was last edited, if ever.
        #[wamp(since = "1.2.0")]
        pub edited_ms: Option<u64>,
    }

    /// No chat room of that name exists.
    #[derive(wamp::Error)]
    #[wamp(uri = ".error.no_such_room")]
    pub struct NoSuchRoom {
        #[kwarg]
        pub room: String,
    }

    pub trait Telemetry {
        /// One sample of one metric of one device.
        ///
        /// Published to the concrete URI (`com.example.telemetry.pump_7.cpu`); subscribing to the
        /// pattern is a wildcard subscription (`com.example.telemetry..`) and the handler gets `device`
        /// and `metric` parsed from the event's topic.
        #[wamp::topic(uri = ".telemetry.{device}.{metric}")]
        fn telemetry(
            &self,
            #[wamp(doc = "The device's ID, a valid URI component.")] device: String,
            metric: Metric,
            #[kwarg] value: f64,
            #[kwarg] ts_ms: u64,
            #[kwarg(
                since = "1.1.0",
                doc = "Unit of `value` when not the metric's default."
            )]
            unit: Option<String>,
        );

        /// A device's current state. Retained: a new subscriber gets the last status at once.
        #[wamp::topic(uri = ".device.{device}.status", retain)]
        fn device_status(
            &self,
            device: String,
            state: DeviceState,
            #[kwarg] since_ms: u64,
            #[kwarg] message: Option<String>,
        );

        /// A message posted to a chat room.
        #[wamp::topic(uri = ".chat.{room}")]
        fn chat(
            &self,
            room: String,
            #[kwarg] author: String,
            #[kwarg] text: String,
            #[kwarg] sent_ms: u64,
        );

        /// Operator announcements for every user (no captures: an exact subscription).
        #[wamp::topic(since = "1.3.0")]
        fn announcements(&self, text: String, #[kwarg(default = "info")] level: Option<String>);

        /// The latest messages of a chat room, oldest first.
        #[wamp::procedure(result = "messages", errors(NoSuchRoom))]
        async fn history(
            &self,
            room: String,
            #[kwarg(default = 50, doc = "At most this many messages.")] limit: Option<u32>,
            #[kwarg(since = "1.2.0", doc = "Only messages sent before this time.")]
            before_ms: Option<u64>,
        ) -> Vec<ChatMessage>;
    }
}
