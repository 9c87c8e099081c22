#![cfg(all(feature = "metrics", feature = "router", feature = "canary"))]
mod common;
use std::convert::Infallible;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use tower::{service_fn, Layer, ServiceExt};
use tower_gateway::metrics::Registry;
use tower_gateway::router::Router;
#[tokio::test]
async fn probe() {
    let reg = Registry::builder().buckets([0.005, 0.1, 1.0, 2.5]).build().unwrap();
    let ok = service_fn(|_r: Request<Full<Bytes>>| async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hi")))) });
    let router: Router<Full<Bytes>, Full<Bytes>, Infallible> = Router::builder().route("GET /pets/{id}", ok).build().unwrap();
    let svc = reg.layer().layer(router);
    for p in ["/pets/1", "/nope", "/pets/2"] {
        let r = svc.clone().oneshot(common::request("GET", p)).await.unwrap();
        common::body_text(r.into_body()).await;
    }
    let r = reg.service().oneshot(common::request("GET", "/metrics")).await.unwrap();
    println!("{:?}", r.headers());
    println!("{}", common::body_text(r.into_body()).await);
}
