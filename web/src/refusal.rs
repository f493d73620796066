//! The service's refusals as pages: the HTTP status that fits each gRPC
//! code, a heading in the visitor's language and the service's own words
//! (the same a gRPC client reads), never a stack trace.
//!
//! | gRPC | HTTP |
//! |---|---|
//! | INVALID_ARGUMENT | 422 |
//! | UNAUTHENTICATED | 401 |
//! | PERMISSION_DENIED | 403 |
//! | NOT_FOUND | 404 |
//! | FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED | 409 |
//! | RESOURCE_EXHAUSTED | 413 |
//! | UNAVAILABLE, DEADLINE_EXCEEDED | 503 |
//! | anything else | 500 |

use axum::http::StatusCode;
use axum::response::Response;
use tonic::{Code, Status};

use crate::layout::{self, Page};

/// The HTTP status for a gRPC code.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::InvalidArgument | Code::OutOfRange => StatusCode::UNPROCESSABLE_ENTITY,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::FailedPrecondition | Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::PAYLOAD_TOO_LARGE,
        Code::Unavailable | Code::DeadlineExceeded => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The page of a refusal.
pub(crate) fn page(visitor: &impl Page, status: &Status) -> Response {
    let lang = visitor.lang();
    let title = match status.code() {
        Code::InvalidArgument | Code::OutOfRange => {
            lang.pick("Isian belum benar", "Something in the form is not right")
        }
        Code::Unauthenticated => lang.pick(
            "Sesi Anda telah berakhir; silakan masuk lagi dengan tautan yang baru",
            "Your session has ended; sign in again with a new link",
        ),
        Code::PermissionDenied => lang.pick("Tidak diizinkan", "Not allowed"),
        Code::NotFound => lang.pick("Tidak ditemukan", "Not found"),
        Code::FailedPrecondition | Code::AlreadyExists => {
            lang.pick("Belum dapat dilakukan", "Not possible at this stage")
        }
        Code::Aborted => lang.pick(
            "Sudah diubah orang lain; muat ulang halaman",
            "Changed by someone else meanwhile; reload the page",
        ),
        Code::ResourceExhausted => lang.pick("Berkas terlalu besar", "The file is too large"),
        Code::Unavailable | Code::DeadlineExceeded => lang.pick(
            "Sedang ada gangguan; coba lagi sebentar lagi",
            "Something is busy or down; try again in a moment",
        ),
        _ => lang.pick("Terjadi kesalahan", "Something went wrong"),
    };
    layout::message(visitor, http_status(status.code()), title, status.message())
}
