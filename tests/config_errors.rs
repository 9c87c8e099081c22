//! Audit probes of configuration across the crate (issues 3 to 9): several mistakes in one
//! config are all reported, each with its value (and a location for serde configs); nothing
//! that built panics.

#![cfg(feature = "gateway")]

mod common;

use std::collections::HashSet;

use bytes::Bytes;
use common::{request, Named};
use http_body_util::Full;
use tower::ServiceExt;
use tower_gateway::access_log::LogFormat;
use tower_gateway::canary::{CanaryLayer, Weight};
use tower_gateway::cors::CorsConfig;
use tower_gateway::gateway::{Gateway, GatewayConfig, Services};
use tower_gateway::metrics::{MetricsConfig, Registry};
use tower_gateway::origin::OriginGuardLayer;
use tower_gateway::router::Router;
use tower_gateway::ConfigError;

type Body = Full<Bytes>;

fn services() -> Services<Body> {
    Services::new()
        .service("v1", Named::new("v1"))
        .service("v2", Named::new("v2"))
}

fn values(error: &ConfigError) -> HashSet<String> {
    error
        .problems()
        .iter()
        .map(|p| p.value().to_owned())
        .collect()
}

fn located(error: &ConfigError) -> HashSet<(String, String)> {
    error
        .problems()
        .iter()
        .map(|p| (p.location().unwrap_or("?").to_owned(), p.value().to_owned()))
        .collect()
}

fn gateway_error(config: GatewayConfig) -> ConfigError {
    match Gateway::from_config(config, services()) {
        Ok(_) => panic!("built"),
        Err(e) => e,
    }
}

#[test]
fn router_reports_every_template_mistake_at_once() {
    let error = Router::<Body, Body, std::convert::Infallible>::builder()
        .route("GET /a/{id}", Named::new("a"))
        .route("GET /a/{id}", Named::new("dup"))
        .route("GET /b/{open", Named::new("b"))
        .route("GET /c/{}", Named::new("c"))
        .route("GET d", Named::new("d"))
        .route("GET /e/{*rest}/more", Named::new("e"))
        .route("GET /f/{x}/{x}", Named::new("f"))
        .route("GET /ok", Named::new("ok"))
        .build()
        .unwrap_err();
    assert!(error.problems().len() >= 6, "{error}");
    for p in error.problems() {
        assert!(!p.value().is_empty(), "{p}");
        assert!(!p.reason().is_empty(), "{p}");
    }
    let text = error.to_string();
    for needle in [
        "/b/{open",
        "/c/{}",
        "GET d",
        "/e/{*rest}/more",
        "/f/{x}/{x}",
    ] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
}

#[test]
fn cors_serde_config_lists_every_mistake_with_its_location() {
    let config: CorsConfig = serde_json::from_str(
        r#"{
        "allow_origins": ["*", "https://ok.example", "null", "https://bücher.example", "https://a.example:443"],
        "allow_methods": ["CONNECT", "GET", "TRACK", "GE T"],
        "allow_headers": ["x-ok", "bad header", "Cookie"],
        "expose_headers": ["x ok"],
        "allow_credentials": true,
        "max_age": -2
    }"#,
    )
    .unwrap();
    let error = config.build().unwrap_err();
    let found = located(&error);
    for (location, value) in [
        ("allow_origins[2]", "null"),
        ("allow_origins[3]", "https://bücher.example"),
        ("allow_origins[4]", "https://a.example:443"),
        ("allow_methods[0]", "CONNECT"),
        ("allow_methods[2]", "TRACK"),
        ("allow_methods[3]", "GE T"),
        ("allow_headers[1]", "bad header"),
        ("allow_headers[2]", "Cookie"),
        ("expose_headers[0]", "x ok"),
        ("max_age", "-2"),
    ] {
        assert!(
            found.contains(&(location.to_owned(), value.to_owned())),
            "missing {location} = {value}: {found:#?}"
        );
    }
    assert!(values(&error).contains("*"), "{found:#?}");
}

#[test]
fn cors_serde_wrong_types_and_huge_numbers() {
    for text in [
        r#"{"max_age": "10"}"#,
        r#"{"allow_origins": "https://a.example"}"#,
        r#"{"allow_credentials": "yes"}"#,
        r#"{"max_age": 1e3}"#,
        r#"{"max_age": 99999999999999999999999}"#,
    ] {
        assert!(
            serde_json::from_str::<CorsConfig>(text).is_err(),
            "accepted {text}"
        );
    }
    let huge: CorsConfig = serde_json::from_str(r#"{"max_age": 9223372036854775807}"#).unwrap();
    let error = huge.build().unwrap_err();
    assert_eq!(error.problems()[0].value(), "9223372036854775807");
}

#[test]
fn origin_builder_lists_every_bad_value() {
    let error = OriginGuardLayer::builder()
        .trust_origin("null")
        .trust_origin("https://ok.example")
        .trust_origin("https://a.example/")
        .public_origin("ftp://x.example")
        .bypass_path("hooks")
        .bypass_path("/")
        .build()
        .unwrap_err();
    let found = located(&error);
    for (location, value) in [
        ("trusted_origins[0]", "null"),
        ("trusted_origins[2]", "https://a.example/"),
        ("public_origins[0]", "ftp://x.example"),
        ("bypass_paths[0]", "hooks"),
        ("bypass_paths[1]", "/"),
    ] {
        assert!(
            found.contains(&(location.to_owned(), value.to_owned())),
            "missing {location} = {value}: {found:#?}"
        );
    }
    assert_eq!(error.problems().len(), 5, "{error}");
}

#[test]
fn canary_builder_lists_every_bad_weight_and_name() {
    let error = CanaryLayer::builder()
        .stable("stable", f64::NAN)
        .arm("a", Named::new("a"), f64::INFINITY)
        .arm("b", Named::new("b"), -1.0)
        .arm("c", Named::new("c"), "0.00001")
        .arm("a", Named::new("a2"), 101.0)
        .build()
        .unwrap_err();
    assert!(error.problems().len() >= 5, "{error}");
    let found = values(&error);
    for value in ["NaN", "inf", "-1", "0.00001", "101"] {
        assert!(found.contains(value), "missing {value}: {found:#?}");
    }
    assert!(found.contains("a"), "duplicate arm missing: {found:#?}");
}

#[test]
fn weights_round_and_refuse_as_documented() {
    for (text, ppm) in [
        ("0.57", 5_700),
        ("0.57%", 5_700),
        ("12.5%", 125_000),
        ("100", 1_000_000),
        ("0", 0),
        ("0.0001", 1),
        ("10.00000", 100_000),
    ] {
        assert_eq!(
            Weight::parse(text).unwrap().to_ppm().unwrap(),
            ppm,
            "{text}"
        );
    }
    assert_eq!(Weight::from(0.57).to_ppm().unwrap(), 5_700);
    assert_eq!(Weight::from(0.0001).to_ppm().unwrap(), 1);
    for text in [
        "", "%", "-0.5", "100.0001", "1e2", "ten", "0.00005", "٣", "10%%", "nan", "inf",
    ] {
        let error = Weight::parse(text).unwrap_err();
        assert_eq!(error.problems()[0].value(), text, "{text}");
    }
    for value in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.1,
        100.5,
        1e300,
        0.00001,
    ] {
        assert!(Weight::from(value).to_ppm().is_err(), "{value}");
    }
}

#[test]
fn access_log_template_lists_every_problem() {
    let error = LogFormat::template("$context.nope $context.status $context.alsoNope\t$context.")
        .unwrap_err();
    let found = values(&error);
    assert!(found.contains("$context.nope"), "{found:#?}");
    assert!(found.contains("$context.alsoNope"), "{found:#?}");
    assert!(error.problems().len() >= 3, "{error}");
    assert!(LogFormat::template("été $context.status").is_ok());
}

#[test]
fn metrics_serde_and_builder_list_every_bad_bucket() {
    let config: MetricsConfig =
        serde_json::from_str(r#"{"buckets": [0.1, 0.1, 0, -1, 2, 1], "max_series": 0}"#).unwrap();
    let error = config.build().unwrap_err().at("metrics");
    let at: Vec<_> = error
        .problems()
        .iter()
        .filter_map(|p| p.location())
        .collect();
    assert_eq!(
        at,
        [
            "metrics.buckets[1]",
            "metrics.buckets[2]",
            "metrics.buckets[3]",
            "metrics.buckets[5]",
            "metrics.max_series"
        ]
    );
    let error = Registry::builder()
        .buckets([f64::NAN, f64::INFINITY, 1.0, f64::NEG_INFINITY])
        .build()
        .unwrap_err();
    assert_eq!(error.problems().len(), 3, "{error}");
    for text in [
        r#"{"buckets": "1"}"#,
        r#"{"max_series": -1}"#,
        r#"{"enabled": 1}"#,
        r#"{"unmatched": ""}"#,
    ] {
        assert!(
            serde_json::from_str::<MetricsConfig>(text).is_err(),
            "{text}"
        );
    }
}

#[test]
fn gateway_json_config_locates_every_problem() {
    let config: GatewayConfig = serde_json::from_str(
        r#"{
        "routes": [
            {"path": "pets", "service": "v1"},
            {"path": "/a", "service": "v1", "methods": ["GET", "GET"]},
            {"path": "/b", "service": "v1", "canary": {"service": "v2", "weight": "0.00001"}},
            {"path": "/c", "service": "ghost"},
            {"path": "/d", "service": "v1", "canary": {"service": "v2", "weight": 5, "sticky_header": "bad header", "mode": "sticky"}}
        ],
        "router": {"trailing_slash": "sometimes", "not_found": "html"},
        "cors": {"allow_origins": ["https://x.example/"], "max_age": 90000},
        "origin": {"bypass_paths": ["nope"]},
        "access_log": {"format": "$context.nope", "sink": "printer", "request_id_header": "bad id"},
        "metrics": {"buckets": []}
    }"#,
    )
    .unwrap();
    let found = located(&gateway_error(config));
    for (location, value) in [
        ("routes[1].methods[1]", "GET"),
        ("routes[2].canary.weight", "0.00001"),
        ("routes[3].service", "ghost"),
        ("routes[4].canary.sticky_header", "bad header"),
        ("router.trailing_slash", "sometimes"),
        ("router.not_found", "html"),
        ("cors.allow_origins[0]", "https://x.example/"),
        ("cors.max_age", "90000"),
        ("origin.bypass_paths[0]", "nope"),
        ("access_log.format", "$context.nope"),
        ("access_log.sink", "printer"),
        ("access_log.request_id_header", "bad id"),
        ("metrics.buckets", ""),
    ] {
        assert!(
            found.contains(&(location.to_owned(), value.to_owned())),
            "missing {location} = {value}: {found:#?}"
        );
    }
    assert!(
        found.iter().any(|(l, _)| l.starts_with("routes[0]")),
        "{found:#?}"
    );
}

#[test]
fn a_misspelt_log_format_name_is_an_error_not_a_constant_line() {
    for format in ["comon", "Combined", "JSON", "%h %m %U %s"] {
        let config: GatewayConfig = toml::from_str(&format!(
            "[access_log]\nformat = \"{format}\"\nsink = \"discard\"\n"
        ))
        .unwrap();
        let found = located(&gateway_error(config));
        assert!(
            found.contains(&("access_log.format".to_owned(), format.to_owned())),
            "{format}: {found:#?}"
        );
    }
}

#[test]
fn gateway_serde_wrong_types_are_errors() {
    for text in [
        "routes = {}",
        "[[routes]]\npath = 5",
        "[[routes]]\npath = \"/\"\nmethods = \"GET\"",
        "[[routes]]\npath = \"/\"\nnest = \"yes\"",
        "port = 70000",
        "port = -1",
        "[origin]\nenabled = \"no\"",
        "[[routes]]\npath = \"/\"\nservice = \"v1\"\ncanary = { service = \"v2\", weight = true }",
    ] {
        assert!(toml::from_str::<GatewayConfig>(text).is_err(), "{text}");
    }
}

#[tokio::test]
async fn odd_but_valid_configs_build_and_serve_without_panics() {
    let text = r#"
        [[routes]]
        path = "/café/{id}"
        service = "v1"

        [[routes]]
        path = "/z/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}/{j}/{k}/{l}/{m}/{n}/{o}/{p}/{q}/{r}/{s}/{t}/{u}/{v}/{w}/{x}/{y}/{z}/{aa}/{ab}"
        service = "v1"
        canary = { service = "v2", weight = 0 }

        [[routes]]
        path = "/full"
        service = "v1"
        canary = { service = "v2", weight = "100%", mode = "round-robin" }

        [cors]
        allow_origins = []
        allow_methods = []

        [metrics]
        buckets = [1e-9, 1e9]
        unmatched_label = "ünmatched \"x\"\n"
        max_series = 1
    "#;
    let config: GatewayConfig = toml::from_str(text).unwrap();
    let gateway = Gateway::from_config(config, services()).unwrap();
    for uri in [
        "/caf%C3%A9/1",
        "/café/1",
        "/z/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20/21/22/23/24/25/26/27/28",
        "/full",
        "/nothing",
        "/metrics",
    ] {
        let Ok(uri) = http::Uri::try_from(uri) else {
            continue;
        };
        let mut req = request("GET", "/");
        *req.uri_mut() = uri;
        let response = gateway.clone().oneshot(req).await.unwrap();
        assert!(response.status().as_u16() < 600);
    }
}

#[tokio::test]
async fn huge_finite_bucket_bounds_build_and_render() {
    use tower_gateway::metrics::MetricsLayer;
    let registry = Registry::builder()
        .buckets([0.1, 1e20, 1e300, f64::MAX])
        .build()
        .unwrap();
    let app = tower::Layer::layer(&MetricsLayer::new(registry.clone()), Named::new("app"));
    let response = app.oneshot(request("GET", "/x")).await.unwrap();
    http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap();
    let text = registry.render();
    assert!(
        text.contains("le=\"1e300\"") || text.contains("le=\"1e+300\""),
        "{text}"
    );
    let config: MetricsConfig = serde_json::from_str(r#"{"buckets": [1e300]}"#).unwrap();
    assert!(config.build().is_ok());
}

fn gateway_toml_error(text: &str) -> HashSet<(String, String)> {
    located(&gateway_error(toml::from_str(text).unwrap()))
}

#[test]
fn canary_settings_that_do_nothing_are_errors() {
    let found = gateway_toml_error(
        r#"
        [[routes]]
        path = "/a"
        service = "v1"
        canary = { service = "v2", weight = 5, timeout = "1s" }

        [[routes]]
        path = "/b"
        service = "v1"
        canary = { service = "v2", weight = 5, mode = "random", sticky_header = "x-user" }

        [[routes]]
        path = "/c"
        service = "v1"
        canary = { service = "v2", weight = 5, mode = "round-robin", sticky_cookie = "user" }
        "#,
    );
    assert_eq!(
        found,
        HashSet::from([
            ("routes[0].canary.timeout".to_owned(), "1s".to_owned()),
            (
                "routes[1].canary.sticky_header".to_owned(),
                "x-user".to_owned()
            ),
            (
                "routes[2].canary.sticky_cookie".to_owned(),
                "user".to_owned()
            ),
        ])
    );
}

#[tokio::test]
async fn a_sticky_key_without_a_mode_means_the_sticky_mode() {
    let config: GatewayConfig = toml::from_str(
        r#"
        [[routes]]
        path = "/a"
        service = "v1"
        canary = { service = "v2", weight = 50, sticky_header = "x-user" }
        "#,
    )
    .unwrap();
    let gateway = Gateway::from_config(config, services()).unwrap();
    // Each user stays on one arm, and with 40 users both arms serve someone.
    let mut arms = HashSet::new();
    for user in 0..40 {
        let mut answers = HashSet::new();
        for _ in 0..5 {
            let mut req = request("GET", "/a");
            req.headers_mut()
                .insert("x-user", user.to_string().parse().unwrap());
            let res = gateway.clone().oneshot(req).await.unwrap();
            answers.insert(common::body_text(res.into_body()).await);
        }
        assert_eq!(answers.len(), 1, "user {user}: {answers:?}");
        arms.extend(answers);
    }
    assert_eq!(arms.len(), 2, "{arms:?}");
}

#[test]
fn every_canary_problem_is_reported_even_when_the_target_or_weight_is_bad() {
    let found = gateway_toml_error(
        r#"
        [[routes]]
        path = "/a"
        service = "v1"
        canary = { service = "ghost", weight = "ten", stable_name = "same", canary_name = "same" }

        [[routes]]
        path = "/b"
        service = "v1"
        canary = { service = "v2", weight = 200, canary_name = "" , mode = "sideways" }

        [canary]
        weight = 5
        stable_name = "a\u0001b"
        arm_header = "x-arm"
        "#,
    );
    for (location, value) in [
        ("routes[0].canary.service", "ghost"),
        ("routes[0].canary.weight", "ten"),
        ("routes[0].canary.canary_name", "same"),
        ("routes[1].canary.weight", "200"),
        ("routes[1].canary.mode", "sideways"),
        ("routes[1].canary.canary_name", ""),
        ("canary.stable_name", "a\u{1}b"),
    ] {
        assert!(
            found.contains(&(location.to_owned(), value.to_owned())),
            "missing {location} = {value}: {found:#?}"
        );
    }
}

#[test]
fn templates_a_request_path_can_never_match_are_errors() {
    let bad = [
        "GET /a b",
        "GET /a?x=1",
        "GET /a#top",
        "GET /a ",
        "GET /a\u{1}",
        "GET /{ id }",
    ];
    let error = bad
        .iter()
        .fold(
            Router::<Body, Body, std::convert::Infallible>::builder(),
            |b, key| b.route(*key, Named::new("x")),
        )
        .route("GET /café/{id}", Named::new("ok"))
        .route("GET /a%20b", Named::new("ok"))
        .build()
        .unwrap_err();
    assert_eq!(
        values(&error),
        bad.iter().map(|k| (*k).to_owned()).collect::<HashSet<_>>(),
        "{error}"
    );
}

#[test]
fn a_disabled_section_is_still_checked() {
    let found = gateway_toml_error(
        r#"
        [origin]
        enabled = false
        trusted_origins = ["null"]
        bypass_paths = ["hooks"]

        [metrics]
        enabled = false
        buckets = [-1.0]
        "#,
    );
    assert_eq!(
        found,
        HashSet::from([
            ("origin.trusted_origins[0]".to_owned(), "null".to_owned()),
            ("origin.bypass_paths[0]".to_owned(), "hooks".to_owned()),
            ("metrics.buckets[0]".to_owned(), "-1".to_owned()),
        ])
    );
}

#[test]
fn every_problem_line_names_its_value() {
    let error = gateway_error(
        toml::from_str(
            r#"
            [[routes]]
            path = "/a"
            service = "v1"
            timeout = "1s"
            canary = { service = "v2", weight = 5, sticky_cookie = "user", timeout = "2s" }

            [[routes]]
            path = "/b"
            upstream = "http://127.0.0.1:1"
            websocket = true
            methods = ["POST"]

            [access_log]
            format = "comon"
            sink = "code"
            "#,
        )
        .unwrap(),
    );
    assert!(error.problems().len() >= 5, "{error}");
    for p in error.problems() {
        let line = p.to_string();
        assert!(
            line.contains(p.value()) || line.contains(&format!("{:?}", p.value())),
            "{line} does not name {:?}",
            p.value()
        );
    }
}

#[test]
fn the_readme_configuration_builds() {
    let readme = include_str!("../README.md");
    let start = readme.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let text = &readme[start..];
    let text = &text[..text.find("```").expect("its end")];
    let config: GatewayConfig = toml::from_str(text).unwrap();
    let services = Services::<Body>::new()
        .service("pets-v1", Named::new("v1"))
        .service("pets-v2", Named::new("v2"));
    let built = Gateway::from_config(config, services);
    if cfg!(feature = "upstream") {
        assert!(built.is_ok(), "{:?}", built.err());
    }
}

#[test]
fn bad_nest_prefixes_are_located_at_their_route() {
    let error = gateway_error(
        toml::from_str(
            r#"
            [[routes]]
            path = "/ok"
            service = "v1"

            [[routes]]
            path = "/a/"
            nest = true
            service = "v1"

            [[routes]]
            path = "/b/{*rest}"
            nest = true
            service = "v1"

            [[routes]]
            path = "/c/{open"
            nest = true
            service = "v1"
            "#,
        )
        .unwrap(),
    );
    let locations: HashSet<&str> = error
        .problems()
        .iter()
        .filter_map(|p| p.location())
        .collect();
    assert_eq!(error.problems().len(), locations.len(), "{error}");
    assert_eq!(
        locations,
        HashSet::from(["routes[1].path", "routes[2].path", "routes[3].path"]),
        "{error}"
    );
}

#[test]
fn a_repeated_nest_and_a_bad_sticky_cookie_are_located() {
    let found = gateway_toml_error(
        r#"
        [[routes]]
        path = "/a"
        nest = true
        service = "v1"

        [[routes]]
        path = "/a"
        nest = true
        service = "v2"

        [[routes]]
        path = "/b"
        service = "v1"
        canary = { service = "v2", weight = 1, mode = "sticky", sticky_cookie = "bad cookie" }
        "#,
    );
    for (location, value) in [
        ("routes[1].path", "ANY /a/{proxy+}"),
        ("routes[2].canary.sticky_cookie", "bad cookie"),
    ] {
        assert!(
            found.contains(&(location.to_owned(), value.to_owned())),
            "missing {location} = {value}: {found:#?}"
        );
    }
    assert!(found.iter().all(|(l, _)| l != "?"), "{found:#?}");
}
