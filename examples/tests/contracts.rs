//! The jobs and geo contracts end to end through the embedded router: progressive
//! results and cancellation (`kill`) of a long call, errors with positional and keyword
//! payloads, binary fields over JSON, caller disclosure, events with an integer capture;
//! tagged unions, recursive types and closed enums.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use wamp::router::{RealmConfig, Router};
use wamp::typed::{Context, Progressive};
use wamp::{Binary, Serializer, Session};
use wamp_examples::geo::{self, GeoClient, Shape};
use wamp_examples::jobs::{
    self, FinishedEvent, InvalidSpec, JobId, JobSpec, JobState, JobStatus, JobsClient, RunError,
    RunProgress, RunResult, StatusError,
};

#[derive(Default)]
struct Worker {
    interrupted: Arc<AtomicBool>,
}

struct SetOnDrop(Arc<AtomicBool>, bool);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        if !self.1 {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

impl jobs::Jobs for Worker {
    async fn run(
        &self,
        ctx: Context<RunProgress>,
        spec: JobSpec,
        priority: u8,
        dry_run: bool,
    ) -> Result<RunResult, RunError> {
        if spec.command.is_empty() {
            return Err(InvalidSpec {
                field: "command".into(),
                message: "empty".into(),
            }
            .into());
        }
        // The contract asks the router to disclose callers.
        assert!(ctx.caller().is_some(), "disclose_caller is in the contract");
        assert_eq!((priority, dry_run), (5, false), "the contract's defaults");
        let mut guard = SetOnDrop(self.interrupted.clone(), false);
        let total = if spec.name == "long" { 1_000 } else { 2 };
        for done in 1..=total {
            ctx.send_progress(&RunProgress { done, total }).await?;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        guard.1 = true;
        Ok(RunResult {
            id: 7,
            stdout: spec.stdin.unwrap_or(Binary(vec![0, 159, 255])),
            elapsed_ms: 40,
        })
    }

    async fn status(&self, _: Context, id: JobId) -> Result<JobStatus, StatusError> {
        if id != 7 {
            return Err(jobs::NoSuchJob { id }.into());
        }
        Ok(JobStatus {
            id,
            state: JobState::Succeeded,
            done: 2,
            total: Some(2),
            labels: None,
        })
    }

    async fn list(
        &self,
        _: Context,
        states: Option<Vec<JobState>>,
    ) -> Result<Vec<JobStatus>, wamp::client::Error> {
        let all = vec![JobStatus {
            id: 7,
            state: JobState::Succeeded,
            done: 2,
            total: Some(2),
            labels: None,
        }];
        Ok(match states {
            Some(s) => all.into_iter().filter(|j| s.contains(&j.state)).collect(),
            None => all,
        })
    }
}

struct Atlas;

impl geo::Geo for Atlas {
    async fn area(&self, _: Context, shape: Shape, unit: geo::Unit) -> Result<f64, geo::AreaError> {
        let m2 = match shape {
            Shape::Circle(c) => std::f64::consts::PI * c.radius * c.radius,
            Shape::Rectangle(r) => {
                let (w, h) = (r.max.x - r.min.x, r.max.y - r.min.y);
                if w <= 0.0 || h <= 0.0 {
                    return Err(geo::DegenerateShape {
                        reason: "empty rectangle".into(),
                    }
                    .into());
                }
                w * h
            }
        };
        Ok(if unit == geo::Unit::Km { m2 / 1e6 } else { m2 })
    }

    async fn region_at(
        &self,
        _: Context,
        point: geo::Point,
        _depth: Option<u8>,
    ) -> Result<geo::Region, geo::RegionAtError> {
        if point.x < 0.0 {
            return Err(geo::NoSuchRegion { point }.into());
        }
        let leaf = geo::Region {
            name: "district".into(),
            outline: vec![],
            children: vec![],
            parent_hint: None,
            tags: None,
        };
        Ok(geo::Region {
            name: "city".into(),
            outline: vec![point.clone()],
            children: vec![leaf.clone()],
            parent_hint: Some(Box::new(leaf)),
            tags: Some([("iso".to_string(), "FR".to_string())].into()),
        })
    }
}

async fn sessions() -> (Router, Session, Session) {
    let router = Router::builder()
        .realm(RealmConfig::new("realm1"))
        .websocket("127.0.0.1:0".parse().expect("address"))
        .start()
        .await
        .expect("router");
    let url = router.listeners()[0].url();
    let callee = Session::builder(&url)
        .serializer(Serializer::MsgPack)
        .connect()
        .await
        .expect("callee");
    // JSON on the caller's side: binary fields use WAMP's JSON convention.
    let caller = Session::builder(&url)
        .serializer(Serializer::Json)
        .connect()
        .await
        .expect("caller");
    (router, callee, caller)
}

fn spec(name: &str, command: &[&str]) -> JobSpec {
    JobSpec {
        name: name.into(),
        command: command.iter().map(|s| s.to_string()).collect(),
        env: None,
        stdin: Some(Binary(vec![1, 2, 0, 255])),
        labels: None,
    }
}

#[tokio::test]
async fn jobs_progress_errors_binary_and_cancellation() {
    let (_router, callee, caller) = sessions().await;
    let worker = Worker::default();
    let interrupted = worker.interrupted.clone();
    let _service = jobs::serve(&callee, worker).await.expect("serve");
    let client = JobsClient::new(caller.clone());

    let items: Vec<_> = client
        .run(spec("short", &["true"]))
        .progressive()
        .collect()
        .await;
    let items: Vec<_> = items.into_iter().map(|i| i.expect("item")).collect();
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(
        items[0],
        Progressive::Progress(RunProgress { done: 1, total: 2 })
    );
    match &items[2] {
        Progressive::Final(r) => {
            assert_eq!(r.id, 7);
            assert_eq!(r.stdout, Binary(vec![1, 2, 0, 255]), "bytes survive JSON");
        }
        other => panic!("expected the final result, got {other:?}"),
    }

    // A plain await skips the progress and gives the result.
    let r = client.run(spec("short", &["true"])).await.expect("run");
    assert_eq!(r.elapsed_ms, 40);

    // An error with keyword payload, and one with a positional payload.
    match client.run(spec("bad", &[])).await {
        Err(RunError::InvalidSpec(e)) => {
            assert_eq!((e.field.as_str(), e.message.as_str()), ("command", "empty"))
        }
        other => panic!("expected InvalidSpec, got {other:?}"),
    }
    match client.status(8).await {
        Err(StatusError::NoSuchJob(e)) => assert_eq!(e.id, 8),
        other => panic!("expected NoSuchJob, got {other:?}"),
    }
    assert_eq!(
        client.status(7).await.expect("status").state,
        JobState::Succeeded
    );
    assert_eq!(client.list(None).await.expect("list").len(), 1);
    assert!(client
        .list(Some(vec![JobState::Failed]))
        .await
        .expect("list")
        .is_empty());

    // Dropping a long progressive call cancels it with `kill`: the worker is interrupted.
    let mut stream = client.run(spec("long", &["sleep"])).progressive();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("progress in time");
    assert!(
        matches!(first, Some(Ok(Progressive::Progress(_)))),
        "{first:?}"
    );
    drop(stream);
    tokio::time::timeout(Duration::from_secs(5), async {
        while !interrupted.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the callee's handler is dropped when the caller drops the call");
}

#[tokio::test]
async fn job_events_carry_an_integer_capture() {
    let (_router, callee, caller) = sessions().await;
    let mut events = JobsClient::new(callee.clone())
        .subscribe_finished()
        .await
        .expect("subscribe");
    let status = JobStatus {
        id: 42,
        state: JobState::Failed,
        done: 1,
        total: None,
        labels: None,
    };
    JobsClient::new(caller)
        .publish_finished(&FinishedEvent {
            id: 42,
            status: status.clone(),
        })
        .acknowledge(true)
        .await
        .expect("publish");
    let got = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("in time")
        .expect("an event")
        .expect("typed");
    assert_eq!(got, FinishedEvent { id: 42, status });
}

#[tokio::test]
async fn geo_unions_recursive_types_and_enums() {
    let (_router, callee, caller) = sessions().await;
    let _service = geo::serve(&callee, Atlas).await.expect("serve");
    let client = GeoClient::new(caller);
    let circle = Shape::Circle(geo::Circle {
        center: geo::Point {
            x: 0.0,
            y: 0.0,
            label: None,
        },
        radius: 1000.0,
    });
    let km2 = client.area(circle).unit(geo::Unit::Km).await.expect("area");
    assert!((km2 - std::f64::consts::PI).abs() < 1e-9, "{km2}");
    let flat = Shape::Rectangle(geo::Rectangle {
        min: geo::Point {
            x: 1.0,
            y: 1.0,
            label: None,
        },
        max: geo::Point {
            x: 1.0,
            y: 5.0,
            label: None,
        },
    });
    match client.area(flat).await {
        Err(geo::AreaError::DegenerateShape(e)) => assert_eq!(e.reason, "empty rectangle"),
        other => panic!("expected DegenerateShape, got {other:?}"),
    }
    let here = geo::Point {
        x: 2.0,
        y: 3.0,
        label: Some("here".into()),
    };
    let region = client.region_at(here.clone(), None).await.expect("region");
    assert_eq!(region.outline, vec![here]);
    assert_eq!(region.children[0].name, "district");
    assert_eq!(
        region.parent_hint.as_ref().map(|r| r.name.as_str()),
        Some("district")
    );
    assert_eq!(
        region
            .tags
            .as_ref()
            .and_then(|t| t.get("iso"))
            .map(String::as_str),
        Some("FR")
    );
    match client
        .region_at(
            geo::Point {
                x: -1.0,
                y: 0.0,
                label: None,
            },
            Some(2),
        )
        .await
    {
        Err(geo::RegionAtError::NoSuchRegion(e)) => assert_eq!(e.point.x, -1.0),
        other => panic!("expected NoSuchRegion, got {other:?}"),
    }
}
