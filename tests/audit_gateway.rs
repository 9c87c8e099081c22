//! Audit probes of the Gateway built from one configuration (issue 8).

#![cfg(feature = "gateway")]

mod common;

use std::collections::HashSet;

use bytes::Bytes;
use common::{body_text, request, Named};
use http::{header, Method, Request, StatusCode};
use http_body_util::Full;
use tower::ServiceExt;
use tower_gateway::access_log::MemorySink;
use tower_gateway::gateway::{Gateway, GatewayConfig, Services};

type Body = Full<Bytes>;

fn config(text: &str) -> GatewayConfig {
    toml::from_str(text).unwrap_or_else(|e| panic!("bad test config: {e}"))
}

fn services() -> Services<Body> {
    Services::new()
        .service("v1", Named::new("v1"))
        .service("v2", Named::new("v2"))
}

fn located(text: &str) -> HashSet<(String, String)> {
    let error = Gateway::from_config(config(text), services()).unwrap_err();
    error
        .problems()
        .iter()
        .map(|p| (p.location().unwrap_or("?").to_owned(), p.value().to_owned()))
        .collect()
}

#[test]
fn every_bad_weight_and_origin_is_listed() {
    let found = located(
        r#"
        [[routes]]
        path = "/a"
        service = "v1"
        canary = { service = "v2", weight = -5 }

        [[routes]]
        path = "/b"
        service = "v1"
        canary = { service = "v2", weight = "150%" }

        [[routes]]
        path = "/c"
        service = "v1"
        canary = { service = "nobody", weight = 5 }

        [cors]
        allow_origins = ["https://ok.example", "ftp//bad", "https://x.example/path"]
        "#,
    );
    for loc in [
        "routes[0].canary.weight",
        "routes[1].canary.weight",
        "routes[2].canary.service",
        "cors.allow_origins[1]",
        "cors.allow_origins[2]",
    ] {
        assert!(
            found.iter().any(|(l, _)| l == loc),
            "missing {loc} in {found:#?}"
        );
    }
    assert_eq!(found.len(), 5, "{found:#?}");
}

#[test]
fn several_bad_templates_and_conflicts_in_one_pass() {
    let found = located(
        r#"
        [[routes]]
        path = "/x/{a}-{b}"
        service = "v1"
        [[routes]]
        path = "no-slash"
        service = "v1"
        [[routes]]
        path = "/f/{n}"
        methods = ["GET"]
        service = "v1"
        [[routes]]
        path = "/f/{*r}"
        methods = ["GET"]
        service = "v2"
        [[routes]]
        path = "/dup"
        service = "v1"
        [[routes]]
        path = "/dup"
        service = "v2"
        "#,
    );
    for loc in [
        "routes[0].path",
        "routes[1].path",
        "routes[3].path",
        "routes[5].path",
    ] {
        assert!(
            found.iter().any(|(l, _)| l == loc),
            "missing {loc} in {found:#?}"
        );
    }
}

#[tokio::test]
async fn layer_order_access_log_sees_preflights_and_refusals_and_cors_decorates_404() {
    let sink = MemorySink::new();
    let text = r#"
        [[routes]]
        path = "/pets/{id}"
        methods = ["GET", "DELETE"]
        service = "v1"

        [cors]
        allow_origins = ["https://app.example.com"]
        allow_methods = ["DELETE"]

        [access_log]
        format = "$context.httpMethod $context.status"
        sink = "code"
    "#;
    let gateway =
        Gateway::from_config(config(text), services().access_log_sink(sink.clone())).unwrap();
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/pets/1")
        .header(header::ORIGIN, "https://app.example.com")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "DELETE")
        .body(Body::default())
        .unwrap();
    let response = gateway.clone().oneshot(preflight).await.unwrap();
    let pre_status = response.status();
    let _ = body_text(response.into_body()).await;
    let refused = Request::builder()
        .method(Method::DELETE)
        .uri("/pets/1")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::default())
        .unwrap();
    let response = gateway.clone().oneshot(refused).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let _ = body_text(response.into_body()).await;
    let missing = Request::builder()
        .uri("/nothing")
        .header(header::ORIGIN, "https://app.example.com")
        .body(Body::default())
        .unwrap();
    let response = gateway.clone().oneshot(missing).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
    let _ = body_text(response.into_body()).await;
    let not_allowed = Request::builder()
        .method(Method::PUT)
        .uri("/pets/1")
        .header(header::ORIGIN, "https://app.example.com")
        .body(Body::default())
        .unwrap();
    let response = gateway.clone().oneshot(not_allowed).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET, HEAD, DELETE");
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
    let _ = body_text(response.into_body()).await;
    gateway.handle().flush_logs();
    assert_eq!(
        sink.lines(),
        [
            format!("OPTIONS {}", pre_status.as_u16()),
            "DELETE 403".to_owned(),
            "GET 404".to_owned(),
            "PUT 405".to_owned()
        ]
    );
}

#[tokio::test]
async fn head_through_the_gateway_keeps_content_length() {
    let text = r#"
        [[routes]]
        path = "/doc"
        methods = ["GET"]
        service = "v1"
    "#;
    let gateway = Gateway::from_config(config(text), services()).unwrap();
    let response = gateway.oneshot(request("HEAD", "/doc")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_LENGTH], "2");
    assert_eq!(body_text(response.into_body()).await, "");
}

#[test]
fn json_config_works_too() {
    let config: GatewayConfig = serde_json::from_str(
        r#"{ "routes": [ { "path": "/a", "methods": ["GET"], "service": "v1" } ] }"#,
    )
    .unwrap();
    assert!(Gateway::from_config(config, services()).is_ok());
}

#[test]
fn each_repeat_of_a_route_is_located_at_itself() {
    let found = located(
        r#"
        [[routes]]
        path = "/dup"
        methods = ["GET"]
        service = "v1"
        [[routes]]
        path = "/other"
        service = "v1"
        [[routes]]
        path = "/dup"
        methods = ["GET"]
        service = "v2"
        [[routes]]
        path = "/dup"
        methods = ["GET"]
        service = "v1"
        "#,
    );
    let places: HashSet<&str> = found.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        places,
        HashSet::from(["routes[2].path", "routes[3].path"]),
        "{found:#?}"
    );
}

#[test]
fn upstream_urls_that_cannot_be_served_are_config_errors() {
    for url in [
        "https://example.com",
        "ftp://example.com",
        "example.com",
        "http://",
        "http://h:1/x?q=1",
    ] {
        let text = format!("[[routes]]\npath = \"/a\"\nupstream = \"{url}\"\n");
        let result = Gateway::from_config(config(&text), services());
        match result {
            Ok(_) => panic!("{url} accepted"),
            Err(e) => {
                assert_eq!(
                    e.problems()[0].location(),
                    Some("routes[0].upstream"),
                    "{url}: {e}"
                );
                eprintln!("{url}: {e}");
            }
        }
    }
}

#[tokio::test]
async fn cors_decorates_the_origin_guards_403() {
    let text = r#"
        [[routes]]
        path = "/pets/{id}"
        service = "v1"

        [cors]
        allow_origins = ["https://app.example.com"]

        [origin]
        trust_cors = false
    "#;
    let gateway = Gateway::from_config(config(text), services()).unwrap();
    let refused = Request::builder()
        .method(Method::DELETE)
        .uri("/pets/1")
        .header(header::ORIGIN, "https://app.example.com")
        .body(Body::default())
        .unwrap();
    let response = gateway.oneshot(refused).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
}

#[test]
fn a_lower_case_method_is_located_at_its_entry() {
    let found = located(
        r#"
        [[routes]]
        path = "/a"
        methods = ["POST", "get"]
        service = "v1"
        "#,
    );
    assert_eq!(
        found,
        HashSet::from([("routes[0].methods[1]".to_owned(), "get".to_owned())]),
    );
}

#[test]
fn unknown_fields_in_the_remaining_sections() {
    for text in [
        "[router]\ntrailing_slashes = \"ignore\"",
        "[metrics]\nbukets = [1.0]",
        "[canary]\nservice = \"v2\"\nweight = 1\nwieght = 2",
        "[[routes]]\npath = \"/\"\nupstream = \"http://127.0.0.1:1\"\ntimout = \"1s\"",
    ] {
        assert!(
            toml::from_str::<GatewayConfig>(text).is_err(),
            "accepted: {text}"
        );
    }
}

#[test]
fn weights_out_of_range_or_not_numbers() {
    for weight in ["nan", "inf", "100.5", "\"ten\"", "\"-1%\"", "\"101%\""] {
        let text = format!(
            "[[routes]]\npath = \"/a\"\nservice = \"v1\"\ncanary = {{ service = \"v2\", weight = {weight} }}\n"
        );
        let found = located(&text);
        assert!(
            found.iter().any(|(l, _)| l == "routes[0].canary.weight"),
            "{weight}: {found:#?}"
        );
    }
}

#[test]
fn an_upstream_placeholder_the_route_does_not_capture_is_an_error() {
    let found = located(
        r#"
        [[routes]]
        path = "/a/{id}"
        upstream = "http://127.0.0.1:1/items/{missing}"
        "#,
    );
    assert!(
        found.iter().any(|(l, _)| l == "routes[0].upstream"),
        "{found:#?}"
    );
}

#[test]
fn captured_placeholders_are_fine_and_canary_upstreams_are_checked_too() {
    let ok = r#"
        [[routes]]
        path = "/api/{proxy+}"
        upstream = "http://127.0.0.1:1/base/{proxy}"
        [[routes]]
        path = "/t/{tenant}/x/{*rest}"
        upstream = "http://127.0.0.1:1/{tenant}/{rest+}"
    "#;
    assert!(Gateway::from_config(config(ok), services()).is_ok());
    let found = located(
        r#"
        [[routes]]
        path = "/a/{id}"
        service = "v1"
        canary = { upstream = "http://127.0.0.1:1/{idd}", weight = 5 }
        "#,
    );
    assert!(
        found.iter().any(|(l, _)| l == "routes[0].canary.upstream"),
        "{found:#?}"
    );
}
