//! The typed meta API client (`wamp::meta`, generated from `schemas/wamp_meta.wamp.toml`)
//! against our embedded router and against Crossbar.io: the contract must decode what
//! real routers send.

use std::time::Duration;

use futures_util::StreamExt;
use wamp::meta::WampMetaClient;
use wamp::router::{RealmConfig, Router};
use wamp::{Serializer, Session};

async fn exercise(url: &str, realm: &str) {
    let connect = || async {
        Session::builder(url)
            .realm(realm)
            .serializer(Serializer::Json)
            .connect()
            .await
            .expect("join")
    };
    let observer = connect().await;
    let meta = WampMetaClient::new(observer.clone());
    let mut joins = meta.subscribe_session_on_join().await.expect("on_join");

    let other = connect().await;
    let procedure = format!("com.example.meta_probe.p{}", other.id());
    let _registration = other
        .register(procedure.as_str(), |_inv| async {
            Ok(wamp::Payload::empty())
        })
        .await
        .expect("register");

    // The join event of the other session, typed.
    let joined = loop {
        let event = tokio::time::timeout(Duration::from_secs(5), joins.next())
            .await
            .expect("an on_join event in time")
            .expect("the stream goes on")
            .expect("an on_join event the contract decodes");
        if event.details.session == other.id() {
            break event;
        }
    };
    assert!(!joined.details.authrole.is_empty());

    let count = meta.session_count(None).await.expect("session.count");
    assert!(count >= 2, "count {count}");
    let ids = meta.session_list(None).await.expect("session.list");
    assert!(ids.contains(&other.id()), "{ids:?}");
    let details = meta.session_get(other.id()).await.expect("session.get");
    assert_eq!(details.session, other.id());
    assert_eq!(details.authid, joined.details.authid);

    let reg = meta
        .registration_lookup(procedure.as_str(), None)
        .await
        .expect("registration.lookup")
        .expect("registered");
    let callees = meta
        .registration_list_callees(reg)
        .await
        .expect("registration.list_callees");
    assert_eq!(callees, vec![other.id()]);
    let info = meta.registration_get(reg).await.expect("registration.get");
    assert_eq!(info.uri, procedure);
    let missing = meta
        .registration_lookup("com.example.meta_probe.none", None)
        .await
        .expect("registration.lookup");
    assert_eq!(missing, None);

    // A declared error: get of an unknown session.
    let unknown = wamp::Id::new(1).expect("an id");
    match meta.session_get(unknown).await {
        Err(wamp::meta::SessionGetError::NoSuchSession(_)) => {}
        other => panic!("expected NoSuchSession, got {other:?}"),
    }
}

#[tokio::test]
async fn the_typed_meta_api_against_our_router() {
    let router = Router::builder()
        .realm(RealmConfig::new("realm1"))
        .websocket("127.0.0.1:0".parse().expect("address"))
        .start()
        .await
        .expect("router");
    exercise(&router.listeners()[0].url(), "realm1").await;
}

#[tokio::test]
async fn the_typed_meta_api_against_crossbar() {
    let xbar = wamp_tests::crossbar();
    exercise(&xbar.ws, &xbar.realm).await;
}
