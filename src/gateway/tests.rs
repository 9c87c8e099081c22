//! Unit tests for the gateway's internals: durations, methods, modes and error placement.

use std::time::Duration;

use super::targets::parse_duration;
use super::{CanaryConfig, Gateway, GatewayConfig, RouteConfig, Services};
use crate::error::ProblemKind;

#[test]
fn durations_are_a_whole_number_and_a_unit() {
    assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
    assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
    assert_eq!(parse_duration(" 2m "), Some(Duration::from_secs(120)));
    assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
    for bad in [
        "",
        "5",
        "s",
        "1.5s",
        "5 h",
        "-1s",
        "5sec",
        "99999999999999999999s",
    ] {
        assert_eq!(parse_duration(bad), None, "{bad:?}");
    }
    // No overflow on the largest minutes.
    assert_eq!(parse_duration(&format!("{}m", u64::MAX)), None);
}

fn problems(config: GatewayConfig) -> Vec<(String, ProblemKind)> {
    Gateway::<String>::from_config(
        config,
        Services::new().service("s", crate::test_helpers::Echo::default()),
    )
    .err()
    .map(|e| {
        e.problems()
            .iter()
            .map(|p| (p.location().unwrap_or("").to_owned(), p.kind()))
            .collect()
    })
    .unwrap_or_default()
}

#[test]
fn methods_are_tokens_listed_once() {
    let mut config = GatewayConfig::new();
    config.routes.push(
        RouteConfig::new("/a")
            .methods(["GET", "get", "GET", "B@D"])
            .service("s"),
    );
    assert_eq!(
        problems(config),
        [
            // `get` would never match a `GET` request (methods are case-sensitive).
            ("routes[0].methods[1]".to_owned(), ProblemKind::Syntax),
            ("routes[0].methods[2]".to_owned(), ProblemKind::Duplicate),
            ("routes[0].methods[3]".to_owned(), ProblemKind::Syntax),
        ]
    );
}

#[test]
fn any_is_every_method_and_a_nested_route_takes_no_methods() {
    let mut config = GatewayConfig::new();
    config
        .routes
        .push(RouteConfig::new("/a").methods(["ANY"]).service("s"));
    config.routes.push(
        RouteConfig::new("/n")
            .nest(true)
            .methods(["GET"])
            .service("s"),
    );
    assert_eq!(
        problems(config),
        [("routes[1].methods".to_owned(), ProblemKind::Conflict)]
    );
}

#[test]
fn sticky_modes_need_a_key_and_unknown_modes_are_named() {
    let mut config = GatewayConfig::new();
    config.routes.push(
        RouteConfig::new("/a")
            .service("s")
            .canary(CanaryConfig::service("s", 10.0).mode("sticky")),
    );
    config.routes.push(
        RouteConfig::new("/b")
            .service("s")
            .canary(CanaryConfig::service("s", 10.0).mode("coin-flip")),
    );
    config.routes.push(
        RouteConfig::new("/c").service("s").canary(
            CanaryConfig::service("s", 10.0)
                .mode("sticky")
                .sticky_header("bad header"),
        ),
    );
    let found = problems(config);
    assert!(
        found.contains(&("routes[0].canary.mode".to_owned(), ProblemKind::Invalid)),
        "{found:?}"
    );
    assert!(
        found.contains(&("routes[1].canary.mode".to_owned(), ProblemKind::Invalid)),
        "{found:?}"
    );
    assert!(
        found.contains(&(
            "routes[2].canary.sticky_header".to_owned(),
            ProblemKind::Syntax
        )),
        "{found:?}"
    );
}

#[test]
fn router_policies_are_checked() {
    let mut config = GatewayConfig::new();
    config.router.trailing_slash = Some("sometimes".to_owned());
    config.router.not_found = Some("html".to_owned());
    let found = problems(config);
    assert_eq!(
        found,
        [
            ("router.trailing_slash".to_owned(), ProblemKind::Invalid),
            ("router.not_found".to_owned(), ProblemKind::Invalid),
        ]
    );
}

#[test]
fn a_sink_in_code_is_required_for_sink_code() {
    let mut config = GatewayConfig::new();
    config.access_log = Some(super::AccessLogConfig::new("json", "code"));
    assert_eq!(
        problems(config),
        [("access_log.sink".to_owned(), ProblemKind::Invalid)]
    );
    let mut config = GatewayConfig::new();
    config.access_log = Some(super::AccessLogConfig::new("json", "syslog"));
    assert_eq!(
        problems(config),
        [("access_log.sink".to_owned(), ProblemKind::Invalid)]
    );
}
