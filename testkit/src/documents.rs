//! The real OpenAPI documents kept beside the project, in
//! `../shared/data/openapi/` (never copied into the repository).

use std::path::{Path, PathBuf};

/// The folder of the documents: `SWITCHYARD_OPENAPI_DIR`, else
/// `shared/data/openapi` beside the checkout or one of its parents, else
/// the workplace's `/work/shared/data/openapi`. Panics, naming where it
/// looked, when there is none: a test that needs them must not pass
/// without them.
pub fn openapi_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("SWITCHYARD_OPENAPI_DIR") {
        return PathBuf::from(dir);
    }
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates: Vec<PathBuf> = start
        .ancestors()
        .map(|dir| dir.join("shared/data/openapi"))
        .chain([PathBuf::from("/work/shared/data/openapi")])
        .collect();
    candidates
        .iter()
        .find(|dir| dir.join("stripe.json").is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the OpenAPI documents are not in any of {candidates:?}; set SWITCHYARD_OPENAPI_DIR"
            )
        })
}

/// The text of one document (`stripe-2023-09.yaml`).
pub fn openapi_document(name: &str) -> String {
    let path = openapi_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
