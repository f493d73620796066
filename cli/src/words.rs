//! The language of human output (`--lang en` or `JEJAK_LANG=en`; Bahasa
//! Indonesia by default). The words themselves are shared with the web
//! portal and live in `jejak_web::words`. Only human output uses them;
//! `--json` keeps the stable codes (and adds the label beside a code where
//! a reader of the JSON may want it).

use std::sync::OnceLock;

pub use jejak_web::words::{Lang, Word};

static LANG: OnceLock<Lang> = OnceLock::new();

/// Sets the language of this run's human output (once, from `--lang`).
pub fn set(lang: Lang) {
    let _ = LANG.set(lang);
}

/// The language of this run's human output.
pub fn lang() -> Lang {
    LANG.get().copied().unwrap_or_default()
}

/// `--lang`: `id` or `en`.
pub fn parse_lang(text: &str) -> Result<Lang, String> {
    Lang::parse(text).ok_or_else(|| format!("'{text}' is not a language here: use id or en"))
}
