//! The server's files are private whatever the umask: the data folder
//! 0700; the database, its journal files, secrets and keys 0600.

use std::path::Path;

/// Creates `dir` (and its parents) when missing, and makes it 0700.
///
/// # Errors
/// When it cannot be created or its mode cannot be set.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    restrict(dir, true)
}

/// Sets `path` to 0700 (a folder) or 0600 (a file); on a read-only file
/// system only warns; on other systems than Unix, does nothing.
///
/// # Errors
/// When the mode cannot be set.
pub fn restrict(path: &Path, dir: bool) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = if dir { 0o700 } else { 0o600 };
        let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if current != mode {
            match std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
                // A read-only file system serves reads; its files stay as they are.
                Err(err) if err.kind() == std::io::ErrorKind::ReadOnlyFilesystem => {
                    tracing::warn!(
                        path = %path.display(),
                        mode = format!("{current:o}"),
                        "on a read-only file system: cannot make it private"
                    );
                }
                other => other?,
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, dir);
    Ok(())
}

/// Writes a new file readable by its owner only (0600 from its creation,
/// whatever the umask); fails when it exists.
///
/// # Errors
/// When it exists or cannot be written.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    // The mode given at creation is masked by the umask; 0600 only loses bits.
    restrict(path, false)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes a SQLite log and its companions (`-wal`, `-shm`, `-journal`) in
/// `database` 0600, those that exist.
///
/// # Errors
/// When a mode cannot be set.
pub fn restrict_database(database: &Path) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        let path = Path::new(&name);
        if path.exists() {
            restrict(path, false)?;
        }
    }
    Ok(())
}
