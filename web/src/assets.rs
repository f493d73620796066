//! The stylesheet and the script, kept in the binary.

use axum::http::header;
use axum::response::IntoResponse;

const CSS: &[u8] = include_bytes!("assets/portal.css");
const JS: &[u8] = include_bytes!("assets/portal.js");

pub(crate) async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

pub(crate) async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JS,
    )
}
