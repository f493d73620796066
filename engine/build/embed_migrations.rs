// Embeds a folder of SQL migrations into the crate, as `sqlx::migrate!`
// would, without building sqlx's macros (and a second copy of sqlx and
// SQLite for the compiler's host) for it. Shared by the build scripts of
// `jejak-engine` and `jejak-projections` through `include!`.

/// Writes `$OUT_DIR/{name}.rs`: a slice of `(version, description, sql)`,
/// one per `NNNN_words.sql` file of `dir` in version order, the SQL held
/// by `include_str!`. The description is the name's words, as sqlx writes
/// it into `_sqlx_migrations`.
fn embed_migrations(dir: &str, name: &str) {
    let root = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let folder = root.join(dir);
    println!("cargo:rerun-if-changed={}", folder.display());
    let mut files: Vec<(i64, String, std::path::PathBuf)> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("cannot read the migrations in {}: {e}", folder.display()))
        .map(|entry| entry.expect("a migrations folder entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .map(|path| {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let (version, words) = stem.split_once('_').unwrap_or_else(|| {
                panic!("{}: a migration is named NNNN_words.sql", path.display())
            });
            let version = version.parse().unwrap_or_else(|_| {
                panic!(
                    "{}: a migration's name starts with its number",
                    path.display()
                )
            });
            (version, words.replace('_', " "), path)
        })
        .collect();
    files.sort_by_key(|(version, ..)| *version);
    if let Some(pair) = files.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        panic!(
            "two migrations numbered {} in {}",
            pair[0].0,
            folder.display()
        );
    }
    let mut out = String::from("&[\n");
    for (version, description, path) in files {
        out.push_str(&format!(
            "    ({version}, {description:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push(']');
    let target =
        std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join(format!("{name}.rs"));
    std::fs::write(&target, out)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", target.display()));
}
