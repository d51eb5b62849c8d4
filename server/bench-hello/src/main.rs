//! The yardstick for `make bench`: the smallest axum server, on the same runtime settings as
//! Countersign's, answering a fixed JSON body. Resolve throughput is reported as a fraction of
//! this one's, measured in the same run.
//!
//!   cargo run --release -p countersign-bench-hello -- 127.0.0.1:3290
//!
//! Its own crate, so that building it does not build the server's dependencies again.

use axum::routing::get;
use axum::Router;

#[tokio::main]
async fn main() {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3290".into());
    let app = Router::new().route(
        "/hello",
        get(|| async { axum::Json(serde_json::json!({"hello": "world"})) }),
    );
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {listen}: {e}"));
    axum::serve(listener, app)
        .await
        .expect("serves until killed");
}
